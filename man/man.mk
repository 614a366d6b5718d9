# man/man.mk - the manual pages: videoflix(1) and videoflix.conf(5), with the
# install folders of this configure run written in.  tests/install/man_pages.sh
# holds them against `videoflix --help` and conf/videoflix.conf.

man1_MANS = man/videoflix.1
man5_MANS = man/videoflix.conf.5
# Written as is: the contract suite's program (tests/plugins/contract.mk).
dist_man1_MANS = man/videoflix-plugin-check.1
CLEANFILES += $(man1_MANS) $(man5_MANS)
EXTRA_DIST += man/videoflix.1.in man/videoflix.conf.5.in man/conf_settings.awk

# @''NAME@: written apart so that config.status leaves them to this sed.
MAN_SED = sed -e 's|@''sysconfdir@|$(sysconfdir)|g' -e 's|@''pkglibdir@|$(pkglibdir)|g' \
	-e 's|@''pkgdatadir@|$(pkgdatadir)|g' -e 's|@''pkgstatedir@|$(pkgstatedir)|g'
man/videoflix.1: $(srcdir)/man/videoflix.1.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(MAN_SED) $(srcdir)/man/videoflix.1.in > $@.tmp && mv $@.tmp $@
man/videoflix.conf.5: $(srcdir)/man/videoflix.conf.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(MAN_SED) $(srcdir)/man/videoflix.conf.5.in > $@.tmp && mv $@.tmp $@
