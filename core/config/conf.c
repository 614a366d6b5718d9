/*
 * conf.c - see conf.h.  Every section is a table of keys; one walker
 * checks names, types and ranges (collecting every problem with its
 * file:line), then fills the defaults of keys never set.  libconfig's
 * config_setting_lookup_* cannot tell a missing key from a mistyped one, so
 * the walker looks at each member's own type.
 */
#include "config.h"
#include "config/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VF_SYSCONFDIR
#define VF_SYSCONFDIR "/usr/local/etc/videoflix"
#endif
#ifndef VF_PLUGINDIR
#define VF_PLUGINDIR "/usr/local/lib/videoflix"
#endif
#ifndef VF_PKGDATADIR
#define VF_PKGDATADIR "/usr/local/share/videoflix"
#endif

typedef enum { K_INT, K_INT64, K_BOOL, K_FLOAT, K_STRING, K_STRINGS, K_SECRET, K_GROUP, K_LIST } key_type_t;

typedef struct errs {
    FILE *f;
    char *buf;
    size_t len;
    int count;
    const char *file;
} errs_t;

typedef int (*list_parser_t)(vf_config_t *cfg, const config_setting_t *s, errs_t *e);

typedef struct key {
    const char *name;
    key_type_t type;
    size_t off;
    int64_t min, max;
    int64_t idef;
    double fdef;
    const char *sdef;
    list_parser_t parse_list;
} conf_key_t;

#define OFF(field) offsetof(vf_config_t, field)
#define INT(n, f, lo, hi, d) {n, K_INT, OFF(f), lo, hi, d, 0, NULL, NULL}
#define INT64(n, f, lo, hi, d) {n, K_INT64, OFF(f), lo, hi, d, 0, NULL, NULL}
#define BOOL(n, f, d) {n, K_BOOL, OFF(f), 0, 1, d, 0, NULL, NULL}
#define FLOAT(n, f, d) {n, K_FLOAT, OFF(f), 0, 0, 0, d, NULL, NULL}
#define STR(n, f, d) {n, K_STRING, OFF(f), 0, 0, 0, 0, d, NULL}
#define STRS(n, f, d) {n, K_STRINGS, OFF(f), 0, 0, 0, 0, d, NULL}
#define SECRET(n, f) {n, K_SECRET, OFF(f), 0, 0, 0, 0, NULL, NULL}
#define GROUP(n, f) {n, K_GROUP, OFF(f), 0, 0, 0, 0, NULL, NULL}
#define LIST(n, p) {n, K_LIST, 0, 0, 0, 0, 0, NULL, p}
#define END {NULL, K_INT, 0, 0, 0, 0, 0, NULL, NULL}

static int parse_renditions(vf_config_t *cfg, const config_setting_t *s, errs_t *e);
static int parse_jobtypes(vf_config_t *cfg, const config_setting_t *s, errs_t *e);

static const conf_key_t server_keys[] = {
    STR("listen_address", server.listen_address, "127.0.0.1"),
    INT("port", server.port, 1, 65535, 8000),
    INT("threads", server.threads, 0, 256, 0),
    INT64("max_body_size", server.max_body_size, 1024, INT64_C(1) << 32, 1048576),
    STRS("cors_origins", server.cors_origins, "http://localhost:4200,http://127.0.0.1:4200"),
    STR("public_origin", server.public_origin, "http://127.0.0.1:8000"),
    STRS("trusted_proxies", server.trusted_proxies, ""),
    INT("shutdown_timeout", server.shutdown_timeout, 0, 3600, 10),
    BOOL("access_log", server.access_log, 1),
    BOOL("serve_media", server.serve_media, 1),
    INT("catalog_max_stale", server.catalog_max_stale, 0, 3600, 60),
    INT("storage_threads", server.storage_threads, 1, 256, 4),
    INT("storage_queue", server.storage_queue, 1, 100000, 16),
    END};
static const conf_key_t log_keys[] = {
    STR("level", log.level, "info"), STR("format", log.format, "text"), STR("file", log.file, ""), END};
static const conf_key_t database_keys[] = {
    STR("conninfo", database.conninfo, "host=127.0.0.1 port=5432 dbname=videoflix user=videoflix"),
    SECRET("password", database.password),
    INT("connect_timeout", database.connect_timeout, 1, 300, 5),
    STR("migrations_dir", database.migrations_dir, VF_PKGDATADIR "/sql"),
    END};
