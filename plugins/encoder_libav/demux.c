/*
 * demux.c - the read/decode loop shared by transcode and thumbnail: reads
 * packets, feeds the decoder of their stream, hands each frame to a
 * callback, flushes the decoders at the end, and keeps the job's progress
 * position and deadline up to date on every packet.
 *
 * Damaged data is tolerated like the ffmpeg CLI does: a packet that does not
 * decode is skipped, and unparsable data at the end of the file ends the
 * input.  I/O errors (a network failure, a timeout) fail the operation, so
 * a half-read source never passes for a complete one: over http a demuxer
 * whose seek failed (the storage answering 5xx after the reconnects) reports
 * damaged data or the end, so the end of a URL source is checked by reading
 * its last byte again (source_readable).
 */
#include "lav.h"

#include <errno.h>
#include <libavutil/time.h>

typedef struct decode_loop {
    lav_input_t *in;
    lav_job_t *job;
    lav_frame_fn fn;
    void *ud;
    AVFrame *frame;
    int video_frames;
    int skipped;
} decode_loop_t;

static int tolerable(int averr)
{
    return averr == AVERROR_INVALIDDATA || averr == AVERROR(EAGAIN);
}

/* Drain `dec`; returns 0 when it wants more input (or ended), 1 when the
 * callback asked to stop, or a negative errno. */
static int drain(decode_loop_t *d, AVCodecContext *dec, int is_video)
{
    for (;;) {
        int ret = avcodec_receive_frame(dec, d->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            if (ret == AVERROR_INVALIDDATA) {
                d->skipped++;
                continue;
            }
            return lav_job_av_fail(d->job, ret, -EINVAL,
                                   is_video ? "decoding video" : "decoding audio");
        }
        if (is_video)
            d->video_frames++;
        ret = d->fn(d->ud, d->frame, is_video);
        av_frame_unref(d->frame);
        if (ret != 0)
            return ret;
    }
}

static int decode(decode_loop_t *d, AVCodecContext *dec, const AVPacket *pkt, int is_video)
{
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        if (pkt && tolerable(ret)) {
            d->skipped++;
            return 0;
        }
        return lav_job_av_fail(d->job, ret, -EINVAL, is_video ? "decoding video" : "decoding audio");
    }
    return drain(d, dec, is_video);
}

static void track_position(decode_loop_t *d, const AVPacket *pkt, double span)
{
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts == AV_NOPTS_VALUE || span <= d->in->progress_from)
        return;
    AVRational tb = d->in->fmt->streams[pkt->stream_index]->time_base;
    double pos = ts * av_q2d(tb) - d->in->start_time / (double)AV_TIME_BASE - d->in->progress_from;
    double percent = 100.0 * pos / (span - d->in->progress_from);
    /* The last percent is kept for the end, once every output is complete. */
    if (percent > 99)
        percent = 99;
    if (percent > d->job->percent)
        d->job->percent = percent;
}

/* 0 when the source still reads to its end; else the I/O error (an
 * AVERROR) that ended the packets early. */
static int source_readable(lav_input_t *in)
{
    if (!in->is_url)
        return 0;
    if (in->pb->error < 0)
        return in->pb->error;
    int64_t size = avio_size(in->pb);
    if (size < 0)
        return (int)size;
    if (size == 0)
        return 0;
    int64_t pos = avio_seek(in->pb, size - 1, SEEK_SET);
    if (pos < 0)
        return (int)pos;
    avio_r8(in->pb);
    return in->pb->error < 0 ? in->pb->error : 0;
}

int lav_decode_run(lav_input_t *in, lav_job_t *job, double span, lav_frame_fn fn, void *ud)
{
    decode_loop_t d = {in, job, fn, ud, av_frame_alloc(), 0, 0};
    AVPacket *pkt = av_packet_alloc();
    int ret;
    if (!pkt || !d.frame) {
        ret = lav_job_fail(job, ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        if ((ret = lav_job_tick(job)) != 0) {
            ret = lav_job_fail(job, ret, "stopped");
            goto out;
        }
        ret = av_read_frame(in->fmt, pkt);
        if (ret == AVERROR(EAGAIN)) {
            av_usleep(10000); /* nothing yet; do not spin */
            continue;
        }
        if (ret == AVERROR_EOF || ret == AVERROR_INVALIDDATA) {
            int ioerr = source_readable(in);
            if (ioerr < 0) {
                ret = lav_job_av_fail(job, ioerr, -EIO, "reading input");
                goto out;
            }
            if (ret == AVERROR_INVALIDDATA)
                job->state->host->log(LAV_PLUGIN_NAME, VF_LOG_WARNING,
                                      "the input ends with damaged data; using what was read");
            break;
        }
        if (ret < 0) {
            ret = lav_job_av_fail(job, ret, in->is_url ? -EIO : -EINVAL, "reading input");
            goto out;
        }
        AVCodecContext *dec = pkt->stream_index == in->vidx ? in->vdec
                              : pkt->stream_index == in->aidx ? in->adec : NULL;
        if (dec) {
            track_position(&d, pkt, span);
            ret = decode(&d, dec, pkt, dec == in->vdec);
        }
        av_packet_unref(pkt);
        if (ret != 0)
            goto out;
    }
    /* End of input: drain what the decoders still hold (frame threads,
     * reordering delay). */
    if ((ret = decode(&d, in->vdec, NULL, 1)) != 0)
        goto out;
    if (in->adec && (ret = decode(&d, in->adec, NULL, 0)) != 0)
        goto out;
    if (d.video_frames == 0) {
        ret = lav_job_fail(job, EINVAL, "no video frame of the input could be decoded");
        goto out;
    }
    ret = 0;
out:
    if (d.skipped)
        job->state->host->log(LAV_PLUGIN_NAME, VF_LOG_WARNING,
                              "%d damaged packets or frames of the input were skipped", d.skipped);
    av_packet_free(&pkt);
    av_frame_free(&d.frame);
    return ret;
}
