/*
 * transcode.c - the transcode operation: one pass over the source feeds
 * every rendition and the thumbnail.
 *
 *   caller's thread: read -> decode video once -> turn upright -> thumbnail
 *                    and a reference of the frame to each rendition's queue;
 *                    decode audio once -> resample -> AAC once -> a reference
 *                    of each packet to each rendition's queue
 *   rendition thread (one each, worker.c): scale -> x264 -> mux into the
 *                    MP4 and/or the HLS segmenter (hls.c), the same packets
 *
 * The renditions share the AAC packets because they all ask for the same
 * audio (stereo AAC at params->audio_bitrate): encoding it once per output
 * would give identical bytes at several times the cost.
 *
 * Every MP4 output is written under a temporary name; the files are renamed
 * into place together once all of them are complete, and removed on any
 * failure, timeout or cancellation.  HLS files are handed over one by one
 * as they finish (params->hls_file); with HLS, every rendition gets a
 * keyframe at each multiple of hls_segment_seconds, where segments cut.
 *
 * Resumed (ABI 1.3, hls_published_dir): the published segments are
 * checked (published.c), the source is sought to the resumed point and
 * only what follows is encoded, on the whole run's times (see
 * prepare_resume and resume_start); anything that cannot be continued
 * means one warning and a whole run.
 */
#include "lav.h"

#include <libavutil/avstring.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A resumed job (ABI 1.3): what the new part continues. */
typedef struct resume {
    int on;
    const char *dir;           /* params->hls_published_dir */
    int64_t segments;          /* published: 0 .. segments - 1 */
    double at;                 /* seconds: segments * hls_segment_seconds */
    /* Audio: the whole run's packet times less the published (raw
     * fragment) ones, in the published audio time base; and the first new
     * packet kept (the published end), in the encoder's. */
    int64_t audio_shift;
    int64_t audio_keep_from;
    int read_source;           /* the source was read before the seek */
} resume_t;

typedef struct rendition {
    const vf_rendition_t *spec;
    const resume_t *resume;
    int width, height;
    lav_video_enc_t video;
    uint32_t outputs;          /* VF_OUTPUT_* */
    lav_output_t out;          /* VF_OUTPUT_MP4 */
    lav_hls_t hls;             /* VF_OUTPUT_HLS */
    AVPacket *hls_pkt;         /* the HLS muxer's reference when both are made */
    int64_t hls_next_cut;      /* the segment boundary the next cut is at */
    lav_worker_t worker;
    char msg[LAV_MSG_MAX];     /* written by the worker thread only */
    /* Resumed: the published video's end (HLS stream time base); whether
     * the first new video packet placed the new part after it; the audio
     * packets that came first, held for the MP4 until then. */
    int64_t published_video_end;
    int started;
    AVPacket **held;
    size_t nheld;
} rendition_t;

typedef struct transcode {
    lav_job_t *job;
    const char *source;
    const vf_transcode_params_t *params;
    uint32_t outputs;          /* VF_OUTPUT_*, from a caller of any version */
    lav_hls_reports_t reports; /* VF_OUTPUT_HLS */
    lav_input_t in;
    rendition_t *r;            /* in the configured order */
    size_t nr;
    lav_audio_t audio;
    int has_audio;
    lav_rotator_t rot;
    resume_t resume;
    int64_t start_v;           /* the input start, in the video time base */
    int64_t last_pts;          /* of the last frame passed on, relative */
    int have_last;
    long dropped;
    /* thumbnail */
    double thumb_at;
    AVFrame *thumb_last;       /* latest upright frame until the thumbnail is taken */
    int thumb_done;
    char *thumb_tmp;
    int thumb_written;
} transcode_t;

/* The segmenter cuts at keyframes: only those forced at the boundaries
 * may cut, so x264's own (scene cuts) are plain frames to it and every
 * rendition cuts at the same instants whatever the muxer makes of the
 * streams' start. */
static void mark_cut(rendition_t *r, AVPacket *pkt, int is_video)
{
    if (is_video && (pkt->flags & AV_PKT_FLAG_KEY) &&
        !lav_video_enc_boundary(&r->video, pkt->pts, &r->hls_next_cut))
        pkt->flags &= ~AV_PKT_FLAG_KEY;
}

/* The first new video packet of a resumed job (the keyframe at the
 * resumed point): the whole run gave it the dts where the published video
 * ends, so that fixes the video's times; the MP4 then gets the published
 * packets, back on the whole run's times, and the audio held meanwhile. */
