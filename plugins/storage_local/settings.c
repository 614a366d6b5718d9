/*
 * settings.c - the storage_local config group: which keys exist, their
 * types and defaults, and preparing the root directory they name.
 *
 *   root       = "/var/lib/videoflix/media";       required; created if missing
 *   public_url = "http://127.0.0.1:8000/media/";   where the core serves /media/
 */
#include "storage_local.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SL_DEFAULT_PUBLIC_URL "http://127.0.0.1:8000/media/"

typedef struct setting_spec {
    const char *name;
    int type;
    const char *fallback; /* NULL = required */
} setting_spec_t;

static const setting_spec_t settings[] = {
    {"root", CONFIG_TYPE_STRING, NULL},
    {"public_url", CONFIG_TYPE_STRING, SL_DEFAULT_PUBLIC_URL},
};
enum { SETTING_ROOT, SETTING_PUBLIC_URL, SETTING_COUNT };

/* "file:line" for settings read from a file, "line N" for those read from a string. */
static void where(const config_setting_t *s, char *buf, size_t len)
{
    const char *file = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    if (file)
        snprintf(buf, len, "%s:%u", file, line);
    else
        snprintf(buf, len, "line %u", line);
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_FLOAT: return "a number";
    }
    return "a value";
}

static int find_values(sl_state_t *st, const config_setting_t *cfg, const char *values[SETTING_COUNT],
                       vf_error_t *err)
{
    char loc[512];
    if (!cfg)
        return SL_FAIL(st, err, -EINVAL, "no settings group given; storage_local needs at least root = \"/path\"");
    where(cfg, loc, sizeof loc);
    if (!config_setting_is_group(cfg))
        return SL_FAIL(st, err, -EINVAL, "%s: the storage_local settings must be a group { ... }", loc);

    for (int i = 0; i < config_setting_length(cfg); i++) {
        const config_setting_t *member = config_setting_get_elem(cfg, (unsigned)i);
        const char *name = config_setting_name(member);
        where(member, loc, sizeof loc);
        size_t k = 0;
        while (k < SETTING_COUNT && strcmp(settings[k].name, name ? name : "") != 0)
            k++;
        if (k == SETTING_COUNT)
            return SL_FAIL(st, err, -EINVAL, "%s: unknown setting '%s' (storage_local knows root and public_url)",
                           loc, name ? name : "?");
        if (config_setting_type(member) != settings[k].type)
            return SL_FAIL(st, err, -EINVAL, "%s: setting '%s' must be %s", loc, name, type_name(settings[k].type));
        values[k] = config_setting_get_string(member);
    }
    where(cfg, loc, sizeof loc);
    for (size_t k = 0; k < SETTING_COUNT; k++) {
        if (!values[k])
            values[k] = settings[k].fallback;
        if (!values[k] || !*values[k])
            return SL_FAIL(st, err, -EINVAL, "%s: storage_local needs a non-empty '%s' setting", loc,
                           settings[k].name);
    }
    return 0;
}

/* mkdir -p with 0755, then the canonical absolute path. */
static int prepare_root(sl_state_t *st, const char *root, const config_setting_t *cfg, vf_error_t *err)
{
    char loc[512];
    char *path = NULL;
    int ret = -EINVAL;

    where(config_setting_get_member(cfg, "root"), loc, sizeof loc);
    path = strdup(root);
    if (!path) {
        ret = SL_FAIL(st, err, -ENOMEM, "out of memory");
        goto out;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            ret = SL_FAIL(st, err, -e, "%s: cannot create the storage root %s: %s", loc, path, sl_strerror(e));
            goto out;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    st->root = realpath(root, NULL);
    if (!st->root) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "%s: cannot resolve the storage root %s: %s", loc, root, sl_strerror(e));
        goto out;
    }
    struct stat sb;
    if (stat(st->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ret = SL_FAIL(st, err, -ENOTDIR, "%s: the storage root %s is not a directory", loc, st->root);
        goto out;
    }
    ret = 0;
out:
    free(path);
    return ret;
}

static int prepare_public_url(sl_state_t *st, const char *url, const config_setting_t *cfg, vf_error_t *err)
{
    char loc[512];
    const config_setting_t *member = config_setting_get_member(cfg, "public_url");
    where(member ? member : cfg, loc, sizeof loc);

    size_t scheme = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    if (!scheme || url[scheme] == '\0' || url[scheme] == '/')
        return SL_FAIL(st, err, -EINVAL, "%s: public_url must be an absolute http:// or https:// URL, not '%s'",
                       loc, url);
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return SL_FAIL(st, err, -EINVAL, "%s: public_url must not contain spaces, control or non-ASCII characters",
                           loc);
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
    const char *values[SETTING_COUNT] = {NULL};
    int ret = find_values(st, cfg, values, err);
    if (ret < 0)
        return ret;
    ret = prepare_public_url(st, values[SETTING_PUBLIC_URL], cfg, err);
    if (ret < 0)
        return ret;
    return prepare_root(st, values[SETTING_ROOT], cfg, err);
}