static const conf_key_t redis_keys[] = {
    STR("host", redis.host, "127.0.0.1"),
    INT("port", redis.port, 1, 65535, 6379),
    SECRET("password", redis.password),
    INT("db", redis.db, 0, 1000, 0),
    STR("prefix", redis.prefix, "vf:"),
    INT("timeout_ms", redis.timeout_ms, 10, 600000, 2000),
    END};
static const conf_key_t plugins_keys[] = {STR("dir", plugins.dir, VF_PLUGINDIR), END};
static const conf_key_t storage_keys[] = {
    STR("plugin", storage.plugin, "storage_local"), GROUP("settings", storage.settings), END};
static const conf_key_t encoder_keys[] = {
    STR("plugin", encoder.plugin, "encoder_ffmpeg"), GROUP("settings", encoder.settings), END};
static const conf_key_t auth_keys[] = {
    SECRET("secret_key", auth.secret_key),
    INT("access_ttl", auth.access_ttl, 10, 86400, 300),
    INT("refresh_ttl", auth.refresh_ttl, 60, 31536000, 3600),
    INT("remember_ttl", auth.remember_ttl, 60, 31536000, 604800),
    INT("refresh_grace", auth.refresh_grace, 0, 3600, 30),
    STR("cookie_access", auth.cookie_access, "vf_access"),
    STR("cookie_refresh", auth.cookie_refresh, "vf_refresh"),
    BOOL("cookie_secure", auth.cookie_secure, 0),
    STR("cookie_samesite", auth.cookie_samesite, "Lax"),
    STR("cookie_domain", auth.cookie_domain, ""),
    INT("password_min_length", auth.password_min_length, 1, 1024, 8),
    INT("confirm_ttl", auth.confirm_ttl, 60, 31536000, 259200),
    INT("reset_ttl", auth.reset_ttl, 60, 31536000, 3600),
    STR("login_url", auth.login_url, "http://localhost:4200/login"),
    STR("reset_url", auth.reset_url, "http://localhost:4200/reset-password"),
    INT("hash_threads", auth.hash_threads, 1, 64, 2),
    END};
static const conf_key_t ratelimit_keys[] = {
    INT("window", ratelimit.window, 1, 86400, 60),
    INT("login_limit", ratelimit.login_limit, 0, 1000000, 10),
    INT("register_limit", ratelimit.register_limit, 0, 1000000, 5),
    INT("forgot_limit", ratelimit.forgot_limit, 0, 1000000, 5),
    INT("email_exists_limit", ratelimit.email_exists_limit, 0, 1000000, 120),
    END};
static const conf_key_t mail_keys[] = {
    STR("transport", mail.transport, "file"),
    STR("from", mail.from, "Videoflix <noreply@localhost>"),
    STR("dir", mail.dir, "var/mail"),
    STR("smtp_url", mail.smtp_url, ""),
    STR("smtp_user", mail.smtp_user, ""),
    SECRET("smtp_password", mail.smtp_password),
    STR("smtp_tls", mail.smtp_tls, "starttls"),
    STR("templates_dir", mail.templates_dir, VF_PKGDATADIR "/templates"),
    END};
static const conf_key_t queue_keys[] = {
    STR("stream", queue.stream, "jobs"),
    INT("visibility_timeout", queue.visibility_timeout, 1, 86400, 60),
    INT("max_attempts", queue.max_attempts, 1, 100, 5),
    INT("backoff_base", queue.backoff_base, 0, 3600, 2),
    INT("backoff_max", queue.backoff_max, 0, 86400, 600),
    INT("job_timeout", queue.job_timeout, 1, 604800, 3600),
    INT("history_size", queue.history_size, 0, 10000000, 1000),
    INT("failed_history_size", queue.failed_history_size, 0, 10000000, 1000),
    LIST("types", parse_jobtypes),
    END};
static const conf_key_t worker_keys[] = {
    INT("concurrency", worker.concurrency, 1, 256, 1),
    INT("shutdown_grace", worker.shutdown_grace, 0, 86400, 30),
    INT("heartbeat_interval", worker.heartbeat_interval, 1, 3600, 5),
    STR("name", worker.name, ""),
    END};