static int resume_start(rendition_t *r, const AVPacket *pkt)
{
    const lav_output_streams_t *hs = &r->hls.streams;
    int64_t pts = av_rescale_q(pkt->pts, hs->venc_tb, hs->vst->time_base);
    int64_t dts = av_rescale_q(pkt->dts, hs->venc_tb, hs->vst->time_base);
    int ret = 0;
    /* The hls muxer (frag_discont) starts each track's fragment times at
     * its first packet's pts. */
    r->hls.streams.voff = r->published_video_end - pts;
    r->started = 1;
    /* The two tracks are offset differently (each by its own start), so
     * the muxer would interleave the audio later against the video than
     * the whole run did and move some audio packets across cuts: it is
     * interleaved earlier by the difference (rounded so that a tie still
     * puts the video first, as in the whole run). */
    if (hs->ast) {
        int64_t preload = av_rescale_q_rnd(hs->aoff, hs->ast->time_base, AV_TIME_BASE_Q, AV_ROUND_DOWN) -
                          av_rescale_q_rnd(hs->voff, hs->vst->time_base, AV_TIME_BASE_Q, AV_ROUND_UP);
        if (preload > 0 && preload < INT_MAX)
            r->hls.oc->audio_preload = (int)preload;
    }
    if (!(r->outputs & VF_OUTPUT_MP4))
        return 0;
    if ((ret = lav_published_copy(r->resume->dir, r->spec->name, r->resume->segments, r->out.oc, &r->out.streams,
                                  r->published_video_end - dts, r->resume->audio_shift, &r->worker,
                                  r->msg)) < 0)
        return ret;
    for (size_t i = 0; i < r->nheld && ret >= 0; i++)
        ret = lav_output_write(&r->out, r->held[i], 0, r->msg);
    return ret;
}

static void drop_held(rendition_t *r)
{
    for (size_t i = 0; i < r->nheld; i++)
        av_packet_free(&r->held[i]);
    free(r->held);
    r->held = NULL;
    r->nheld = 0;
}

/* An audio packet for the MP4 before the published part is in it. */
static int hold(rendition_t *r, AVPacket *pkt)
{
    AVPacket **grown = realloc(r->held, (r->nheld + 1) * sizeof *grown);
    if (!grown || !(grown[r->nheld] = av_packet_alloc())) {
        if (grown)
            r->held = grown;
        snprintf(r->msg, sizeof r->msg, "writing the output: out of memory");
        return AVERROR(ENOMEM);
    }
    r->held = grown;
    av_packet_move_ref(r->held[r->nheld++], pkt);
    return 0;
}

/* One encoded packet to each output of the rendition: muxed twice,
 * encoded once. */
static int rendition_write(rendition_t *r, AVPacket *pkt, int is_video)
{
    int ret;
    const int resuming = r->resume->on && !r->started;
    if (resuming && is_video && (ret = resume_start(r, pkt)) < 0)
        return ret;
    if (r->outputs & VF_OUTPUT_HLS) {
        AVPacket *hls_pkt = pkt;
        if ((r->outputs & VF_OUTPUT_MP4) && (ret = av_packet_ref(hls_pkt = r->hls_pkt, pkt)) < 0) {
            snprintf(r->msg, sizeof r->msg, "writing HLS segments: %s", av_err2str(ret));
            return ret;
        }
        mark_cut(r, hls_pkt, is_video);
        if ((ret = lav_hls_write(&r->hls, hls_pkt, is_video, r->msg)) < 0 || !(r->outputs & VF_OUTPUT_MP4))
            return ret;
    }
    if (resuming && !is_video)
        return hold(r, pkt);
    return lav_output_write(&r->out, pkt, is_video, r->msg);
}

static int rendition_video_packet(void *ud, AVPacket *pkt)
{
    return rendition_write(ud, pkt, 1);
}

static int rendition_item(void *ud, lav_item_t *it)
{
    rendition_t *r = ud;
    int ret;
    if (it->frame)
        ret = lav_video_enc_send(&r->video, it->frame, rendition_video_packet, r, r->msg);
    else if (it->packet)
        ret = rendition_write(r, it->packet, 0);
    else {
        ret = lav_video_enc_send(&r->video, NULL, rendition_video_packet, r, r->msg);
        if (ret >= 0 && r->resume->on && !r->started) {
            /* The MP4 would lack its published part. */
            snprintf(r->msg, sizeof r->msg, "no picture of the source at or after the resumed point");
            ret = AVERROR(EINVAL);
        }
        if (ret >= 0 && (r->outputs & VF_OUTPUT_MP4))
            ret = lav_output_finish(&r->out, r->msg);
        if (ret >= 0 && (r->outputs & VF_OUTPUT_HLS))
            ret = lav_hls_finish(&r->hls, r->msg);
    }
    return ret < 0 ? ret : 0;
}

/* hls_file refused a file: the job ends with its answer. */
static int hls_refused(transcode_t *t)
{
    int failed = t->outputs & VF_OUTPUT_HLS ? lav_hls_reports_failed(&t->reports) : 0;
    return failed ? lav_job_fail(t->job, failed, "publishing HLS files: hls_file returned %d", failed) : 0;
}

