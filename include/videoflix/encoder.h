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
 * Outputs (1.2): a transcode makes MP4 files, HLS segments, or both, from
 * one decode and one encode per rendition (the packets are muxed twice).
 * HLS is CMAF: per rendition one initialisation segment and fragmented-MP4
 * media segments, reported one by one through params->hls_file as soon as
 * each is complete, so the caller can publish them while the encode goes
 * on.  Playlists are the caller's: it writes them from what is reported
 * (and reads codecs and picture size from the initialisation segment).
 *
 * Paths (sources, output paths, hls_dir) are the operator's: they may hold
 * any character a file name may ('%', ':', quotes, '|', spaces), and an
 * encoder never lets a library or a program read one as a pattern, a
 * protocol or an option (the contract suite's test_hls_odd_paths).
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

/* ---- 1.2: outputs ---- */

#define VF_OUTPUT_MP4 (1u << 0) /* each rendition's output_path: an MP4 with its index at the front */
#define VF_OUTPUT_HLS (1u << 1) /* CMAF segments per rendition, reported through hls_file */

/* The sequence number of a rendition's initialisation segment. */
#define VF_HLS_INIT (-1)

/* One finished HLS file of one rendition. */
typedef struct vf_hls_file {
    uint32_t size;             /* sizeof(vf_hls_file_t) in the encoder */
    size_t rendition;          /* index into params->renditions */
    /* VF_HLS_INIT for the initialisation segment (an fMP4 header: ftyp +
     * moov with the video and, when the source has sound, audio track);
     * else the media segment's number: hls_first_segment, then each next
     * number, with no gap. */
    int64_t sequence;
    /* The complete local file, inside params->hls_dir.  The callee may move
     * or remove it; the encoder does not touch it again. */
    const char *path;
    double duration;           /* seconds of media in it; 0 for the init segment */
} vf_hls_file_t;

#define VF_HLS_FILE_SIZE_1_2 VF_SIZE_THROUGH(vf_hls_file_t, duration)

/* Called once per finished file: for each rendition its initialisation
 * segment before its first media segment, and its media segments in order.
 * It runs on the thread that called transcode or on one of the encoder's own
 * threads, never two calls at once for one transcode, and may block (the
 * caller uploads the file in it).  A negative return stops the transcode,
 * which removes its outputs (the reported files are the callee's) and
 * returns that value. */
typedef int (*vf_hls_file_fn)(void *ud, const vf_hls_file_t *file);

typedef struct vf_rendition {
    const char *name;          /* "720p" */
    int height;                /* display height; width follows the aspect, even */
    const char *output_path;   /* local .mp4 to write; NULL when outputs has no VF_OUTPUT_MP4 */
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

    /* ---- appended in 1.2 (read only when `size` covers them) ---- */

    /* VF_OUTPUT_*.  0, and params from a 1.0/1.1 caller (size not covering
     * it), mean VF_OUTPUT_MP4. */
    uint32_t outputs;
    /* VF_OUTPUT_HLS: an existing, empty local directory; the encoder writes
     * its segment files there under names of its own. */
    const char *hls_dir;
    /* VF_OUTPUT_HLS: the target segment length in seconds (e.g. 4.0).  Every
     * rendition has a keyframe at each multiple of it and a segment starts
     * at each, so segment n begins at the same instant in every rendition
     * (n * hls_segment_seconds; only the last one is shorter). */
    double hls_segment_seconds;
    /* VF_OUTPUT_HLS: the first segment to report, for a resumed job whose
     * earlier segments were published before it stopped; 0 normally.
     * Segments keep their numbers and timestamps (segment n starts at
     * n * hls_segment_seconds whatever this is).  Without
     * hls_published_dir (1.3) the encoder encodes the whole source and only
     * leaves the earlier segments unreported.  Each rendition's
     * initialisation segment is reported again. */
    int64_t hls_first_segment;
    /* VF_OUTPUT_HLS: not NULL.  See vf_hls_file_fn. */
    vf_hls_file_fn hls_file;
    void *hls_ud;

    /* ---- appended in 1.3 (read only when `size` covers it) ---- */

    /* Resuming (1.3): NULL, or, when hls_first_segment > 0 and the encoder
     * declares VF_ENCODER_HLS_RESUME, a local directory holding what the
     * stopped job published of every rendition: <name>/init.mp4 and
     * <name>/<n>.m4s for n = 0 .. hls_first_segment - 1 (<name> as in
     * renditions[]).  Read only.  The encoder then does not encode those
     * segments again: it starts decoding near hls_first_segment *
     * hls_segment_seconds, gives the new segments the timestamps a whole run
     * would have given them (they play on from the published ones), and
     * makes each VF_OUTPUT_MP4 file from the published segments followed by
     * the new ones (a remux, no encode).  When the published files cannot
     * be continued (missing, unreadable, or their initialisation segment
     * differs from the one it would write now, say after an upgrade) it
     * encodes the whole source, says so in its log, and reports every
     * segment from 0: the caller keeps the stored segments of a rendition
     * whose initialisation segment is unchanged and replaces the others. */
    const char *hls_published_dir;
} vf_transcode_params_t;

#define VF_TRANSCODE_PARAMS_SIZE_1_0 VF_SIZE_THROUGH(vf_transcode_params_t, progress_ud)
#define VF_TRANSCODE_PARAMS_SIZE_1_2 VF_SIZE_THROUGH(vf_transcode_params_t, hls_ud)
#define VF_TRANSCODE_PARAMS_SIZE_1_3 VF_SIZE_THROUGH(vf_transcode_params_t, hls_published_dir)

/* ---- 1.1: capabilities ---- */

/* Source kinds an encoder reads. */
#define VF_ENCODER_SOURCE_PATH (1u << 0)   /* a local file path */
#define VF_ENCODER_SOURCE_HTTP (1u << 1)   /* an http:// or https:// URL */

/* Flags. */
#define VF_ENCODER_X264_DEFAULTS (1u << 0) /* takes params->preset/crf as libx264 defaults */
#define VF_ENCODER_HLS_RESUME (1u << 1)    /* 1.3: continues from params->hls_published_dir */

typedef struct vf_encoder_caps {
    /* Set by the caller, who fills every field with its fallback first (as
     * for vf_storage_caps_t). */
    uint32_t size;
    uint32_t sources;          /* VF_ENCODER_SOURCE_*; at least one */
    uint32_t flags;            /* VF_ENCODER_X264_DEFAULTS, VF_ENCODER_HLS_RESUME */
    uint32_t max_jobs;         /* operations this state may run at once; 0 = no limit */
    /* ---- appended in 1.2 ---- */
    uint32_t outputs;          /* VF_OUTPUT_* it can make; fallback VF_OUTPUT_MP4 */
} vf_encoder_caps_t;

#define VF_ENCODER_CAPS_SIZE_1_1 VF_SIZE_THROUGH(vf_encoder_caps_t, max_jobs)
#define VF_ENCODER_CAPS_SIZE_1_2 VF_SIZE_THROUGH(vf_encoder_caps_t, outputs)

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
