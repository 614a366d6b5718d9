# tests/tests.mk - Check tests of the core modules and end-to-end tests.
# Plugin tests are declared in each plugin's plugin.mk, sharing these flags.

check_LTLIBRARIES += tests/libvftest.la
tests_libvftest_la_SOURCES = tests/vftest.c tests/vftest.h
tests_libvftest_la_CPPFLAGS = $(TEST_CPPFLAGS)
tests_libvftest_la_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS) $(CHECK_CFLAGS)

TEST_CPPFLAGS = $(CORE_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/tests
TEST_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = tests/libvftest.la core/libvfcore.la $(CHECK_LIBS)

AM_TESTS_ENVIRONMENT = \
	VF_PLUGIN_DIR='$(abs_top_builddir)/plugins/.libs'; export VF_PLUGIN_DIR; \
	VF_TEST_PLUGIN_DIR='$(abs_top_builddir)/tests/.libs'; export VF_TEST_PLUGIN_DIR; \
	VF_SRCDIR='$(abs_top_srcdir)'; export VF_SRCDIR; \
	VF_BUILDDIR='$(abs_top_builddir)'; export VF_BUILDDIR; \
	VF_BINARY='$(abs_top_builddir)/videoflix'; export VF_BINARY; \
	CK_DEFAULT_TIMEOUT=120; export CK_DEFAULT_TIMEOUT;
