# storage_local: objects as files below a local root directory.

pkglib_LTLIBRARIES += plugins/storage_local.la
plugins_storage_local_la_SOURCES = \
	plugins/storage_local/storage_local.h \
	plugins/storage_local/plugin.c \
	plugins/storage_local/settings.c \
	plugins/storage_local/keypath.c \
	plugins/storage_local/fileio.c \
	plugins/storage_local/objects.c \
	plugins/storage_local/multipart.c \
	plugins/storage_local/prefix.c \
	plugins/storage_local/part_digest.h \
	plugins/storage_local/part_digest.c
plugins_storage_local_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS)
plugins_storage_local_la_CFLAGS = $(AM_CFLAGS)
plugins_storage_local_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_storage_local_la_LIBADD = $(LIBCONFIG_LIBS)

check_PROGRAMS += tests/plugins/check_storage_local
TESTS += tests/plugins/check_storage_local
tests_plugins_check_storage_local_SOURCES = tests/plugins/check_storage_local.c plugins/storage_local/part_digest.c
tests_plugins_check_storage_local_CPPFLAGS = $(TEST_CPPFLAGS)
tests_plugins_check_storage_local_CFLAGS = $(TEST_CFLAGS)
tests_plugins_check_storage_local_LDADD = $(TEST_LIBS)
