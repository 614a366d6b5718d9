/*
 * reload.c - see reload.h.
 */
#include "config.h"
#include "runtime/reload.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

int vf_reload_logging(const vf_config_t *running)
{
    char *errors = NULL;
    vf_config_t *cfg = vf_config_load(running->path, &errors);
    if (!cfg) {
        vf_error("reload: %s does not load; the running settings stay: %s", running->path,
                 errors ? errors : "out of memory");
        free(errors);
        return -1;
    }
    char err[512];
    int ret = 0;
    /* The new file first, so that the lines below land in it. */
    if (vf_log_open(cfg->log.file, err, sizeof err) < 0) {
        vf_error("reload: log.file: %s; still writing to the old one", err);
        ret = -1;
    }
    vf_log_level_t level = VF_LOG_INFO;
    vf_log_format_t format = VF_LOG_TEXT;
    vf_log_parse_level(cfg->log.level, &level);
    vf_log_parse_format(cfg->log.format, &format);
    vf_log_set_format(format);
    vf_log_set_level(level);
    vf_info("reload: log settings re-read from %s (level %s, format %s%s%s); other settings change with a restart",
            cfg->path, cfg->log.level, cfg->log.format, *cfg->log.file ? ", file " : "", cfg->log.file);
    vf_config_free(&cfg);
    return ret;
}
