# core/core.mk - the core library (everything but main) and the videoflix binary.
# Tests link core/libvfcore.la, so every module is testable without main().

noinst_LTLIBRARIES += core/libvfcore.la

CORE_DEP_CFLAGS = $(LIBEVENT_CFLAGS) $(LIBPQ_CFLAGS) $(HIREDIS_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBJWT_CFLAGS) $(LIBCONFIG_CFLAGS) $(LIBCURL_CFLAGS) $(LIBCRYPTO_CFLAGS) $(LIBSODIUM_CFLAGS)
CORE_DEP_LIBS = $(LIBEVENT_LIBS) $(LIBPQ_LIBS) $(HIREDIS_LIBS) $(JANSSON_LIBS) \
	$(LIBJWT_LIBS) $(LIBCONFIG_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(LIBSODIUM_LIBS) -ldl -lm

CORE_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-DVF_PLUGINDIR='"$(pkglibdir)"' \
	-DVF_SYSCONFDIR='"$(sysconfdir)/videoflix"' \
	-DVF_PKGDATADIR='"$(pkgdatadir)"'

core_libvfcore_la_CPPFLAGS = $(CORE_CPPFLAGS)
core_libvfcore_la_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
core_libvfcore_la_LIBADD = $(CORE_DEP_LIBS)
core_libvfcore_la_SOURCES = \
	core/log.c core/log.h \
	core/util/timeutil.c core/util/timeutil.h \
	core/loader.c core/loader.h \
	core/conf.c core/conf.h \
	core/db.c core/db.h core/redis.c core/redis.h \
	core/app.c core/app.h core/cli.h core/router.c core/router.h core/routes.c \
	core/http.c core/http.h core/health.c core/health.h \
	core/offload.c core/offload.h

bin_PROGRAMS += videoflix
videoflix_SOURCES = core/main.c
videoflix_CPPFLAGS = $(CORE_CPPFLAGS)
videoflix_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
videoflix_LDADD = core/libvfcore.la
