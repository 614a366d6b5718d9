/*
 * videoflix/plugin.h - the plugin contract shared by every plugin kind.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `vf_plugin_desc`, of type vf_plugin_desc_t (use VF_PLUGIN_DEFINE).  The core
 * refuses the file unless abi_major equals its own, abi_minor is not newer
 * than its own and `size` covers at least the 1.0 descriptor.  Structures in
 * this directory are append-only within one major version: new fields go at
 * the end and are read only when `size` says they are present.
 *
 * A plugin includes nothing from the core but this directory; everything it
 * needs from the host reaches it through vf_host_api_t.
 *
 * Conventions for every operation of every kind:
 *   - return 0 on success or a negative errno (-EINVAL, -ENOENT, -EIO, ...);
 *   - on failure, fill the vf_error_t with one readable sentence (no secrets);
 *   - strings returned through `char **` are malloc()ed; the caller free()s them;
 *   - operations may be called from several threads at once with the same
 *     state pointer, so plugin state must be thread-safe.
 */
#ifndef VIDEOFLIX_PLUGIN_H
#define VIDEOFLIX_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <libconfig.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VF_ABI_MAJOR 1 /* bump on any incompatible change */
#define VF_ABI_MINOR 0 /* bump when fields or operations are appended */

#define VF_PLUGIN_DESC_SYMBOL "vf_plugin_desc"

#if defined(__GNUC__)
#define VF_EXPORT __attribute__((visibility("default")))
#define VF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VF_EXPORT
#define VF_PRINTF(f, a)
#endif

typedef enum vf_plugin_kind {
    VF_PLUGIN_STORAGE = 1,
    VF_PLUGIN_ENCODER = 2,
} vf_plugin_kind_t;

typedef enum vf_log_level {
    VF_LOG_ERROR = 0,
    VF_LOG_WARNING = 1,
    VF_LOG_INFO = 2,
    VF_LOG_DEBUG = 3,
} vf_log_level_t;

/* One readable sentence describing why an operation failed.  `status` is an
 * optional hint for the caller (an HTTP status from a remote service, or 0). */
typedef struct vf_error {
    int status;
    char message[512];
} vf_error_t;

/* Services the core offers to a plugin.  Append-only; check `size`. */
typedef struct vf_host_api {
    uint32_t size;        /* sizeof(vf_host_api_t) in the core */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* Log a line; the core prefixes the plugin's name. */
    void (*log)(const char *plugin, vf_log_level_t level, const char *fmt, ...) VF_PRINTF(3, 4);
    /* Fill `err` (may be NULL) with a formatted message and return -abs(code). */
    int (*error)(vf_error_t *err, int code, const char *fmt, ...) VF_PRINTF(3, 4);
    /* Read a secret (S3 key, password): the environment variable `env` if set,
     * else the first line of `file`, else NULL.  Returns a malloc()ed string. */
    char *(*secret)(const char *env, const char *file);
} vf_host_api_t;

typedef struct vf_plugin_desc {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;                 /* sizeof(vf_plugin_desc_t) when built */
    vf_plugin_kind_t kind;
    const char *name;              /* e.g. "storage_local" */
    const char *version;           /* the plugin's own version */
    const char *description;
    /* Build the plugin's state from its own config group (may be NULL when
     * the config has none).  Unknown keys and wrong types must be refused
     * with "file:line: ..." messages (see config_setting_source_line). */
    int (*create)(const vf_host_api_t *host, const config_setting_t *cfg,
                  void **state, vf_error_t *err);
    void (*destroy)(void *state);
    /* vf_storage_ops_t or vf_encoder_ops_t, matching `kind`. */
    const void *ops;
    void *reserved[4];
} vf_plugin_desc_t;

#define VF_PLUGIN_DEFINE(kind_, name_, version_, description_, create_, destroy_, ops_) \
    VF_EXPORT const vf_plugin_desc_t vf_plugin_desc = {                                \
        VF_ABI_MAJOR, VF_ABI_MINOR, (uint32_t)sizeof(vf_plugin_desc_t), (kind_),         \
        (name_), (version_), (description_), (create_), (destroy_), (ops_),            \
        {NULL, NULL, NULL, NULL}}

#ifdef __cplusplus
}
#endif
#endif
