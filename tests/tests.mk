# tests/tests.mk - Check tests of the core modules and end-to-end tests.
# Plugin tests are declared in each plugin's plugin.mk, sharing these flags.

check_LTLIBRARIES += tests/libvftest.la
tests_libvftest_la_SOURCES = tests/vftest.c tests/vftest.h
tests_libvftest_la_CPPFLAGS = $(TEST_CPPFLAGS)
tests_libvftest_la_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS) $(BROTLIDEC_CFLAGS) $(CHECK_CFLAGS)

TEST_CPPFLAGS = $(CORE_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/tests
TEST_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = tests/libvftest.la core/libvfcore.la $(BROTLIDEC_LIBS) $(CHECK_LIBS)

AM_TESTS_ENVIRONMENT = \
	VF_PLUGIN_DIR='$(abs_top_builddir)/plugins/.libs'; export VF_PLUGIN_DIR; \
	VF_TEST_PLUGIN_DIR='$(abs_top_builddir)/tests/.libs'; export VF_TEST_PLUGIN_DIR; \
	VF_SRCDIR='$(abs_top_srcdir)'; export VF_SRCDIR; \
	VF_BUILDDIR='$(abs_top_builddir)'; export VF_BUILDDIR; \
	VF_BINARY='$(abs_top_builddir)/videoflix'; export VF_BINARY; \
	CK_DEFAULT_TIMEOUT=120; export CK_DEFAULT_TIMEOUT;

# Plugin fixtures for check_loader: real shared objects (-rpath makes libtool
# build them shared), each breaking one rule of the ABI handshake, plus one
# laid out as a plugin built against the 1.0 headers.
FIXTURE_FLAGS = -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += tests/fixture_good.la tests/fixture_bad_abi.la tests/fixture_no_symbol.la \
	tests/fixture_wrong_kind.la tests/fixture_newer_minor.la \
	tests/fixture_small_desc.la tests/fixture_small_ops.la tests/fixture_null_required.la tests/fixture_abi_1_0.la \
	tests/fixture_abi_1_1_early.la
tests_fixture_good_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_good_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_GOOD
tests_fixture_good_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_good_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_bad_abi_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_bad_abi_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_BAD_ABI
tests_fixture_bad_abi_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_bad_abi_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_no_symbol_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_no_symbol_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_NO_SYMBOL
tests_fixture_no_symbol_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_no_symbol_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_wrong_kind_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_wrong_kind_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_WRONG_KIND
tests_fixture_wrong_kind_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_wrong_kind_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_newer_minor_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_newer_minor_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_NEWER_MINOR
tests_fixture_newer_minor_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_newer_minor_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_small_desc_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_small_desc_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_SMALL_DESC
tests_fixture_small_desc_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_small_desc_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_small_ops_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_small_ops_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_SMALL_OPS
tests_fixture_small_ops_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_small_ops_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_null_required_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_null_required_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_NULL_REQUIRED
tests_fixture_null_required_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_null_required_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_abi_1_0_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_abi_1_0_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_ABI_1_0
tests_fixture_abi_1_0_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_abi_1_0_la_LIBADD = $(LIBCONFIG_LIBS)
tests_fixture_abi_1_1_early_la_SOURCES = tests/fixtures/plugin_fixture.c
tests_fixture_abi_1_1_early_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) -DFIXTURE_ABI_1_1_EARLY
tests_fixture_abi_1_1_early_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_abi_1_1_early_la_LIBADD = $(LIBCONFIG_LIBS)

# The folders of core/ include only downwards (docs/architecture.md).
TESTS += tests/core/check_layers.sh
EXTRA_DIST += tests/core/check_layers.sh