static const conf_key_t media_keys[] = {
    LIST("renditions", parse_renditions),
    BOOL("allow_upscale", media.allow_upscale, 0),
    STR("preset", media.preset, "veryfast"),
    INT("crf", media.crf, 0, 51, 28),
    INT("audio_bitrate", media.audio_bitrate, 8000, 1024000, 128000),
    FLOAT("thumbnail_at", media.thumbnail_at, -1.0),
    INT("max_width", media.max_width, 16, 16384, 7680),
    INT("max_height", media.max_height, 16, 16384, 4320),
    INT("max_duration", media.max_duration, 1, 604800, 14400),
    STR("job_split", media.job_split, "per_rendition"),
    STR("work_dir", media.work_dir, "/tmp"),
    INT("url_expires", media.url_expires, 1, 604800, 3600),
    STR("accel_redirect", media.accel_redirect, ""),
    STRS("outputs", media.outputs, "mp4,hls"),
    INT("hls_segment_seconds", media.hls_segment_seconds, 1, 15, 4),
    END};
static const conf_key_t upload_keys[] = {
    INT64("max_size", upload.max_size, 1, INT64_C(1) << 50, INT64_C(20) << 30),
    INT64("chunk_max", upload.chunk_max, 1024, INT64_C(1) << 31, INT64_C(16) << 20),
    INT("expire_after", upload.expire_after, 60, 31536000, 86400),
    END};
static const conf_key_t admin_keys[] = {
    STR("static_dir", admin.static_dir, VF_PKGDATADIR "/admin"),
    INT("events_heartbeat", admin.events_heartbeat, 1, 3600, 15),
    INT("events_backlog", admin.events_backlog, 8, 100000, 256),
    END};
static const conf_key_t metrics_keys[] = {
    STR("listen", metrics.listen, ""),
    STR("worker_listen", metrics.worker_listen, ""),
    END};

typedef struct section {
    const char *name;
    const conf_key_t *keys;
} section_t;

static const section_t sections[] = {
    {"server", server_keys},     {"log", log_keys},       {"database", database_keys},
    {"redis", redis_keys},       {"plugins", plugins_keys}, {"storage", storage_keys},
    {"encoder", encoder_keys},   {"auth", auth_keys},     {"ratelimit", ratelimit_keys},
    {"mail", mail_keys},         {"queue", queue_keys},   {"worker", worker_keys},
    {"media", media_keys},       {"upload", upload_keys}, {"admin", admin_keys},
    {"metrics", metrics_keys},   {NULL, NULL},
};

/* ------------------------------------------------------------------ errors */

static void err_at(errs_t *e, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void err_at(errs_t *e, const config_setting_t *s, const char *fmt, ...)
{
    const char *file = s ? config_setting_source_file(s) : NULL;
    if (!file)
        file = e->file;
    if (s && config_setting_source_line(s) > 0)
        fprintf(e->f, "%s:%u: ", file, config_setting_source_line(s));
    else
        fprintf(e->f, "%s: ", file);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->f, fmt, ap);
    va_end(ap);
    fputc('\n', e->f);
    e->count++;
}

static const char *type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_INT: return "an integer";
    case CONFIG_TYPE_INT64: return "a 64-bit integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    case CONFIG_TYPE_GROUP: return "a group";
    }
    return "a value";
}

/* ------------------------------------------------------------- key values */

static void *field(vf_config_t *cfg, const conf_key_t *k) { return (char *)cfg + k->off; }

static int set_strlist_from_csv(vf_strlist_t *l, const char *csv)
{
    l->items = NULL;
    l->n = 0;
    if (!csv || !*csv)
        return 0;
    char *copy = strdup(csv);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char **items = realloc(l->items, (l->n + 1) * sizeof *items);
        if (!items || !(items[l->n] = strdup(tok))) {
            if (items)
                l->items = items;
            free(copy);
            return -ENOMEM;
        }
        l->items = items;
        l->n++;
    }
    free(copy);
    return 0;
}

static void strlist_free(vf_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* A secret `x` may be written inline, or named through x_env / x_file. */
static int secret_suffix(const char *member, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(member, name, n) != 0)
        return 0;
    if (strcmp(member + n, "_env") == 0)
        return 1;
    if (strcmp(member + n, "_file") == 0)
        return 2;
    return 0;
}

