# storage_s3: objects in an S3 bucket (AWS or any S3-compatible server),
# signed with AWS Signature Version 4.  Its tests need the S3 test services
# of tests/services/s3 (started by scripts/test.sh; skipped without them).

pkglib_LTLIBRARIES += plugins/storage_s3.la
plugins_storage_s3_la_SOURCES = \
	plugins/storage_s3/storage_s3.c \
	plugins/storage_s3/s3_config.c plugins/storage_s3/s3_config.h \
	plugins/storage_s3/s3_http.c plugins/storage_s3/s3_http.h \
	plugins/storage_s3/s3_prefix.c plugins/storage_s3/s3_prefix.h \
	plugins/storage_s3/s3_xml.c plugins/storage_s3/s3_xml.h \
	plugins/storage_s3/sigv4.c plugins/storage_s3/sigv4.h
plugins_storage_s3_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) $(LIBCURL_CFLAGS) $(LIBCRYPTO_CFLAGS)
plugins_storage_s3_la_CFLAGS = $(AM_CFLAGS)
plugins_storage_s3_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_storage_s3_la_LIBADD = $(LIBCONFIG_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS)

# The signer alone, against AWS's test suite and the S3 documentation.
check_PROGRAMS += tests/plugins/check_sigv4
TESTS += tests/plugins/check_sigv4
tests_plugins_check_sigv4_SOURCES = tests/plugins/check_sigv4.c \
	plugins/storage_s3/sigv4.c plugins/storage_s3/sigv4.h
tests_plugins_check_sigv4_CPPFLAGS = $(TEST_CPPFLAGS) -I$(top_srcdir)/plugins/storage_s3
tests_plugins_check_sigv4_CFLAGS = $(TEST_CFLAGS)
tests_plugins_check_sigv4_LDADD = $(TEST_LIBS) $(JANSSON_LIBS) $(LIBCRYPTO_LIBS)

# The plugin through the core's loader, against s3rver behind a proxy that
# checks every signature with botocore.
check_PROGRAMS += tests/plugins/check_storage_s3
TESTS += tests/plugins/check_storage_s3
tests_plugins_check_storage_s3_SOURCES = tests/plugins/check_storage_s3.c
tests_plugins_check_storage_s3_CPPFLAGS = $(TEST_CPPFLAGS)
tests_plugins_check_storage_s3_CFLAGS = $(TEST_CFLAGS)
tests_plugins_check_storage_s3_LDADD = $(TEST_LIBS) $(LIBCURL_LIBS)

EXTRA_DIST += \
	tests/services/s3/.gitignore \
	tests/services/s3/README.md \
	tests/services/s3/package.json \
	tests/services/s3/package-lock.json \
	tests/services/s3/install.sh \
	tests/services/s3/start.sh \
	tests/services/s3/stop.sh \
	tests/services/s3/s3rver-run.js \
	tests/services/s3/s3proxy.py
