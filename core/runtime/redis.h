/*
 * redis.h - one hiredis connection with reconnection.  One per thread.
 * Owns: connecting (AUTH, SELECT), reconnecting after a Redis restart without
 * stalling callers (a failed connect is not retried for a second), the key
 * prefix.
 * Must not: know any key layout (queue.c, auth.c, ... own theirs).
 */
#ifndef VF_REDIS_H
#define VF_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "config/conf.h"

typedef struct vf_redis vf_redis_t;

vf_redis_t *vf_redis_new(const vf_config_t *cfg);
void vf_redis_free(vf_redis_t **r);

/* Run a command (hiredis format).  Returns the reply (which may be of type
 * REDIS_REPLY_ERROR) or NULL when Redis cannot be reached; the caller
 * freeReplyObject()s it. */
redisReply *vf_redis_cmd(vf_redis_t *r, const char *fmt, ...);
redisReply *vf_redis_cmdargv(vf_redis_t *r, int argc, const char **argv, const size_t *lens);
/* Several commands in one round trip: append, then read each reply. */
int vf_redis_append(vf_redis_t *r, const char *fmt, ...);
redisReply *vf_redis_get_reply(vf_redis_t *r);

/* PING.  0, or -ECONNRESET with a message. */
int vf_redis_ping(vf_redis_t *r, char *err, size_t errlen);
/* The raw context for subscribers; NULL when disconnected. */
redisContext *vf_redis_context(vf_redis_t *r);
const char *vf_redis_last_error(vf_redis_t *r);

/* "<prefix><name>" into buf; returns buf. */
const char *vf_redis_key(const vf_redis_t *r, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