/* A push failed: the worker ended with an error, or the job was stopped. */
static int rendition_failed(transcode_t *t, rendition_t *r, int ret)
{
    int refused = hls_refused(t);
    if (refused)
        return refused;
    if (ret == -EPIPE) {
        int wret = r->worker.ret;
        return lav_job_fail(t->job, lav_errno(wret, -EIO), "rendition %s: %s", r->spec->name,
                            r->msg[0] ? r->msg : av_err2str(wret));
    }
    return lav_job_fail(t->job, ret, "stopped");
}

static int send_packet(void *ud, AVPacket *pkt)
{
    transcode_t *t = ud;
    /* Resumed: the published sound goes on to its end; the new starts there. */
    if (t->resume.on && pkt->pts < t->resume.audio_keep_from)
        return 0;
    for (size_t i = 0; i < t->nr; i++) {
        AVPacket *copy = av_packet_clone(pkt);
        if (!copy)
            return lav_job_fail(t->job, ENOMEM, "out of memory");
        int ret = lav_worker_push(&t->r[i].worker, t->job, NULL, copy);
        if (ret < 0)
            return rendition_failed(t, &t->r[i], ret);
    }
    return 0;
}

static int take_thumbnail(transcode_t *t, const AVFrame *upright)
{
    char msg[LAV_MSG_MAX];
    int ret = lav_thumbnail_write(upright, t->thumb_tmp, t->in.sar, msg);
    if (ret < 0)
        return lav_job_fail(t->job, lav_errno(ret, -EIO), "%s", msg);
    t->thumb_written = 1;
    t->thumb_done = 1;
    av_frame_unref(t->thumb_last);
    return 0;
}

static int thumbnail_frame(transcode_t *t, const AVFrame *upright, double pos)
{
    if (pos >= t->thumb_at - 1e-6)
        return take_thumbnail(t, upright);
    av_frame_unref(t->thumb_last);
    int ret = av_frame_ref(t->thumb_last, upright);
    return ret < 0 ? lav_job_av_fail(t->job, ret, -ENOMEM, "keeping a thumbnail candidate") : 0;
}

static int on_video(transcode_t *t, AVFrame *frame)
{
    AVRational tb = t->in.fmt->streams[t->in.vidx]->time_base;
    int64_t step = av_rescale_q(1, av_inv_q(t->in.frame_rate), tb);
    int64_t pts = frame->best_effort_timestamp;
    int64_t rel = pts != AV_NOPTS_VALUE ? pts - t->start_v
                  : t->have_last ? t->last_pts + (step > 0 ? step : 1) : 0;
    /* Same or backward timestamps cannot be muxed; drop like the CLI's vsync. */
    if (t->have_last && rel <= t->last_pts) {
        t->dropped++;
        return 0;
    }
    t->last_pts = rel;
    t->have_last = 1;

    AVFrame *upright = NULL;
    int ret = lav_rotate(&t->rot, frame, &upright);
    if (ret < 0)
        return lav_job_av_fail(t->job, ret, -ENOMEM, "turning the video upright");
    upright->pts = rel;
    upright->pict_type = AV_PICTURE_TYPE_NONE;

    if (t->params->thumbnail_path && !t->thumb_done &&
        (ret = thumbnail_frame(t, upright, rel * av_q2d(tb))) < 0)
        goto out;
    /* Resumed: the pictures before the resumed point were published. */
    ret = 0;
    if (t->resume.on && rel * av_q2d(tb) < t->resume.at - 1e-6)
        goto out;
    for (size_t i = 0; i < t->nr; i++) {
        /* Each rendition gets its own reference; the last takes ours. */
        AVFrame *ref = i + 1 < t->nr ? av_frame_clone(upright) : upright;
        if (!ref) {
            ret = lav_job_fail(t->job, ENOMEM, "out of memory");
            goto out;
        }
        if (ref == upright)
            upright = NULL;
        if ((ret = lav_worker_push(&t->r[i].worker, t->job, ref, NULL)) < 0) {
            ret = rendition_failed(t, &t->r[i], ret);
            goto out;
        }
    }
    ret = 0;
out:
    av_frame_free(&upright);
    return ret;
}

static int on_frame(void *ud, AVFrame *frame, int is_video)
{
    transcode_t *t = ud;
    if (is_video)
        return on_video(t, frame);
    return t->has_audio ? lav_audio_feed(&t->audio, t->job, frame, send_packet, t) : 0;
}

/* HLS settings worth a segmenter: a place, a callback, a sane length. */
static int check_hls_params(lav_job_t *job, const vf_transcode_params_t *p)
{
    if (!p->hls_dir || !*p->hls_dir || !p->hls_file)
        return lav_job_fail(job, EINVAL, "transcode: HLS output needs hls_dir and hls_file");
    if (!(p->hls_segment_seconds >= 0.5 && p->hls_segment_seconds <= 60))
        return lav_job_fail(job, EINVAL, "transcode: hls_segment_seconds %g is outside 0.5..60",
                            p->hls_segment_seconds);
    if (p->hls_first_segment < 0)
        return lav_job_fail(job, EINVAL, "transcode: hls_first_segment %lld is negative",
                            (long long)p->hls_first_segment);
    return 0;
}

