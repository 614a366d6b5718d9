/*
 * log.h - the process's one logger: levelled lines on stderr with a UTC
 * timestamp, the thread's role and an optional component prefix.
 * Owns: level filtering, line formatting, rate-limiting of repeated errors.
 * Must not: log secrets (callers pass only what is safe to print).
 */
#ifndef VF_LOG_H
#define VF_LOG_H

#include <stdarg.h>
#include <videoflix/plugin.h>

extern int vf_log_level;

void vf_log_set_level(vf_log_level_t level);
int vf_log_parse_level(const char *name, vf_log_level_t *out);
/* Copy `in` with control bytes written as \xNN and '\' as "\\", so that
 * text from clients can never start a line of its own; cut to fit outlen
 * (never inside an escape).  Returns the length written. */
size_t vf_log_escape(const char *in, char *out, size_t outlen);
void vf_logv(vf_log_level_t level, const char *component, const char *fmt, va_list ap)
    VF_PRINTF(3, 0);
void vf_log(vf_log_level_t level, const char *component, const char *fmt, ...) VF_PRINTF(3, 4);

#define VF_LOG_AT(lvl, ...)                                  \
    do {                                                     \
        if ((int)(lvl) <= vf_log_level) vf_log((lvl), NULL, __VA_ARGS__); \
    } while (0)
#define vf_error(...) VF_LOG_AT(VF_LOG_ERROR, __VA_ARGS__)
#define vf_warn(...) VF_LOG_AT(VF_LOG_WARNING, __VA_ARGS__)
#define vf_info(...) VF_LOG_AT(VF_LOG_INFO, __VA_ARGS__)
#define vf_debug(...) VF_LOG_AT(VF_LOG_DEBUG, __VA_ARGS__)

/* Repeated-failure limiter (for reconnect loops): returns 1 when a message
 * should be logged now, doubling the quiet interval up to max_seconds. */
typedef struct vf_complain {
    double next_at;
    double interval;
} vf_complain_t;
int vf_complain_should_log(vf_complain_t *c, double max_seconds);
void vf_complain_reset(vf_complain_t *c);

#endif