/* Set the key from s; -1 when the value is refused (reported in e). */
static int apply_key(vf_config_t *cfg, const conf_key_t *k, const config_setting_t *s, errs_t *e,
                     const char *sec)
{
    int t = config_setting_type(s);
    switch (k->type) {
    case K_INT:
    case K_INT64: {
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
            err_at(e, s, "%s.%s must be an integer, not %s", sec, k->name, type_name(t));
            return -1;
        }
        long long v = config_setting_get_int64(s);
        if (v < k->min || v > k->max) {
            err_at(e, s, "%s.%s must be an integer in %lld..%lld", sec, k->name, (long long)k->min,
                   (long long)k->max);
            return -1;
        }
        if (k->type == K_INT)
            *(int *)field(cfg, k) = (int)v;
        else
            *(int64_t *)field(cfg, k) = v;
        return 0;
    }
    case K_BOOL:
        if (t != CONFIG_TYPE_BOOL) {
            err_at(e, s, "%s.%s must be true or false, not %s", sec, k->name, type_name(t));
            return -1;
        }
        *(int *)field(cfg, k) = config_setting_get_bool(s);
        return 0;
    case K_FLOAT:
        if (t == CONFIG_TYPE_FLOAT)
            *(double *)field(cfg, k) = config_setting_get_float(s);
        else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
            *(double *)field(cfg, k) = (double)config_setting_get_int64(s);
        else {
            err_at(e, s, "%s.%s must be a number, not %s", sec, k->name, type_name(t));
            return -1;
        }
        return 0;
    case K_STRING:
    case K_SECRET:
        if (t != CONFIG_TYPE_STRING) {
            err_at(e, s, "%s.%s must be a string, not %s", sec, k->name, type_name(t));
            return -1;
        }
        free(*(char **)field(cfg, k));
        *(char **)field(cfg, k) = strdup(config_setting_get_string(s));
        return 0;
    case K_STRINGS: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
            err_at(e, s, "%s.%s must be a list of strings like [\"a\", \"b\"], not %s", sec, k->name,
                   type_name(t));
            return -1;
        }
        vf_strlist_t *l = field(cfg, k);
        strlist_free(l);
        int n = config_setting_length(s);
        l->items = calloc((size_t)n + 1, sizeof *l->items);
        for (int i = 0; l->items && i < n; i++) {
            const config_setting_t *it = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(it) != CONFIG_TYPE_STRING) {
                err_at(e, it, "%s.%s[%d] must be a string", sec, k->name, i);
                continue;
            }
            l->items[l->n++] = strdup(config_setting_get_string(it));
        }
        return 0;
    }
    case K_GROUP:
        if (t != CONFIG_TYPE_GROUP) {
            err_at(e, s, "%s.%s must be a group { ... }, not %s", sec, k->name, type_name(t));
            return -1;
        }
        *(const config_setting_t **)field(cfg, k) = s;
        return 0;
    case K_LIST:
        return k->parse_list(cfg, s, e);
    }
    return -1;
}

static void fill_default(vf_config_t *cfg, const conf_key_t *k)
{
    switch (k->type) {
    case K_INT:
    case K_BOOL: *(int *)field(cfg, k) = (int)k->idef; break;
    case K_INT64: *(int64_t *)field(cfg, k) = k->idef; break;
    case K_FLOAT: *(double *)field(cfg, k) = k->fdef; break;
    case K_STRING: *(char **)field(cfg, k) = strdup(k->sdef); break;
    case K_STRINGS: set_strlist_from_csv(field(cfg, k), k->sdef); break;
    case K_SECRET:
    case K_GROUP:
    case K_LIST: break;
    }
}

