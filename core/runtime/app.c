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
    return 0;
}

void vf_app_fini(vf_app_t *app)
{
    vf_plugin_free(&app->storage);
    vf_plugin_free(&app->encoder);
    vf_config_free(&app->cfg);
}
