/*
 * input.c - opening a source: a local file or an http(s) URL, read through
 * an AVIOContext of our own so that the container can be checked against a
 * list of ordinary media formats before its demuxer runs.  Playlists and
 * reference formats (hls, concat, image sequences, ...) are refused: they
 * make libavformat open further files or URLs named by the upload itself.
 * Owns the streams' description (rotation, display size, start, duration)
 * and the decoders.
 */
#include "lav.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libavutil/avstring.h>
#include <libavutil/display.h>

/* Demuxers of self-contained media files (a demuxer matches when one of its
 * comma-separated names is listed). */
static const char accepted_formats[] = VF_ENCODER_SOURCE_FORMATS;

/* A source read over http(s) is storage: an answer 5xx or a connection
 * dropped mid-body may pass, so libavformat's http protocol reconnects
 * (from the offset reached, with a Range request) after 0, 1, 3 and 7 s,
 * then gives up; a 4xx (403 expired signature, 404 gone) fails at once.
 * Not reconnect_on_network_error: a server that does not answer within
 * io_timeout would then cost five timeouts, and a refused connection is
 * retried by the pipeline anyway. */
#define RECONNECT_DELAY_MAX_S 7

static int is_http_url(const char *source)
{
    return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0;
}

void lav_source_label(const char *source, char *buf, size_t len)
{
    if (!is_http_url(source)) {
        snprintf(buf, len, "%s", source);
        return;
    }
    /* Drop user:password@ and the query, which holds presigned signatures. */
    const char *host = strstr(source, "://") + 3;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    if (at)
        host = at + 1;
    size_t scheme = (size_t)(strstr(source, "://") + 3 - source);
    size_t rest = strcspn(host, "?#");
    snprintf(buf, len, "%.*s%.*s", (int)scheme, source, (int)rest, host);
}

/* Unreadable and non-media input is -EINVAL (the encoder contract); only
 * resource shortage, time limits and transient network failures differ. */
static int input_fail(const lav_input_t *in, lav_job_t *job, int averr, const char *step)
{
    /* A demuxer given a body cut short by the storage (the reconnects
     * failed) reports invalid data; the read error is the truth. */
    if (in->is_url && in->pb && in->pb->error < 0 && averr == AVERROR_INVALIDDATA)
        averr = in->pb->error;
    int code = -EINVAL;
    switch (averr) {
    case AVERROR(ENOMEM):
    case AVERROR(ETIMEDOUT):
    case AVERROR(ECANCELED):
        code = averr;
        break;
    case AVERROR(ECONNREFUSED):
    case AVERROR(ECONNRESET):
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(EIO):
    case AVERROR_HTTP_SERVER_ERROR:
        code = in->is_url ? -EIO : -EINVAL;
        break;
    }
    if (averr == AVERROR_EXIT && !job->stop)
        job->stop = -ECANCELED;
    return lav_job_fail(job, code, "%s: %s", step, av_err2str(averr));
}

static int stream_rotation(const AVStream *st)
{
    const int32_t *matrix = NULL;
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData *sd = av_packet_side_data_get(
        st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    if (sd && sd->size >= 9 * sizeof(int32_t))
        matrix = (const int32_t *)sd->data;
#else
    size_t size = 0;
    matrix = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (size < 9 * sizeof(int32_t))
        matrix = NULL;
#endif
    if (!matrix)
        return 0;
    /* av_display_rotation_get() is counter-clockwise; snap to quarter turns. */
    double ccw = av_display_rotation_get(matrix);
    if (isnan(ccw))
        return 0;
    long quarters = lround(-ccw / 90.0) % 4;
    if (quarters < 0)
        quarters += 4;
    return (int)quarters * 90;
}

static int open_decoder(lav_input_t *in, lav_job_t *job, int idx, AVCodecContext **out)
{
    AVStream *st = in->fmt->streams[idx];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    const char *kind = av_get_media_type_string(st->codecpar->codec_type);
    if (!codec)
        return lav_job_fail(job, EINVAL, "no decoder for the %s codec %s", kind,
                            avcodec_get_name(st->codecpar->codec_id));
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    if (!dec)
        return lav_job_fail(job, ENOMEM, "out of memory");
    *out = dec;
    char step[64];
    snprintf(step, sizeof step, "opening the %s decoder", kind);
    int ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret < 0)
        return lav_job_av_fail(job, ret, -EINVAL, step);
    dec->pkt_timebase = st->time_base;
    dec->thread_count = 0;
    if ((ret = avcodec_open2(dec, codec, NULL)) < 0)
        return lav_job_av_fail(job, ret, -EINVAL, step);
    return 0;
}

