/*
 * loader.h - opens plugin shared objects and checks their descriptor.
 * Owns: dlopen/dlsym, the ABI handshake, the host API given to plugins,
 * creating and destroying a plugin's state.
 * Must not: know what any particular plugin does.
 */
#ifndef VF_LOADER_H
#define VF_LOADER_H

#include <stddef.h>
#include <videoflix/encoder.h>
#include <videoflix/plugin.h>
#include <videoflix/storage.h>

struct vf_job_slots;

typedef struct vf_plugin {
    void *handle;                 /* dlopen handle; closed only on vf_plugin_free */
    const vf_plugin_desc_t *desc;
    void *state;                  /* from desc->create */
    char *path;
    /* What the plugin can do (its capabilities, or what 1.0 implied);
     * only the one of its kind is filled. */
    vf_storage_caps_t storage_caps;
    vf_encoder_caps_t encoder_caps;
    struct vf_job_slots *job_slots; /* encoders with max_jobs; NULL = no limit */
} vf_plugin_t;

/* The host API every plugin receives. */
extern const vf_host_api_t vf_host_api;

/* Resolve `name` (a plugin name, looked up as <dir>/<name>.so, or an
 * absolute path) and open it, check its descriptor against `kind` and the
 * core's ABI (sizes against the frozen 1.0 ones, required operations),
 * then create its state from `cfg` and read its capabilities.  On failure
 * returns a negative errno and writes one message naming the file into err. */
int vf_plugin_load(const char *dir, const char *name, vf_plugin_kind_t kind,
                   const config_setting_t *cfg, vf_plugin_t **out, char *err, size_t errlen);
void vf_plugin_free(vf_plugin_t **plugin);

const char *vf_plugin_kind_name(vf_plugin_kind_t kind);

static inline const vf_storage_ops_t *vf_storage_ops(const vf_plugin_t *p)
{
    return (const vf_storage_ops_t *)p->desc->ops;
}
static inline const vf_encoder_ops_t *vf_encoder_ops(const vf_plugin_t *p)
{
    return (const vf_encoder_ops_t *)p->desc->ops;
}

#endif
