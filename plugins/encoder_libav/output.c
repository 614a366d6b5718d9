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
    if (!(o->vst = avformat_new_stream(o->oc, NULL)) ||
        (aenc && !(o->ast = avformat_new_stream(o->oc, NULL)))) {
        ret = fail(msg, AVERROR(ENOMEM), "creating the output");
        goto out;
    }
    if ((ret = avcodec_parameters_from_context(o->vst->codecpar, venc)) < 0) {
        ret = fail(msg, ret, "creating the output");
        goto out;
    }
    o->venc_tb = venc->time_base;
    o->vst->time_base = venc->time_base;
    o->vst->avg_frame_rate = frame_rate;
    o->vst->sample_aspect_ratio = venc->sample_aspect_ratio;
    if (aenc) {
        if ((ret = avcodec_parameters_from_context(o->ast->codecpar, aenc)) < 0) {
            ret = fail(msg, ret, "creating the output");
            goto out;
        }
        o->aenc_tb = aenc->time_base;
        o->ast->time_base = aenc->time_base;
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
    if ((ret = avformat_write_header(o->oc, &opts)) < 0) {
        ret = fail(msg, ret, "writing the output header");
        goto out;
    }
    if (av_dict_count(opts) > 0) {
        ret = fail(msg, AVERROR_OPTION_NOT_FOUND, "writing the output header (movflags)");
        goto out;
    }
    ret = 0;
out:
    av_dict_free(&opts);
    av_free(url);
    return ret;
}

int lav_output_write(lav_output_t *o, AVPacket *pkt, int is_video, char *msg)
{
    AVStream *st = is_video ? o->vst : o->ast;
    av_packet_rescale_ts(pkt, is_video ? o->venc_tb : o->aenc_tb, st->time_base);
    pkt->stream_index = st->index;
    /* Interleaving holds packets until every stream has caught up; x264's
     * delay is small, so that is a fraction of a second of audio. */
    int ret = av_interleaved_write_frame(o->oc, pkt);
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
