# conf/conf.mk - the configuration files and state folders of `make install`.
# The installed videoflix.conf is conf/videoflix.conf with its state paths
# made absolute under $(pkgstatedir) and the install folders written in, so
# the installed binary works from any working directory with no edits.
# Owns: installing/uninstalling $(sysconfdir)/videoflix and $(pkgstatedir),
# and removing the package's empty folders on uninstall.

pkgstatedir = $(localstatedir)/lib/videoflix
sysconf_videoflixdir = $(sysconfdir)/videoflix
INSTALLED_CONFS = conf/installed/videoflix.conf conf/installed/videoflix-production.conf
STATE_DIRS = media mail work
CLEANFILES += $(INSTALLED_CONFS)

# Relative development paths ("var/...") and the production example's
# /var/lib/videoflix become $(pkgstatedir); the worker's scratch space moves
# from /tmp (private and small under systemd) to $(pkgstatedir)/work.
INSTALL_CONF_SED = sed -e 's|"var/|"$(pkgstatedir)/|g' \
	-e 's|"/var/lib/videoflix/|"$(pkgstatedir)/|g' \
	-e 's|work_dir = "/tmp";|work_dir = "$(pkgstatedir)/work";|' \
	-e 's|  *\# relative to the working directory||' \
	-e 's|<libdir>/videoflix|$(pkglibdir)|g' \
	-e 's|<datadir>/videoflix|$(pkgdatadir)|g' \
	-e 's|^\# scripts/dev.sh writes.*|\# Installed by `make install` from conf/videoflix.conf; state lives under|' \
	-e 's|^\# its private PostgreSQL and Redis; edit this file, not that one.|\# $(pkgstatedir).|'
conf/installed/videoflix.conf: $(srcdir)/conf/videoflix.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/installed && $(INSTALL_CONF_SED) $(srcdir)/conf/videoflix.conf > $@.tmp && mv $@.tmp $@
conf/installed/videoflix-production.conf: $(srcdir)/conf/videoflix-production.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/installed && $(INSTALL_CONF_SED) $(srcdir)/conf/videoflix-production.conf > $@.tmp && mv $@.tmp $@

all-local: $(INSTALLED_CONFS)

# An edited configuration is never overwritten: the new one goes beside it
# as NAME.dist (what dpkg does for conffiles, by hand).
install-data-local: $(INSTALLED_CONFS)
	$(MKDIR_P) '$(DESTDIR)$(sysconf_videoflixdir)'
	@for f in $(INSTALLED_CONFS); do \
	  dest='$(DESTDIR)$(sysconf_videoflixdir)'/`basename $$f`; \
	  if test -f "$$dest" && ! cmp -s "$$f" "$$dest"; then \
	    echo "keeping the edited $$dest; the new one is $$dest.dist"; \
	    $(INSTALL_DATA) "$$f" "$$dest.dist" || exit 1; \
	  else \
	    echo " $(INSTALL_DATA) $$f '$$dest'"; \
	    $(INSTALL_DATA) "$$f" "$$dest" || exit 1; \
	  fi; \
	done
	for d in $(STATE_DIRS); do $(MKDIR_P) '$(DESTDIR)$(pkgstatedir)'/$$d || exit 1; done

# Removes what install put there and nothing an operator made: an edited
# configuration stays (and is named), a state folder goes only when empty.
uninstall-local:
	@for f in $(INSTALLED_CONFS); do \
	  dest='$(DESTDIR)$(sysconf_videoflixdir)'/`basename $$f`; \
	  rm -f "$$dest.dist"; \
	  if test -f "$$dest" && ! cmp -s "$$f" "$$dest"; then \
	    echo "keeping the edited $$dest (remove it by hand)"; \
	  else \
	    rm -f "$$dest"; \
	  fi; \
	done

# After every file is gone: the package's own folders, when empty.
uninstall-hook:
	-for d in '$(DESTDIR)$(sysconf_videoflixdir)' '$(DESTDIR)$(sqldir)' '$(DESTDIR)$(templatesdir)' \
	  '$(DESTDIR)$(pkgdatadir)/admin/vendor' '$(DESTDIR)$(pkgdatadir)/admin/js' '$(DESTDIR)$(pkgdatadir)/admin/css' \
	  '$(DESTDIR)$(pkgdatadir)/admin' '$(DESTDIR)$(pkgdatadir)' '$(DESTDIR)$(pkglibdir)' '$(DESTDIR)$(pkgincludedir)'; do \
	  test ! -d "$$d" || rmdir "$$d" 2>/dev/null; done; \
	for d in $(STATE_DIRS); do rmdir '$(DESTDIR)$(pkgstatedir)'/$$d 2>/dev/null; done; \
	rmdir '$(DESTDIR)$(pkgstatedir)' 2>/dev/null; true
