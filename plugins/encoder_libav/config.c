/*
 * config.c - the encoder_libav config group.  Owns the table of settings
 * below (checked by the host's settings helper) and what the table cannot
 * say; see README.md in this folder for what each one does.
 *
 *   threads    = 0;      x264 threads per rendition (0 = x264 decides)
 *   order      = [...];  rendition names set up, fed and finalised first
 *   timeout    = 0;      seconds for one whole operation (0 = none)
 *   io_timeout = 30;     seconds a network read may stall
 *   preset     = ...;    libx264 preset; default: the core's media.preset
 *   crf        = ...;    libx264 CRF; default: the core's media.crf
 *   max_jobs   = 0;      operations at once (0 = as many as the worker runs)
 */
#include "lav.h"

#include <errno.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_MAX (86400.0 * 7)

static const vf_setting_t table[] = {
    {.name = "threads", .type = VF_SETTING_INT, .offset = offsetof(lav_config_t, threads), .min = 0, .max = 64},
    {.name = "order", .type = VF_SETTING_STRINGS, .offset = offsetof(lav_config_t, order)},
    {.name = "timeout", .type = VF_SETTING_FLOAT, .offset = offsetof(lav_config_t, timeout), .fmin = 0,
     .fmax = SECONDS_MAX},
    {.name = "io_timeout", .type = VF_SETTING_FLOAT, .offset = offsetof(lav_config_t, io_timeout), .fmin = 0,
     .fmax = SECONDS_MAX, .float_default = 30},
    {.name = "preset", .type = VF_SETTING_STRING, .flags = VF_SETTING_NONEMPTY,
     .offset = offsetof(lav_config_t, preset)},
    {.name = "crf", .type = VF_SETTING_INT, .offset = offsetof(lav_config_t, crf), .min = 0, .max = 51,
     .int_default = -1},
    {.name = "max_jobs", .type = VF_SETTING_INT, .offset = offsetof(lav_config_t, max_jobs), .min = 0, .max = 1024},
};
#define NTABLE (sizeof table / sizeof table[0])

int lav_config_parse(const vf_host_api_t *host, const config_setting_t *group, lav_config_t *cfg,
                     vf_error_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    int ret = host->settings(LAV_PLUGIN_NAME, group, table, NTABLE, cfg, err);
    if (ret < 0)
        return ret;
    for (; cfg->order && cfg->order[cfg->norder]; cfg->norder++) {
        const char *name = cfg->order[cfg->norder];
        if (!*name) {
            ret = host->setting_error(LAV_PLUGIN_NAME, group, "order", err, EINVAL,
                                      "'order' must hold only non-empty strings");
            goto out;
        }
        for (size_t j = 0; j < cfg->norder; j++)
            if (strcmp(cfg->order[j], name) == 0) {
                ret = host->setting_error(LAV_PLUGIN_NAME, group, "order", err, EINVAL,
                                          "'order' names \"%.100s\" twice", name);
                goto out;
            }
    }
    if (cfg->io_timeout == 0)
        ret = host->setting_error(LAV_PLUGIN_NAME, group, "io_timeout", err, EINVAL,
                                  "'io_timeout' must be more than 0 seconds");
out:
    if (ret < 0)
        lav_config_free(cfg);
    return ret;
}

void lav_config_free(lav_config_t *cfg)
{
    for (size_t i = 0; cfg->order && cfg->order[i]; i++)
        free(cfg->order[i]);
    free(cfg->order);
    free(cfg->preset);
    cfg->order = NULL;
    cfg->norder = 0;
    cfg->preset = NULL;
}
