/*
 * published.c - what a stopped job published of one rendition
 * (hls_published_dir/<name>/init.mp4 and 0.m4s .. N-1.m4s, ABI 1.3), read
 * back with libavformat's mov demuxer as one fragmented MP4 stream: the
 * files are read in sequence through an AVIOContext of our own, never
 * concatenated on disk.  Timestamps are the raw ones of the fragments
 * (tfdt and trun, the edit lists ignored), i.e. what the hls muxer wrote.
 *
 * It checks that the files continue what this run writes (codec setup,
 * sizes, time bases), finds where they end, and copies their packets into
 * an MP4.  Read only: it never changes or removes the published files.
 * Must not touch: the new segments (hls.c), the encoders (encode.c).
 */
#include "lav.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/avstring.h>
#include <libavutil/intreadwrite.h>

#define READ_BUFFER 65536

/* The files of one rendition, read one after the other. */
typedef struct file_chain {
    char **paths;
    int64_t npaths;
    int64_t current;
    FILE *f;
} file_chain_t;

struct lav_published {
    file_chain_t chain;
    AVIOContext *pb;
    AVFormatContext *fmt;
    int vidx, aidx;
};

static int chain_read(void *opaque, uint8_t *buf, int size)
{
    file_chain_t *c = opaque;
    while (c->current < c->npaths) {
        if (!c->f && !(c->f = fopen(c->paths[c->current], "rb")))
            return AVERROR(errno);
        size_t got = fread(buf, 1, (size_t)size, c->f);
        if (got > 0)
            return (int)got;
        int err = ferror(c->f);
        fclose(c->f);
        c->f = NULL;
        if (err)
            return AVERROR(EIO);
        c->current++;
    }
    return AVERROR_EOF;
}

static void chain_free(file_chain_t *c)
{
    if (c->f)
        fclose(c->f);
    c->f = NULL;
    for (int64_t i = 0; i < c->npaths; i++)
        av_free(c->paths[i]);
    av_freep(&c->paths);
    c->npaths = 0;
}

void lav_published_close(lav_published_t **pp)
{
    lav_published_t *p = *pp;
    if (!p)
        return;
    avformat_close_input(&p->fmt);
    if (p->pb)
        av_freep(&p->pb->buffer);
    avio_context_free(&p->pb);
    chain_free(&p->chain);
    av_free(p);
    *pp = NULL;
}

int lav_published_open(lav_published_t **out, const char *dir, const char *name, int64_t segments, char *why)
{
    AVDictionary *opts = NULL;
    uint8_t *buffer = NULL;
    int ret;
    lav_published_t *p = av_mallocz(sizeof *p);
    *out = NULL;
    if (!p || !(p->chain.paths = av_calloc((size_t)segments + 1, sizeof *p->chain.paths))) {
        av_free(p);
        snprintf(why, LAV_MSG_MAX, "out of memory");
        return AVERROR(ENOMEM);
    }
    for (int64_t i = 0; i <= segments; i++) {
        char *path = i == 0 ? av_asprintf("%s/%s/init.mp4", dir, name)
                            : av_asprintf("%s/%s/%" PRId64 ".m4s", dir, name, i - 1);
        if (!path) {
            ret = AVERROR(ENOMEM);
            snprintf(why, LAV_MSG_MAX, "out of memory");
            goto out;
        }
        p->chain.paths[p->chain.npaths++] = path;
        FILE *f = fopen(path, "rb");
        if (!f) {
            ret = AVERROR(errno);
            snprintf(why, LAV_MSG_MAX, "%s: %s", path, strerror(errno));
            goto out;
        }
        fclose(f);
    }
    if (!(buffer = av_malloc(READ_BUFFER)) ||
        !(p->pb = avio_alloc_context(buffer, READ_BUFFER, 0, &p->chain, chain_read, NULL, NULL))) {
        av_free(buffer);
        ret = AVERROR(ENOMEM);
        snprintf(why, LAV_MSG_MAX, "out of memory");
        goto out;
    }
    p->pb->seekable = 0;
    if (!(p->fmt = avformat_alloc_context())) {
        ret = AVERROR(ENOMEM);
        snprintf(why, LAV_MSG_MAX, "out of memory");
        goto out;
    }
    p->fmt->pb = p->pb;
    p->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    /* The raw fragment times: the hls muxer's timeline, which new segments continue. */
    if ((ret = av_dict_set(&opts, "ignore_editlist", "1", 0)) < 0) {
        snprintf(why, LAV_MSG_MAX, "out of memory");
        goto out;
    }
    const AVInputFormat *mov = av_find_input_format("mp4");
    if ((ret = avformat_open_input(&p->fmt, NULL, mov, &opts)) < 0) {
        snprintf(why, LAV_MSG_MAX, "reading %s/%s: %s", dir, name, av_err2str(ret));
        goto out;
    }
    p->vidx = p->aidx = -1;
    for (unsigned i = 0; i < p->fmt->nb_streams; i++) {
        enum AVMediaType type = p->fmt->streams[i]->codecpar->codec_type;
        if (type == AVMEDIA_TYPE_VIDEO && p->vidx < 0)
            p->vidx = (int)i;
        else if (type == AVMEDIA_TYPE_AUDIO && p->aidx < 0)
            p->aidx = (int)i;
    }
    if (p->vidx < 0 || p->fmt->nb_streams != (unsigned)(1 + (p->aidx >= 0))) {
        ret = AVERROR_INVALIDDATA;
        snprintf(why, LAV_MSG_MAX, "%s/%s/init.mp4 does not hold one video and at most one audio track", dir,
                 name);
        goto out;
    }
    ret = 0;
out:
    av_dict_free(&opts);
    if (ret < 0)
        lav_published_close(&p);
    *out = p;
    return ret;
}

