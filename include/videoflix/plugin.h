/*
 * videoflix/plugin.h - the plugin contract shared by every plugin kind.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `vf_plugin_desc`, of type vf_plugin_desc_t (use VF_PLUGIN_DEFINE).  The core
 * refuses the file unless abi_major equals its own, abi_minor is not newer
 * than its own, `size` covers at least the 1.0 descriptor
 * (VF_PLUGIN_DESC_SIZE_1_0), the operations table covers at least its 1.0
 * size and every required operation is there.
 *
 * Versions: structures in this directory are append-only within one major
 * version.  A field appended in 1.x is read only when the structure's `size`
 * says it is present (VF_HAS_FIELD); the frozen VF_*_SIZE_1_0 constants are
 * what a plugin built against the 1.0 headers reports, so appending a field
 * never refuses an older plugin.  A plugin never sees a newer core's fields
 * as missing either: the core's minor version is at least the plugin's.
 *
 * A plugin includes nothing from the core but this directory; everything it
 * needs from the host reaches it through vf_host_api_t.
 *
 * Conventions for every operation of every kind:
 *   - return 0 on success or a negative errno (-EINVAL, -ENOENT, -EIO, ...);
 *   - on failure, fill the vf_error_t with one readable sentence (no
 *     secrets); `err` may be NULL in every call, and then nothing is filled;
 *   - strings returned through `char **` are malloc()ed; the caller free()s
 *     them, and on failure they are left NULL;
 *   - operations may be called from several threads at once with the same
 *     state pointer, so plugin state must be thread-safe;
 *   - an operation that takes a vf_progress_fn calls it on the thread that
 *     called the operation, never after the operation returned.
 *
 * Threads (which thread calls what, and whether it may block):
 *   - create, capabilities and destroy run once each, on the thread that
 *     loads or frees the plugin, while no operation of that instance runs;
 *     create may block briefly (files, DNS), capabilities must not block;
 *   - the kinds' operations run on worker threads (the HTTP server's worker
 *     pool, the job worker's slot threads), never on an event-loop thread;
 *     they may block for as long as the work takes;
 *   - every host API function is thread-safe and may be called from any
 *     thread, the plugin's own threads included; the settings helpers are
 *     meant for create.
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
#define VF_ABI_MINOR 3 /* bump when fields or operations are appended */

#define VF_PLUGIN_DESC_SYMBOL "vf_plugin_desc"

#if defined(__GNUC__)
#define VF_EXPORT __attribute__((visibility("default")))
#define VF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VF_EXPORT
#define VF_PRINTF(f, a)
#endif

#ifdef __cplusplus
#define VF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* The size of `type` up to and including `field`: how large a structure is
 * when `field` is the last one it has.  Used to freeze the size of each
 * version once. */
#define VF_SIZE_THROUGH(type, field) (offsetof(type, field) + sizeof(((const type *)0)->field))

/* Whether `ptr`, a structure of `type` whose `size` member says how many
 * bytes of it its builder knew, has `field`. */
#define VF_HAS_FIELD(type, ptr, field) ((size_t)(ptr)->size >= VF_SIZE_THROUGH(type, field))

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

/* Progress of a long operation: percent is 0..100 over the whole call.
 * Return non-zero to cancel: the operation stops, removes what it had
 * written and returns -ECANCELED.  (Shared by both kinds since 1.1; it was
 * declared in encoder.h in 1.0.) */
typedef int (*vf_progress_fn)(void *ud, double percent);

