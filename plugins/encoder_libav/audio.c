/*
 * audio.c - the audio path, run once per transcode: decoded frames are
 * resampled to stereo float planar at an AAC rate, cut into the encoder's
 * 1024-sample frames and encoded with FFmpeg's native AAC encoder.  Every
 * output has the same audio settings, so each packet is shared by all of
 * them (see transcode.c).
 *
 * Timestamps: the first frame's pts (less the input's start time) starts
 * the clock; after that, samples are counted, as the ffmpeg CLI does
 * without -async.
 */
#include "lav.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#define STEP "encoding audio"

/* The source rate when AAC supports it, else the nearest one it does. */
static int aac_rate(const AVCodec *codec, int want)
{
    const int *r = codec->supported_samplerates;
    if (!r)
        return want > 0 ? want : 48000;
    int best = r[0];
    for (; *r; r++) {
        if (*r == want)
            return want;
        if (abs(*r - want) < abs(best - want))
            best = *r;
    }
    return best;
}

static int setup_resampler(lav_audio_t *a, const AVFrame *frame)
{
    AVChannelLayout in_layout = {0};
    int ret;
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || frame->ch_layout.nb_channels <= 0)
        av_channel_layout_default(&in_layout, frame->ch_layout.nb_channels > 0
                                                  ? frame->ch_layout.nb_channels : 2);
    else if ((ret = av_channel_layout_copy(&in_layout, &frame->ch_layout)) < 0)
        return ret;
    swr_free(&a->swr);
    ret = swr_alloc_set_opts2(&a->swr, &a->enc->ch_layout, a->enc->sample_fmt,
                              a->enc->sample_rate, &in_layout, frame->format,
                              frame->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    if (ret >= 0)
        ret = swr_init(a->swr);
    /* Remember the layout as the decoder gives it, to notice changes. */
    av_channel_layout_uninit(&a->in_layout);
    if (ret >= 0)
        ret = av_channel_layout_copy(&a->in_layout, &frame->ch_layout);
    a->in_rate = frame->sample_rate;
    a->in_format = frame->format;
    return ret;
}

int lav_audio_open(lav_audio_t *a, lav_job_t *job, const lav_input_t *in, int bit_rate)
{
    memset(a, 0, sizeof *a);
    AVStream *st = in->fmt->streams[in->aidx];
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return lav_job_fail(job, ENOSYS, "opening the AAC encoder: this FFmpeg has no aac encoder");
    if (!(a->enc = avcodec_alloc_context3(codec)) || !(a->fifo = av_audio_fifo_alloc(
                                                         AV_SAMPLE_FMT_FLTP, 2, 4096)) ||
        !(a->converted = av_frame_alloc()) || !(a->chunk = av_frame_alloc()) ||
        !(a->pkt = av_packet_alloc()))
        return lav_job_fail(job, ENOMEM, "out of memory");
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    int ret = av_channel_layout_copy(&a->enc->ch_layout, &stereo);
    if (ret < 0)
        return lav_job_av_fail(job, ret, -ENOMEM, "opening the AAC encoder");
    a->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    a->enc->sample_rate = aac_rate(codec, st->codecpar->sample_rate);
    a->enc->time_base = (AVRational){1, a->enc->sample_rate};
    a->enc->bit_rate = bit_rate > 0 ? bit_rate : 128000;
    /* MP4 keeps the AudioSpecificConfig in the header. */
    a->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(a->enc, codec, NULL)) < 0)
        return lav_job_av_fail(job, ret, -EINVAL, "opening the AAC encoder");
    a->in_tb = st->time_base;
    a->start = av_rescale_q(in->start_time, AV_TIME_BASE_Q, st->time_base);
    return 0;
}

