/*
 * thumbnail.c - JPEG thumbnails: scaling an upright picture to the
 * thumbnail size and encoding it with the mjpeg encoder at the quality of
 * ffmpeg's -q:v 2; and the standalone thumbnail operation, which seeks near
 * the requested time and decodes up to it.  (transcode.c takes its
 * thumbnail from its own decoding pass instead.)
 */
#include "lav.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

double lav_thumbnail_time(double at, double duration)
{
    if (at >= 0)
        return at;
    if (duration > 0 && duration < 2.0)
        return duration / 2;
    return 1.0;
}

static int fail(char *msg, int averr, const char *step)
{
    snprintf(msg, LAV_MSG_MAX, "%s: %s", step, av_err2str(averr));
    return averr;
}

static int write_all(const char *path, const uint8_t *data, size_t len, char *msg)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(msg, AVERROR(errno), "creating the thumbnail");
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(path);
            return fail(msg, AVERROR(e), "writing the thumbnail");
        }
        data += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return fail(msg, AVERROR(e), "writing the thumbnail");
    }
    return 0;
}

/* The JPEG for `upright`, as a packet. */
static int encode_jpeg(const AVFrame *upright, AVRational sar, AVPacket *pkt, char *msg)
{
    AVCodecContext *enc = NULL;
    struct SwsContext *sws = NULL;
    AVFrame *pic = av_frame_alloc();
    int w, h, ret;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);

    lav_thumbnail_size(upright->width, upright->height, &w, &h);
    if (!codec) {
        ret = fail(msg, AVERROR_ENCODER_NOT_FOUND, "encoding the thumbnail");
        goto out;
    }
    if (!pic || !(enc = avcodec_alloc_context3(codec))) {
        ret = fail(msg, AVERROR(ENOMEM), "encoding the thumbnail");
        goto out;
    }
    /* Convert to full-range 4:2:0 and label it yuvj420p for the encoder;
     * asking libswscale for yuvj420p directly works too but logs a
     * deprecation warning on every call. */
    pic->format = AV_PIX_FMT_YUVJ420P;
    pic->width = w;
    pic->height = h;
    if ((ret = av_frame_get_buffer(pic, 0)) < 0) {
        ret = fail(msg, ret, "scaling the thumbnail");
        goto out;
    }
    sws = lav_sws_new(upright->width, upright->height, upright->format, lav_full_range(upright),
                      w, h, AV_PIX_FMT_YUV420P, 1);
    if (!sws) {
        ret = fail(msg, AVERROR(EINVAL), "scaling the thumbnail");
        goto out;
    }
    if ((ret = sws_scale(sws, (const uint8_t *const *)upright->data, upright->linesize, 0,
                         upright->height, pic->data, pic->linesize)) < 0) {
        ret = fail(msg, ret, "scaling the thumbnail");
        goto out;
    }
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->color_range = AVCOL_RANGE_JPEG;
    enc->time_base = (AVRational){1, 25};
    if (sar.num > 0 && (w != upright->width || h != upright->height))
        av_reduce(&enc->sample_aspect_ratio.num, &enc->sample_aspect_ratio.den,
                  (int64_t)h * upright->width * sar.num, (int64_t)w * upright->height * sar.den,
                  INT32_MAX);
    else if (sar.num > 0)
        enc->sample_aspect_ratio = sar;
    /* -q:v 2: a fixed quantiser of 2. */
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = 2 * FF_QP2LAMBDA;
    if ((ret = avcodec_open2(enc, codec, NULL)) < 0) {
        ret = fail(msg, ret, "opening the JPEG encoder");
        goto out;
    }
    pic->quality = enc->global_quality;
    pic->pts = 0;
    if ((ret = avcodec_send_frame(enc, pic)) < 0 || (ret = avcodec_send_frame(enc, NULL)) < 0 ||
        (ret = avcodec_receive_packet(enc, pkt)) < 0) {
        ret = fail(msg, ret, "encoding the thumbnail");
        goto out;
    }
    ret = 0;
out:
    sws_freeContext(sws);
    avcodec_free_context(&enc);
    av_frame_free(&pic);
    return ret;
}