static int check_params(lav_job_t *job, const vf_transcode_params_t *p, uint32_t outputs)
{
    if (!p || p->size < VF_TRANSCODE_PARAMS_SIZE_1_0)
        return lav_job_fail(job, EINVAL, "transcode: the parameters are missing or too old "
                                         "(size %u)", p ? p->size : 0);
    if (outputs & ~(uint32_t)(VF_OUTPUT_MP4 | VF_OUTPUT_HLS))
        return lav_job_fail(job, EINVAL, "transcode: outputs 0x%x: expected VF_OUTPUT_MP4 and/or "
                                         "VF_OUTPUT_HLS", outputs);
    int ret;
    if ((outputs & VF_OUTPUT_HLS) && (ret = check_hls_params(job, p)) < 0)
        return ret;
    const int mp4 = (outputs & VF_OUTPUT_MP4) != 0;
    if (!p->nrenditions && !p->thumbnail_path)
        return lav_job_fail(job, EINVAL, "transcode: no rendition and no thumbnail asked for");
    /* NULL and -1: the caller has no libx264 default for us (encoder.h). */
    if ((p->preset && !*p->preset) || p->crf < -1 || p->crf > 51)
        return lav_job_fail(job, EINVAL, "transcode: the preset is empty or crf %d is outside 0..51", p->crf);
    if (p->nrenditions && !p->renditions)
        return lav_job_fail(job, EINVAL, "transcode: renditions missing");
    for (size_t i = 0; i < p->nrenditions; i++) {
        const vf_rendition_t *r = &p->renditions[i];
        if (!r->name || (mp4 && (!r->output_path || !*r->output_path)) || r->height < 2)
            return lav_job_fail(job, EINVAL, "transcode: rendition %zu needs a name, an output "
                                             "path and a height of at least 2", i + 1);
        if (!mp4)
            continue;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->renditions[j].output_path, r->output_path) == 0)
                return lav_job_fail(job, EINVAL, "transcode: renditions %s and %s have the same "
                                                 "output path", p->renditions[j].name, r->name);
        if (p->thumbnail_path && strcmp(p->thumbnail_path, r->output_path) == 0)
            return lav_job_fail(job, EINVAL, "transcode: rendition %s and the thumbnail have "
                                             "the same output path", r->name);
    }
    return 0;
}

/* Renditions named in the `order` setting first, the rest as given. */
static int arrange(transcode_t *t)
{
    const vf_transcode_params_t *p = t->params;
    const lav_config_t *cfg = &t->job->state->cfg;
    if (p->nrenditions && !(t->r = calloc(p->nrenditions, sizeof *t->r)))
        return lav_job_fail(t->job, ENOMEM, "out of memory");
    char *placed = calloc(p->nrenditions + 1, 1);
    if (!placed)
        return lav_job_fail(t->job, ENOMEM, "out of memory");
    for (size_t k = 0; k < cfg->norder; k++)
        for (size_t i = 0; i < p->nrenditions; i++)
            if (!placed[i] && strcmp(p->renditions[i].name, cfg->order[k]) == 0) {
                placed[i] = 1;
                t->r[t->nr++].spec = &p->renditions[i];
                break;
            }
    for (size_t i = 0; i < p->nrenditions; i++)
        if (!placed[i])
            t->r[t->nr++].spec = &p->renditions[i];
    free(placed);
    return 0;
}

/* threads = 0: the renditions already run side by side, one thread each,
 * so x264's own threads are only worth their overhead where the pixels are.
 * Each rendition gets the share of the CPUs its pixel count is of the
 * ladder's, at least one: on 2 CPUs every encoder is single-threaded (x264
 * frame threads cost some 5% more CPU time), on 16 the 1080p one gets ~10. */
static int encoder_threads(const transcode_t *t, const rendition_t *r)
{
    int configured = t->job->state->cfg.threads;
    if (configured > 0)
        return configured;
    cpu_set_t set;
    int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (cpus < 1)
        cpus = 1;
    double total = 0;
    for (size_t i = 0; i < t->nr; i++)
        total += (double)t->r[i].width * t->r[i].height;
    long share = lround(cpus * (double)r->width * r->height / total);
    return share < 1 ? 1 : share > 16 ? 16 : (int)share;
}

/* Resumed: the rendition's published initialisation segment. */
static char *published_init(const transcode_t *t, const rendition_t *r)
{
    return t->resume.on ? av_asprintf("%s/%s/init.mp4", t->resume.dir, r->spec->name) : NULL;
}