/* An H.264 parameter set list as "<len16><NAL>...": from an avcC record
 * (MP4) or from Annex B start codes (libx264's global header). */
static int parameter_sets(const uint8_t *data, int size, uint8_t *out, int cap)
{
    int n = 0;
    if (size >= 7 && data[0] == 1) {
        const uint8_t *p = data + 5, *end = data + size;
        for (int list = 0; list < 2; list++) {
            if (p >= end)
                return -1;
            int count = list == 0 ? (*p++ & 0x1f) : *p++;
            for (int i = 0; i < count; i++) {
                if (end - p < 2 || end - p - 2 < AV_RB16(p) || n + 2 + AV_RB16(p) > cap)
                    return -1;
                int len = AV_RB16(p);
                memcpy(out + n, p, (size_t)len + 2);
                n += len + 2;
                p += len + 2;
            }
        }
        return n;
    }
    for (int i = 0; i + 3 <= size;) {
        if (!(data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)) {
            i++;
            continue;
        }
        int start = i + 3, stop = start;
        while (stop + 3 <= size && !(data[stop] == 0 && data[stop + 1] == 0 && (data[stop + 2] == 1 ||
                                     (data[stop + 2] == 0 && stop + 3 < size && data[stop + 3] == 1))))
            stop++;
        if (stop + 3 > size)
            stop = size;
        int len = stop - start;
        if (len <= 0 || n + 2 + len > cap)
            return -1;
        AV_WB16(out + n, len);
        memcpy(out + n + 2, data + start, (size_t)len);
        n += len + 2;
        i = stop;
    }
    return n;
}

static int same_parameter_sets(const AVCodecParameters *par, const AVCodecContext *venc)
{
    uint8_t a[4096], b[4096];
    int na = parameter_sets(par->extradata, par->extradata_size, a, sizeof a);
    int nb = parameter_sets(venc->extradata, venc->extradata_size, b, sizeof b);
    return na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
}

/* Why the published track differs from what this run writes, or NULL. */
static const char *difference(const lav_published_t *p, const AVCodecContext *venc, AVRational vtb,
                              const AVCodecContext *aenc, AVRational atb)
{
    const AVStream *vs = p->fmt->streams[p->vidx];
    const AVCodecParameters *v = vs->codecpar;
    if (v->codec_id != AV_CODEC_ID_H264 || v->width != venc->width || v->height != venc->height)
        return "the video codec or picture size differs";
    if (!same_parameter_sets(v, venc))
        return "the H.264 parameter sets (avcC SPS/PPS) differ";
    /* Samples are copied with their 4-byte NAL lengths made start codes. */
    if (v->extradata_size < 5 || (v->extradata[4] & 3) != 3)
        return "the H.264 NAL length size is not 4 bytes";
    if (av_cmp_q(vs->time_base, vtb) != 0)
        return "the video timescale differs";
    if ((p->aidx >= 0) != (aenc != NULL))
        return "one has sound and the other has not";
    if (!aenc)
        return NULL;
    const AVStream *as = p->fmt->streams[p->aidx];
    const AVCodecParameters *a = as->codecpar;
    if (a->codec_id != AV_CODEC_ID_AAC || a->sample_rate != aenc->sample_rate ||
        a->ch_layout.nb_channels != aenc->ch_layout.nb_channels)
        return "the audio codec, rate or channels differ";
    if (a->extradata_size != aenc->extradata_size ||
        (a->extradata_size && memcmp(a->extradata, aenc->extradata, (size_t)a->extradata_size) != 0))
        return "the AAC configuration differs";
    if (av_cmp_q(as->time_base, atb) != 0)
        return "the audio timescale differs";
    return NULL;
}

