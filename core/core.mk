# core/core.mk - the core library (everything but main) and the videoflix binary.
# Tests link core/libvfcore.la, so every module is testable without main().

noinst_LTLIBRARIES += core/libvfcore.la

CORE_DEP_CFLAGS = $(LIBEVENT_CFLAGS) $(LIBPQ_CFLAGS) $(HIREDIS_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBJWT_CFLAGS) $(LIBCONFIG_CFLAGS) $(LIBCURL_CFLAGS) $(LIBCRYPTO_CFLAGS) $(LIBSODIUM_CFLAGS) \
	$(ZLIB_CFLAGS) $(BROTLIENC_CFLAGS)
CORE_DEP_LIBS = $(LIBEVENT_LIBS) $(LIBPQ_LIBS) $(HIREDIS_LIBS) $(JANSSON_LIBS) \
	$(LIBJWT_LIBS) $(LIBCONFIG_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(LIBSODIUM_LIBS) \
	$(ZLIB_LIBS) $(BROTLIENC_LIBS) -ldl -lm

CORE_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-DVF_PLUGINDIR='"$(pkglibdir)"' \
	-DVF_SYSCONFDIR='"$(sysconfdir)/videoflix"' \
	-DVF_PKGDATADIR='"$(pkgdatadir)"'

core_libvfcore_la_CPPFLAGS = $(CORE_CPPFLAGS)
core_libvfcore_la_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
core_libvfcore_la_LIBADD = $(CORE_DEP_LIBS)
core_libvfcore_la_SOURCES = \
	core/util/log.c core/util/log.h core/util/exit.h \
	core/util/json_escape.c core/util/json_escape.h core/util/sd_notify.c core/util/sd_notify.h \
	core/util/timeutil.c core/util/timeutil.h \
	core/util/text.c core/util/text.h \
	core/util/block_pool.c core/util/block_pool.h \
	core/util/compress.c core/util/compress.h core/util/coded_body.c core/util/coded_body.h \
	core/util/metrics.c core/util/metrics.h core/util/metrics_series.c core/util/metrics_series.h \
	core/config/conf.c core/config/conf.h \
	core/plugins/loader.c core/plugins/loader.h \
	core/plugins/host_settings.c core/plugins/host_settings.h \
	core/plugins/storage_key.c core/plugins/storage_key.h \
	core/plugins/capabilities.c core/plugins/capabilities.h \
	core/plugins/job_slots.c core/plugins/job_slots.h \
	core/plugins/storage_calls.c core/plugins/storage_calls.h \
	core/runtime/app.c core/runtime/app.h \
	core/runtime/db.c core/runtime/db.h core/runtime/redis.c core/runtime/redis.h \
	core/runtime/reload.c core/runtime/reload.h \
	core/http/http.h core/http/request.c core/http/reply.c \
	core/http/server.c core/http/server.h core/http/server_internal.h \
	core/http/router.c core/http/router.h \
	core/http/head.c core/http/head.h core/http/guard.c \
	core/http/conn.c core/http/conn.h \
	core/http/origin_check.c core/http/origin_check.h \
	core/http/health.c core/http/health.h core/http/supervise.c core/http/supervise.h \
	core/http/offload.c core/http/offload.h core/http/stream.c \
	core/http/paging.c core/http/paging.h core/http/metrics_server.c core/http/metrics_server.h \
	core/http/path.c core/http/path.h core/http/cookie.c core/http/cookie.h \
	core/http/json_body.c core/http/json_body.h core/http/range.c core/http/range.h \
	core/http/accept_encoding.c core/http/accept_encoding.h \
	core/http/shared_reply.c core/http/shared_reply.h \
	core/storage/remove_files.c core/storage/remove_files.h \
	core/cli/cli.h core/cli/startup.c core/cli/serve.c core/cli/routes.c core/cli/job_types.c

bin_PROGRAMS += videoflix
videoflix_SOURCES = core/cli/main.c
videoflix_CPPFLAGS = $(CORE_CPPFLAGS)
videoflix_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
videoflix_LDADD = core/libvfcore.la

# One paragraph per folder: what it owns and what it may call.
EXTRA_DIST += core/util/README.md core/config/README.md core/plugins/README.md \
	core/runtime/README.md core/http/README.md core/jobs/README.md core/storage/README.md \
	core/accounts/README.md core/uploads/README.md core/pipeline/README.md \
	core/catalog/README.md core/admin/README.md core/cli/README.md
