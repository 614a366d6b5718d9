/*
 * redis.c - see redis.h.  hiredis marks a context unusable after an I/O
 * error; we drop it then and connect afresh on the next command.
 */
#include "config.h"
#include "runtime/redis.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vf_redis {
    redisContext *ctx;
    char *host;
    int port;
    char *password;
    int db;
    char *prefix;
    int timeout_ms;
    int64_t retry_after_us;
    vf_complain_t complain;
    char last_error[256];
};

vf_redis_t *vf_redis_new(const vf_config_t *cfg)
{
    vf_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->host = strdup(cfg->redis.host);
    r->port = cfg->redis.port;
    r->password = cfg->redis.password ? strdup(cfg->redis.password) : NULL;
    r->db = cfg->redis.db;
    r->prefix = strdup(cfg->redis.prefix);
    r->timeout_ms = cfg->redis.timeout_ms;
    if (!r->host || !r->prefix || (cfg->redis.password && !r->password))
        vf_redis_free(&r);
    return r;
}

void vf_redis_free(vf_redis_t **pr)
{
    vf_redis_t *r = *pr;
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    free(r->host);
    if (r->password) {
        explicit_bzero(r->password, strlen(r->password));
        free(r->password);
    }
    free(r->prefix);
    free(r);
    *pr = NULL;
}

static void drop(vf_redis_t *r, const char *why)
{
    snprintf(r->last_error, sizeof r->last_error, "%s", why);
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}

static int setup(vf_redis_t *r)
{
    redisReply *rep;
    if (r->password) {
        rep = redisCommand(r->ctx, "AUTH %s", r->password);
        int ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            return -EACCES;
    }
    if (r->db) {
        rep = redisCommand(r->ctx, "SELECT %d", r->db);
        int ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            return -EINVAL;
    }
    return 0;
}

redisContext *vf_redis_context(vf_redis_t *r)
{
    if (r->ctx && r->ctx->err == 0)
        return r->ctx;
    if (r->ctx) {
        vf_metric_redis_reconnect();
        drop(r, r->ctx->errstr);
    }
    if (vf_mono_us() < r->retry_after_us)
        return NULL;
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    r->ctx = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->ctx || r->ctx->err) {
        drop(r, r->ctx ? r->ctx->errstr : "out of memory");
        goto fail;
    }
    if (redisSetTimeout(r->ctx, tv) != REDIS_OK) {
        drop(r, "cannot set the socket timeout");
        goto fail;
    }
    int rc = setup(r);
    if (rc < 0) {
        drop(r, rc == -EACCES ? "authentication failed" : "SELECT failed");
        goto fail;
    }
    if (r->complain.interval > 0)
        vf_info("redis: connected again to %s:%d", r->host, r->port);
    vf_complain_reset(&r->complain);
    return r->ctx;
fail:
    if (vf_complain_should_log(&r->complain, 60))
        vf_error("redis: cannot connect to %s:%d: %s", r->host, r->port, r->last_error);
    r->retry_after_us = vf_mono_us() + 1000000;
    return NULL;
}

static redisReply *checked(vf_redis_t *r, redisReply *rep)
{
    if (!rep) {
        const char *why = r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "connection lost";
        vf_warn("redis: %s", why);
        vf_metric_redis_reconnect();
        drop(r, why);
    }
    return rep;
}

redisReply *vf_redis_cmd(vf_redis_t *r, const char *fmt, ...)
{
    if (!vf_redis_context(r))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    return checked(r, rep);
}

redisReply *vf_redis_cmdargv(vf_redis_t *r, int argc, const char **argv, const size_t *lens)
{
    if (!vf_redis_context(r))
        return NULL;
    return checked(r, redisCommandArgv(r->ctx, argc, argv, lens));
}

int vf_redis_append(vf_redis_t *r, const char *fmt, ...)
{
    if (!vf_redis_context(r))
        return -ECONNRESET;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(r->ctx, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? 0 : -ENOMEM;
}

redisReply *vf_redis_get_reply(vf_redis_t *r)
{
    if (!r->ctx)
        return NULL;
    void *rep = NULL;
    if (redisGetReply(r->ctx, &rep) != REDIS_OK)
        rep = NULL;
    return checked(r, rep);
}

int vf_redis_ping(vf_redis_t *r, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt == 1)
            r->retry_after_us = 0;
        redisReply *rep = vf_redis_cmd(r, "PING");
        if (rep) {
            int ok = rep->type == REDIS_REPLY_STATUS;
            if (!ok)
                snprintf(r->last_error, sizeof r->last_error, "%s", rep->str ? rep->str : "bad reply");
            freeReplyObject(rep);
            if (ok)
                return 0;
            break;
        }
    }
    snprintf(err, errlen, "%s", r->last_error[0] ? r->last_error : "unavailable");
    return -ECONNRESET;
}

const char *vf_redis_last_error(vf_redis_t *r) { return r->last_error; }

const char *vf_redis_key(const vf_redis_t *r, char *buf, size_t len, const char *fmt, ...)
{
    int n = snprintf(buf, len, "%s", r->prefix);
    if (n < 0 || (size_t)n >= len)
        return buf;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}
