# core/pipeline/hls.mk - HLS of the pipeline (docs/pipeline.md, "HLS"): the
# playlist renderer and the HLS rows, their migration and tests.

core_libvfcore_la_SOURCES += \
	core/pipeline/hls_playlist.c core/pipeline/hls_playlist.h \
	core/pipeline/hls_db.c core/pipeline/hls_db.h \
	core/pipeline/hls_init.c core/pipeline/hls_init.h \
	core/pipeline/hls_publish.c core/pipeline/hls_publish.h

dist_sql_DATA += sql/010_hls.sql

check_PROGRAMS += tests/core/check_hls_playlist
TESTS += tests/core/check_hls_playlist
tests_core_check_hls_playlist_SOURCES = tests/core/check_hls_playlist.c
tests_core_check_hls_playlist_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_hls_playlist_CFLAGS = $(TEST_CFLAGS)
tests_core_check_hls_playlist_LDADD = $(TEST_LIBS) -lm

check_PROGRAMS += tests/core/check_hls_init
TESTS += tests/core/check_hls_init
tests_core_check_hls_init_SOURCES = tests/core/check_hls_init.c tests/media.c tests/media.h
tests_core_check_hls_init_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_hls_init_CFLAGS = $(TEST_CFLAGS)
tests_core_check_hls_init_LDADD = $(TEST_LIBS) -lm

# Publishing through the real server, worker, encoder and storage.
check_PROGRAMS += tests/e2e/check_hls_publish
TESTS += tests/e2e/check_hls_publish
tests_e2e_check_hls_publish_SOURCES = tests/e2e/check_hls_publish.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_hls_publish_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_hls_publish_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_hls_publish_LDADD = $(TEST_LIBS) -lm

check_PROGRAMS += tests/core/check_hls_files
TESTS += tests/core/check_hls_files
tests_core_check_hls_files_SOURCES = tests/core/check_hls_files.c tests/media.c tests/media.h
tests_core_check_hls_files_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_hls_files_CFLAGS = $(TEST_CFLAGS)
tests_core_check_hls_files_LDADD = $(TEST_LIBS) -lm

# An encoder of ABI 1.1 (MP4 alone) for the start-up check of media.outputs.
check_LTLIBRARIES += tests/fixture_encoder_mp4.la
tests_fixture_encoder_mp4_la_SOURCES = tests/fixtures/encoder_fixture.c
tests_fixture_encoder_mp4_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS)
tests_fixture_encoder_mp4_la_LDFLAGS = $(FIXTURE_FLAGS)
tests_fixture_encoder_mp4_la_LIBADD = $(LIBCONFIG_LIBS)
