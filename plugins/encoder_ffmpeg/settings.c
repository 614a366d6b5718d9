/*
 * settings.c - see settings.h.  Walks the group's members against a small
 * table, so a misspelt key is an error instead of a silently ignored line.
 */
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proc.h"

typedef struct setting_def {
    const char *name;
    int type;          /* CONFIG_TYPE_STRING or CONFIG_TYPE_INT */
    size_t offset;     /* of the char * or int in ffe_settings_t */
    int min, max;      /* for integers */
} setting_def_t;

static const setting_def_t defs[] = {
    {"ffmpeg", CONFIG_TYPE_STRING, offsetof(ffe_settings_t, ffmpeg), 0, 0},
    {"ffprobe", CONFIG_TYPE_STRING, offsetof(ffe_settings_t, ffprobe), 0, 0},
    {"threads", CONFIG_TYPE_INT, offsetof(ffe_settings_t, threads), 0, 256},
    {"timeout", CONFIG_TYPE_INT, offsetof(ffe_settings_t, timeout), 0, INT_MAX},
    {"tmp_dir", CONFIG_TYPE_STRING, offsetof(ffe_settings_t, tmp_dir), 0, 0},
};
#define NDEFS (sizeof defs / sizeof defs[0])

/* "file:line" or "line N", for messages about one setting. */
static void where(const config_setting_t *s, char *buf, size_t len)
{
    const char *file = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    if (file)
        snprintf(buf, len, "%s:%u", file, line);
    else
        snprintf(buf, len, "line %u", line);
}

static int read_one(const vf_host_api_t *host, const config_setting_t *member,
                    const setting_def_t *def, ffe_settings_t *s, vf_error_t *err)
{
    char at[512];
    where(member, at, sizeof at);
    int type = config_setting_type(member);
    if (def->type == CONFIG_TYPE_STRING) {
        if (type != CONFIG_TYPE_STRING)
            return host->error(err, EINVAL, "%s: encoder_ffmpeg setting '%s' must be a string", at,
                               def->name);
        char **field = (char **)((char *)s + def->offset);
        free(*field);
        *field = strdup(config_setting_get_string(member));
        return *field ? 0 : host->error(err, ENOMEM, "out of memory");
    }
    long long value;
    if (type == CONFIG_TYPE_INT)
        value = config_setting_get_int(member);
    else if (type == CONFIG_TYPE_INT64)
        value = config_setting_get_int64(member);
    else
        return host->error(err, EINVAL, "%s: encoder_ffmpeg setting '%s' must be an integer", at,
                           def->name);
    if (value < def->min || value > def->max)
        return host->error(err, EINVAL, "%s: encoder_ffmpeg setting '%s' must be between %d and %d",
                           at, def->name, def->min, def->max);
    *(int *)((char *)s + def->offset) = (int)value;
    return 0;
}

/* Replace *name by its resolved path, or explain why it cannot run. */
static int resolve(const vf_host_api_t *host, const config_setting_t *group, const char *key,
                   char **name, vf_error_t *err)
{
    char *path = NULL;
    int ret = ffe_resolve_program(*name, &path);
    if (ret < 0) {
        char at[512] = "encoder_ffmpeg";
        const config_setting_t *member = group ? config_setting_get_member(group, key) : NULL;
        if (member)
            where(member, at, sizeof at);
        return host->error(err, ret, "%s: %s program '%s' cannot be run: %s", at, key, *name,
                           ret == -ENOENT && !strchr(*name, '/') ? "not found in PATH"
                                                                 : strerror(-ret));
    }
    free(*name);
    *name = path;
    return 0;
}

static int check_tmp_dir(const vf_host_api_t *host, const config_setting_t *group,
                         ffe_settings_t *s, vf_error_t *err)
{
    if (s->tmp_dir && !*s->tmp_dir) {
        free(s->tmp_dir);
        s->tmp_dir = NULL;
    }
    if (!s->tmp_dir)
        return 0;
    struct stat st;
    int code = ENOTDIR;
    if (stat(s->tmp_dir, &st) != 0)
        code = errno;
    else if (S_ISDIR(st.st_mode))
        return 0;
    char at[512];
    where(config_setting_get_member(group, "tmp_dir"), at, sizeof at);
    return host->error(err, code, "%s: encoder_ffmpeg tmp_dir '%s' is not usable: %s", at,
                       s->tmp_dir, strerror(code));
}

int ffe_settings_read(const vf_host_api_t *host, const config_setting_t *group, ffe_settings_t *s,
                      vf_error_t *err)
{
    int ret = -EINVAL;
    memset(s, 0, sizeof *s);
    s->ffmpeg = strdup("ffmpeg");
    s->ffprobe = strdup("ffprobe");
    if (!s->ffmpeg || !s->ffprobe) {
        ret = host->error(err, ENOMEM, "out of memory");
        goto out;
    }
    if (group && !config_setting_is_group(group)) {
        char at[512];
        where(group, at, sizeof at);
        ret = host->error(err, EINVAL, "%s: the encoder_ffmpeg settings must be a group { ... }", at);
        goto out;
    }
    int count = group ? config_setting_length(group) : 0;
    for (int i = 0; i < count; i++) {
        const config_setting_t *member = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(member);
        const setting_def_t *def = NULL;
        for (size_t d = 0; d < NDEFS && !def; d++)
            if (name && strcmp(name, defs[d].name) == 0)
                def = &defs[d];
        if (!def) {
            char at[512];
            where(member, at, sizeof at);
            ret = host->error(err, EINVAL,
                              "%s: unknown encoder_ffmpeg setting '%s' (known: ffmpeg, ffprobe, "
                              "threads, timeout, tmp_dir)",
                              at, name ? name : "?");
            goto out;
        }
        if ((ret = read_one(host, member, def, s, err)) < 0)
            goto out;
    }
    if ((ret = resolve(host, group, "ffmpeg", &s->ffmpeg, err)) < 0 ||
        (ret = resolve(host, group, "ffprobe", &s->ffprobe, err)) < 0 ||
        (ret = check_tmp_dir(host, group, s, err)) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0)
        ffe_settings_free(s);
    return ret;
}

void ffe_settings_free(ffe_settings_t *s)
{
    free(s->ffmpeg);
    free(s->ffprobe);
    free(s->tmp_dir);
    memset(s, 0, sizeof *s);
}