static void walk_section(vf_config_t *cfg, const section_t *sec, const config_setting_t *group,
                         errs_t *e)
{
    size_t nkeys = 0;
    while (sec->keys[nkeys].name)
        nkeys++;
    unsigned char seen[64] = {0};
    const char *secret_env[64] = {0}, *secret_file[64] = {0};

    int n = group ? config_setting_length(group) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(m);
        size_t j;
        for (j = 0; j < nkeys; j++) {
            const conf_key_t *k = &sec->keys[j];
            if (strcmp(name, k->name) == 0) {
                /* A refused value (reported) leaves the default in place, so
                 * every field holds a value for the checks that follow. */
                seen[j] = apply_key(cfg, k, m, e, sec->name) == 0;
                break;
            }
            int suffix = k->type == K_SECRET ? secret_suffix(name, k->name) : 0;
            if (suffix) {
                if (config_setting_type(m) != CONFIG_TYPE_STRING)
                    err_at(e, m, "%s.%s must be a string", sec->name, name);
                else if (suffix == 1)
                    secret_env[j] = config_setting_get_string(m);
                else
                    secret_file[j] = config_setting_get_string(m);
                break;
            }
        }
        if (j == nkeys)
            err_at(e, m, "unknown setting '%s' in section '%s'", name, sec->name);
    }
    for (size_t j = 0; j < nkeys; j++) {
        const conf_key_t *k = &sec->keys[j];
        if (k->type == K_SECRET && !seen[j]) {
            char **dst = field(cfg, k);
            const char *v = secret_env[j] ? getenv(secret_env[j]) : NULL;
            if (v && *v)
                *dst = strdup(v);
            else if (secret_file[j]) {
                int rc = vf_read_first_line(secret_file[j], dst);
                if (rc < 0)
                    err_at(e, group, "%s.%s_file: cannot read '%s': %s", sec->name, k->name,
                           secret_file[j], strerror(-rc));
            }
        } else if (!seen[j])
            fill_default(cfg, k);
    }
}

/* media.renditions = ( { name = "120p"; height = 120; }, ... ); */
static int parse_renditions(vf_config_t *cfg, const config_setting_t *s, errs_t *e)
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST) {
        err_at(e, s, "media.renditions must be a list ( { name = \"720p\"; height = 720; }, ... )");
        return -1;
    }
    int n = config_setting_length(s);
    cfg->media.renditions = calloc((size_t)n + 1, sizeof *cfg->media.renditions);
    if (!cfg->media.renditions)
        return -1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        const config_setting_t *name = config_setting_get_member(g, "name");
        const config_setting_t *height = config_setting_get_member(g, "height");
        if (config_setting_type(g) != CONFIG_TYPE_GROUP || !name || !height ||
            config_setting_type(name) != CONFIG_TYPE_STRING ||
            config_setting_type(height) != CONFIG_TYPE_INT || config_setting_length(g) != 2) {
            err_at(e, g, "media.renditions[%d] must be { name = \"720p\"; height = 720; }", i);
            continue;
        }
        const char *nm = config_setting_get_string(name);
        int h = config_setting_get_int(height);
        if (h < 16 || h > 8640 || (h & 1)) {
            err_at(e, height, "media.renditions[%d].height must be an even number in 16..8640", i);
            continue;
        }
        if (!*nm || strlen(nm) > 16 || strspn(nm, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(nm)) {
            err_at(e, name, "media.renditions[%d].name must be 1-16 of a-z 0-9 _ -", i);
            continue;
        }
        for (size_t j = 0; j < cfg->media.nrenditions; j++)
            if (strcmp(cfg->media.renditions[j].name, nm) == 0)
                err_at(e, name, "media.renditions: '%s' appears twice", nm);
        if (!(cfg->media.renditions[cfg->media.nrenditions].name = strdup(nm)))
            return -1;
        cfg->media.renditions[cfg->media.nrenditions].height = h;
        cfg->media.nrenditions++;
    }
    if (n == 0)
        err_at(e, s, "media.renditions must name at least one rendition");
    return 0;
}