static int open_renditions(transcode_t *t)
{
    for (size_t i = 0; i < t->nr; i++)
        lav_rendition_size(t->in.display_w, t->in.display_h, t->r[i].spec->height,
                           t->params->allow_upscale, &t->r[i].width, &t->r[i].height);
    const int hls = (t->outputs & VF_OUTPUT_HLS) != 0;
    const AVCodecContext *aenc = t->has_audio ? t->audio.enc : NULL;
    for (size_t i = 0; i < t->nr; i++) {
        rendition_t *r = &t->r[i];
        int ret;
        char *init = published_init(t, r);
        if (t->resume.on && !init)
            return lav_job_fail(t->job, ENOMEM, "out of memory");
        r->outputs = t->outputs;
        r->resume = &t->resume;
        if (hls && !(r->hls_pkt = av_packet_alloc()))
            return lav_job_fail(t->job, ENOMEM, "out of memory");
        if ((ret = lav_video_enc_open(&r->video, &t->in, r->width, r->height, t->params,
                                      encoder_threads(t, r), 1, hls ? t->params->hls_segment_seconds : 0,
                                      r->msg)) < 0 ||
            ((t->outputs & VF_OUTPUT_MP4) &&
             (ret = lav_output_open(&r->out, r->spec->output_path, r->video.enc, t->in.frame_rate, aenc,
                                    r->msg)) < 0) ||
            (hls && (ret = lav_hls_open(&r->hls, &t->reports, (size_t)(r->spec - t->params->renditions),
                                        r->video.enc, t->in.frame_rate, aenc, init, r->msg)) < 0)) {
            av_free(init);
            int refused = hls_refused(t);
            return refused ? refused
                           : lav_job_fail(t->job, lav_errno(ret, -EIO), "rendition %s: %s", r->spec->name,
                                          r->msg);
        }
        av_free(init);
        if ((ret = lav_worker_start(&r->worker, rendition_item, r)) < 0)
            return lav_job_fail(t->job, ret, "rendition %s: starting its thread: %s",
                                r->spec->name, strerror(-ret));
    }
    return 0;
}

/* Stop and free every rendition's thread, encoder and outputs (their
 * files removed), keeping what arrange() chose. */
static void close_renditions(transcode_t *t)
{
    /* Threads first: they use the encoders and outputs freed below. */
    for (size_t i = 0; i < t->nr; i++)
        lav_worker_destroy(&t->r[i].worker);
    for (size_t i = 0; i < t->nr; i++) {
        rendition_t *r = &t->r[i];
        lav_video_enc_close(&r->video);
        lav_output_close(&r->out);
        lav_hls_close(&r->hls);
        av_packet_free(&r->hls_pkt);
        drop_held(r);
        *r = (rendition_t){.spec = r->spec};
    }
}

/* The whole run's first audio time (the first decoded audio frame's, as
 * lav_audio_feed takes it), read from the start of the source. */
static int first_audio_time(transcode_t *t, int64_t *first, char *why)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int ret = pkt && frame ? 0 : AVERROR(ENOMEM), found = 0;
    t->resume.read_source = 1;
    while (!ret && !found && (ret = av_read_frame(t->in.fmt, pkt)) >= 0) {
        if (pkt->stream_index == t->in.aidx && avcodec_send_packet(t->in.adec, pkt) >= 0 &&
            avcodec_receive_frame(t->in.adec, frame) >= 0 && frame->best_effort_timestamp != AV_NOPTS_VALUE) {
            AVRational tb = t->in.fmt->streams[t->in.aidx]->time_base;
            *first = av_rescale_q(frame->best_effort_timestamp - t->audio.start, tb, t->audio.enc->time_base);
            found = 1;
        }
        av_packet_unref(pkt);
        av_frame_unref(frame);
        if (!ret && lav_job_tick(t->job))
            ret = AVERROR_EXIT;
    }
    avcodec_flush_buffers(t->in.adec);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    if (!found)
        snprintf(why, LAV_MSG_MAX, "the first audio frame of the source: %s",
                 ret < 0 ? av_err2str(ret) : "none decoded");
    return found ? 0 : ret < 0 ? ret : AVERROR_INVALIDDATA;
}

/* Seek backwards (to the keyframe before) `at` seconds of the source and
 * decode afresh from there. */
static int seek_source(transcode_t *t, double at, char *why)
{
    at = at > 0 ? at : 0;
    int64_t ts = t->in.start_time + (int64_t)(at * AV_TIME_BASE);
    t->resume.read_source = 1;
    int ret = avformat_seek_file(t->in.fmt, -1, INT64_MIN, ts, ts, 0);
    if (ret < 0) {
        snprintf(why, LAV_MSG_MAX, "seeking the source to %.3f s: %s", at, av_err2str(ret));
        return ret;
    }
    avcodec_flush_buffers(t->in.vdec);
    if (t->in.adec)
        avcodec_flush_buffers(t->in.adec);
    return 0;
}

