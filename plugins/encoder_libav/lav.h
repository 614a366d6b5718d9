/*
 * lav.h - declarations shared by the sources of the encoder_libav plugin.
 * Owns nothing itself; each section names the file that implements it.
 *
 * Threads: an operation runs on the caller's thread (demuxing, decoding,
 * audio encoding, the thumbnail and every progress callback) plus one worker
 * thread per rendition (scaling, H.264 encoding and muxing of its MP4 and
 * HLS segments, and the hls_file reports of that rendition's segments).
 */
#ifndef LAV_H
#define LAV_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <videoflix/encoder.h>

#define LAV_PLUGIN_NAME "encoder_libav"
#define LAV_MSG_MAX 512

/* ---- config.c: the plugin's settings ---- */
typedef struct lav_config {
    int threads;        /* x264 threads per rendition, 0 = let x264 choose */
    char **order;       /* rendition names opened/fed/finalised first (NULL-terminated) */
    size_t norder;
    double timeout;     /* seconds for a whole operation, 0 = none */
    double io_timeout;  /* seconds a network read may block */
    char *preset;       /* libx264 preset; NULL = the caller's default */
    int crf;            /* libx264 CRF; -1 = the caller's default */
    int max_jobs;       /* operations at once; 0 = no limit */
} lav_config_t;

int lav_config_parse(const vf_host_api_t *host, const config_setting_t *group, lav_config_t *cfg,
                     vf_error_t *err);
void lav_config_free(lav_config_t *cfg);

typedef struct lav_state {
    const vf_host_api_t *host;
    lav_config_t cfg;
} lav_state_t;

/* ---- job.c: one operation's clock, progress reports and first error ---- */
typedef struct lav_job {
    const lav_state_t *state;
    vf_error_t *err;
    vf_progress_fn progress;
    void *progress_ud;
    int64_t deadline_ns;    /* CLOCK_MONOTONIC, 0 = none */
    int64_t last_report_ns;
    double percent;         /* last known position, 0..100 */
    int stop;               /* -ECANCELED or -ETIMEDOUT once the job must end */
    int failed;             /* err holds the first failure */
    int reported_end;       /* 100 was reported: no more reports */
} lav_job_t;

void lav_job_init(lav_job_t *job, const lav_state_t *state, vf_progress_fn progress, void *ud,
                  vf_error_t *err);
/* Check the deadline and report progress when a report is due; returns
 * job->stop (0 while the job may go on).  Call it often. */
int lav_job_tick(lav_job_t *job);
/* Report `percent` now (the final 100, or the first 0). */
int lav_job_report(lav_job_t *job, double percent);
/* libavformat's interrupt callback: non-zero once the job must stop. */
int lav_job_interrupt(void *job);
/* Record the first failure (later ones are ignored) and return its code;
 * once the job was stopped, the stop reason wins over `code`. */
int lav_job_fail(lav_job_t *job, int code, const char *fmt, ...) VF_PRINTF(3, 4);
/* Same for a libav error: "<step>: <av_err2str>", mapped to an errno with
 * `fallback` for libav's own error codes. */
int lav_job_av_fail(lav_job_t *job, int averr, int fallback, const char *step);
/* A negative errno for a libav error code (fallback when it is not one). */
int lav_errno(int averr, int fallback);

/* ---- input.c: opening a source and describing it ---- */
typedef struct lav_input {
    AVFormatContext *fmt;
    AVIOContext *pb;            /* ours: the format context uses custom I/O */
    int is_url;
    int vidx, aidx;             /* stream indexes, aidx < 0 without audio */
    AVCodecContext *vdec, *adec;
    int rotation;               /* degrees clockwise to display */
    int display_w, display_h;   /* after rotation */
    AVRational sar;             /* display sample aspect ratio, 0/1 = unknown */
    AVRational frame_rate;      /* best guess, never 0 */
    double duration;            /* seconds, 0 = unknown */
    int64_t start_time;         /* AV_TIME_BASE units, subtracted from every timestamp */
    double progress_from;       /* seconds of media before the work (a resumed job's start) */
} lav_input_t;

/* Open `source` (a local path or an http(s) URL), find its streams and,
 * when `decoders` is set, open the video decoder and (if any) the audio one.
 * Failures to read the source are -EINVAL with "opening input: ..." style
 * messages.  lav_input_close() is safe on a partly opened input. */
int lav_input_open(lav_input_t *in, lav_job_t *job, const char *source, int decoders,
                   int want_audio);
void lav_input_close(lav_input_t *in);
/* `source` fit for messages and logs: URLs lose their query (signatures). */
void lav_source_label(const char *source, char *buf, size_t len);

