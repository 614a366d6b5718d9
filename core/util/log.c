/*
 * log.c - see log.h.  Lines are written with one fprintf under the stdio
 * lock so that lines from different threads never interleave.  A log file
 * is put in place of descriptor 2 (dup2), so whatever else writes to stderr
 * (plugins, libraries) lands in it too, and reopening is one atomic dup2.
 */
#include "config.h"
#include "util/json_escape.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

_Atomic int vf_log_level = VF_LOG_INFO;
static _Atomic int log_format = VF_LOG_TEXT;
/* The log file to reopen on SIGHUP; empty: stderr as inherited. */
static char log_path[4096];

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

int vf_log_parse_format(const char *name, vf_log_format_t *out)
{
    if (strcmp(name, "text") == 0)
        *out = VF_LOG_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = VF_LOG_JSON;
    else
        return -1;
    return 0;
}

void vf_log_set_format(vf_log_format_t format) { log_format = (int)format; }

static int open_onto_stderr(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the log file %s: %s", path, strerror(errno));
        return -1;
    }
    fflush(stderr);
    int rc = fd == STDERR_FILENO ? 0 : dup2(fd, STDERR_FILENO);
    int e = errno;
    if (fd != STDERR_FILENO)
        close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "cannot put the log file %s in place of stderr: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

int vf_log_open(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        log_path[0] = '\0';
        return 0;
    }
    if (strlen(path) >= sizeof log_path) {
        snprintf(err, errlen, "the log file name is too long");
        return -1;
    }
    if (open_onto_stderr(path, err, errlen) < 0)
        return -1;
    snprintf(log_path, sizeof log_path, "%s", path);
    return 0;
}

int vf_log_reopen(char *err, size_t errlen)
{
    if (!log_path[0])
        return 0;
    return open_onto_stderr(log_path, err, errlen);
}

/* Where a line without a component names one as "name: message" (the
 * convention of the core's messages), JSON carries the two apart. */
static size_t component_prefix(const char *msg)
{
    size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_-");
    return n > 0 && n <= 32 && msg[n] == ':' && msg[n + 1] == ' ' ? n : 0;
}

/* One JSON object: time, level, component, message, then `extra` (already
 * JSON members, each starting with a comma; may be ""). */
static void write_json(const char *stamp, const char *lname, const char *component, const char *msg,
                       const char *extra)
{
    char comp[256], safe_comp[6 * sizeof comp], safe_msg[6 * 2048];
    size_t skip = 0;
    if (component)
        snprintf(comp, sizeof comp, "%s", component);
    else if ((skip = component_prefix(msg)) > 0) {
        snprintf(comp, sizeof comp, "%.*s", (int)skip, msg);
        skip += 2;
    } else
        snprintf(comp, sizeof comp, "videoflix");
    vf_json_escape(comp, safe_comp, sizeof safe_comp);
    vf_json_escape(msg + skip, safe_msg, sizeof safe_msg);
    flockfile(stderr);
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"%s\",\"message\":\"%s\"%s}\n", stamp,
            lname, safe_comp, safe_msg, extra);
    funlockfile(stderr);
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
    if (log_format == VF_LOG_JSON) {
        write_json(stamp, lname, component, msg, "");
        return;
    }
    /* Paths, titles and keys come from clients: one event, one line. */
    char safe[4 * sizeof msg], safe_component[256];
    vf_log_escape(msg, safe, sizeof safe);
    if (component)
        vf_log_escape(component, safe_component, sizeof safe_component);
    flockfile(stderr);
    if (component)
        fprintf(stderr, "%s %s [%s] %s\n", stamp, lname, safe_component, safe);
    else
        fprintf(stderr, "%s %s %s\n", stamp, lname, safe);
    funlockfile(stderr);
}

void vf_log_access(const vf_access_entry_t *a)
{
    if (VF_LOG_INFO > vf_log_level)
        return;
    const char *path = a->path ? a->path : "-";
    const char *client = a->client ? a->client : "-";
    if (log_format == VF_LOG_TEXT) {
        vf_log(VF_LOG_INFO, NULL, "%s %s %d %zuB %lldus id=%s client=%s", a->method, path, a->status, a->bytes,
               a->duration_us, a->request_id, client);
        return;
    }
    char stamp[40], msg[2048], extra[8192];
    char safe_method[64], safe_path[6 * 1024], safe_id[256], safe_client[256];
    vf_time_iso8601(vf_now_us(), stamp, sizeof stamp);
    snprintf(msg, sizeof msg, "%s %s %d", a->method, path, a->status);
    vf_json_escape(a->method, safe_method, sizeof safe_method);
    vf_json_escape(path, safe_path, sizeof safe_path);
    vf_json_escape(a->request_id, safe_id, sizeof safe_id);
    vf_json_escape(client, safe_client, sizeof safe_client);
    snprintf(extra, sizeof extra,
             ",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"bytes\":%zu,\"duration_us\":%lld,"
             "\"request_id\":\"%s\",\"client\":\"%s\"",
             safe_method, safe_path, a->status, a->bytes, a->duration_us, safe_id, safe_client);
    write_json(stamp, "info", "access", msg, extra);
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
