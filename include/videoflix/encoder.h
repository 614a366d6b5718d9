/*
 * videoflix/encoder.h - the encoder plugin kind (encoder_ffmpeg, encoder_libav).
 *
 * An encoder reads one source (a local path, or an http(s) URL such as a
 * presigned S3 URL when the plugin says it can) and writes local files: MP4
 * renditions (H.264 + AAC, index at the front) and a JPEG thumbnail.  The
 * caller moves the files into storage and removes them.
 *
 * Operations are blocking and may run on several threads at once.  Long
 * operations call `progress` at least once a second; a non-zero return from
 * it asks the encoder to stop: it removes its partial outputs and returns
 * -ECANCELED.
 */
#ifndef VIDEOFLIX_ENCODER_H
#define VIDEOFLIX_ENCODER_H

#include <videoflix/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The container formats (libavformat demuxer names) a source may have:
 * self-contained media files.  Encoders built on libavformat or ffmpeg pass
 * this as the format whitelist when they probe and when they transcode, so
 * that an upload can never be a playlist, a concat script, an image
 * sequence or any format that opens other files or URLs (hls, dash, concat,
 * image2, ...), which would make the worker read and publish what it names. */
#define VF_ENCODER_SOURCE_FORMATS                                                               \
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,mpegvideo,asf,ogg,mxf,gif,apng," \
    "nut,ivf,dv,yuv4mpegpipe,rm,h264,hevc,h263,m4v,mjpeg,obu,wav,w64,mp3,aac,flac,amr,caf,"     \
    "aiff,wtv"

typedef struct vf_media_info {
    char container[64];        /* e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
    double duration;           /* seconds */
    int has_video;
    int has_audio;
    int width;                 /* coded size, before rotation */
    int height;
    int rotation;              /* degrees clockwise to display: 0, 90, 180, 270 */
    double fps;
    char video_codec[32];
    char audio_codec[32];
    int64_t bit_rate;          /* bits/s, 0 if unknown */
} vf_media_info_t;

typedef struct vf_rendition {
    const char *name;          /* "720p" */
    int height;                /* display height; width follows the aspect, even */
    const char *output_path;   /* local .mp4 to write */
} vf_rendition_t;

/* Return non-zero to cancel. percent is 0..100 over the whole call. */
typedef int (*vf_progress_fn)(void *ud, double percent);

typedef struct vf_transcode_params {
    uint32_t size;             /* sizeof(vf_transcode_params_t) in the caller */
    const vf_rendition_t *renditions;
    size_t nrenditions;
    const char *preset;        /* libx264 preset, e.g. "veryfast" */
    int crf;                   /* libx264 CRF, e.g. 28 */
    int audio_bitrate;         /* AAC bits/s, e.g. 128000; stereo */
    int allow_upscale;         /* 0: never make a rendition taller than the source */
    const char *thumbnail_path;/* JPEG to write as well, or NULL */
    double thumbnail_at;       /* seconds; < 0 = 1.0 s, or the middle of shorter videos */
    vf_progress_fn progress;
    void *progress_ud;
} vf_transcode_params_t;

typedef struct vf_encoder_ops {
    uint32_t size;             /* sizeof(vf_encoder_ops_t) when built */
    int accepts_urls;          /* 1 when `source` may be an http(s) URL */

    /* -EINVAL with a readable message for unreadable or non-media input. */
    int (*probe)(void *state, const char *source, vf_media_info_t *info, vf_error_t *err);
    /* Write every rendition (and the thumbnail, if asked) from one source. */
    int (*transcode)(void *state, const char *source, const vf_transcode_params_t *params,
                     vf_error_t *err);
    /* A JPEG of the frame at `at` seconds (< 0 = default as above). */
    int (*thumbnail)(void *state, const char *source, double at, const char *output_path,
                     vf_progress_fn progress, void *progress_ud, vf_error_t *err);
} vf_encoder_ops_t;

#ifdef __cplusplus
}
#endif
#endif