/* ---- demux.c: the read/decode loop ---- */
/* Called for each decoded frame (video when is_video, else audio).  Return
 * 0 to go on, 1 to stop reading (success), or a negative errno after
 * lav_job_fail().  The frame is unreferenced after the call. */
typedef int (*lav_frame_fn)(void *ud, AVFrame *frame, int is_video);
/* Read and decode until the end (flushing the decoders) or until `fn` stops;
 * `span` (seconds of media) turns the read position into a percent. */
int lav_decode_run(lav_input_t *in, lav_job_t *job, double span, lav_frame_fn fn, void *ud);

/* ---- geometry.c: sizes ---- */
/* The coded size of a rendition `height` tall for a `display_w` x
 * `display_h` source, as ffmpeg's scale=-2:H picks it (even width nearest to
 * the aspect); heights are even and never above the source unless allowed. */
void lav_rendition_size(int display_w, int display_h, int height, int allow_upscale, int *out_w,
                        int *out_h);
/* The thumbnail size: the display size, at most 720 lines tall. */
void lav_thumbnail_size(int display_w, int display_h, int *out_w, int *out_h);

/* ---- scale.c: libswscale contexts (bicubic, like ffmpeg's scale) ---- */
struct SwsContext *lav_sws_new(int src_w, int src_h, int src_format, int src_full_range,
                               int dst_w, int dst_h, int dst_format, int dst_full_range);
/* 1 when the frame's samples use the full 0-255 range (JPEG style). */
int lav_full_range(const AVFrame *frame);

/* ---- rotate.c: turning decoded pictures upright ---- */
typedef struct lav_rotator {
    int rotation;                 /* 0, 90, 180 or 270 degrees clockwise */
    struct SwsContext *to_planar; /* for formats the plane turner cannot take */
    AVFrame *planar;
} lav_rotator_t;

/* *out becomes a new reference to the upright picture (the input itself
 * when rotation is 0); frame properties and timestamps are kept. */
int lav_rotate(lav_rotator_t *rot, const AVFrame *in, AVFrame **out);
void lav_rotator_free(lav_rotator_t *rot);

/* ---- audio.c: one resampler and one AAC encoder shared by all outputs ---- */
typedef struct lav_audio {
    AVCodecContext *enc;
    struct SwrContext *swr;
    struct AVAudioFifo *fifo;
    AVFrame *converted;
    AVFrame *chunk;
    AVPacket *pkt;
    int in_rate;
    int in_format;
    AVChannelLayout in_layout;
    AVRational in_tb;
    int64_t start;           /* input start in in_tb */
    int64_t next_pts;        /* in 1/sample_rate */
    int have_pts;
    /* A resumed job: samples before trim_before (1/sample_rate) are not
     * encoded, and the first encoded one sits on its frame grid. */
    int64_t trim_before;
    int trimming;
} lav_audio_t;

/* Receives each encoded AAC packet (pts in enc->time_base); returns 0 or a
 * negative errno after lav_job_fail(). */
typedef int (*lav_packet_fn)(void *ud, AVPacket *pkt);

int lav_audio_open(lav_audio_t *a, lav_job_t *job, const lav_input_t *in, int bit_rate);
/* Feed one decoded frame, or NULL to drain everything at the end. */
int lav_audio_feed(lav_audio_t *a, lav_job_t *job, const AVFrame *frame, lav_packet_fn fn,
                   void *ud);
void lav_audio_close(lav_audio_t *a);

/* ---- output.c: one MP4 file written under a temporary name ---- */
/* A muxer's H.264 stream and optional AAC stream, with the encoders' time
 * bases that packets arrive in. */
typedef struct lav_output_streams {
    AVStream *vst, *ast;
    AVRational venc_tb, aenc_tb;
    int64_t voff, aoff;      /* added to each packet's times, in the stream's time base */
} lav_output_streams_t;

/* Add the streams of `venc` (and `aenc` when not NULL) to a muxer; an AVERROR. */
int lav_output_add_streams(AVFormatContext *oc, const AVCodecContext *venc, AVRational frame_rate,
                           const AVCodecContext *aenc, lav_output_streams_t *st);
/* avformat_write_header, failing (msg) when it did not take every option. */
int lav_output_write_header(AVFormatContext *oc, AVDictionary **opts, char *msg, const char *step);
/* Mux one packet (time base: its encoder's) into those streams; its
 * reference moves to the muxer.  An AVERROR. */
int lav_output_streams_write(AVFormatContext *oc, const lav_output_streams_t *st, AVPacket *pkt, int is_video);

typedef struct lav_output {
    char *final_path;
    char *tmp_path;          /* ".<name>.part.mp4" beside final_path */
    AVFormatContext *oc;
    lav_output_streams_t streams;
    int file_created;
} lav_output_t;

