/*
 * videoflix/encoder.h - the encoder plugin kind (encoder_ffmpeg, encoder_libav).
 *
 * An encoder reads one source (a local path, or an http(s) URL such as a
 * presigned S3 URL, as its capabilities say) and writes local files: MP4
 * renditions (H.264 + AAC, index at the front) and a JPEG thumbnail.  The
 * caller moves the files into storage and removes them.
 *
 * Threads: operations block for the whole work and are called from the job
 * worker's slot threads, several at once with the same state, up to
 * capabilities' max_jobs (the worker holds further jobs back).  Long
 * operations call `progress` on the calling thread at least once a second;
 * a non-zero return from it asks the encoder to stop: it removes its
 * partial outputs and returns -ECANCELED.
 *
 * Required operations (the loader refuses a NULL one, naming it): probe,
 * transcode, thumbnail.  Optional: capabilities (1.1).
 *
 * Codec settings: an encoder reads its own codec settings from its own
 * config group.  The core's media.preset and media.crf (libx264 terms) are
 * passed in vf_transcode_params_t only to encoders that declare
 * VF_ENCODER_X264_DEFAULTS, as defaults their own group may override; any
 * other encoder gets preset = NULL and crf = -1 and is never forced
 * through libx264's vocabulary.  1.0 encoders always get them.
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

/* vf_progress_fn (plugin.h): percent is 0..100 over the whole call. */

typedef struct vf_transcode_params {
    uint32_t size;             /* sizeof(vf_transcode_params_t) in the caller */
    const vf_rendition_t *renditions;   /* not NULL; nrenditions >= 1 */
    size_t nrenditions;
    /* libx264 defaults (media.preset, media.crf): given only to encoders
     * declaring VF_ENCODER_X264_DEFAULTS (and 1.0 encoders); otherwise NULL
     * and -1.  The encoder's own settings take precedence. */
    const char *preset;        /* e.g. "veryfast" */
    int crf;                   /* e.g. 28 */
    int audio_bitrate;         /* AAC bits/s, e.g. 128000; stereo */
    int allow_upscale;         /* 0: never make a rendition taller than the source */
    const char *thumbnail_path;/* JPEG to write as well, or NULL */
    double thumbnail_at;       /* seconds; < 0 = 1.0 s, or the middle of shorter videos */
    vf_progress_fn progress;   /* may be NULL */
    void *progress_ud;
} vf_transcode_params_t;

#define VF_TRANSCODE_PARAMS_SIZE_1_0 VF_SIZE_THROUGH(vf_transcode_params_t, progress_ud)

/* ---- 1.1: capabilities ---- */

/* Source kinds an encoder reads. */
#define VF_ENCODER_SOURCE_PATH (1u << 0)   /* a local file path */
#define VF_ENCODER_SOURCE_HTTP (1u << 1)   /* an http:// or https:// URL */

/* Flags. */
#define VF_ENCODER_X264_DEFAULTS (1u << 0) /* takes params->preset/crf as libx264 defaults */

typedef struct vf_encoder_caps {
    /* Set by the caller, who fills every field with its fallback first (as
     * for vf_storage_caps_t). */
    uint32_t size;
    uint32_t sources;          /* VF_ENCODER_SOURCE_*; at least one */
    uint32_t flags;            /* VF_ENCODER_X264_DEFAULTS */
    uint32_t max_jobs;         /* operations this state may run at once; 0 = no limit */
} vf_encoder_caps_t;

#define VF_ENCODER_CAPS_SIZE_1_1 VF_SIZE_THROUGH(vf_encoder_caps_t, max_jobs)

typedef struct vf_encoder_ops {
    uint32_t size;             /* sizeof(vf_encoder_ops_t) when built */
    /* 1 when `source` may be an http(s) URL.  Superseded in 1.1 by
     * capabilities' sources, which the core prefers when present; a 1.1
     * plugin sets both alike. */
    int accepts_urls;

    /* -EINVAL with a readable message for unreadable or non-media input.
     * `info` is not NULL.  Required. */
    int (*probe)(void *state, const char *source, vf_media_info_t *info, vf_error_t *err);
    /* Write every rendition (and the thumbnail, if asked) from one source;
     * on failure no output (partial or whole) is left.  Required. */
    int (*transcode)(void *state, const char *source, const vf_transcode_params_t *params,
                     vf_error_t *err);
    /* A JPEG of the frame at `at` seconds (< 0 = default as above).
     * `progress` may be NULL.  Required. */
    int (*thumbnail)(void *state, const char *source, double at, const char *output_path,
                     vf_progress_fn progress, void *progress_ud, vf_error_t *err);

    /* ---- appended in 1.1 (read only when `size` covers it) ---- */

    /* Fill the fields of *caps that caps->size covers; called once, right
     * after create.  Optional: without it the core assumes a 1.0 encoder
     * (local paths, URLs when accepts_urls, X264_DEFAULTS, no job limit). */
    int (*capabilities)(void *state, vf_encoder_caps_t *caps);
} vf_encoder_ops_t;

#define VF_ENCODER_OPS_SIZE_1_0 VF_SIZE_THROUGH(vf_encoder_ops_t, thumbnail)
#define VF_ENCODER_OPS_SIZE_1_1 VF_SIZE_THROUGH(vf_encoder_ops_t, capabilities)

#if defined(__LP64__)
VF_STATIC_ASSERT(VF_ENCODER_OPS_SIZE_1_0 == 32, "vf_encoder_ops_t 1.0 is 32 bytes");
VF_STATIC_ASSERT(VF_TRANSCODE_PARAMS_SIZE_1_0 == 80, "vf_transcode_params_t 1.0 is 80 bytes");
#endif

#ifdef __cplusplus
}
#endif
#endif
