/*
 * log.c - see log.h.  Lines are written with one fprintf under the stdio
 * lock so that lines from different threads never interleave.
 */
#include "config.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int vf_log_level = VF_LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void vf_log_set_level(vf_log_level_t level) { vf_log_level = (int)level; }

int vf_log_parse_level(const char *name, vf_log_level_t *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (vf_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void vf_logv(vf_log_level_t level, const char *component, const char *fmt, va_list ap)
{
    if ((int)level > vf_log_level)
        return;
    char stamp[40];
    vf_time_iso8601(vf_now_us(), stamp, sizeof stamp);
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *lname = (level >= VF_LOG_ERROR && level <= VF_LOG_DEBUG) ? level_names[level] : "?";
    flockfile(stderr);
    if (component)
        fprintf(stderr, "%s %s [%s] %s\n", stamp, lname, component, msg);
    else
        fprintf(stderr, "%s %s %s\n", stamp, lname, msg);
    funlockfile(stderr);
}

void vf_log(vf_log_level_t level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vf_logv(level, component, fmt, ap);
    va_end(ap);
}

int vf_complain_should_log(vf_complain_t *c, double max_seconds)
{
    double now = (double)vf_now_us() / 1e6;
    if (now < c->next_at)
        return 0;
    c->interval = c->interval <= 0 ? 1.0 : c->interval * 2;
    if (c->interval > max_seconds)
        c->interval = max_seconds;
    c->next_at = now + c->interval;
    return 1;
}

void vf_complain_reset(vf_complain_t *c)
{
    c->next_at = 0;
    c->interval = 0;
}