/* "<dir>/.<base without ext>.part<ext>" for `final_path`. */
char *lav_temp_path(const char *final_path, const char *ext);
/* Create the file and write the header for one H.264 stream and, when
 * `aenc` is not NULL, one AAC stream. */
int lav_output_open(lav_output_t *o, const char *final_path, const AVCodecContext *venc,
                    AVRational frame_rate, const AVCodecContext *aenc, char *msg);
/* Write a packet (ownership of its reference moves to the muxer). */
int lav_output_write(lav_output_t *o, AVPacket *pkt, int is_video, char *msg);
/* Trailer (moov moved to the front) and close; the file stays temporary. */
int lav_output_finish(lav_output_t *o, char *msg);
/* Rename the finished file to its final name; a negative errno on failure. */
int lav_output_commit(lav_output_t *o);
/* Free everything; the temporary file is removed unless it was committed. */
void lav_output_close(lav_output_t *o);

/* ---- hls.c: one rendition's CMAF segments, reported as they finish ---- */
/* What the renditions of one transcode share to report their files. */
typedef struct lav_hls_reports {
    const vf_transcode_params_t *params; /* hls_file, hls_ud */
    /* Segments before it are removed unreported: hls_first_segment, or 0
     * when a resume fell back to a whole run (its new initialisation
     * segment may not play the published segments). */
    int64_t report_from;
    pthread_mutex_t mu;      /* one report at a time */
    int mu_ready;
    int failed;              /* hls_file's first negative answer; no report after it */
} lav_hls_reports_t;

int lav_hls_reports_init(lav_hls_reports_t *rep, const vf_transcode_params_t *params);
void lav_hls_reports_destroy(lav_hls_reports_t *rep);
/* hls_file's negative answer, or 0 while none. */
int lav_hls_reports_failed(lav_hls_reports_t *rep);

typedef struct lav_hls {
    lav_hls_reports_t *reports;
    size_t rendition;        /* index into params->renditions */
    AVFormatContext *oc;     /* the "hls" muxer */
    lav_output_streams_t streams;
    char *dir, *playlist_path, *init_path;
    AVIOContext *playlist_pb;/* the playlist being written, in memory */
    int64_t listed;          /* segments seen in the playlist so far */
    int64_t first_number;    /* the number of the muxer's first segment */
    int init_reported;
    int header_written;
    int discarding;          /* the job failed: report nothing more */
    /* The first failure of the muxer's file I/O: the hls muxer ignores what
     * io_close2 returns, so a segment whose last write failed would
     * otherwise be listed, and reported, as finished. */
    int io_error;
    char **files;            /* written and not handed over: removed at close */
    size_t nfiles;
} lav_hls_t;

/* Start the muxer for rendition number `rendition` (of params->renditions)
 * with the same streams as its MP4.  An AVERROR (or hls_file's answer)
 * with a message in msg.  `published_init` (a resumed job, or NULL): the
 * published initialisation segment (lav_hls_copy_init), reported again
 * in place of the muxer's own; the segments are then numbered from hls_first_segment and
 * their fragment times are those the packets carry. */
int lav_hls_open(lav_hls_t *h, lav_hls_reports_t *reports, size_t rendition, const AVCodecContext *venc,
                 AVRational frame_rate, const AVCodecContext *aenc, const char *published_init, char *msg);
/* Resumed, once the published segments are found fit: the published
 * initialisation segment copied to where lav_hls_open's report takes it.
 * An AVERROR with a message in msg. */
int lav_hls_copy_init(lav_hls_t *h, const char *published_init, char *msg);
/* Mux a packet (its reference moves to the muxer); segments finished on
 * the way are reported.  Fails with hls_file's answer once it failed. */
int lav_hls_write(lav_hls_t *h, AVPacket *pkt, int is_video, char *msg);
/* End the last segment and report it. */
int lav_hls_finish(lav_hls_t *h, char *msg);
/* Free everything and remove the files not handed over. */
void lav_hls_close(lav_hls_t *h);

/* ---- published.c: a resumed job's published segments of one rendition ---- */
typedef struct lav_published lav_published_t;

/* Where the published stream ends: each track's last dts + duration in its
 * time base (AV_NOPTS_VALUE without that track), and its packet count. */
typedef struct lav_published_end {
    int64_t video, audio;
    int64_t video_packets, audio_packets;
} lav_published_end_t;

/* Open <dir>/<name>/init.mp4 followed by 0.m4s .. <segments-1>.m4s as one
 * stream (raw fragment times).  An AVERROR with the reason in `why`. */
int lav_published_open(lav_published_t **p, const char *dir, const char *name, int64_t segments, char *why);
void lav_published_close(lav_published_t **p);
/* Read every published packet: 0 when the files hold what this run writes
 * (H.264 parameter sets, size, AAC configuration, rate, channels and the
 * time bases vtb/atb of the new segments' streams), with their end; else
 * an AVERROR and the reason in `why`. */
