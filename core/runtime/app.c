/*
 * app.c - see app.h.
 */
#include "config.h"
#include "runtime/app.h"
#include "runtime/db.h"
#include "runtime/redis.h"

#include <stdio.h>
#include <string.h>

int vf_thread_ctx_init(vf_thread_ctx_t *ctx, vf_app_t *app, int index)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->app = app;
    ctx->index = index;
    ctx->db = vf_db_new(app->cfg);
    ctx->redis = vf_redis_new(app->cfg);
    if (!ctx->db || !ctx->redis) {
        vf_thread_ctx_fini(ctx);
        return -1;
    }
    return 0;
}

void vf_thread_ctx_fini(vf_thread_ctx_t *ctx)
{
    vf_db_free(&ctx->db);
    vf_redis_free(&ctx->redis);
}

int vf_app_load_plugins(vf_app_t *app, int storage, int encoder, char *err, size_t errlen)
{
    const vf_config_t *cfg = app->cfg;
    if (storage && !app->storage &&
        vf_plugin_load(cfg->plugins.dir, cfg->storage.plugin, VF_PLUGIN_STORAGE, cfg->storage.settings,
                       &app->storage, err, errlen) < 0)
        return -1;
    if (encoder && !app->encoder &&
        vf_plugin_load(cfg->plugins.dir, cfg->encoder.plugin, VF_PLUGIN_ENCODER, cfg->encoder.settings,
                       &app->encoder, err, errlen) < 0)
        return -1;
    /* media.outputs the encoder cannot make would fail every transcode:
     * refused before the first job, naming both sides. */
    if (encoder && app->encoder) {
        uint32_t can = app->encoder->encoder_caps.outputs;
        const char *missing = cfg->media.output_hls && !(can & VF_OUTPUT_HLS)   ? "hls"
                              : cfg->media.output_mp4 && !(can & VF_OUTPUT_MP4) ? "mp4"
                                                                                : NULL;
        if (missing) {
            snprintf(err, errlen,
                     "%s: media.outputs asks for \"%s\", which the encoder %s cannot make "
                     "(remove it from media.outputs or use an encoder that makes it)",
                     cfg->path, missing, app->encoder->desc->name);
            return -1;
        }
    }
    return 0;
}

void vf_app_fini(vf_app_t *app)
{
    vf_plugin_free(&app->storage);
    vf_plugin_free(&app->encoder);
    vf_config_free(&app->cfg);
}
