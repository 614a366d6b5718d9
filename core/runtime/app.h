/*
 * app.h - the process-wide state every subsystem reads (configuration and
 * loaded plugins) and the per-thread context (its own database and Redis
 * connections).  Owns nothing itself: main.c builds both and frees them.
 */
#ifndef VF_APP_H
#define VF_APP_H

#include "config/conf.h"
#include "plugins/loader.h"

struct vf_db;
struct vf_redis;

typedef struct vf_app {
    vf_config_t *cfg;
    vf_plugin_t *storage;   /* NULL in commands that do not need it */
    vf_plugin_t *encoder;
} vf_app_t;

/* Each thread that talks to PostgreSQL or Redis owns one of these; the
 * connections are never shared between threads. */
typedef struct vf_thread_ctx {
    vf_app_t *app;
    struct vf_db *db;
    struct vf_redis *redis;
    int index;
} vf_thread_ctx_t;

int vf_thread_ctx_init(vf_thread_ctx_t *ctx, vf_app_t *app, int index);
void vf_thread_ctx_fini(vf_thread_ctx_t *ctx);

/* Load the storage and encoder plugins named in the config. */
int vf_app_load_plugins(vf_app_t *app, int storage, int encoder, char *err, size_t errlen);
void vf_app_fini(vf_app_t *app);

#endif