/* queue.types = ( { type = "transcode"; max_attempts = 3; timeout = 7200; }, ... ); */
static int parse_jobtypes(vf_config_t *cfg, const config_setting_t *s, errs_t *e)
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST) {
        err_at(e, s, "queue.types must be a list ( { type = \"transcode\"; max_attempts = 3; timeout = 7200; } )");
        return -1;
    }
    int n = config_setting_length(s);
    cfg->queue.types = calloc((size_t)n + 1, sizeof *cfg->queue.types);
    if (!cfg->queue.types)
        return -1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            err_at(e, g, "queue.types[%d] must be a group", i);
            continue;
        }
        vf_jobtype_conf_t jt = {NULL, 0, 0};
        int ok = 1;
        for (int j = 0; j < config_setting_length(g); j++) {
            const config_setting_t *m = config_setting_get_elem(g, (unsigned)j);
            const char *nm = config_setting_name(m);
            int t = config_setting_type(m);
            if (strcmp(nm, "type") == 0 && t == CONFIG_TYPE_STRING)
                jt.type = (char *)config_setting_get_string(m);
            else if (strcmp(nm, "max_attempts") == 0 && t == CONFIG_TYPE_INT &&
                     config_setting_get_int(m) >= 1 && config_setting_get_int(m) <= 100)
                jt.max_attempts = config_setting_get_int(m);
            else if (strcmp(nm, "timeout") == 0 && t == CONFIG_TYPE_INT && config_setting_get_int(m) >= 1)
                jt.timeout = config_setting_get_int(m);
            else {
                err_at(e, m, "queue.types[%d]: '%s' must be type (string), max_attempts (1..100) or timeout (seconds)", i, nm);
                ok = 0;
            }
        }
        if (!jt.type) {
            err_at(e, g, "queue.types[%d] needs type = \"...\"", i);
            ok = 0;
        }
        if (ok) {
            jt.type = strdup(jt.type);
            cfg->queue.types[cfg->queue.ntypes++] = jt;
        }
    }
    return 0;
}

static int default_renditions(vf_config_t *cfg)
{
    static const struct {
        const char *name;
        int height;
    } ladder[] = {{"120p", 120}, {"360p", 360}, {"720p", 720}, {"1080p", 1080}};
    size_t n = sizeof ladder / sizeof ladder[0];
    cfg->media.renditions = calloc(n, sizeof *cfg->media.renditions);
    if (!cfg->media.renditions)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        cfg->media.renditions[i].name = strdup(ladder[i].name);
        cfg->media.renditions[i].height = ladder[i].height;
    }
    cfg->media.nrenditions = n;
    return 0;
}

/* media.outputs: known names, each once, at least one. */
static void check_outputs(vf_config_t *cfg, errs_t *e)
{
    const config_setting_t *s = config_setting_lookup(config_root_setting(&cfg->cfg), "media.outputs");
    cfg->media.output_mp4 = cfg->media.output_hls = 0;
    for (size_t i = 0; i < cfg->media.outputs.n; i++) {
        const char *name = cfg->media.outputs.items[i];
        int *flag = strcmp(name, "mp4") == 0 ? &cfg->media.output_mp4
                    : strcmp(name, "hls") == 0 ? &cfg->media.output_hls
                                               : NULL;
        if (!flag)
            err_at(e, s, "media.outputs: '%s' is not an output (\"mp4\" or \"hls\")", name);
        else if (*flag)
            err_at(e, s, "media.outputs: '%s' appears twice", name);
        else
            *flag = 1;
    }
    if (cfg->media.outputs.n == 0)
        err_at(e, s, "media.outputs must name at least one of \"mp4\" and \"hls\"");
}

