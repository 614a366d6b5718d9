/*
 * config.c - the encoder_libav config group.  Owns parsing and checking the
 * settings below; see README.md in this folder for what each one does.
 *
 *   threads    = 0;      x264 threads per rendition (0 = x264 decides)
 *   order      = [...];  rendition names set up, fed and finalised first
 *   timeout    = 0;      seconds for one whole operation (0 = none)
 *   io_timeout = 30;     seconds a network read may stall
 */
#include "lav.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_keys[] = {"threads", "order", "timeout", "io_timeout"};

/* "file:line: " or "line N: " for messages about `s`. */
static void where(const config_setting_t *s, char *buf, size_t len)
{
    const char *file = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    if (file)
        snprintf(buf, len, "%s:%u: ", file, line);
    else
        snprintf(buf, len, "line %u: ", line);
}

static int bad(const vf_host_api_t *host, vf_error_t *err, const config_setting_t *s,
               const char *what)
{
    char at[300];
    where(s, at, sizeof at);
    return host->error(err, EINVAL, "%s%s.%s %s", at, LAV_PLUGIN_NAME, config_setting_name(s),
                       what);
}

static int read_seconds(const vf_host_api_t *host, const config_setting_t *s, double *out,
                        int zero_ok, vf_error_t *err)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *out = (double)config_setting_get_int64(s);
        break;
    case CONFIG_TYPE_FLOAT:
        *out = config_setting_get_float(s);
        break;
    default:
        return bad(host, err, s, "must be a number of seconds");
    }
    if (!(*out >= 0) || *out > 86400.0 * 7 || (!zero_ok && *out == 0))
        return bad(host, err, s, zero_ok ? "must be between 0 and 604800 seconds"
                                         : "must be more than 0 and at most 604800 seconds");
    return 0;
}

static int read_order(const vf_host_api_t *host, const config_setting_t *s, lav_config_t *cfg,
                      vf_error_t *err)
{
    int type = config_setting_type(s);
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return bad(host, err, s, "must be a list of rendition names, e.g. [\"720p\", \"360p\"]");
    int n = config_setting_length(s);
    cfg->order = calloc((size_t)n + 1, sizeof *cfg->order);
    if (!cfg->order)
        return host->error(err, ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const config_setting_t *item = config_setting_get_elem(s, (unsigned)i);
        const char *name = item ? config_setting_get_string(item) : NULL;
        if (!name || !*name)
            return bad(host, err, s, "must hold only non-empty strings");
        for (size_t j = 0; j < cfg->norder; j++)
            if (strcmp(cfg->order[j], name) == 0) {
                char what[160];
                snprintf(what, sizeof what, "names \"%.100s\" twice", name);
                return bad(host, err, s, what);
            }
        if (!(cfg->order[cfg->norder] = strdup(name)))
            return host->error(err, ENOMEM, "out of memory");
        cfg->norder++;
    }
    return 0;
}

int lav_config_parse(const vf_host_api_t *host, const config_setting_t *group, lav_config_t *cfg,
                     vf_error_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->io_timeout = 30;
    if (!group)
        return 0;
    int ret = -EINVAL;
    if (!config_setting_is_group(group)) {
        ret = bad(host, err, group, "must be a group of settings");
        goto out;
    }
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        size_t k = 0;
        while (k < sizeof known_keys / sizeof *known_keys && strcmp(known_keys[k], name) != 0)
            k++;
        if (k == sizeof known_keys / sizeof *known_keys) {
            ret = bad(host, err, s,
                      "is not a setting of this plugin (known: threads, order, timeout, io_timeout)");
            goto out;
        }
    }
    const config_setting_t *s;
    if ((s = config_setting_get_member(group, "threads"))) {
        int type = config_setting_type(s);
        long long v = (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
                          ? config_setting_get_int64(s) : -1;
        if (v < 0 || v > 64) {
            ret = bad(host, err, s, "must be an integer from 0 (automatic) to 64");
            goto out;
        }
        cfg->threads = (int)v;
    }
    if ((s = config_setting_get_member(group, "order")) && (ret = read_order(host, s, cfg, err)) < 0)
        goto out;
    if ((s = config_setting_get_member(group, "timeout")) &&
        (ret = read_seconds(host, s, &cfg->timeout, 1, err)) < 0)
        goto out;
    if ((s = config_setting_get_member(group, "io_timeout")) &&
        (ret = read_seconds(host, s, &cfg->io_timeout, 0, err)) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0)
        lav_config_free(cfg);
    return ret;
}

void lav_config_free(lav_config_t *cfg)
{
    for (size_t i = 0; i < cfg->norder; i++)
        free(cfg->order[i]);
    free(cfg->order);
    cfg->order = NULL;
    cfg->norder = 0;
}