/* The frames of the thumbnail pass: for the thumbnail alone. */
static int thumbnail_pass_frame(void *ud, AVFrame *frame, int is_video)
{
    transcode_t *t = ud;
    if (!is_video || frame->best_effort_timestamp == AV_NOPTS_VALUE)
        return 0;
    AVRational tb = t->in.fmt->streams[t->in.vidx]->time_base;
    AVFrame *upright = NULL;
    int ret = lav_rotate(&t->rot, frame, &upright);
    if (ret < 0)
        return lav_job_av_fail(t->job, ret, -ENOMEM, "turning the video upright");
    ret = thumbnail_frame(t, upright, (frame->best_effort_timestamp - t->start_v) * av_q2d(tb));
    av_frame_free(&upright);
    return ret < 0 ? ret : t->thumb_done;
}

/* Resumed with the thumbnail's time before the resumed point: decode from
 * the keyframe before it up to it first, rather than everything up to the
 * resumed point.  A failure here is the job's (the whole run would meet
 * it too). */
static int thumbnail_pass(transcode_t *t, char *why)
{
    if (!t->params->thumbnail_path || t->thumb_at >= t->resume.at)
        return 0;
    int ret = seek_source(t, t->thumb_at, why);
    if (ret < 0)
        return ret;
    /* No span: progress is for the resumed part. */
    ret = lav_decode_run(&t->in, t->job, 0, thumbnail_pass_frame, t);
    return ret < 0 ? ret : 0;
}

/* Where the resumed decoding starts: before the resumed point and the
 * first audio sample to encode. */
static int seek_to_resume(transcode_t *t, char *why)
{
    double from = t->resume.at;
    if (t->has_audio) {
        double audio = t->audio.trim_before * av_q2d(t->audio.enc->time_base);
        from = audio < from ? audio : from;
    }
    /* A little earlier: the audio decoder needs a frame before the first it gives. */
    int ret = seek_source(t, from - 0.1, why);
    if (ret < 0)
        return ret;
    t->in.progress_from = t->resume.at;
    return 0;
}

/* Where the source's video ends, in seconds from the source's start, or
 * <= 0 when unknown: the container's duration may be a longer audio's. */
static double video_end(const lav_input_t *in)
{
    const AVStream *vs = in->fmt->streams[in->vidx];
    if (vs->duration == AV_NOPTS_VALUE || vs->duration <= 0)
        return in->duration;
    int64_t start = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
    return (start + vs->duration) * av_q2d(vs->time_base) - in->start_time / (double)AV_TIME_BASE;
}

/* Resumed: check the published segments of every rendition against this
 * run's encoders and streams, find where they end and place the new part
 * after them.  0, or an AVERROR with the reason in `why` (the caller then
 * encodes the whole source), or the job's stop. */
static int prepare_resume(transcode_t *t, char *why)
{
    int64_t audio_end = AV_NOPTS_VALUE;
    const AVCodecContext *aenc = t->has_audio ? t->audio.enc : NULL;
    AVRational atb = {0, 1};
    int ret;
    /* No picture left at or after the resumed point (the last one starts
     * about a frame before the video's end): the MP4 would lack its
     * published part, so the whole source is encoded again. */
    double video_ends = video_end(&t->in), frame_s = 1 / av_q2d(t->in.frame_rate);
    if (video_ends <= 0 || t->resume.at > video_ends - frame_s + 1e-6) {
        snprintf(why, LAV_MSG_MAX, "the video ends at %.3f s, with no picture from segment %" PRId64, video_ends,
                 t->resume.segments);
        return AVERROR(EINVAL);
    }
    for (size_t i = 0; i < t->nr; i++) {
        rendition_t *r = &t->r[i];
        lav_published_end_t end;
        if (aenc)
            atb = r->hls.streams.ast->time_base;
        ret = lav_published_check(t->resume.dir, r->spec->name, t->resume.segments, r->video.enc,
                                  r->hls.streams.vst->time_base, aenc, atb, &end, t->job, why);
        if (t->job->stop)
            return t->job->stop;
        if (ret < 0)
            return ret;
        /* The sound is encoded once for every rendition, so it ended alike. */
        if (i > 0 && end.audio != audio_end) {
            snprintf(why, LAV_MSG_MAX, "the renditions' published sound ends at different times");
            return AVERROR_INVALIDDATA;
        }
        audio_end = end.audio;
        /* Published with other segment lengths (or cut short), the new
         * part would be placed after the published end but decoded from
         * the resumed point: the sound and picture would drift apart. */
        double published = end.video * av_q2d(r->hls.streams.vst->time_base);
        if (fabs(published - t->resume.at) > frame_s + 1e-3) {
            snprintf(why, LAV_MSG_MAX, "%s: the published video ends at %.3f s, not at segment %" PRId64
                     "'s start (%.3f s)", r->spec->name, published, t->resume.segments, t->resume.at);
            return AVERROR_INVALIDDATA;
        }
        r->published_video_end = end.video;
    }
    if (aenc) {
        int64_t first;
        if ((ret = first_audio_time(t, &first, why)) < 0)
            return t->job->stop ? t->job->stop : ret;
        /* The whole run's audio packets start at `first` less the
         * encoder's priming, which the hls muxer's fragments start from. */
        int64_t shift = aenc->initial_padding - first;
        int frame = aenc->frame_size > 0 ? aenc->frame_size : 1024;
        t->resume.audio_shift = av_rescale_q(shift, aenc->time_base, atb);
        t->resume.audio_keep_from = av_rescale_q(audio_end, atb, aenc->time_base) - shift;
        /* Two frames before it: the packet at the published end is encoded
         * with what precedes it, as in the whole run. */
        t->audio.trim_before = t->resume.audio_keep_from + aenc->initial_padding - 3 * (int64_t)frame;
        t->audio.trimming = 1;
        for (size_t i = 0; i < t->nr; i++)
            t->r[i].hls.streams.aoff = t->resume.audio_shift;
    }
    if ((ret = thumbnail_pass(t, why)) < 0 || (ret = seek_to_resume(t, why)) < 0)
        return ret;
    /* Only now: an unreadable init.mp4 is a reason to encode it all again. */
    for (size_t i = 0; i < t->nr; i++) {
        rendition_t *r = &t->r[i];
        char *init = published_init(t, r);
        if (!init) {
            snprintf(why, LAV_MSG_MAX, "out of memory");
            return AVERROR(ENOMEM);
        }
        ret = lav_hls_copy_init(&r->hls, init, r->msg);
        av_free(init);
        if (ret < 0) {
            snprintf(why, LAV_MSG_MAX, "%s", r->msg);
            return ret;
        }
    }
    return 0;
}

