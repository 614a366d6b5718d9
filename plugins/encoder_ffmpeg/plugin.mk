# encoder_ffmpeg: runs the ffmpeg and ffprobe programs (see plugins/encoder_ffmpeg/README.md).
pkglib_LTLIBRARIES += plugins/encoder_ffmpeg.la
plugins_encoder_ffmpeg_la_SOURCES = \
	plugins/encoder_ffmpeg/encoder_ffmpeg.c \
	plugins/encoder_ffmpeg/state.h plugins/encoder_ffmpeg/source.c \
	plugins/encoder_ffmpeg/settings.c plugins/encoder_ffmpeg/settings.h \
	plugins/encoder_ffmpeg/argv.c plugins/encoder_ffmpeg/argv.h \
	plugins/encoder_ffmpeg/proc.c plugins/encoder_ffmpeg/proc.h \
	plugins/encoder_ffmpeg/run.c plugins/encoder_ffmpeg/run.h \
	plugins/encoder_ffmpeg/stderr_tail.c plugins/encoder_ffmpeg/stderr_tail.h \
	plugins/encoder_ffmpeg/probe.c plugins/encoder_ffmpeg/probe.h \
	plugins/encoder_ffmpeg/plan.c plugins/encoder_ffmpeg/plan.h \
	plugins/encoder_ffmpeg/outputs.c plugins/encoder_ffmpeg/outputs.h \
	plugins/encoder_ffmpeg/paths.c plugins/encoder_ffmpeg/paths.h \
	plugins/encoder_ffmpeg/tee.c plugins/encoder_ffmpeg/tee.h \
	plugins/encoder_ffmpeg/fileio.c plugins/encoder_ffmpeg/fileio.h \
	plugins/encoder_ffmpeg/bmff.c plugins/encoder_ffmpeg/bmff.h \
	plugins/encoder_ffmpeg/resume.c plugins/encoder_ffmpeg/resume.h \
	plugins/encoder_ffmpeg/hls.c plugins/encoder_ffmpeg/hls.h \
	plugins/encoder_ffmpeg/transcode.c plugins/encoder_ffmpeg/transcode.h
plugins_encoder_ffmpeg_la_CPPFLAGS = $(PLUGIN_CPPFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS)
plugins_encoder_ffmpeg_la_CFLAGS = $(AM_CFLAGS)
plugins_encoder_ffmpeg_la_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_encoder_ffmpeg_la_LIBADD = $(LIBCONFIG_LIBS) $(JANSSON_LIBS) -lm
EXTRA_DIST += plugins/encoder_ffmpeg/README.md

# tests/media.[ch] generate clips and read ffprobe numbers; shared with the
# encoder_libav test, listed here until tests/tests.mk takes them over.
check_PROGRAMS += tests/plugins/check_encoder_ffmpeg
TESTS += tests/plugins/check_encoder_ffmpeg
# bmff.c is also linked in alone: its parser is tested on hostile boxes.
tests_plugins_check_encoder_ffmpeg_SOURCES = tests/plugins/check_encoder_ffmpeg.c \
	tests/media.c tests/media.h \
	plugins/encoder_ffmpeg/bmff.c plugins/encoder_ffmpeg/bmff.h
tests_plugins_check_encoder_ffmpeg_CPPFLAGS = $(TEST_CPPFLAGS)
tests_plugins_check_encoder_ffmpeg_CFLAGS = $(TEST_CFLAGS)
tests_plugins_check_encoder_ffmpeg_LDADD = $(TEST_LIBS) -lm
