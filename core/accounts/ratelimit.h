/*
 * ratelimit.h - abuse limits on the public account endpoints (login,
 * register, forgot-password, email-exists): counters in Redis per client
 * address and per email address, a sliding window of ratelimit.window
 * seconds, 429 with Retry-After when over.
 * Owns: the counter keys and the window arithmetic.
 * Must not: decide which endpoints are limited (their handlers do).
 */
#ifndef VF_RATELIMIT_H
#define VF_RATELIMIT_H

#include <stdint.h>

#include "http/http.h"
#include "runtime/redis.h"

/* Seconds until one more hit fits, given the previous and current windows'
 * counts, `elapsed_ms` into the current window of `window_s` seconds.  At
 * least 1. */
int vf_ratelimit_retry_after(int64_t prev, int64_t cur, int limit, int window_s, int64_t elapsed_ms);

/* Count one hit of `action` by `subject` ("ip:1.2.3.4", "email:a@b") at
 * now_ms.  1 allowed, 0 over the limit (*retry_after set), or a negative
 * errno when Redis cannot be asked.  A limit of 0 allows everything. */
int vf_ratelimit_hit(vf_redis_t *redis, const char *action, const char *subject, int limit, int window_s,
                     int64_t now_ms, int *retry_after);

/* For handlers: the client address and, when email is not NULL, the email.
 * 0 to go on; -1 after answering 429.  When Redis is down the request is
 * let through (logged): the limits guard against abuse, not correctness. */
int vf_ratelimit_request(vf_req_t *r, const char *action, int limit, const char *email);

#endif