static void describe(lav_input_t *in)
{
    AVStream *vst = in->fmt->streams[in->vidx];
    in->rotation = stream_rotation(vst);
    int w = vst->codecpar->width, h = vst->codecpar->height;
    AVRational sar = vst->sample_aspect_ratio.num ? vst->sample_aspect_ratio
                                                  : vst->codecpar->sample_aspect_ratio;
    if (sar.num <= 0 || sar.den <= 0)
        sar = (AVRational){0, 1};
    if (in->rotation == 90 || in->rotation == 270) {
        in->display_w = h;
        in->display_h = w;
        if (sar.num)
            sar = (AVRational){sar.den, sar.num};
    } else {
        in->display_w = w;
        in->display_h = h;
    }
    in->sar = sar;
    in->frame_rate = av_guess_frame_rate(in->fmt, vst, NULL);
    if (in->frame_rate.num <= 0 || in->frame_rate.den <= 0)
        in->frame_rate = (AVRational){25, 1};
    in->start_time = in->fmt->start_time != AV_NOPTS_VALUE ? in->fmt->start_time : 0;
    if (in->fmt->duration > 0)
        in->duration = in->fmt->duration / (double)AV_TIME_BASE;
    else if (vst->duration > 0)
        in->duration = vst->duration * av_q2d(vst->time_base);
}