int lav_published_check(const char *dir, const char *name, int64_t segments, const AVCodecContext *venc,
                        AVRational vtb, const AVCodecContext *aenc, AVRational atb, lav_published_end_t *end,
                        lav_job_t *job, char *why);
/* Mux every published packet into `oc`'s streams `st`, its times less the
 * shifts (in the published time bases) and rescaled, in the thread of
 * `worker` (AVERROR_EXIT once it is aborted).  An AVERROR. */
struct lav_worker;
int lav_published_copy(const char *dir, const char *name, int64_t segments, AVFormatContext *oc,
                       const lav_output_streams_t *st, int64_t video_shift, int64_t audio_shift,
                       struct lav_worker *worker, char *msg);

/* ---- encode.c: scaling and H.264 encoding of one rendition ---- */
typedef struct lav_video_enc {
    AVCodecContext *enc;
    double key_every;        /* seconds between forced keyframes, 0 = x264 decides */
    int64_t next_key;        /* number of the next forced keyframe's interval */
    struct SwsContext *sws;
    int sws_src_w, sws_src_h, sws_src_fmt, sws_src_range;
    AVFrame *scaled;
    AVPacket *pkt;
    AVRational frame_rate;
} lav_video_enc_t;

/* key_every > 0: a keyframe at each multiple of it (seconds from the start)
 * besides x264's own, so that segments of every rendition cut alike. */
int lav_video_enc_open(lav_video_enc_t *v, const lav_input_t *in, int width, int height,
                       const vf_transcode_params_t *params, int threads, int global_header,
                       double key_every, char *msg);
/* 1 when `pts` (encoder time base) is at or past the boundary numbered
 * *next (a multiple of key_every), which then becomes the next one past
 * it; 0 without key_every.  Frames and packets keep their own *next. */
int lav_video_enc_boundary(const lav_video_enc_t *v, int64_t pts, int64_t *next);
/* Scale (when needed) and encode `frame` (NULL drains the encoder); each
 * packet goes to `fn` (which takes its reference; msg for its failure). */
int lav_video_enc_send(lav_video_enc_t *v, AVFrame *frame, lav_packet_fn fn, void *ud, char *msg);
void lav_video_enc_close(lav_video_enc_t *v);

/* ---- worker.c: a thread fed through a small bounded queue ---- */
#define LAV_QUEUE_CAP 6
typedef struct lav_item {
    AVFrame *frame;    /* a video frame, or */
    AVPacket *packet;  /* an audio packet; both NULL = end of input */
} lav_item_t;

/* Handles one item in the worker thread; non-zero ends the worker. */
typedef int (*lav_item_fn)(void *ud, lav_item_t *item);

typedef struct lav_worker {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    lav_item_t items[LAV_QUEUE_CAP];
    size_t head, count;
    int abort;        /* the feeder gave up: drop everything */
    int finished;     /* the thread returned; ret holds its result */
    int ret;
    int started, sync_ready;
    pthread_t thread;
    lav_item_fn fn;
    void *ud;
} lav_worker_t;

int lav_worker_start(lav_worker_t *w, lav_item_fn fn, void *ud);
/* Queue an item (ownership moves in, even on failure), waiting while the
 * queue is full and ticking the job meanwhile.  Returns 0, job->stop, or
 * -EPIPE when the worker has already ended. */
int lav_worker_push(lav_worker_t *w, lav_job_t *job, AVFrame *frame, AVPacket *packet);
/* Wait for the worker to end, ticking the job; returns its result or job->stop. */
int lav_worker_wait(lav_worker_t *w, lav_job_t *job);
/* In the worker's thread: whether lav_worker_destroy asks it to end, for
 * an item that takes long to check now and then. */
int lav_worker_aborted(lav_worker_t *w);
/* Abort (when still running), join and free the queue.  Safe to call twice. */
void lav_worker_destroy(lav_worker_t *w);

/* ---- thumbnail.c ---- */
/* Scale an upright decoded picture to the thumbnail size and write it as a
 * JPEG, atomically (temporary file + rename). */
int lav_thumbnail_write(const AVFrame *upright, const char *path, AVRational sar, char *msg);
/* The thumbnail time for `at` (< 0 picks the default) and a `duration`. */
double lav_thumbnail_time(double at, double duration);

/* ---- ops: probe.c, transcode.c, thumbnail.c ---- */
int lav_probe(void *state, const char *source, vf_media_info_t *info, vf_error_t *err);
int lav_transcode(void *state, const char *source, const vf_transcode_params_t *params,
                  vf_error_t *err);
int lav_thumbnail(void *state, const char *source, double at, const char *output_path,
                  vf_progress_fn progress, void *progress_ud, vf_error_t *err);

#endif