/* ---- 1.1: the settings helper ------------------------------------------
 *
 * A plugin describes its config group as a table of vf_setting_t and hands
 * it, with a pointer to its own settings structure, to host->settings.  The
 * host walks the group and reports every problem, one per line, each as
 *     <file>:<line>: <plugin>: <problem>
 * ("line <n>: ..." when the config came from a string): unknown keys, wrong
 * types, values out of range, required keys missing, unreadable secrets,
 * and a group that is not a group.
 * Keys not set get their defaults.  Strings land malloc()ed in the
 * structure; host->settings_free releases them (and wipes secrets).
 *
 * The field at `offset` has this C type:
 *   VF_SETTING_INT     int         integers; bounds min..max
 *   VF_SETTING_INT64   int64_t     integers; bounds min..max
 *   VF_SETTING_BOOL    int         true/false as 1/0
 *   VF_SETTING_FLOAT   double      numbers, integers accepted; bounds fmin..fmax
 *   VF_SETTING_STRING  char *      NULL when not set and str_default is NULL
 *   VF_SETTING_ENUM    int         index into `choices`; -1 when not set and
 *                                  str_default is NULL
 *   VF_SETTING_SECRET  char *      `x` itself, or read through `x_env`
 *                                  (an environment variable) or `x_file`
 *                                  (the first line of a file), in that order
 *                                  of precedence; with none of the three set,
 *                                  the environment variable named by
 *                                  str_default (if any); NULL when none gave
 *                                  a value.  An empty `x`, or an `x_file` that
 *                                  cannot be read, is an error naming why.
 *   VF_SETTING_STRINGS char **     a list or array of strings; a
 *                                  NULL-terminated malloc()ed array; NULL
 *                                  when not set
 * Bounds apply when min < max (fmin < fmax); both inclusive.
 */
typedef enum vf_setting_type {
    VF_SETTING_INT = 1,
    VF_SETTING_INT64 = 2,
    VF_SETTING_BOOL = 3,
    VF_SETTING_FLOAT = 4,
    VF_SETTING_STRING = 5,
    VF_SETTING_ENUM = 6,
    VF_SETTING_SECRET = 7,
    VF_SETTING_STRINGS = 8,
} vf_setting_type_t;

#define VF_SETTING_REQUIRED (1u << 0)  /* missing (or, for a secret, unresolved) is an error */
#define VF_SETTING_NONEMPTY (1u << 1)  /* STRING, SECRET, STRINGS: "" or [] is an error */

typedef struct vf_setting {
    const char *name;             /* the key in the plugin's group */
    vf_setting_type_t type;
    uint32_t flags;               /* VF_SETTING_REQUIRED, VF_SETTING_NONEMPTY */
    size_t offset;                /* of the field in the plugin's structure */
    int64_t min, max;             /* INT, INT64 */
    double fmin, fmax;            /* FLOAT */
    int64_t int_default;          /* INT, INT64, BOOL */
    double float_default;         /* FLOAT */
    const char *str_default;      /* STRING: the default; ENUM: the default choice;
                                   * SECRET: the environment variable to fall back to */
    const char *const *choices;   /* ENUM: the accepted strings, NULL-terminated */
} vf_setting_t;

/* Services the core offers to a plugin.  Append-only; check `size`
 * (VF_HAS_FIELD(vf_host_api_t, host, settings) before using a 1.1 field). */
