/*
 * log.h - the process's one logger: levelled lines on stderr (or the log
 * file put in its place) with a UTC timestamp and an optional component,
 * as text or as one JSON object a line (log.format).
 * Owns: level filtering, line formatting (text and JSON), the log file and
 * its reopening, the access-log line, rate-limiting of repeated errors.
 * Must not: log secrets (callers pass only what is safe to print).
 */
#ifndef VF_LOG_H
#define VF_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <videoflix/plugin.h>

/* Atomic: SIGHUP changes it while other threads log. */
extern _Atomic int vf_log_level;

void vf_log_set_level(vf_log_level_t level);
int vf_log_parse_level(const char *name, vf_log_level_t *out);
/* Copy `in` with control bytes written as \xNN and '\' as "\\", so that
 * text from clients can never start a line of its own; cut to fit outlen
 * (never inside an escape).  Returns the length written. */
size_t vf_log_escape(const char *in, char *out, size_t outlen);
typedef enum { VF_LOG_TEXT, VF_LOG_JSON } vf_log_format_t;
/* "text" or "json"; -1 for anything else. */
int vf_log_parse_format(const char *name, vf_log_format_t *out);
void vf_log_set_format(vf_log_format_t format);
/* Append the log to `path` from now on (created 0640 when missing), in
 * place of stderr; NULL or "" keeps stderr.  -1 with a message in err. */
int vf_log_open(const char *path, char *err, size_t errlen);
/* Open the file of vf_log_open again (after logrotate moved it): 0, or -1
 * with a message; the old file stays in use when the new cannot open. */
int vf_log_reopen(char *err, size_t errlen);

/* One request, as the access log records it. */
typedef struct vf_access_entry {
    const char *method, *path; /* path: NULL logs "-" */
    int status;
    size_t bytes;
    long long duration_us;
    const char *request_id;
    const char *client; /* the client's address; NULL logs "-" */
} vf_access_entry_t;
/* At info: a text line, or a JSON object with the entry's fields. */
void vf_log_access(const vf_access_entry_t *a);

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
