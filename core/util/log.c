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

size_t vf_log_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        char esc[5];
        size_t n = 0;
        if (*p == '\\') {
            esc[n++] = '\\';
            esc[n++] = '\\';
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[n++] = '\\';
            esc[n++] = 'x';
            esc[n++] = hex[*p >> 4];
            esc[n++] = hex[*p & 15];
        } else {
            esc[n++] = (char)*p;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = '\0';
    return o;
}

void vf_logv(vf_log_level_t level, const char *component, const char *fmt, va_list ap)
{
    if ((int)level > vf_log_level)
        return;
    char stamp[40];
    vf_time_iso8601(vf_now_us(), stamp, sizeof stamp);
    char msg[2048], safe[4 * sizeof msg], safe_component[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* Paths, titles and keys come from clients: one event, one line. */
    vf_log_escape(msg, safe, sizeof safe);
    const char *lname = (level >= VF_LOG_ERROR && level <= VF_LOG_DEBUG) ? level_names[level] : "?";
    if (component)
        vf_log_escape(component, safe_component, sizeof safe_component);
    flockfile(stderr);
    if (component)
        fprintf(stderr, "%s %s [%s] %s\n", stamp, lname, safe_component, safe);
    else
        fprintf(stderr, "%s %s %s\n", stamp, lname, safe);
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