typedef struct vf_host_api {
    uint32_t size;        /* how many bytes of this structure the core has */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* Log a line; the core prefixes the plugin's name. */
    void (*log)(const char *plugin, vf_log_level_t level, const char *fmt, ...) VF_PRINTF(3, 4);
    /* Fill `err` (may be NULL) with a formatted message and return -abs(code)
     * (-EIO for 0). */
    int (*error)(vf_error_t *err, int code, const char *fmt, ...) VF_PRINTF(3, 4);
    /* Read a secret (S3 key, password): the environment variable `env` if set,
     * else the first line of `file`, else NULL.  Returns a malloc()ed string.
     * Either argument may be NULL.  Cannot say why it failed: see read_secret. */
    char *(*secret)(const char *env, const char *file);

    /* ---- appended in 1.1 ---- */

    /* Walk `group` (may be NULL: every key gets its default) against
     * table[0..n) and fill `out` (see "the settings helper" above).  0, or
     * -EINVAL (-ENOMEM) with every problem in err, one per line; problems
     * that do not fit in err are logged, so none is lost.  On failure `out`
     * holds nothing to free. */
    int (*settings)(const char *plugin, const config_setting_t *group, const vf_setting_t *table,
                    size_t n, void *out, vf_error_t *err);
    /* Free what settings() put into `out`, wipe secrets and set those fields
     * to NULL.  Safe on a structure settings() failed to fill. */
    void (*settings_free)(const vf_setting_t *table, size_t n, void *out);
    /* A problem found after settings() (a value of the right type that means
     * nothing, a directory that cannot be made), in the same format:
     * "<file>:<line>: <plugin>: <message>" at the member `name` of `group`,
     * or at the group when that member is absent or `name` is NULL.  Returns
     * -abs(code) like error(). */
    int (*setting_error)(const char *plugin, const config_setting_t *group, const char *name,
                         vf_error_t *err, int code, const char *fmt, ...) VF_PRINTF(6, 7);
    /* Like secret(), saying why it failed: 0 and a malloc()ed *out; -ENOENT
     * when the variable is unset (or empty) and no file is named, or neither
     * is named; -errno with "cannot read <file>: <strerror>" when the file
     * cannot be read; -ENODATA when its first line is empty.  *out is NULL on
     * failure.  The message never contains the secret. */
    int (*read_secret)(const char *env, const char *file, char **out, vf_error_t *err);
    /* The storage key grammar, one implementation for the core and every
     * storage plugin: 0, or -EINVAL with a message naming what is wrong.
     * A key is 1..1024 bytes of UTF-8 without control characters (0x00-0x1f,
     * 0x7f) or backslashes, made of '/'-separated segments of 1..255 bytes,
     * none of them "." or "..", and does not start with '/'.  A plugin may
     * refuse more (storage_local reserves the top-level ".uploads/"). */
    int (*key_check)(const char *key, vf_error_t *err);
} vf_host_api_t;

#define VF_HOST_API_SIZE_1_0 VF_SIZE_THROUGH(vf_host_api_t, secret)
#define VF_HOST_API_SIZE_1_1 VF_SIZE_THROUGH(vf_host_api_t, key_check)

typedef struct vf_plugin_desc {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;                 /* sizeof(vf_plugin_desc_t) when built */
    vf_plugin_kind_t kind;
    const char *name;              /* e.g. "storage_local"; required */
    const char *version;           /* the plugin's own version; may be NULL */
    const char *description;       /* may be NULL */
    /* Build the plugin's state from its own config group (NULL when the
     * config has none).  Unknown keys and wrong types must be refused with
     * "file:line: ..." messages: host->settings does that.  Required. */
    int (*create)(const vf_host_api_t *host, const config_setting_t *cfg,
                  void **state, vf_error_t *err);
    /* Required; called with the state create made (never NULL). */
    void (*destroy)(void *state);
    /* vf_storage_ops_t or vf_encoder_ops_t, matching `kind`; required. */
    const void *ops;
    void *reserved[4];
} vf_plugin_desc_t;

#define VF_PLUGIN_DESC_SIZE_1_0 VF_SIZE_THROUGH(vf_plugin_desc_t, reserved)

#define VF_PLUGIN_DEFINE(kind_, name_, version_, description_, create_, destroy_, ops_) \
    VF_EXPORT const vf_plugin_desc_t vf_plugin_desc = {                                \
        VF_ABI_MAJOR, VF_ABI_MINOR, (uint32_t)sizeof(vf_plugin_desc_t), (kind_),         \
        (name_), (version_), (description_), (create_), (destroy_), (ops_),            \
        {NULL, NULL, NULL, NULL}}

/* The 1.0 sizes as every LP64 build of the 1.0 headers reported them:
 * appending a field must never move these. */
#if defined(__LP64__)
VF_STATIC_ASSERT(VF_HOST_API_SIZE_1_0 == 32, "vf_host_api_t 1.0 is 32 bytes");
VF_STATIC_ASSERT(VF_PLUGIN_DESC_SIZE_1_0 == 96, "vf_plugin_desc_t 1.0 is 96 bytes");
#endif

#ifdef __cplusplus
}
#endif
#endif