CORE_TESTS = tests/core/check_config tests/core/check_loader tests/core/check_plugin_host tests/core/check_router \
	tests/core/check_migrate tests/e2e/check_server tests/e2e/check_cli
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
tests_core_check_config_SOURCES = tests/core/check_config.c
tests_core_check_config_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_config_CFLAGS = $(TEST_CFLAGS)
tests_core_check_config_LDADD = $(TEST_LIBS)
tests_core_check_loader_SOURCES = tests/core/check_loader.c
tests_core_check_loader_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_loader_CFLAGS = $(TEST_CFLAGS)
tests_core_check_loader_LDADD = $(TEST_LIBS)
tests_core_check_plugin_host_SOURCES = tests/core/check_plugin_host.c
tests_core_check_plugin_host_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_plugin_host_CFLAGS = $(TEST_CFLAGS)
tests_core_check_plugin_host_LDADD = $(TEST_LIBS)
tests_core_check_router_SOURCES = tests/core/check_router.c
tests_core_check_router_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_router_CFLAGS = $(TEST_CFLAGS)
tests_core_check_router_LDADD = $(TEST_LIBS)
tests_core_check_migrate_SOURCES = tests/core/check_migrate.c
tests_core_check_migrate_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_migrate_CFLAGS = $(TEST_CFLAGS)
tests_core_check_migrate_LDADD = $(TEST_LIBS)
tests_e2e_check_server_SOURCES = tests/e2e/check_server.c
tests_e2e_check_server_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_server_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_server_LDADD = $(TEST_LIBS)
tests_e2e_check_cli_SOURCES = tests/e2e/check_cli.c
tests_e2e_check_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_cli_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_cli_LDADD = $(TEST_LIBS)

# Bodies and framing judged before they are read, through the real server
# with a staff user (the uploads fixture).
check_PROGRAMS += tests/e2e/check_guard
TESTS += tests/e2e/check_guard
tests_e2e_check_guard_SOURCES = tests/e2e/check_guard.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_guard_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_guard_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_guard_LDADD = $(TEST_LIBS) -lm

# HLS through the real path: upload, the pipeline worker, the playlists
# served with the cookie (local storage and presigned S3), ffprobe,
# durations, keyframe alignment, watching while the job runs.
check_PROGRAMS += tests/e2e/check_hls
TESTS += tests/e2e/check_hls
tests_e2e_check_hls_SOURCES = tests/e2e/check_hls.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_hls_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_hls_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_hls_LDADD = $(TEST_LIBS) -lm

# The server's memory while it ingests a big upload with tus and serves a
# big file (VF_MEMORY_TEST_MIB, default 128; docs/uploads.md).
check_PROGRAMS += tests/e2e/check_memory
TESTS += tests/e2e/check_memory
tests_e2e_check_memory_SOURCES = tests/e2e/check_memory.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_memory_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_memory_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_memory_LDADD = $(TEST_LIBS) -lm

# Both Nginx layouts of packaging/nginx (Debian's nginx, made up by
# nginx_site.sh from the shipped files) in front of the server and a worker.
check_PROGRAMS += tests/e2e/check_nginx
TESTS += tests/e2e/check_nginx
tests_e2e_check_nginx_SOURCES = tests/e2e/check_nginx.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_nginx_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_nginx_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_nginx_LDADD = $(TEST_LIBS) $(LIBCURL_LIBS) -lm
EXTRA_DIST += tests/e2e/nginx_site.sh

# The request-head grammar of the guard (pure functions).
check_PROGRAMS += tests/core/check_head
TESTS += tests/core/check_head
tests_core_check_head_SOURCES = tests/core/check_head.c
tests_core_check_head_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_head_CFLAGS = $(TEST_CFLAGS)
tests_core_check_head_LDADD = $(TEST_LIBS)

# The admin API through the real server: staff checks, users, jobs, audit.
check_PROGRAMS += tests/e2e/check_admin
TESTS += tests/e2e/check_admin
tests_e2e_check_admin_SOURCES = tests/e2e/check_admin.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_admin_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_admin_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_admin_LDADD = $(TEST_LIBS) -lm

