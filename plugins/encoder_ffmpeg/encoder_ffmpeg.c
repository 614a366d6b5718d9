/*
 * encoder_ffmpeg.c - the encoder_ffmpeg plugin: probes with ffprobe and
 * encodes by running the ffmpeg program (no shell; each run in its own
 * process group, killed as a whole on timeout or cancellation).
 * Owns: the plugin descriptor, create/destroy and the operations table;
 * the work is in probe.c, transcode.c, hls.c and resume.c.  See README.md for the settings
 * and the choices both encoder plugins share.
 */
#include <errno.h>
#include <stdlib.h>
#include <videoflix/encoder.h>

#include "probe.h"
#include "settings.h"
#include "state.h"
#include "transcode.h"

static int ffe_create(const vf_host_api_t *host, const config_setting_t *cfg, void **state,
                      vf_error_t *err)
{
    if (!VF_HAS_FIELD(vf_host_api_t, host, settings))
        return host->error(err, EPROTO, "encoder_ffmpeg needs a host of plugin ABI 1.1 or newer");
    ffe_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return host->error(err, ENOMEM, "out of memory");
    st->host = host;
    int ret = ffe_settings_read(host, cfg, &st->settings, err);
    if (ret < 0) {
        free(st);
        return ret;
    }
    *state = st;
    return 0;
}

static void ffe_destroy(void *state)
{
    ffe_state_t *st = state;
    if (!st)
        return;
    ffe_settings_free(&st->settings);
    free(st);
}

static int op_probe(void *state, const char *source, vf_media_info_t *info, vf_error_t *err)
{
    const ffe_state_t *st = state;
    ffe_source_t src;
    int ret = ffe_source_init(st, source, &src, err);
    if (ret < 0)
        return ret;
    ret = ffe_probe(st, &src, ffe_deadline(st), NULL, NULL, info, err);
    ffe_source_free(&src);
    return ret;
}

static int op_transcode(void *state, const char *source, const vf_transcode_params_t *params,
                        vf_error_t *err)
{
    return ffe_transcode(state, source, params, err);
}

static int op_thumbnail(void *state, const char *source, double at, const char *output_path,
                        vf_progress_fn progress, void *progress_ud, vf_error_t *err)
{
    return ffe_thumbnail(state, source, at, output_path, progress, progress_ud, err);
}

/* ffmpeg reads local files and http(s) URLs; libx264 takes the caller's
 * preset/crf as defaults; the job limit is a setting; MP4 and HLS (1.2)
 * from one encode; a resumed HLS job continues what it published (1.3). */
static int op_capabilities(void *state, vf_encoder_caps_t *caps)
{
    const ffe_state_t *st = state;
    caps->sources = VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP;
    caps->flags = VF_ENCODER_X264_DEFAULTS | VF_ENCODER_HLS_RESUME;
    caps->max_jobs = (uint32_t)st->settings.max_jobs;
    if (VF_HAS_FIELD(vf_encoder_caps_t, caps, outputs))
        caps->outputs = VF_OUTPUT_MP4 | VF_OUTPUT_HLS;
    return 0;
}

static const vf_encoder_ops_t ops = {
    .size = sizeof(vf_encoder_ops_t),
    .accepts_urls = 1,
    .probe = op_probe,
    .transcode = op_transcode,
    .thumbnail = op_thumbnail,
    .capabilities = op_capabilities,
};

VF_PLUGIN_DEFINE(VF_PLUGIN_ENCODER, "encoder_ffmpeg", "1.3.0",
                 "H.264/AAC renditions (MP4, HLS) and JPEG thumbnails by running the ffmpeg program",
                 ffe_create, ffe_destroy, &ops);