/* Open the renditions, resumed when asked and the published segments
 * allow it, else as a whole run (saying why once). */
static int start_renditions(transcode_t *t)
{
    const vf_transcode_params_t *p = t->params;
    t->resume = (resume_t){
        .on = (t->outputs & VF_OUTPUT_HLS) && t->nr && p->hls_published_dir && *p->hls_published_dir &&
              p->hls_first_segment > 0,
        .dir = p->hls_published_dir,
        .segments = p->hls_first_segment,
        .at = p->hls_first_segment * p->hls_segment_seconds,
    };
    int ret = open_renditions(t);
    if (ret < 0 || !t->resume.on)
        return ret;
    char why[LAV_MSG_MAX] = "";
    if ((ret = prepare_resume(t, why)) >= 0)
        return 0;
    if (t->job->stop)
        return lav_job_fail(t->job, ret, "stopped");
    if (t->job->failed)
        return ret;
    t->job->state->host->log(LAV_PLUGIN_NAME, VF_LOG_WARNING,
                             "cannot resume at segment %" PRId64 " (%s): encoding the whole source again",
                             t->resume.segments, why);
    int read_source = t->resume.read_source;
    close_renditions(t);
    /* Every segment again: the caller replaces those of a rendition whose
     * initialisation segment changed (encoder.h). */
    t->reports.report_from = 0;
    t->resume = (resume_t){0};
    t->audio.trimming = 0;
    t->in.progress_from = 0;
    /* Read from its start again: opened anew, as the whole run would
     * (a source that did not seek may not seek back either). */
    if (read_source) {
        lav_input_close(&t->in);
        if ((ret = lav_input_open(&t->in, t->job, t->source, 1, 1)) < 0)
            return ret;
        if ((t->in.adec != NULL) != t->has_audio)
            return lav_job_fail(t->job, EIO, "the source changed while it was read");
    }
    return open_renditions(t);
}

/* After decoding: drain the audio, take a late thumbnail, end every queue
 * and wait for the renditions to finish their files. */
static int finish(transcode_t *t)
{
    int ret;
    if (t->has_audio && (ret = lav_audio_feed(&t->audio, t->job, NULL, send_packet, t)) < 0)
        return ret;
    /* Asked past the end: the last frame stands in. */
    if (t->params->thumbnail_path && !t->thumb_done && t->thumb_last->buf[0] &&
        (ret = take_thumbnail(t, t->thumb_last)) < 0)
        return ret;
    for (size_t i = 0; i < t->nr; i++)
        if ((ret = lav_worker_push(&t->r[i].worker, t->job, NULL, NULL)) < 0)
            return rendition_failed(t, &t->r[i], ret);
    for (size_t i = 0; i < t->nr; i++) {
        ret = lav_worker_wait(&t->r[i].worker, t->job);
        if (ret < 0 && (ret == t->job->stop))
            return lav_job_fail(t->job, ret, "stopped");
        int refused = ret < 0 ? hls_refused(t) : 0;
        if (refused)
            return refused;
        if (ret < 0)
            return lav_job_fail(t->job, lav_errno(ret, -EIO), "rendition %s: %s",
                                t->r[i].spec->name, t->r[i].msg);
    }
    return 0;
}

