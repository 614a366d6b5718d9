/*
 * output.c - one MP4 rendition file.  It is written as ".<name>.part.mp4"
 * beside its final name, with the index moved to the front at the end
 * (movflags=+faststart), and only renamed by the caller once every output of
 * the job is complete; lav_output_close() removes what was not renamed.
 */
#include "lav.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char *lav_temp_path(const char *final_path, const char *ext)
{
    const char *slash = strrchr(final_path, '/');
    const char *base = slash ? slash + 1 : final_path;
    size_t dir_len = (size_t)(base - final_path);
    size_t base_len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        base_len = (size_t)(dot - base);
    return av_asprintf("%.*s.%.*s.part%s", (int)dir_len, final_path, (int)base_len, base, ext);
}

static int fail(char *msg, int averr, const char *step)
{
    snprintf(msg, LAV_MSG_MAX, "%s: %s", step, av_err2str(averr));
    return averr;
}

int lav_output_add_streams(AVFormatContext *oc, const AVCodecContext *venc, AVRational frame_rate,
                           const AVCodecContext *aenc, lav_output_streams_t *st)
{
    int ret;
    memset(st, 0, sizeof *st);
    if (!(st->vst = avformat_new_stream(oc, NULL)) || (aenc && !(st->ast = avformat_new_stream(oc, NULL))))
        return AVERROR(ENOMEM);
    if ((ret = avcodec_parameters_from_context(st->vst->codecpar, venc)) < 0)
        return ret;
    st->venc_tb = venc->time_base;
    st->vst->time_base = venc->time_base;
    st->vst->avg_frame_rate = frame_rate;
    st->vst->sample_aspect_ratio = venc->sample_aspect_ratio;
    if (aenc) {
        if ((ret = avcodec_parameters_from_context(st->ast->codecpar, aenc)) < 0)
            return ret;
        st->aenc_tb = aenc->time_base;
        st->ast->time_base = aenc->time_base;
    }
    return 0;
}

int lav_output_write_header(AVFormatContext *oc, AVDictionary **opts, char *msg, const char *step)
{
    int ret = avformat_write_header(oc, opts);
    if (ret < 0)
        return fail(msg, ret, step);
    /* An option the muxer did not take would be a setting silently lost. */
    if (av_dict_count(*opts) > 0)
        return fail(msg, AVERROR_OPTION_NOT_FOUND, step);
    return 0;
}

int lav_output_open(lav_output_t *o, const char *final_path, const AVCodecContext *venc,
                    AVRational frame_rate, const AVCodecContext *aenc, char *msg)
{
    AVDictionary *opts = NULL;
    char *url = NULL;
    int ret;

    memset(o, 0, sizeof *o);
    if (!(o->final_path = av_strdup(final_path)) ||
        !(o->tmp_path = lav_temp_path(final_path, ".mp4")) ||
        !(url = av_asprintf("file:%s", o->tmp_path))) {
        ret = fail(msg, AVERROR(ENOMEM), "creating the output");
        goto out;
    }
    if ((ret = avformat_alloc_output_context2(&o->oc, NULL, "mp4", url)) < 0) {
        ret = fail(msg, ret, "creating the output");
        goto out;
    }
    if ((ret = lav_output_add_streams(o->oc, venc, frame_rate, aenc, &o->streams)) < 0) {
        ret = fail(msg, ret, "creating the output");
        goto out;
    }
    if ((ret = avio_open2(&o->oc->pb, url, AVIO_FLAG_WRITE, NULL, NULL)) < 0) {
        ret = fail(msg, ret, "creating the output file");
        goto out;
    }
    o->file_created = 1;
    if ((ret = av_dict_set(&opts, "movflags", "+faststart", 0)) < 0) {
        ret = fail(msg, ret, "writing the output header");
        goto out;
    }
    ret = lav_output_write_header(o->oc, &opts, msg, "writing the output header");
out:
    av_dict_free(&opts);
    av_free(url);
    return ret;
}

int lav_output_streams_write(AVFormatContext *oc, const lav_output_streams_t *st, AVPacket *pkt, int is_video)
{
    AVStream *stream = is_video ? st->vst : st->ast;
    av_packet_rescale_ts(pkt, is_video ? st->venc_tb : st->aenc_tb, stream->time_base);
    int64_t off = is_video ? st->voff : st->aoff;
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += off;
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += off;
    pkt->stream_index = stream->index;
    /* Interleaving holds packets until every stream has caught up; x264's
     * delay is small, so that is a fraction of a second of audio. */
    return av_interleaved_write_frame(oc, pkt);
}

int lav_output_write(lav_output_t *o, AVPacket *pkt, int is_video, char *msg)
{
    int ret = lav_output_streams_write(o->oc, &o->streams, pkt, is_video);
    if (ret < 0)
        return fail(msg, ret, "writing the output");
    return 0;
}

int lav_output_finish(lav_output_t *o, char *msg)
{
    int ret = av_write_trailer(o->oc);
    if (ret < 0)
        return fail(msg, ret, "finishing the output (moving the index to the front)");
    if ((ret = avio_closep(&o->oc->pb)) < 0)
        return fail(msg, ret, "closing the output");
    return 0;
}

int lav_output_commit(lav_output_t *o)
{
    if (rename(o->tmp_path, o->final_path) != 0)
        return -errno;
    o->file_created = 0;
    return 0;
}

void lav_output_close(lav_output_t *o)
{
    if (o->oc) {
        /* Only reached with a file being discarded: its close status is moot. */
        (void)avio_closep(&o->oc->pb);
        avformat_free_context(o->oc);
        o->oc = NULL;
    }
    if (o->file_created && o->tmp_path)
        unlink(o->tmp_path);
    av_freep(&o->final_path);
    av_freep(&o->tmp_path);
    o->file_created = 0;
}
