# core/content.mk - the content API, its catalogue cache, the video JSON
# object shared with the admin API, and /media/ for local storage
# (docs/content.md).  The benchmark in bench/api is run by hand.

core_libvfcore_la_SOURCES += \
	core/catalog/content.c core/catalog/content.h \
	core/catalog/content_cache.c core/catalog/content_cache.h \
	core/catalog/video_json.c core/catalog/video_json.h \
	core/catalog/media.c core/catalog/media.h \
	core/catalog/playlist_cache.c core/catalog/playlist_cache.h \
	core/catalog/hls_serve.c core/catalog/hls_serve.h

dist_sql_DATA += sql/003_videos.sql

# /media/ through the real server: headers, conditional requests, ranges,
# traversal attempts, and the server's memory while it sends 2 GiB.
check_PROGRAMS += tests/core/check_media
TESTS += tests/core/check_media
tests_core_check_media_SOURCES = tests/core/check_media.c
tests_core_check_media_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_media_CFLAGS = $(TEST_CFLAGS)
tests_core_check_media_LDADD = $(TEST_LIBS)

# The /content/ endpoints through the real server and database, with local
# storage and (when its test server runs) storage_s3.
check_PROGRAMS += tests/e2e/check_content
TESTS += tests/e2e/check_content
tests_e2e_check_content_SOURCES = tests/e2e/check_content.c
tests_e2e_check_content_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_content_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_content_LDADD = $(TEST_LIBS)

# The rendered-playlist cache alone: keys, ageing, its bounds, references
# that outlive eviction, encodings made once, threads.
check_PROGRAMS += tests/core/check_playlist_cache
TESTS += tests/core/check_playlist_cache
tests_core_check_playlist_cache_SOURCES = tests/core/check_playlist_cache.c
tests_core_check_playlist_cache_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_playlist_cache_CFLAGS = $(TEST_CFLAGS)
tests_core_check_playlist_cache_LDADD = $(TEST_LIBS)
