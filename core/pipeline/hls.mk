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

check_PROGRAMS += tests/core/check_hls_files
TESTS += tests/core/check_hls_files
tests_core_check_hls_files_SOURCES = tests/core/check_hls_files.c tests/media.c tests/media.h
tests_core_check_hls_files_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_hls_files_CFLAGS = $(TEST_CFLAGS)
tests_core_check_hls_files_LDADD = $(TEST_LIBS) -lm