/* MP4 H.264 samples (4-byte NAL lengths) as libx264 gives them (Annex B
 * start codes of the same size), which the MP4 muxer turns back into the
 * very same bytes; with `rewrite` 0, only whether the lengths fill the
 * sample exactly (the check, read only). */
static int nal_lengths(AVPacket *pkt, int rewrite)
{
    int ret = rewrite ? av_packet_make_writable(pkt) : 0;
    if (ret < 0)
        return ret;
    for (int off = 0; off < pkt->size;) {
        if (pkt->size - off < 4)
            return AVERROR_INVALIDDATA;
        uint32_t len = AV_RB32(pkt->data + off);
        if (len > (uint32_t)(pkt->size - off - 4))
            return AVERROR_INVALIDDATA;
        if (rewrite)
            AV_WB32(pkt->data + off, 1);
        off += 4 + (int)len;
    }
    return 0;
}

/* Why published segment `path` is not whole (empty, cut short, or no
 * fragment), or NULL: its top-level boxes must fill it exactly, with a
 * moof and an mdat among them. */
static const char *segment_shape(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return "it cannot be opened";
    const char *why = NULL;
    int moof = 0, mdat = 0;
    uint8_t head[16];
    for (;;) {
        size_t got = fread(head, 1, 8, f);
        if (got == 0 && !ferror(f))
            break;
        uint64_t size = got == 8 ? AV_RB32(head) : 0, header = 8;
        if (got == 8 && size == 1) {
            if (fread(head + 8, 1, 8, f) != 8) {
                why = "it is cut short";
                break;
            }
            size = AV_RB64(head + 8);
            header = 16;
        }
        if (got != 8 || size < header || size - header > INT64_MAX ||
            fseeko(f, (off_t)(size - header), SEEK_CUR) != 0) {
            why = "it is cut short";
            break;
        }
        moof |= memcmp(head + 4, "moof", 4) == 0;
        mdat |= memcmp(head + 4, "mdat", 4) == 0;
    }
    /* fseeko past the end succeeds: the length must still match. */
    if (!why) {
        off_t at = ftello(f);
        if (fseeko(f, 0, SEEK_END) != 0 || ftello(f) != at)
            why = "it is cut short";
        else if (!moof || !mdat)
            why = "it holds no fragment";
    }
    fclose(f);
    return why;
}