int lav_input_open(lav_input_t *in, lav_job_t *job, const char *source, int decoders,
                   int want_audio)
{
    int ret;
    char *url = NULL;
    AVDictionary *io_opts = NULL, *fmt_opts = NULL;
    const AVInputFormat *ifmt = NULL;
    AVIOInterruptCB interrupt = {lav_job_interrupt, job};

    memset(in, 0, sizeof *in);
    in->vidx = in->aidx = -1;
    in->is_url = is_http_url(source);
    /* "file:" keeps a path with a colon from being read as a protocol. */
    url = in->is_url ? av_strdup(source) : av_asprintf("file:%s", source);
    if (!url) {
        ret = lav_job_fail(job, ENOMEM, "out of memory");
        goto out;
    }
    const char *protocols = in->is_url ? "http,https,tcp,tls" : "file";
    /* The format whitelist also binds any nested open a demuxer makes. */
    if ((ret = av_dict_set(&io_opts, "protocol_whitelist", protocols, 0)) < 0 ||
        (ret = av_dict_set(&fmt_opts, "protocol_whitelist", protocols, 0)) < 0 ||
        (ret = av_dict_set(&fmt_opts, "format_whitelist", accepted_formats, 0)) < 0) {
        ret = lav_job_av_fail(job, ret, -ENOMEM, "opening input");
        goto out;
    }
    if (in->is_url) {
        int64_t usec = (int64_t)(job->state->cfg.io_timeout * 1e6);
        if ((ret = av_dict_set_int(&io_opts, "rw_timeout", usec, 0)) < 0 ||
            (ret = av_dict_set_int(&io_opts, "timeout", usec, 0)) < 0 ||
            (ret = av_dict_set(&io_opts, "reconnect", "1", 0)) < 0 ||
            (ret = av_dict_set(&io_opts, "reconnect_on_http_error", "5xx", 0)) < 0 ||
            (ret = av_dict_set_int(&io_opts, "reconnect_delay_max", RECONNECT_DELAY_MAX_S, 0)) < 0) {
            ret = lav_job_av_fail(job, ret, -ENOMEM, "opening input");
            goto out;
        }
    }
    ret = avio_open2(&in->pb, url, AVIO_FLAG_READ, &interrupt, &io_opts);
    if (ret < 0) {
        ret = input_fail(in, job, ret, "opening input");
        goto out;
    }
    if (avio_size(in->pb) == 0) {
        ret = lav_job_fail(job, EINVAL, "opening input: the file is empty");
        goto out;
    }
    ret = av_probe_input_buffer2(in->pb, &ifmt, url, NULL, 0, 0);
    if (ret < 0) {
        ret = input_fail(in, job, ret, "opening input");
        goto out;
    }
    if (av_match_list(ifmt->name, accepted_formats, ',') <= 0) {
        ret = lav_job_fail(job, EINVAL,
                           "opening input: the container format '%s' is not accepted "
                           "(playlists and reference formats are refused)", ifmt->name);
        goto out;
    }
    if (!(in->fmt = avformat_alloc_context())) {
        ret = lav_job_fail(job, ENOMEM, "out of memory");
        goto out;
    }
    in->fmt->pb = in->pb;
    in->fmt->interrupt_callback = interrupt;
    ret = avformat_open_input(&in->fmt, url, ifmt, &fmt_opts);
    if (ret < 0) {
        ret = input_fail(in, job, ret, "opening input");
        goto out;
    }
    if ((ret = avformat_find_stream_info(in->fmt, NULL)) < 0) {
        ret = input_fail(in, job, ret, "reading stream information");
        goto out;
    }
    in->vidx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (in->vidx < 0 ||
        (in->fmt->streams[in->vidx]->disposition & AV_DISPOSITION_ATTACHED_PIC) ||
        in->fmt->streams[in->vidx]->codecpar->width <= 0 ||
        in->fmt->streams[in->vidx]->codecpar->height <= 0) {
        in->vidx = -1;
        ret = lav_job_fail(job, EINVAL, "the input (%s) has no video stream", ifmt->name);
        goto out;
    }
    if (want_audio) {
        in->aidx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, in->vidx, NULL, 0);
        if (in->aidx < 0)
            in->aidx = -1;
    }
    describe(in);
    for (unsigned i = 0; i < in->fmt->nb_streams; i++)
        if ((int)i != in->vidx && (int)i != in->aidx)
            in->fmt->streams[i]->discard = AVDISCARD_ALL;
    if (decoders) {
        if ((ret = open_decoder(in, job, in->vidx, &in->vdec)) < 0)
            goto out;
        if (in->aidx >= 0 && !avcodec_find_decoder(in->fmt->streams[in->aidx]->codecpar->codec_id)) {
            job->state->host->log(LAV_PLUGIN_NAME, VF_LOG_WARNING,
                                  "no decoder for the audio codec %s: the outputs have no sound",
                                  avcodec_get_name(in->fmt->streams[in->aidx]->codecpar->codec_id));
            in->fmt->streams[in->aidx]->discard = AVDISCARD_ALL;
            in->aidx = -1;
        }
        if (in->aidx >= 0 && (ret = open_decoder(in, job, in->aidx, &in->adec)) < 0)
            goto out;
    }
    ret = 0;
out:
    av_dict_free(&io_opts);
    av_dict_free(&fmt_opts);
    av_free(url);
    return ret;
}

void lav_input_close(lav_input_t *in)
{
    avcodec_free_context(&in->vdec);
    avcodec_free_context(&in->adec);
    avformat_close_input(&in->fmt);
    (void)avio_closep(&in->pb); /* read-only: nothing to lose */
}
