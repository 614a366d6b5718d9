# core/admin/admin.mk - the staff admin: its JSON API under /admin/api/
# (users, jobs, audit, live events) and the pages under /admin/
# (docs/admin.md).

core_libvfcore_la_SOURCES += \
	core/admin/paging.c core/admin/paging.h \
	core/admin/audit_api.c core/admin/audit_api.h \
	core/admin/users_api.c core/admin/users_api.h \
	core/admin/jobs_api.c core/admin/jobs_api.h \
	core/admin/events.c core/admin/events_feed.c core/admin/events.h

dist_sql_DATA += sql/005_admin.sql
