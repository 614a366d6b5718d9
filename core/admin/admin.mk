# core/admin/admin.mk - the staff admin: its JSON API under /admin/api/
# (users, jobs, audit, live events) and the pages under /admin/
# (docs/admin.md).

core_libvfcore_la_SOURCES += \
	core/admin/paging.c core/admin/paging.h \
	core/admin/audit_api.c core/admin/audit_api.h \
	core/admin/users_api.c core/admin/users_api.h \
	core/admin/jobs_api.c core/admin/jobs_api.h \
	core/admin/video_jobs_api.c core/admin/video_jobs_api.h \
	core/admin/events.c core/admin/events_feed.c core/admin/events.h \
	core/admin/pages.c core/admin/pages.h

dist_sql_DATA += sql/006_admin.sql sql/007_admin_video_sizes.sql sql/008_admin_live.sql

# The pages, installed where admin.static_dir points by default.  The
# tus-js-client bundle comes from web/install.sh (npm, pinned by
# web/package-lock.json), so it is copied when it is there.
adminpagesdir = $(pkgdatadir)/admin
dist_adminpages_DATA = web/admin/videos.html web/admin/jobs.html web/admin/users.html web/admin/audit.html \
	web/admin/signin.html
adminjsdir = $(pkgdatadir)/admin/js
dist_adminjs_DATA = web/admin/js/api.js web/admin/js/signin.js web/admin/js/videos.js web/admin/js/jobs.js \
	web/admin/js/pager.js web/admin/js/users.js web/admin/js/audit.js web/admin/js/video_detail.js
admincssdir = $(pkgdatadir)/admin/css
dist_admincss_DATA = web/admin/css/admin.css
EXTRA_DIST += web/package.json web/package-lock.json web/install.sh core/admin/README.md

install-data-local: install-admin-vendor
install-admin-vendor:
	@if [ -f $(srcdir)/web/admin/vendor/tus.min.js ]; then \
		$(MKDIR_P) $(DESTDIR)$(pkgdatadir)/admin/vendor && \
		$(INSTALL_DATA) $(srcdir)/web/admin/vendor/tus.min.js $(DESTDIR)$(pkgdatadir)/admin/vendor/tus.min.js; \
	else echo "web/admin/vendor/tus.min.js is missing: run web/install.sh for uploads in the admin pages"; fi
uninstall-local: uninstall-admin-vendor
uninstall-admin-vendor:
	rm -f $(DESTDIR)$(pkgdatadir)/admin/vendor/tus.min.js
.PHONY: install-admin-vendor uninstall-admin-vendor

# A release tarball carries the upload bundle web/install.sh made (npm,
# pinned by web/package-lock.json): the pages need it, and a tarball's user
# should not need npm.  The test command makes it before any make.
dist-hook:
	@test -f $(srcdir)/web/admin/vendor/tus.min.js || \
		{ echo "web/admin/vendor/tus.min.js is missing: run web/install.sh before make dist" >&2; exit 1; }
	$(MKDIR_P) $(distdir)/web/admin/vendor
	cp -p $(srcdir)/web/admin/vendor/tus.min.js $(distdir)/web/admin/vendor/tus.min.js
