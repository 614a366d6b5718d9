/*
 * probe.c - the probe operation: what a source holds, read from the
 * container and stream headers (no decoder is opened).
 */
#include "lav.h"

#include <stdio.h>
#include <string.h>

int lav_probe(void *state, const char *source, vf_media_info_t *info, vf_error_t *err)
{
    lav_job_t job;
    lav_input_t in;
    int ret;

    lav_job_init(&job, state, NULL, NULL, err);
    memset(&in, 0, sizeof in);
    if (!source || !info) {
        ret = lav_job_fail(&job, EINVAL, "probe: a source and a result are required");
        goto out;
    }
    memset(info, 0, sizeof *info);
    if ((ret = lav_input_open(&in, &job, source, 0, 1)) < 0)
        goto out;
    const AVStream *vst = in.fmt->streams[in.vidx];
    snprintf(info->container, sizeof info->container, "%s", in.fmt->iformat->name);
    info->duration = in.duration;
    info->has_video = 1;
    info->has_audio = in.aidx >= 0;
    info->width = vst->codecpar->width;
    info->height = vst->codecpar->height;
    info->rotation = in.rotation;
    info->fps = av_q2d(av_guess_frame_rate(in.fmt, (AVStream *)vst, NULL));
    snprintf(info->video_codec, sizeof info->video_codec, "%s",
             avcodec_get_name(vst->codecpar->codec_id));
    if (in.aidx >= 0)
        snprintf(info->audio_codec, sizeof info->audio_codec, "%s",
                 avcodec_get_name(in.fmt->streams[in.aidx]->codecpar->codec_id));
    info->bit_rate = in.fmt->bit_rate > 0 ? in.fmt->bit_rate : 0;
    ret = 0;
out:
    lav_input_close(&in);
    return ret;
}