/* Rename every file into place; on a failure, take back the ones already moved. */
static int commit(transcode_t *t)
{
    size_t done = 0;
    int ret = 0;
    for (; done < t->nr && (t->outputs & VF_OUTPUT_MP4); done++)
        if ((ret = lav_output_commit(&t->r[done].out)) < 0)
            break;
    if (!ret && t->thumb_written) {
        if (rename(t->thumb_tmp, t->params->thumbnail_path) != 0)
            ret = -errno;
        else
            t->thumb_written = 0;
    }
    if (!ret)
        return 0;
    int e = -ret;
    for (size_t i = 0; i < done; i++)
        unlink(t->r[i].spec->output_path);
    return lav_job_fail(t->job, e, "renaming the outputs into place: %s", strerror(e));
}

int lav_transcode(void *state, const char *source, const vf_transcode_params_t *params,
                  vf_error_t *err)
{
    lav_job_t job;
    transcode_t t = {0};
    vf_transcode_params_t own; /* the caller's, with the libx264 settings to use */
    int ret;

    lav_job_init(&job, state, params ? params->progress : NULL,
                 params ? params->progress_ud : NULL, err);
    t.job = &job;
    t.source = source;
    t.params = params;
    if (!source) {
        ret = lav_job_fail(&job, EINVAL, "transcode: no source");
        goto out;
    }
    /* A 1.0/1.1 caller's params end before `outputs`: MP4 alone.  So does
     * 0 from a caller built with the 1.2 header that never set it. */
    t.outputs = params && VF_HAS_FIELD(vf_transcode_params_t, params, outputs) && params->outputs ? params->outputs
                                                                                                   : VF_OUTPUT_MP4;
    if ((ret = check_params(&job, params, t.outputs)) < 0)
        goto out;
    /* This plugin's own settings first, then the caller's defaults
     * (media.preset, media.crf), then libx264's. */
    const lav_config_t *cfg = &((const lav_state_t *)state)->cfg;
    memset(&own, 0, sizeof own);
    memcpy(&own, params, params->size < sizeof own ? params->size : sizeof own);
    own.size = sizeof own;
    own.preset = cfg->preset ? cfg->preset : params->preset ? params->preset : "medium";
    own.crf = cfg->crf >= 0 ? cfg->crf : params->crf >= 0 ? params->crf : 23;
    t.params = params = &own;
    if ((ret = arrange(&t)) < 0)
        goto out;
    if ((t.outputs & VF_OUTPUT_HLS) && (ret = lav_hls_reports_init(&t.reports, params)) < 0) {
        ret = lav_job_fail(&job, ret, "transcode: %s", strerror(-ret));
        goto out;
    }
    if ((ret = lav_job_report(&job, 0)) != 0) {
        ret = lav_job_fail(&job, ret, "stopped");
        goto out;
    }
    if (params->thumbnail_path) {
        if (!(t.thumb_last = av_frame_alloc()) ||
            !(t.thumb_tmp = lav_temp_path(params->thumbnail_path, ".jpg"))) {
            ret = lav_job_fail(&job, ENOMEM, "out of memory");
            goto out;
        }
    }
    if ((ret = lav_input_open(&t.in, &job, source, 1, 1)) < 0)
        goto out;
    t.start_v = av_rescale_q(t.in.start_time, AV_TIME_BASE_Q,
                             t.in.fmt->streams[t.in.vidx]->time_base);
    t.rot.rotation = t.in.rotation;
    t.thumb_at = lav_thumbnail_time(params->thumbnail_at, t.in.duration);
    if (t.in.adec) {
        if ((ret = lav_audio_open(&t.audio, &job, &t.in, params->audio_bitrate)) < 0)
            goto out;
        t.has_audio = 1;
    }
    if ((ret = start_renditions(&t)) < 0)
        goto out;
    if ((ret = lav_decode_run(&t.in, &job, t.in.duration, on_frame, &t)) < 0 ||
        (ret = finish(&t)) < 0)
        goto out;
    if ((ret = lav_job_report(&job, 100)) != 0) {
        ret = lav_job_fail(&job, ret, "stopped");
        goto out;
    }
    if ((ret = commit(&t)) < 0)
        goto out;
    if (t.dropped)
        job.state->host->log(LAV_PLUGIN_NAME, VF_LOG_DEBUG,
                             "%ld video frames with repeated timestamps were dropped", t.dropped);
    ret = 0;
out:
    close_renditions(&t);
    free(t.r);
    if (t.outputs & VF_OUTPUT_HLS)
        lav_hls_reports_destroy(&t.reports);
    if (t.thumb_written)
        unlink(t.thumb_tmp);
    av_free(t.thumb_tmp);
    av_frame_free(&t.thumb_last);
    lav_rotator_free(&t.rot);
    lav_audio_close(&t.audio);
    lav_input_close(&t.in);
    return ret;
}
