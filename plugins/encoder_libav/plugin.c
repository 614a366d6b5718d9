/*
 * plugin.c - the encoder_libav descriptor: state creation from the config
 * group, the operations table, and routing libav's own log lines into the
 * host's log.
 *
 * Logging: av_log_set_callback() is process-wide, so it is installed when
 * the first instance is created and the default restored when the last one
 * is destroyed (no operation runs then, so no libav thread of ours logs).
 * The callback formats each line into its own stack buffer with
 * av_log_format_line2() (no shared state, unlike the default callback's
 * line-prefix memory) and hands it to host->log, which is thread-safe; so
 * libav threads (frame-threaded decoders, x264's threads) may log at once.
 * Only warnings and errors pass: libav errors become VF_LOG_WARNING (the
 * operation reports its own failure as an error), warnings VF_LOG_DEBUG.
 * A line libav emits in pieces arrives as several lines.
 *
 * Unloading: libav and the libraries it pulls in (x264, TLS, XML, ...) keep
 * process-wide state set up at load time, which dlclose() would tear out
 * from under whatever still refers to it; so the plugin marks itself
 * RTLD_NODELETE when first created and stays mapped until the process ends.
 */
#include "lav.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned log_users;
static _Atomic(const vf_host_api_t *) log_host;

static void log_to_host(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING)
        return;
    const vf_host_api_t *host = atomic_load(&log_host);
    if (!host)
        return;
    char line[1024];
    int print_prefix = 1;
    va_list copy;
    va_copy(copy, vl);
    av_log_format_line2(avcl, level, fmt, copy, line, sizeof line, &print_prefix);
    va_end(copy);
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len == 0)
        return;
    host->log(LAV_PLUGIN_NAME, level <= AV_LOG_ERROR ? VF_LOG_WARNING : VF_LOG_DEBUG, "libav: %s",
              line);
}

static void log_attach(const vf_host_api_t *host)
{
    pthread_mutex_lock(&log_lock);
    if (log_users++ == 0) {
        atomic_store(&log_host, host);
        av_log_set_callback(log_to_host);
    }
    pthread_mutex_unlock(&log_lock);
}

static void log_detach(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_users > 0 && --log_users == 0) {
        av_log_set_callback(av_log_default_callback);
        atomic_store(&log_host, NULL);
    }
    pthread_mutex_unlock(&log_lock);
}

extern const vf_plugin_desc_t vf_plugin_desc; /* defined at the end */

static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void pin_self(void)
{
    Dl_info self;
    /* The handle is kept on purpose: it is the reference that never goes. */
    if (dladdr((const void *)&vf_plugin_desc, &self) && self.dli_fname)
        (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static int lav_create(const vf_host_api_t *host, const config_setting_t *cfg, void **state,
                      vf_error_t *err)
{
    *state = NULL;
    if (!VF_HAS_FIELD(vf_host_api_t, host, settings))
        return host->error(err, EPROTO, LAV_PLUGIN_NAME " needs a host of plugin ABI 1.1 or newer");
    lav_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return host->error(err, ENOMEM, "out of memory");
    st->host = host;
    int ret = lav_config_parse(host, cfg, &st->cfg, err);
    if (ret < 0) {
        free(st);
        return ret;
    }
    if (!avcodec_find_encoder_by_name("libx264") || !avcodec_find_encoder_by_name("aac")) {
        lav_config_free(&st->cfg);
        free(st);
        return host->error(err, ENOSYS, "this FFmpeg (libavcodec %s) lacks the libx264 or the "
                                        "aac encoder", AV_STRINGIFY(LIBAVCODEC_VERSION));
    }
    pthread_once(&pin_once, pin_self);
    log_attach(host);
    *state = st;
    return 0;
}

static void lav_destroy(void *state)
{
    lav_state_t *st = state;
    if (!st)
        return;
    log_detach();
    lav_config_free(&st->cfg);
    free(st);
}

/* Local files and http(s) URLs; libx264 takes the caller's preset/crf as
 * defaults; a resumed HLS job goes on from its published segments (1.3);
 * the job limit is a setting. */
static int lav_capabilities(void *state, vf_encoder_caps_t *caps)
{
    const lav_state_t *st = state;
    caps->sources = VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP;
    caps->flags = VF_ENCODER_X264_DEFAULTS | VF_ENCODER_HLS_RESUME;
    caps->max_jobs = (uint32_t)st->cfg.max_jobs;
    if (VF_HAS_FIELD(vf_encoder_caps_t, caps, outputs))
        caps->outputs = VF_OUTPUT_MP4 | VF_OUTPUT_HLS;
    return 0;
}

static const vf_encoder_ops_t lav_ops = {
    .size = sizeof(vf_encoder_ops_t),
    .accepts_urls = 1,
    .probe = lav_probe,
    .transcode = lav_transcode,
    .thumbnail = lav_thumbnail,
    .capabilities = lav_capabilities,
};

VF_PLUGIN_DEFINE(VF_PLUGIN_ENCODER, LAV_PLUGIN_NAME, "1.3.0",
                 "H.264/AAC renditions and JPEG thumbnails with libavcodec, decoding each source once",
                 lav_create, lav_destroy, &lav_ops);
