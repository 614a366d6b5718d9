/*
 * settings.c - the storage_local config group: which keys exist, their
 * types and defaults (checked by the host's settings helper), and
 * preparing the root directory they name.
 *
 *   root       = "/var/lib/videoflix/media";       required; created if missing
 *   public_url = "http://127.0.0.1:8000/media/";   where the core serves /media/
 */
#include "storage_local.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct sl_settings {
    char *root;
    char *public_url;
} sl_settings_t;

static const vf_setting_t settings[] = {
    {.name = "root", .type = VF_SETTING_STRING, .flags = VF_SETTING_REQUIRED | VF_SETTING_NONEMPTY,
     .offset = offsetof(sl_settings_t, root)},
    {.name = "public_url", .type = VF_SETTING_STRING, .flags = VF_SETTING_NONEMPTY,
     .offset = offsetof(sl_settings_t, public_url), .str_default = "http://127.0.0.1:8000/media/"},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

/* mkdir -p with 0755, then the canonical absolute path. */
static int prepare_root(sl_state_t *st, const char *root, const config_setting_t *cfg, vf_error_t *err)
{
    const vf_host_api_t *h = st->host;
    char *path = strdup(root);
    int ret = -EINVAL;
    if (!path)
        return SL_FAIL(st, err, -ENOMEM, "out of memory");
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            ret = h->setting_error(SL_NAME, cfg, "root", err, e, "cannot create the storage root %s: %s", path,
                                   sl_strerror(e));
            goto out;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    st->root = realpath(root, NULL);
    if (!st->root) {
        int e = errno;
        ret = h->setting_error(SL_NAME, cfg, "root", err, e, "cannot resolve the storage root %s: %s", root,
                               sl_strerror(e));
        goto out;
    }
    struct stat sb;
    if (stat(st->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ret = h->setting_error(SL_NAME, cfg, "root", err, ENOTDIR, "the storage root %s is not a directory",
                               st->root);
        goto out;
    }
    ret = 0;
out:
    free(path);
    return ret;
}

static int prepare_public_url(sl_state_t *st, const char *url, const config_setting_t *cfg, vf_error_t *err)
{
    const vf_host_api_t *h = st->host;
    size_t scheme = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    if (!scheme || url[scheme] == '\0' || url[scheme] == '/')
        return h->setting_error(SL_NAME, cfg, "public_url", err, EINVAL,
                                "'public_url' must be an absolute http:// or https:// URL, not '%s'", url);
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return h->setting_error(SL_NAME, cfg, "public_url", err, EINVAL,
                                    "'public_url' must not contain spaces, control or non-ASCII characters");
    size_t len = strlen(url);
    const char *slash = url[len - 1] == '/' ? "" : "/";
    if (asprintf(&st->public_url, "%s%s", url, slash) < 0) {
        st->public_url = NULL;
        return SL_FAIL(st, err, -ENOMEM, "out of memory");
    }
    return 0;
}

int sl_settings_load(sl_state_t *st, const config_setting_t *cfg, vf_error_t *err)
{
    sl_settings_t values = {NULL, NULL};
    int ret = st->host->settings(SL_NAME, cfg, settings, NSETTINGS, &values, err);
    if (ret < 0)
        return ret;
    ret = prepare_public_url(st, values.public_url, cfg, err);
    if (ret == 0)
        ret = prepare_root(st, values.root, cfg, err);
    st->host->settings_free(settings, NSETTINGS, &values);
    return ret;
}
