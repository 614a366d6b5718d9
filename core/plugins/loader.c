/*
 * loader.c - see loader.h.  Plugins are opened RTLD_NOW|RTLD_LOCAL so that a
 * missing library is reported at load time and plugin symbols never clash;
 * they stay loaded until the process frees them at exit.
 */
#include "config.h"
#include "plugins/loader.h"
#include "util/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void host_log(const char *plugin, vf_log_level_t level, const char *fmt, ...)
{
    if ((int)level > vf_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vf_logv(level, plugin, fmt, ap);
    va_end(ap);
}

static int host_error(vf_error_t *err, int code, const char *fmt, ...)
{
    if (code > 0)
        code = -code;
    if (code == 0)
        code = -EIO;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static char *host_secret(const char *env, const char *file)
{
    if (env && *env) {
        const char *v = getenv(env);
        if (v && *v)
            return strdup(v);
    }
    if (file && *file) {
        FILE *f = fopen(file, "r");
        if (!f)
            return NULL;
        char line[4096];
        char *res = NULL;
        if (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            res = strdup(line);
        }
        fclose(f);
        return res;
    }
    return NULL;
}

const vf_host_api_t vf_host_api = {
    .size = sizeof(vf_host_api_t),
    .abi_major = VF_ABI_MAJOR,
    .abi_minor = VF_ABI_MINOR,
    .log = host_log,
    .error = host_error,
    .secret = host_secret,
};

const char *vf_plugin_kind_name(vf_plugin_kind_t kind)
{
    switch (kind) {
    case VF_PLUGIN_STORAGE: return "storage";
    case VF_PLUGIN_ENCODER: return "encoder";
    }
    return "unknown";
}

/* The smallest ops table of ABI 1.0 for each kind. */
static size_t min_ops_size(vf_plugin_kind_t kind)
{
    return kind == VF_PLUGIN_STORAGE ? sizeof(vf_storage_ops_t) : sizeof(vf_encoder_ops_t);
}

static int check_descriptor(const char *path, const vf_plugin_desc_t *d, vf_plugin_kind_t kind,
                            char *err, size_t errlen)
{
    if (d->abi_major != VF_ABI_MAJOR || d->abi_minor > VF_ABI_MINOR) {
        snprintf(err, errlen, "%s: plugin ABI version %u.%u, but this videoflix expects %d.x with x <= %d",
                 path, d->abi_major, d->abi_minor, VF_ABI_MAJOR, VF_ABI_MINOR);
        return -EPROTO;
    }
    if (d->size < sizeof(vf_plugin_desc_t)) {
        snprintf(err, errlen, "%s: descriptor is %u bytes, expected at least %zu", path, d->size,
                 sizeof(vf_plugin_desc_t));
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
    uint32_t ops_size = *(const uint32_t *)d->ops;
    if (ops_size < min_ops_size(kind)) {
        snprintf(err, errlen, "%s: %s operations table is %u bytes, expected at least %zu", path,
                 vf_plugin_kind_name(kind), ops_size, min_ops_size(kind));
        return -EPROTO;
    }
    return 0;
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
    *out = p;
    vf_debug("loaded %s plugin %s %s from %s", vf_plugin_kind_name(kind), desc->name,
             desc->version ? desc->version : "", path);
    return 0;

fail:
    if (p) {
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
    dlclose(p->handle);
    free(p->path);
    free(p);
    *plugin = NULL;
}
