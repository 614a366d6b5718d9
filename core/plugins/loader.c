/*
 * loader.c - see loader.h.  Plugins are opened RTLD_NOW|RTLD_LOCAL so that a
 * missing library is reported at load time and plugin symbols never clash;
 * they stay loaded until the process frees them at exit.  The host API
 * given to plugins is assembled here from core/plugins/.
 */
#include "config.h"
#include "plugins/loader.h"
#include "plugins/capabilities.h"
#include "plugins/host_settings.h"
#include "plugins/job_slots.h"
#include "plugins/storage_key.h"
#include "util/log.h"
#include "util/text.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void host_log(const char *plugin, vf_log_level_t level, const char *fmt, ...) VF_PRINTF(3, 4);
static void host_log(const char *plugin, vf_log_level_t level, const char *fmt, ...)
{
    if ((int)level > vf_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vf_logv(level, plugin, fmt, ap);
    va_end(ap);
}

/* The 1.0 secret(): "" for an empty first line, NULL for any failure. */
static char *host_secret(const char *env, const char *file)
{
    if (env && *env) {
        const char *v = getenv(env);
        if (v && *v)
            return strdup(v);
    }
    char *line = NULL;
    if (file && *file && vf_read_first_line(file, &line) < 0)
        return NULL;
    return line;
}

const vf_host_api_t vf_host_api = {
    .size = sizeof(vf_host_api_t),
    .abi_major = VF_ABI_MAJOR,
    .abi_minor = VF_ABI_MINOR,
    .log = host_log,
    .error = vf_host_error,
    .secret = host_secret,
    .settings = vf_host_settings,
    .settings_free = vf_host_settings_free,
    .setting_error = vf_host_setting_error,
    .read_secret = vf_host_read_secret,
    .key_check = vf_storage_key_check,
};

const char *vf_plugin_kind_name(vf_plugin_kind_t kind)
{
    switch (kind) {
    case VF_PLUGIN_STORAGE: return "storage";
    case VF_PLUGIN_ENCODER: return "encoder";
    }
    return "unknown";
}

/* An operation every plugin of a kind must have. */
typedef struct required_op {
    const char *name;
    size_t offset;
} required_op_t;

#define STORAGE_OP(op) {#op, offsetof(vf_storage_ops_t, op)}
#define ENCODER_OP(op) {#op, offsetof(vf_encoder_ops_t, op)}
static const required_op_t storage_required[] = {
    STORAGE_OP(put_file),        STORAGE_OP(get_file),           STORAGE_OP(stat),
    STORAGE_OP(remove),          STORAGE_OP(url),                STORAGE_OP(multipart_begin),
    STORAGE_OP(multipart_write), STORAGE_OP(multipart_complete), STORAGE_OP(multipart_abort),
};
static const required_op_t encoder_required[] = {ENCODER_OP(probe), ENCODER_OP(transcode), ENCODER_OP(thumbnail)};

/* Sizes are checked against ABI 1.0's frozen ones, never today's sizeof:
 * a table built against older headers lacks only the appended fields,
 * which are read when `size` covers them. */
static int check_ops(const char *path, const vf_plugin_desc_t *d, vf_plugin_kind_t kind, char *err, size_t errlen)
{
    int storage = kind == VF_PLUGIN_STORAGE;
    size_t min = storage ? VF_STORAGE_OPS_SIZE_1_0 : VF_ENCODER_OPS_SIZE_1_0;
    uint32_t ops_size = *(const uint32_t *)d->ops;
    if (ops_size < min) {
        snprintf(err, errlen, "%s: %s operations table is %u bytes, expected at least %zu (ABI 1.0)", path,
                 vf_plugin_kind_name(kind), ops_size, min);
        return -EPROTO;
    }
    const required_op_t *req = storage ? storage_required : encoder_required;
    size_t n = storage ? sizeof storage_required / sizeof *req : sizeof encoder_required / sizeof *req;
    for (size_t i = 0; i < n; i++) {
        void (*const *op)(void) = (void (*const *)(void))((const char *)d->ops + req[i].offset);
        if (!*op) {
            snprintf(err, errlen, "%s: plugin '%s' lacks the %s operation '%s', which is required", path, d->name,
                     vf_plugin_kind_name(kind), req[i].name);
            return -EPROTO;
        }
    }
    return 0;
}

static int check_descriptor(const char *path, const vf_plugin_desc_t *d, vf_plugin_kind_t kind,
                            char *err, size_t errlen)
{
    if (d->abi_major != VF_ABI_MAJOR || d->abi_minor > VF_ABI_MINOR) {
        snprintf(err, errlen, "%s: plugin ABI version %u.%u, but this videoflix expects %d.x with x <= %d",
                 path, d->abi_major, d->abi_minor, VF_ABI_MAJOR, VF_ABI_MINOR);
        return -EPROTO;
    }
    if (d->size < VF_PLUGIN_DESC_SIZE_1_0) {
        snprintf(err, errlen, "%s: descriptor is %u bytes, expected at least %zu (ABI 1.0)", path, d->size,
                 (size_t)VF_PLUGIN_DESC_SIZE_1_0);
        return -EPROTO;
    }
    if (d->kind != kind) {
        snprintf(err, errlen, "%s: plugin '%s' is a %s plugin, expected a %s plugin", path,
                 d->name ? d->name : "?", vf_plugin_kind_name(d->kind), vf_plugin_kind_name(kind));
        return -EPROTO;
    }
    if (!d->name || !d->create || !d->destroy || !d->ops) {
        snprintf(err, errlen, "%s: descriptor lacks a name, create, destroy or ops", path);
        return -EPROTO;
    }
    return check_ops(path, d, kind, err, errlen);
}

/* Ask the new state what it can do; encoders with a job limit get their slots. */
static int read_capabilities(vf_plugin_t *p, vf_plugin_kind_t kind, char *err, size_t errlen)
{
    char why[256] = "";
    int ret;
    if (kind == VF_PLUGIN_STORAGE) {
        ret = vf_storage_caps_read(vf_storage_ops(p), p->state, &p->storage_caps, why, sizeof why);
    } else {
        ret = vf_encoder_caps_read(vf_encoder_ops(p), p->state, &p->encoder_caps, why, sizeof why);
        if (ret == 0 && p->encoder_caps.max_jobs && !(p->job_slots = vf_job_slots_new(p->encoder_caps.max_jobs))) {
            snprintf(why, sizeof why, "out of memory");
            ret = -ENOMEM;
        }
    }
    if (ret < 0)
        snprintf(err, errlen, "%s: plugin '%s': %s", p->path, p->desc->name, why);
    return ret;
}

int vf_plugin_load(const char *dir, const char *name, vf_plugin_kind_t kind,
                   const config_setting_t *cfg, vf_plugin_t **out, char *err, size_t errlen)
{
    char path[4096];
    int ret = -EINVAL;
    void *handle = NULL;
    vf_plugin_t *p = NULL;

    *out = NULL;
    if (!name || !*name) {
        snprintf(err, errlen, "no %s plugin named", vf_plugin_kind_name(kind));
        return -EINVAL;
    }
    if (name[0] == '/')
        snprintf(path, sizeof path, "%s", name);
    else if (strchr(name, '/')) {
        snprintf(err, errlen, "plugin name '%s' must be a bare name or an absolute path", name);
        return -EINVAL;
    } else
        snprintf(path, sizeof path, "%s/%s.so", dir, name);

    struct stat st;
    if (lstat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open %s plugin: %s", path, vf_plugin_kind_name(kind),
                 strerror(errno));
        return -ENOENT;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -EINVAL;
    }
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(err, errlen, "%s: dlopen failed: %s (check its libraries with ldd)", path, dlerror());
        return -ELIBBAD;
    }
    dlerror();
    const vf_plugin_desc_t *desc = dlsym(handle, VF_PLUGIN_DESC_SYMBOL);
    const char *dlerr = dlerror();
    if (!desc || dlerr) {
        snprintf(err, errlen, "%s: not a videoflix plugin: symbol '%s' missing (%s)", path,
                 VF_PLUGIN_DESC_SYMBOL, dlerr ? dlerr : "NULL");
        ret = -ELIBBAD;
        goto fail;
    }
    ret = check_descriptor(path, desc, kind, err, errlen);
    if (ret < 0)
        goto fail;

    p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        ret = -ENOMEM;
        goto fail;
    }
    vf_error_t perr = {0};
    ret = desc->create(&vf_host_api, cfg, &p->state, &perr);
    if (ret < 0) {
        snprintf(err, errlen, "%s plugin '%s': %s", vf_plugin_kind_name(kind), desc->name,
                 perr.message[0] ? perr.message : strerror(-ret));
        goto fail;
    }
    p->handle = handle;
    p->desc = desc;
    if ((ret = read_capabilities(p, kind, err, errlen)) < 0) {
        desc->destroy(p->state);
        p->handle = NULL;
        goto fail;
    }
    *out = p;
    vf_debug("loaded %s plugin %s %s from %s", vf_plugin_kind_name(kind), desc->name,
             desc->version ? desc->version : "", path);
    return 0;

fail:
    if (p) {
        vf_job_slots_free(&p->job_slots);
        free(p->path);
        free(p);
    }
    dlclose(handle);
    return ret;
}

void vf_plugin_free(vf_plugin_t **plugin)
{
    vf_plugin_t *p = *plugin;
    if (!p)
        return;
    p->desc->destroy(p->state);
    vf_job_slots_free(&p->job_slots);
    dlclose(p->handle);
    free(p->path);
    free(p);
    *plugin = NULL;
}
