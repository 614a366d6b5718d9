/*
 * media.h - helpers for encoder tests: make small clips with the ffmpeg
 * program and read facts about files with ffprobe, as plain numbers and
 * strings.  They run the real programs found in $PATH (no shell).
 *
 * Shared by the encoder plugin tests (check_encoder_ffmpeg,
 * check_encoder_libav); every function returns a failure value rather
 * than aborting, so tests assert on the result.  Include it as
 * "tests/media.h" (core/media.h is another file).
 */
#ifndef VF_TEST_MEDIA_H
#define VF_TEST_MEDIA_H

#include <stddef.h>

typedef struct vfm_clip {
    int width, height;
    double fps;        /* 29.97 is written as the exact 30000/1001 */
    double seconds;
    int audio;         /* 1: add a 440 Hz stereo tone (AAC) */
    int halves;        /* 1: left half white, right half black (orientation
                        * checks) instead of the moving testsrc2 picture
                        * (testsrc for odd sizes) */
    int rotate;        /* not 0: a "rotate" tag of this value on the video
                        * stream (as FFmpeg 5.1 writes it with stream copy) */
    const char *video_codec; /* NULL: libx264 yuv420p; else e.g. "ffv1",
                              * which also takes odd frame sizes */
} vfm_clip_t;

/* Write the clip; the container follows path's extension (.mp4, .mkv).
 * MP4s get their index at the end, as ffmpeg writes them by default.
 * Returns 0, or -1 (ffmpeg's messages go to stderr). */
int vfm_make_clip(const char *path, const vfm_clip_t *clip);

/* One ffprobe value.  `select` is a stream specifier such as "v:0" or
 * "a:0" for stream entries, or NULL for format entries ("duration",
 * "format_name").  vfm_probe_str returns a malloc()ed string or NULL;
 * vfm_probe_num returns NAN when the entry is missing or not a number. */
char *vfm_probe_str(const char *path, const char *select, const char *entry);
double vfm_probe_num(const char *path, const char *select, const char *entry);

/* How many streams of one type ("v", "a") the file has; -1 on error. */
int vfm_count_streams(const char *path, const char *type);

/* MP4 top-level box order: 1 when "moov" comes before "mdat" (faststart),
 * 0 when after, -1 when either is missing or the file is unreadable. */
int vfm_moov_before_mdat(const char *path);

/* 1 when ffmpeg decodes every frame of the file without an error. */
int vfm_decodes(const char *path);

/* The first displayed video frame (rotation applied, as players show it)
 * as 8-bit gray, malloc()ed, with its size; NULL on failure. */
unsigned char *vfm_first_frame_gray(const char *path, int *width, int *height);

/* Cut src into CMAF HLS in dir with ffmpeg's own segmenter: the video
 * encoded again with libx264 (a keyframe every segment_seconds), the sound
 * copied: dir/init.mp4, dir/<n>.m4s and dir/index.m3u8.  0 or -1. */
int vfm_make_hls_fmp4(const char *src, const char *dir, double segment_seconds);

/* Copy the first `bytes` bytes of src to dst (truncated inputs). */
int vfm_copy_prefix(const char *src, const char *dst, size_t bytes);

#endif