int lav_published_check(const char *dir, const char *name, int64_t segments, const AVCodecContext *venc,
                        AVRational vtb, const AVCodecContext *aenc, AVRational atb, lav_published_end_t *end,
                        lav_job_t *job, char *why)
{
    lav_published_t *p = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret;
    memset(end, 0, sizeof *end);
    end->video = end->audio = AV_NOPTS_VALUE;
    if (!pkt) {
        snprintf(why, LAV_MSG_MAX, "out of memory");
        return AVERROR(ENOMEM);
    }
    if ((ret = lav_published_open(&p, dir, name, segments, why)) < 0)
        goto out;
    const char *diff = difference(p, venc, vtb, aenc, atb);
    if (diff) {
        snprintf(why, LAV_MSG_MAX, "%s/%s/init.mp4: %s from what this run writes", dir, name, diff);
        ret = AVERROR(EINVAL);
        goto out;
    }
    for (int64_t i = 1; i < p->chain.npaths; i++) {
        const char *bad = segment_shape(p->chain.paths[i]);
        if (bad) {
            snprintf(why, LAV_MSG_MAX, "%s: %s", p->chain.paths[i], bad);
            ret = AVERROR_INVALIDDATA;
            goto out;
        }
    }
    int timed[2] = {0, 0}; /* whether each track's last packet (audio, video) had a duration */
    while ((ret = av_read_frame(p->fmt, pkt)) >= 0) {
        int is_video = pkt->stream_index == p->vidx;
        int64_t *at = is_video ? &end->video : &end->audio;
        /* Each track goes on where its previous sample ended (when that
         * one had a duration): a gap is a missing part, an overlap a
         * segment out of place. */
        const char *bad = pkt->dts == AV_NOPTS_VALUE ? "a packet without time"
                          : *at != AV_NOPTS_VALUE && (pkt->dts < *at || (timed[is_video] && pkt->dts != *at))
                              ? "a track with a gap or overlap"
                          : pkt->flags & AV_PKT_FLAG_CORRUPT           ? "a corrupt packet"
                          : is_video && nal_lengths(pkt, 0) < 0        ? "a video sample with bad NAL lengths"
                                                                       : NULL;
        if (bad) {
            av_packet_unref(pkt);
            ret = AVERROR_INVALIDDATA;
            snprintf(why, LAV_MSG_MAX, "%s/%s: %s", dir, name, bad);
            goto out;
        }
        /* Without a duration, the track's end (below) says where it ends. */
        timed[is_video] = pkt->duration > 0;
        *at = pkt->dts + (timed[is_video] ? pkt->duration : 0);
        if (is_video)
            end->video_packets++;
        else
            end->audio_packets++;
        av_packet_unref(pkt);
        if ((ret = lav_job_tick(job)) != 0)
            goto out;
    }
    /* Every published file read to its end, each a part of the stream. */
    if (ret != AVERROR_EOF || !end->video_packets ||
        (aenc && !end->audio_packets)) {
        snprintf(why, LAV_MSG_MAX, "%s/%s: %s", dir, name,
                 ret != AVERROR_EOF ? av_err2str(ret) : "the segments do not read to their end");
        ret = ret != AVERROR_EOF ? ret : AVERROR_INVALIDDATA;
        goto out;
    }
    /* The demuxer ends each track where the durations of its last
     * fragment's samples end (its duration, edit lists ignored). */
    for (int k = 0; k < 2; k++) {
        int idx = k == 0 ? p->vidx : p->aidx;
        int64_t *at = k == 0 ? &end->video : &end->audio;
        if (idx >= 0 && p->fmt->streams[idx]->duration != AV_NOPTS_VALUE && p->fmt->streams[idx]->duration > *at)
            *at = p->fmt->streams[idx]->duration;
    }
    ret = 0;
out:
    av_packet_free(&pkt);
    lav_published_close(&p);
    return ret;
}

int lav_published_copy(const char *dir, const char *name, int64_t segments, AVFormatContext *oc,
                       const lav_output_streams_t *st, int64_t video_shift, int64_t audio_shift,
                       lav_worker_t *worker, char *msg)
{
    lav_published_t *p = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret;
    if (!pkt) {
        snprintf(msg, LAV_MSG_MAX, "copying the published segments: out of memory");
        return AVERROR(ENOMEM);
    }
    if ((ret = lav_published_open(&p, dir, name, segments, msg)) < 0)
        goto out;
    while ((ret = av_read_frame(p->fmt, pkt)) >= 0) {
        /* Gigabytes, maybe: a stopped job must not wait for them. */
        if (lav_worker_aborted(worker)) {
            av_packet_unref(pkt);
            ret = AVERROR_EXIT;
            snprintf(msg, LAV_MSG_MAX, "copying the published segments: stopped");
            goto out;
        }
        int is_video = pkt->stream_index == p->vidx;
        AVStream *from = p->fmt->streams[pkt->stream_index], *to = is_video ? st->vst : st->ast;
        int64_t shift = is_video ? video_shift : audio_shift;
        if (!to) {
            av_packet_unref(pkt);
            continue;
        }
        if (is_video && (ret = nal_lengths(pkt, 1)) < 0) {
            snprintf(msg, LAV_MSG_MAX, "copying the published segments: a video sample: %s", av_err2str(ret));
            goto out;
        }
        pkt->pts -= shift;
        pkt->dts -= shift;
        av_packet_rescale_ts(pkt, from->time_base, to->time_base);
        pkt->stream_index = to->index;
        pkt->pos = -1;
        if ((ret = av_interleaved_write_frame(oc, pkt)) < 0) {
            snprintf(msg, LAV_MSG_MAX, "copying the published segments into the MP4: %s", av_err2str(ret));
            goto out;
        }
    }
    if (ret != AVERROR_EOF) {
        snprintf(msg, LAV_MSG_MAX, "copying the published segments: %s", av_err2str(ret));
        goto out;
    }
    ret = 0;
out:
    av_packet_free(&pkt);
    lav_published_close(&p);
    return ret;
}