# The admin pages in Debian's chromium, driven by tests/browser/admin.mjs
# (playwright-core, pinned by tests/browser/package-lock.json).
BROWSER_TEST_SOURCES = tests/e2e/browser_fixture.c tests/e2e/browser_fixture.h $(UPLOADS_TEST_SOURCES)
check_PROGRAMS += tests/e2e/check_admin_browser
TESTS += tests/e2e/check_admin_browser
tests_e2e_check_admin_browser_SOURCES = tests/e2e/check_admin_browser.c $(BROWSER_TEST_SOURCES)
tests_e2e_check_admin_browser_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_admin_browser_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_admin_browser_LDADD = $(TEST_LIBS) -lm
EXTRA_DIST += tests/browser/admin.mjs tests/browser/package.json tests/browser/package-lock.json tests/browser/install.sh
# A video's HLS stream played by hls.js (npm, pinned there too) in chromium,
# switching level under CDP throttling, and watched while it is processed
# (tests/browser/hls.mjs).
check_PROGRAMS += tests/e2e/check_hls_browser
TESTS += tests/e2e/check_hls_browser
tests_e2e_check_hls_browser_SOURCES = tests/e2e/check_hls_browser.c $(BROWSER_TEST_SOURCES)
tests_e2e_check_hls_browser_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_hls_browser_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_hls_browser_LDADD = $(TEST_LIBS) -lm
EXTRA_DIST += tests/browser/hls.mjs

# make install into a temporary prefix, run from the installed tree only,
# make uninstall (docs/operations.md).
TESTS += tests/install/install.sh
EXTRA_DIST += tests/install/install.sh
# The Debian packages: built, lintian, contents and dependencies, then
# installed, checked, removed and purged on this machine (as root).
TESTS += tests/install/deb.sh
EXTRA_DIST += tests/install/deb.sh
# videoflix(1) and videoflix.conf(5) against --help and conf/videoflix.conf.
TESTS += tests/install/man_pages.sh
EXTRA_DIST += tests/install/man_pages.sh

# The logger: JSON lines and escaping, the log file and its reopening, the
# server's access log as JSON.
check_PROGRAMS += tests/core/check_compress
TESTS += tests/core/check_compress
tests_core_check_compress_SOURCES = tests/core/check_compress.c
tests_core_check_compress_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_compress_CFLAGS = $(TEST_CFLAGS)
tests_core_check_compress_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/core/check_block_pool
TESTS += tests/core/check_block_pool
tests_core_check_block_pool_SOURCES = tests/core/check_block_pool.c
tests_core_check_block_pool_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_block_pool_CFLAGS = $(TEST_CFLAGS)
tests_core_check_block_pool_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/core/check_log
TESTS += tests/core/check_log
tests_core_check_log_SOURCES = tests/core/check_log.c
tests_core_check_log_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_log_CFLAGS = $(TEST_CFLAGS)
tests_core_check_log_LDADD = $(TEST_LIBS)

# Under a service manager played by the test: READY=1 after the listener
# and PostgreSQL, WATCHDOG=1, STOPPING=1, SIGHUP reloading the log settings.
check_PROGRAMS += tests/e2e/check_systemd
TESTS += tests/e2e/check_systemd
tests_e2e_check_systemd_SOURCES = tests/e2e/check_systemd.c
tests_e2e_check_systemd_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_systemd_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_systemd_LDADD = $(TEST_LIBS)
# The systemd units: systemd-analyze verify and security.
TESTS += tests/install/systemd_units.sh
EXTRA_DIST += tests/install/systemd_units.sh

# The metrics module: buckets, escaping, rendering, bounds, threads, and
# the page through `promtool check metrics` (docs/operations.md).
check_PROGRAMS += tests/core/check_metrics
TESTS += tests/core/check_metrics
tests_core_check_metrics_SOURCES = tests/core/check_metrics.c
tests_core_check_metrics_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_metrics_CFLAGS = $(TEST_CFLAGS)
tests_core_check_metrics_LDADD = $(TEST_LIBS)
# GET /metrics of a real server and worker: promtool, the public listener
# without it, counters moved by requests, an upload and a transcode.
check_PROGRAMS += tests/e2e/check_metrics
TESTS += tests/e2e/check_metrics
tests_e2e_check_metrics_SOURCES = tests/e2e/check_metrics.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_metrics_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_metrics_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_metrics_LDADD = $(TEST_LIBS) -lm
# packaging/prometheus: promtool check rules / check config / test rules.
TESTS += tests/install/prometheus_rules.sh
EXTRA_DIST += tests/install/prometheus_rules.sh tests/install/prometheus_rules_test.yml

# The browser tests' screenshots and (from a release tree) their own
# npm packages: make distcheck wants a clean build folder after distclean.
clean-local: clean-browser-artefacts
clean-browser-artefacts:
	-rm -rf tests/admin-screenshots tests/hls-screenshots tests/browser-run
.PHONY: clean-browser-artefacts