int lav_thumbnail_write(const AVFrame *upright, const char *path, AVRational sar, char *msg)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return fail(msg, AVERROR(ENOMEM), "encoding the thumbnail");
    int ret = encode_jpeg(upright, sar, pkt, msg);
    if (ret >= 0)
        ret = write_all(path, pkt->data, (size_t)pkt->size, msg);
    av_packet_free(&pkt);
    return ret;
}

/* ---- the standalone operation ---- */

typedef struct thumb_op {
    lav_input_t in;
    lav_job_t *job;
    double at;          /* seconds from the start of the video */
    AVFrame *chosen;    /* the first frame at or after `at`, else the last one */
} thumb_op_t;

static int on_frame(void *ud, AVFrame *frame, int is_video)
{
    thumb_op_t *t = ud;
    if (!is_video)
        return 0;
    av_frame_unref(t->chosen);
    int ret = av_frame_ref(t->chosen, frame);
    if (ret < 0)
        return lav_job_av_fail(t->job, ret, -ENOMEM, "decoding video");
    int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE)
        return 0;
    AVRational tb = t->in.fmt->streams[t->in.vidx]->time_base;
    double pos = pts * av_q2d(tb) - t->in.start_time / (double)AV_TIME_BASE;
    return pos >= t->at - 1e-6;
}

int lav_thumbnail(void *state, const char *source, double at, const char *output_path,
                  vf_progress_fn progress, void *progress_ud, vf_error_t *err)
{
    lav_job_t job;
    thumb_op_t t = {0};
    lav_rotator_t rot = {0};
    AVFrame *upright = NULL;
    char *tmp = NULL;
    char msg[LAV_MSG_MAX];
    int ret;

    lav_job_init(&job, state, progress, progress_ud, err);
    t.job = &job;
    if (!source || !output_path) {
        ret = lav_job_fail(&job, EINVAL, "thumbnail: a source and an output path are required");
        goto out;
    }
    if ((ret = lav_job_report(&job, 0)) != 0) {
        ret = lav_job_fail(&job, ret, "stopped");
        goto out;
    }
    if (!(t.chosen = av_frame_alloc()) || !(tmp = lav_temp_path(output_path, ".jpg"))) {
        ret = lav_job_fail(&job, ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = lav_input_open(&t.in, &job, source, 1, 0)) < 0)
        goto out;
    t.at = lav_thumbnail_time(at, t.in.duration);
    if (t.at > 0) {
        int64_t target = t.in.start_time + (int64_t)(t.at * AV_TIME_BASE);
        /* Land on the keyframe before `at`; decoding goes on from there. */
        ret = av_seek_frame(t.in.fmt, -1, target, AVSEEK_FLAG_BACKWARD);
        if (ret < 0)
            job.state->host->log(LAV_PLUGIN_NAME, VF_LOG_DEBUG,
                                 "thumbnail: cannot seek (%s), decoding from the start",
                                 av_err2str(ret));
        else
            avcodec_flush_buffers(t.in.vdec);
    }
    ret = lav_decode_run(&t.in, &job, t.at, on_frame, &t);
    if (ret < 0)
        goto out;
    if (!t.chosen->buf[0]) {
        ret = lav_job_fail(&job, EINVAL, "thumbnail: no video frame could be decoded");
        goto out;
    }
    rot.rotation = t.in.rotation;
    if ((ret = lav_rotate(&rot, t.chosen, &upright)) < 0) {
        ret = lav_job_av_fail(&job, ret, -ENOMEM, "turning the thumbnail upright");
        goto out;
    }
    if ((ret = lav_thumbnail_write(upright, tmp, t.in.sar, msg)) < 0) {
        ret = lav_job_fail(&job, lav_errno(ret, -EIO), "%s", msg);
        goto out;
    }
    /* 100 is reported before the rename, so a cancel then still leaves nothing. */
    if ((ret = lav_job_report(&job, 100)) != 0) {
        unlink(tmp);
        ret = lav_job_fail(&job, ret, "stopped");
        goto out;
    }
    if (rename(tmp, output_path) != 0) {
        int e = errno;
        unlink(tmp);
        ret = lav_job_fail(&job, e, "thumbnail: renaming the JPEG into place: %s", strerror(e));
        goto out;
    }
    ret = 0;
out:
    av_frame_free(&upright);
    lav_rotator_free(&rot);
    av_frame_free(&t.chosen);
    lav_input_close(&t.in);
    av_free(tmp);
    return ret < 0 ? ret : 0;
}