static int encode(lav_audio_t *a, lav_job_t *job, const AVFrame *frame, lav_packet_fn fn, void *ud)
{
    int ret = avcodec_send_frame(a->enc, frame);
    if (ret < 0)
        return lav_job_av_fail(job, ret, -EIO, STEP);
    for (;;) {
        ret = avcodec_receive_packet(a->enc, a->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return lav_job_av_fail(job, ret, -EIO, STEP);
        ret = fn(ud, a->pkt);
        av_packet_unref(a->pkt);
        if (ret < 0)
            return ret;
    }
}

/* Encode whole encoder frames from the FIFO (and the short rest at the end). */
static int encode_fifo(lav_audio_t *a, lav_job_t *job, int at_end, lav_packet_fn fn, void *ud)
{
    int frame_size = a->enc->frame_size > 0 ? a->enc->frame_size : 1024;
    int ret;
    while (a->trimming && av_audio_fifo_size(a->fifo) > 0) {
        /* Samples before the resumed start go unencoded; past it, the
         * first frame starts on the grid of frames from trim_before. */
        int64_t skip = a->next_pts < a->trim_before
                           ? a->trim_before - a->next_pts
                           : (frame_size - (a->next_pts - a->trim_before) % frame_size) % frame_size;
        if (skip == 0) {
            a->trimming = 0;
            break;
        }
        int n = (int)FFMIN(skip, (int64_t)av_audio_fifo_size(a->fifo));
        if ((ret = av_audio_fifo_drain(a->fifo, n)) < 0)
            return lav_job_av_fail(job, ret, -EIO, STEP);
        a->next_pts += n;
    }
    while (!a->trimming && (av_audio_fifo_size(a->fifo) >= frame_size ||
                            (at_end && av_audio_fifo_size(a->fifo) > 0))) {
        int n = FFMIN(av_audio_fifo_size(a->fifo), frame_size);
        av_frame_unref(a->chunk);
        a->chunk->nb_samples = n;
        a->chunk->format = a->enc->sample_fmt;
        a->chunk->sample_rate = a->enc->sample_rate;
        if ((ret = av_channel_layout_copy(&a->chunk->ch_layout, &a->enc->ch_layout)) < 0 ||
            (ret = av_frame_get_buffer(a->chunk, 0)) < 0)
            return lav_job_av_fail(job, ret, -ENOMEM, STEP);
        if ((ret = av_audio_fifo_read(a->fifo, (void **)a->chunk->data, n)) < n)
            return lav_job_av_fail(job, ret < 0 ? ret : AVERROR_BUG, -EIO, STEP);
        a->chunk->pts = a->next_pts;
        a->next_pts += n;
        if ((ret = encode(a, job, a->chunk, fn, ud)) < 0)
            return ret;
    }
    return 0;
}

/* Resample `frame` (NULL drains the resampler) into the FIFO. */
static int resample(lav_audio_t *a, lav_job_t *job, const AVFrame *frame)
{
    int in_samples = frame ? frame->nb_samples : 0;
    int room = swr_get_out_samples(a->swr, in_samples);
    if (room < 0)
        return lav_job_av_fail(job, room, -EIO, "resampling audio");
    if (room == 0)
        return 0;
    av_frame_unref(a->converted);
    a->converted->nb_samples = room;
    a->converted->format = a->enc->sample_fmt;
    int ret;
    if ((ret = av_channel_layout_copy(&a->converted->ch_layout, &a->enc->ch_layout)) < 0 ||
        (ret = av_frame_get_buffer(a->converted, 0)) < 0)
        return lav_job_av_fail(job, ret, -ENOMEM, "resampling audio");
    int got = swr_convert(a->swr, a->converted->data, room,
                          frame ? (const uint8_t **)frame->extended_data : NULL, in_samples);
    if (got < 0)
        return lav_job_av_fail(job, got, -EIO, "resampling audio");
    if (got > 0 && (ret = av_audio_fifo_write(a->fifo, (void **)a->converted->data, got)) < got)
        return lav_job_av_fail(job, ret < 0 ? ret : AVERROR(ENOMEM), -ENOMEM, "resampling audio");
    return 0;
}

int lav_audio_feed(lav_audio_t *a, lav_job_t *job, const AVFrame *frame, lav_packet_fn fn,
                   void *ud)
{
    int ret;
    if (!frame) {
        if (!a->swr)
            return encode(a, job, NULL, fn, ud);
        if ((ret = resample(a, job, NULL)) < 0 || (ret = encode_fifo(a, job, 1, fn, ud)) < 0)
            return ret;
        return encode(a, job, NULL, fn, ud);
    }
    if (!a->swr || frame->sample_rate != a->in_rate || frame->format != a->in_format ||
        av_channel_layout_compare(&frame->ch_layout, &a->in_layout) != 0) {
        /* Parameters changed mid-stream (or first frame): samples still in
         * the old resampler are dropped; that is a few milliseconds. */
        if ((ret = setup_resampler(a, frame)) < 0)
            return lav_job_av_fail(job, ret, -EINVAL, "setting up the audio resampler");
    }
    if (!a->have_pts) {
        int64_t pts = frame->best_effort_timestamp;
        a->next_pts = pts == AV_NOPTS_VALUE ? 0
                          : av_rescale_q(pts - a->start, a->in_tb, a->enc->time_base);
        a->have_pts = 1;
    }
    if ((ret = resample(a, job, frame)) < 0)
        return ret;
    return encode_fifo(a, job, 0, fn, ud);
}

void lav_audio_close(lav_audio_t *a)
{
    avcodec_free_context(&a->enc);
    swr_free(&a->swr);
    if (a->fifo)
        av_audio_fifo_free(a->fifo);
    a->fifo = NULL;
    av_frame_free(&a->converted);
    av_frame_free(&a->chunk);
    av_packet_free(&a->pkt);
    av_channel_layout_uninit(&a->in_layout);
}
