/*
 * encode.c - one rendition's video: a SwsContext from the decoded size to
 * the rendition's (bicubic, ffmpeg's default for scale; skipped when the
 * sizes and format already match) and one libx264 encoder.  Settings are
 * those of `ffmpeg -c:v libx264 -preset P -crf C -profile:v high`: the
 * encoder context is allocated with libx264's own defaults, so keyframe
 * interval, scenecut and B-frames are x264's, as with the CLI.
 *
 * Time base: the source stream's, so every source timestamp survives
 * (variable frame rate sources stay variable).
 */
#include "lav.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int fail(char *msg, int averr, const char *step)
{
    snprintf(msg, LAV_MSG_MAX, "%s: %s", step, av_err2str(averr));
    return averr;
}

int lav_video_enc_open(lav_video_enc_t *v, const lav_input_t *in, int width, int height,
                       const vf_transcode_params_t *params, int threads, int global_header,
                       double key_every, char *msg)
{
    AVDictionary *opts = NULL;
    int ret;
    const AVStream *st = in->fmt->streams[in->vidx];
    const AVCodecParameters *par = st->codecpar;

    memset(v, 0, sizeof *v);
    v->sws_src_fmt = AV_PIX_FMT_NONE;
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) {
        snprintf(msg, LAV_MSG_MAX, "opening the H.264 encoder: this FFmpeg has no libx264");
        return AVERROR_ENCODER_NOT_FOUND;
    }
    if (!(v->enc = avcodec_alloc_context3(codec)) || !(v->pkt = av_packet_alloc()) ||
        !(v->scaled = av_frame_alloc()))
        return fail(msg, AVERROR(ENOMEM), "opening the H.264 encoder");
    AVCodecContext *enc = v->enc;
    enc->width = width;
    enc->height = height;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = st->time_base;
    enc->framerate = in->frame_rate;
    v->frame_rate = in->frame_rate;
    v->key_every = key_every;
    /* Like the scale filter: keep the display aspect when pixels are not square. */
    if (in->sar.num > 0)
        av_reduce(&enc->sample_aspect_ratio.num, &enc->sample_aspect_ratio.den,
                  (int64_t)height * in->display_w * in->sar.num,
                  (int64_t)width * in->display_h * in->sar.den, INT_MAX);
    enc->color_primaries = par->color_primaries;
    enc->color_trc = par->color_trc;
    enc->colorspace = par->color_space;
    /* Full-range sources are converted to the limited range H.264 players expect. */
    enc->color_range = par->color_range == AVCOL_RANGE_JPEG ? AVCOL_RANGE_MPEG : par->color_range;
    enc->chroma_sample_location = par->chroma_location;
    enc->thread_count = threads;
    if (global_header)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    char crf[16];
    snprintf(crf, sizeof crf, "%d", params->crf); /* chosen by lav_transcode */
    if ((ret = av_dict_set(&opts, "preset", params->preset, 0)) < 0 ||
        (ret = av_dict_set(&opts, "crf", crf, 0)) < 0 ||
        (ret = av_dict_set(&opts, "profile", "high", 0)) < 0 ||
        /* A forced keyframe is an IDR: a segment needs nothing before it. */
        (key_every > 0 && (ret = av_dict_set(&opts, "forced-idr", "1", 0)) < 0)) {
        ret = fail(msg, ret, "opening the H.264 encoder");
        goto out;
    }
    if ((ret = avcodec_open2(enc, codec, &opts)) < 0) {
        snprintf(msg, LAV_MSG_MAX, "opening the H.264 encoder (%dx%d, preset %s, crf %s): %s",
                 width, height, params->preset, crf, av_err2str(ret));
        goto out;
    }
    v->scaled->format = AV_PIX_FMT_YUV420P;
    v->scaled->width = width;
    v->scaled->height = height;
    if ((ret = av_frame_get_buffer(v->scaled, 0)) < 0) {
        ret = fail(msg, ret, "allocating the scaled picture");
        goto out;
    }
    ret = 0;
out:
    av_dict_free(&opts);
    return ret;
}

static int setup_scaler(lav_video_enc_t *v, const AVFrame *frame)
{
    int full_range = lav_full_range(frame);
    if (v->sws && v->sws_src_w == frame->width && v->sws_src_h == frame->height &&
        v->sws_src_fmt == frame->format && v->sws_src_range == full_range)
        return 0;
    sws_freeContext(v->sws);
    /* Full-range sources become the limited range H.264 players expect. */
    v->sws = lav_sws_new(frame->width, frame->height, frame->format, full_range, v->enc->width,
                         v->enc->height, AV_PIX_FMT_YUV420P, 0);
    if (!v->sws)
        return AVERROR(EINVAL);
    v->sws_src_w = frame->width;
    v->sws_src_h = frame->height;
    v->sws_src_fmt = frame->format;
    v->sws_src_range = full_range;
    return 0;
}

static int scale(lav_video_enc_t *v, AVFrame *frame, AVFrame **out)
{
    AVCodecContext *enc = v->enc;
    if (frame->width == enc->width && frame->height == enc->height &&
        frame->format == AV_PIX_FMT_YUV420P && !lav_full_range(frame)) {
        *out = frame;
        return 0;
    }
    int ret;
    if ((ret = setup_scaler(v, frame)) < 0 || (ret = av_frame_make_writable(v->scaled)) < 0)
        return ret;
    ret = sws_scale(v->sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height,
                    v->scaled->data, v->scaled->linesize);
    if (ret < 0)
        return ret;
    v->scaled->pts = frame->pts;
    *out = v->scaled;
    return 0;
}

/* The source's frame types must not force x264's decisions; only the
 * segment boundaries do: the first frame at or past each one. */
static void choose_type(lav_video_enc_t *v, AVFrame *picture)
{
    picture->pict_type = AV_PICTURE_TYPE_NONE;
    if (v->key_every <= 0)
        return;
    double at = picture->pts * av_q2d(v->enc->time_base);
    if (at < v->next_key * v->key_every - 1e-6)
        return;
    picture->pict_type = AV_PICTURE_TYPE_I;
    v->next_key = (int64_t)floor(at / v->key_every + 1e-6) + 1;
}

int lav_video_enc_send(lav_video_enc_t *v, AVFrame *frame, lav_packet_fn fn, void *ud, char *msg)
{
    AVFrame *picture = NULL;
    int ret;
    if (frame) {
        if ((ret = scale(v, frame, &picture)) < 0)
            return fail(msg, ret, "scaling video");
        choose_type(v, picture);
    }
    if ((ret = avcodec_send_frame(v->enc, picture)) < 0)
        return fail(msg, ret, "encoding video");
    for (;;) {
        ret = avcodec_receive_packet(v->enc, v->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return fail(msg, ret, "encoding video");
        /* x264 leaves durations out; the muxer needs the last one. */
        if (v->pkt->duration <= 0)
            v->pkt->duration = av_rescale_q(1, av_inv_q(v->frame_rate), v->enc->time_base);
        ret = fn(ud, v->pkt);
        av_packet_unref(v->pkt);
        if (ret < 0)
            return ret;
    }
}

void lav_video_enc_close(lav_video_enc_t *v)
{
    avcodec_free_context(&v->enc);
    sws_freeContext(v->sws);
    v->sws = NULL;
    av_frame_free(&v->scaled);
    av_packet_free(&v->pkt);
}
