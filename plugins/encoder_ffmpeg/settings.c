/*
 * settings.c - see settings.h.  The host's settings helper walks the
 * group against the table below, so a misspelt key is an error instead of
 * a silently ignored line; what the table cannot say (programs that run, a
 * usable directory) is checked here in the same message format.
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

static const vf_setting_t table[] = {
    {.name = "ffmpeg", .type = VF_SETTING_STRING, .flags = VF_SETTING_NONEMPTY,
     .offset = offsetof(ffe_settings_t, ffmpeg), .str_default = "ffmpeg"},
    {.name = "ffprobe", .type = VF_SETTING_STRING, .flags = VF_SETTING_NONEMPTY,
     .offset = offsetof(ffe_settings_t, ffprobe), .str_default = "ffprobe"},
    {.name = "threads", .type = VF_SETTING_INT, .offset = offsetof(ffe_settings_t, threads), .min = 0, .max = 256},
    {.name = "timeout", .type = VF_SETTING_INT, .offset = offsetof(ffe_settings_t, timeout), .min = 0,
     .max = INT_MAX},
    {.name = "tmp_dir", .type = VF_SETTING_STRING, .offset = offsetof(ffe_settings_t, tmp_dir)},
    {.name = "preset", .type = VF_SETTING_STRING, .flags = VF_SETTING_NONEMPTY,
     .offset = offsetof(ffe_settings_t, preset)},
    {.name = "crf", .type = VF_SETTING_INT, .offset = offsetof(ffe_settings_t, crf), .min = 0, .max = 51,
     .int_default = -1},
    {.name = "max_jobs", .type = VF_SETTING_INT, .offset = offsetof(ffe_settings_t, max_jobs), .min = 0,
     .max = 1024},
};
#define NTABLE (sizeof table / sizeof table[0])

/* Replace *name by its resolved path, or explain why it cannot run. */
static int resolve(const vf_host_api_t *host, const config_setting_t *group, const char *key,
                   char **name, vf_error_t *err)
{
    char *path = NULL;
    int ret = ffe_resolve_program(*name, &path);
    if (ret < 0) {
        return host->setting_error("encoder_ffmpeg", group, key, err, ret, "%s program '%s' cannot be run: %s", key,
                                   *name, ret == -ENOENT && !strchr(*name, '/') ? "not found in PATH"
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
    return host->setting_error("encoder_ffmpeg", group, "tmp_dir", err, code, "tmp_dir '%s' is not usable: %s",
                               s->tmp_dir, strerror(code));
}

int ffe_settings_read(const vf_host_api_t *host, const config_setting_t *group, ffe_settings_t *s,
                      vf_error_t *err)
{
    memset(s, 0, sizeof *s);
    int ret = host->settings("encoder_ffmpeg", group, table, NTABLE, s, err);
    if (ret < 0)
        return ret;
    if ((ret = resolve(host, group, "ffmpeg", &s->ffmpeg, err)) < 0 ||
        (ret = resolve(host, group, "ffprobe", &s->ffprobe, err)) < 0 ||
        (ret = check_tmp_dir(host, group, s, err)) < 0)
        ffe_settings_free(s);
    return ret;
}

void ffe_settings_free(ffe_settings_t *s)
{
    free(s->ffmpeg);
    free(s->ffprobe);
    free(s->tmp_dir);
    free(s->preset);
    memset(s, 0, sizeof *s);
}