static void check_values(vf_config_t *cfg, errs_t *e)
{
    config_setting_t *root = config_root_setting(&cfg->cfg);
    const char *ss = cfg->auth.cookie_samesite;
    if (strcmp(ss, "Lax") && strcmp(ss, "Strict") && strcmp(ss, "None"))
        err_at(e, config_setting_lookup(root, "auth.cookie_samesite"),
               "auth.cookie_samesite must be \"Lax\", \"Strict\" or \"None\"");
    else if (strcmp(ss, "None") == 0 && !cfg->auth.cookie_secure)
        err_at(e, config_setting_lookup(root, "auth.cookie_samesite"),
               "auth.cookie_samesite = \"None\" requires auth.cookie_secure = true");
    if (cfg->auth.secret_key && strlen(cfg->auth.secret_key) < 32)
        err_at(e, config_setting_lookup(root, "auth"), "auth.secret_key must be at least 32 bytes");
    const char *tr = cfg->mail.transport;
    if (strcmp(tr, "file") && strcmp(tr, "smtp"))
        err_at(e, config_setting_lookup(root, "mail.transport"), "mail.transport must be \"file\" or \"smtp\"");
    else if (strcmp(tr, "smtp") == 0 && !*cfg->mail.smtp_url)
        err_at(e, config_setting_lookup(root, "mail"), "mail.transport = \"smtp\" needs mail.smtp_url");
    const char *tls = cfg->mail.smtp_tls;
    if (strcmp(tls, "starttls") && strcmp(tls, "implicit") && strcmp(tls, "none"))
        err_at(e, config_setting_lookup(root, "mail.smtp_tls"),
               "mail.smtp_tls must be \"starttls\", \"implicit\" or \"none\"");
    const char *split = cfg->media.job_split;
    if (strcmp(split, "per_rendition") && strcmp(split, "whole_ladder"))
        err_at(e, config_setting_lookup(root, "media.job_split"),
               "media.job_split must be \"per_rendition\" or \"whole_ladder\"");
    check_outputs(cfg, e);
    const char *accel = cfg->media.accel_redirect;
    size_t accel_len = strlen(accel);
    if (accel_len && (accel[0] != '/' || accel[accel_len - 1] != '/' || strpbrk(accel, "?#% \\")))
        err_at(e, config_setting_lookup(root, "media.accel_redirect"),
               "media.accel_redirect must be \"\" or a path such as \"/protected-media/\" (starting and ending"
               " with '/', without '?', '#', '%%', spaces or backslashes)");
    const char *const metrics_keys_checked[] = {"metrics.listen", "metrics.worker_listen"};
    const char *const metrics_values[] = {cfg->metrics.listen, cfg->metrics.worker_listen};
    for (size_t i = 0; i < 2; i++) {
        char host[256];
        int port;
        if (*metrics_values[i] && vf_metrics_listen_parse(metrics_values[i], host, sizeof host, &port) < 0)
            err_at(e, config_setting_lookup(root, metrics_keys_checked[i]),
                   "%s must be \"host:port\" (\"[::1]:port\" for IPv6) or \"\" for no listener",
                   metrics_keys_checked[i]);
    }
    vf_log_level_t lvl;
    if (vf_log_parse_level(cfg->log.level, &lvl) != 0)
        err_at(e, config_setting_lookup(root, "log.level"),
               "log.level must be \"error\", \"warning\", \"info\" or \"debug\"");
    vf_log_format_t format;
    if (vf_log_parse_format(cfg->log.format, &format) != 0)
        err_at(e, config_setting_lookup(root, "log.format"), "log.format must be \"text\" or \"json\"");
    if (*cfg->log.file && cfg->log.file[0] != '/')
        err_at(e, config_setting_lookup(root, "log.file"),
               "log.file must be an absolute path (or \"\" for stderr)");
    for (size_t i = 0; i < cfg->server.cors_origins.n; i++) {
        const char *o = cfg->server.cors_origins.items[i];
        if (strncmp(o, "http://", 7) && strncmp(o, "https://", 8))
            err_at(e, config_setting_lookup(root, "server.cors_origins"),
                   "server.cors_origins: '%s' is not an origin like http://host:port", o);
    }
    if (strncmp(cfg->server.public_origin, "http://", 7) && strncmp(cfg->server.public_origin, "https://", 8))
        err_at(e, config_setting_lookup(root, "server.public_origin"),
               "server.public_origin must start with http:// or https://");
}

static vf_config_t *finish(vf_config_t *cfg, int read_ok, char **errors, const char *name)
{
    errs_t e = {0};
    e.file = name;
    e.f = open_memstream(&e.buf, &e.len);
    if (!e.f) {
        vf_config_free(&cfg);
        return NULL;
    }
    if (!read_ok) {
        const char *f = config_error_file(&cfg->cfg);
        if (config_error_type(&cfg->cfg) == CONFIG_ERR_FILE_IO)
            fprintf(e.f, "%s: cannot read the file: %s\n", name, strerror(errno));
        else
            fprintf(e.f, "%s:%d: %s\n", f ? f : name, config_error_line(&cfg->cfg),
                    config_error_text(&cfg->cfg));
        e.count++;
    } else {
        const config_setting_t *root = config_root_setting(&cfg->cfg);
        for (int i = 0; i < config_setting_length(root); i++) {
            const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
            const section_t *sec = sections;
            while (sec->name && strcmp(sec->name, config_setting_name(m)) != 0)
                sec++;
            if (!sec->name)
                err_at(&e, m, "unknown section '%s'", config_setting_name(m));
            else if (config_setting_type(m) != CONFIG_TYPE_GROUP)
                err_at(&e, m, "'%s' must be a group: %s = { ... };", sec->name, sec->name);
        }
        for (const section_t *sec = sections; sec->name; sec++) {
            const config_setting_t *g = config_setting_get_member(root, sec->name);
            walk_section(cfg, sec, g && config_setting_type(g) == CONFIG_TYPE_GROUP ? g : NULL, &e);
        }
        if (!cfg->media.renditions)
            default_renditions(cfg);
        check_values(cfg, &e);
    }
    fclose(e.f);
    if (e.count) {
        if (errors)
            *errors = e.buf;
        else
            free(e.buf);
        vf_config_free(&cfg);
        return NULL;
    }
    free(e.buf);
    if (errors)
        *errors = NULL;
    return cfg;
}

