# encoder_libav: renditions and thumbnails through libavformat/libavcodec,
# decoding each source once.  See plugins/encoder_libav/README.md.
pkglib_LTLIBRARIES += plugins/encoder_libav.la
plugins_encoder_libav_la_SOURCES = \
	plugins/encoder_libav/lav.h \
	plugins/encoder_libav/plugin.c \
	plugins/encoder_libav/config.c \
	plugins/encoder_libav/job.c \
	plugins/encoder_libav/input.c \
	plugins/encoder_libav/demux.c \
	plugins/encoder_libav/probe.c \
	plugins/encoder_libav/geometry.c \
	plugins/encoder_libav/scale.c \
	plugins/encoder_libav/rotate.c \
	plugins/encoder_libav/audio.c \
	plugins/encoder_libav/encode.c \
	plugins/encoder_libav/output.c \
	plugins/encoder_libav/hls.c \
	plugins/encoder_libav/published.c \
	plugins/encoder_libav/worker.c \
	plugins/encoder_libav/thumbnail.c \
	plugins/encoder_libav/transcode.c
ENCODER_LIBAV_AV_CFLAGS = $(LIBAVFORMAT_CFLAGS) $(LIBAVCODEC_CFLAGS) $(LIBAVUTIL_CFLAGS) \
	$(LIBSWSCALE_CFLAGS) $(LIBSWRESAMPLE_CFLAGS)
ENCODER_LIBAV_AV_LIBS = $(LIBAVFORMAT_LIBS) $(LIBAVCODEC_LIBS) $(LIBAVUTIL_LIBS) \
	$(LIBSWSCALE_LIBS) $(LIBSWRESAMPLE_LIBS)
plugins_encoder_libav_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) $(ENCODER_LIBAV_AV_CFLAGS)
plugins_encoder_libav_la_CFLAGS = $(AM_CFLAGS)
plugins_encoder_libav_la_LDFLAGS = $(PLUGIN_LINK_FLAGS) $(AX_PTHREAD_FLAGS)
plugins_encoder_libav_la_LIBADD = $(LIBCONFIG_LIBS) $(ENCODER_LIBAV_AV_LIBS) -ldl -lm
EXTRA_DIST += plugins/encoder_libav/README.md

check_PROGRAMS += tests/plugins/check_encoder_libav
TESTS += tests/plugins/check_encoder_libav
tests_plugins_check_encoder_libav_SOURCES = tests/plugins/check_encoder_libav.c \
	tests/media.c tests/media.h
tests_plugins_check_encoder_libav_CPPFLAGS = $(TEST_CPPFLAGS)
tests_plugins_check_encoder_libav_CFLAGS = $(TEST_CFLAGS)
tests_plugins_check_encoder_libav_LDADD = $(TEST_LIBS) -lm