const char *vf_config_default_path(const char *arg)
{
    if (arg && *arg)
        return arg;
    const char *env = getenv("VIDEOFLIX_CONFIG");
    if (env && *env)
        return env;
    return VF_SYSCONFDIR "/videoflix.conf";
}

vf_config_t *vf_config_load(const char *path, char **errors)
{
    vf_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    config_init(&cfg->cfg);
    cfg->path = strdup(path);
    /* Relative @include paths resolve against the config file's folder. */
    char *dir = strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            config_set_include_dir(&cfg->cfg, dir);
        }
        free(dir);
    }
    int ok = config_read_file(&cfg->cfg, path) == CONFIG_TRUE;
    return finish(cfg, ok, errors, path);
}

vf_config_t *vf_config_load_string(const char *text, const char *name, char **errors)
{
    vf_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    config_init(&cfg->cfg);
    cfg->path = strdup(name);
    int ok = config_read_string(&cfg->cfg, text) == CONFIG_TRUE;
    return finish(cfg, ok, errors, name);
}

void vf_config_free(vf_config_t **pcfg)
{
    vf_config_t *cfg = *pcfg;
    if (!cfg)
        return;
    for (const section_t *sec = sections; sec->name; sec++) {
        for (const conf_key_t *k = sec->keys; k->name; k++) {
            if (k->type == K_STRING || k->type == K_SECRET) {
                char **p = field(cfg, k);
                if (k->type == K_SECRET && *p)
                    explicit_bzero(*p, strlen(*p));
                free(*p);
            } else if (k->type == K_STRINGS)
                strlist_free(field(cfg, k));
        }
    }
    for (size_t i = 0; i < cfg->media.nrenditions; i++)
        free(cfg->media.renditions[i].name);
    free(cfg->media.renditions);
    for (size_t i = 0; i < cfg->queue.ntypes; i++)
        free(cfg->queue.types[i].type);
    free(cfg->queue.types);
    config_destroy(&cfg->cfg);
    free(cfg->path);
    free(cfg);
    *pcfg = NULL;
}

const vf_rendition_conf_t *vf_config_rendition(const vf_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->media.nrenditions; i++)
        if (strcmp(cfg->media.renditions[i].name, name) == 0)
            return &cfg->media.renditions[i];
    return NULL;
}

static const vf_jobtype_conf_t *jobtype(const vf_config_t *cfg, const char *type)
{
    for (size_t i = 0; i < cfg->queue.ntypes; i++)
        if (strcmp(cfg->queue.types[i].type, type) == 0)
            return &cfg->queue.types[i];
    return NULL;
}

int vf_config_job_max_attempts(const vf_config_t *cfg, const char *type)
{
    const vf_jobtype_conf_t *jt = jobtype(cfg, type);
    return jt && jt->max_attempts ? jt->max_attempts : cfg->queue.max_attempts;
}

int vf_config_job_timeout(const vf_config_t *cfg, const char *type)
{
    const vf_jobtype_conf_t *jt = jobtype(cfg, type);
    return jt && jt->timeout ? jt->timeout : cfg->queue.job_timeout;
}

int vf_config_origin_allowed(const vf_config_t *cfg, const char *origin, size_t len)
{
    for (size_t i = 0; i < cfg->server.cors_origins.n; i++) {
        const char *o = cfg->server.cors_origins.items[i];
        if (strlen(o) == len && memcmp(o, origin, len) == 0)
            return 1;
    }
    return 0;
}
