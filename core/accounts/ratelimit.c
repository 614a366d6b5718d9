/*
 * ratelimit.c - see ratelimit.h.
 *
 * Sliding window by interpolation: the estimate is
 *     previous_window_count * (1 - elapsed / window) + current_count,
 * two counters per subject instead of a log of every hit, and no burst of
 * twice the limit across a window boundary as with fixed windows.  The
 * check and the increment run in one Lua script, so concurrent requests in
 * several processes cannot both take the last slot; a refused hit is not
 * counted, so Retry-After tells the truth.
 */
#include "config.h"
#include "accounts/ratelimit.h"
#include "util/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static const char SCRIPT[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local prev = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "local limit = tonumber(ARGV[1])\n"
    "local w = tonumber(ARGV[2])\n"
    "local e = tonumber(ARGV[3])\n"
    "if prev * (w - e) / w + cur + 1 > limit then return {0, cur, prev} end\n"
    "redis.call('INCR', KEYS[1])\n"
    "redis.call('PEXPIRE', KEYS[1], 2 * w)\n"
    "return {1, cur + 1, prev}\n";

int vf_ratelimit_retry_after(int64_t prev, int64_t cur, int limit, int window_s, int64_t elapsed_ms)
{
    const double w = (double)window_s * 1000.0, e = (double)elapsed_ms;
    double wait_ms;
    /* Still in this window: the previous window's weight has to fade. */
    if (cur + 1 <= limit && prev > 0) {
        double t = w - e - (double)(limit - cur - 1) * w / (double)prev;
        if (t < 0)
            t = 0;
        if (t < w - e) {
            wait_ms = t;
            goto done;
        }
    }
    /* In the next window this one is the previous: it fades as well. */
    double into_next = 0;
    if (cur > 0 && cur > limit - 1)
        into_next = w - (double)(limit - 1) * w / (double)cur;
    if (into_next < 0)
        into_next = 0;
    wait_ms = (w - e) + into_next;
done: {
    int s = (int)((wait_ms + 999.0) / 1000.0);
    return s < 1 ? 1 : s;
}
}

int vf_ratelimit_hit(vf_redis_t *redis, const char *action, const char *subject, int limit, int window_s,
                     int64_t now_ms, int *retry_after)
{
    *retry_after = 0;
    if (limit <= 0)
        return 1;
    /* Subjects are hashed: keys then never hold addresses or emails. */
    unsigned char h[16];
    char hex[33];
    crypto_generichash(h, sizeof h, (const unsigned char *)subject, strlen(subject), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    int64_t wms = (int64_t)window_s * 1000;
    int64_t index = now_ms / wms, elapsed = now_ms % wms;
    char cur_key[160], prev_key[160];
    vf_redis_key(redis, cur_key, sizeof cur_key, "rl:%s:%s:%lld", action, hex, (long long)index);
    vf_redis_key(redis, prev_key, sizeof prev_key, "rl:%s:%s:%lld", action, hex, (long long)(index - 1));
    redisReply *rep = vf_redis_cmd(redis, "EVAL %s 2 %s %s %d %lld %lld", SCRIPT, cur_key, prev_key, limit,
                                   (long long)wms, (long long)elapsed);
    if (!rep)
        return -ECONNRESET;
    int ret = -EIO;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 && rep->element[0]->type == REDIS_REPLY_INTEGER &&
        rep->element[1]->type == REDIS_REPLY_INTEGER && rep->element[2]->type == REDIS_REPLY_INTEGER) {
        ret = rep->element[0]->integer ? 1 : 0;
        if (!ret)
            *retry_after = vf_ratelimit_retry_after(rep->element[2]->integer, rep->element[1]->integer, limit,
                                                    window_s, elapsed);
    } else {
        vf_warn("ratelimit: unexpected answer from Redis: %s",
                rep->type == REDIS_REPLY_ERROR && rep->str ? rep->str : "not a 3-element array");
    }
    freeReplyObject(rep);
    return ret;
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int vf_ratelimit_request(vf_req_t *r, const char *action, int limit, const char *email)
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    char ip[128], subject[512];
    vf_req_client_ip(r, ip, sizeof ip);
    int64_t now = now_ms();
    int retry = 0, worst = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            snprintf(subject, sizeof subject, "ip:%s", ip);
        else if (email && *email)
            snprintf(subject, sizeof subject, "email:%s", email);
        else
            break;
        int rc = vf_ratelimit_hit(r->ctx->redis, action, subject, limit, cfg->ratelimit.window, now, &retry);
        if (rc < 0) {
            static vf_complain_t complain;
            if (vf_complain_should_log(&complain, 60))
                vf_warn("ratelimit: Redis unavailable, %s is not limited meanwhile", action);
            return 0;
        }
        if (rc == 0 && retry > worst)
            worst = retry;
    }
    if (!worst)
        return 0;
    char value[16], msg[128];
    snprintf(value, sizeof value, "%d", worst);
    snprintf(msg, sizeof msg, "Request was throttled. Expected available in %d second%s.", worst,
             worst == 1 ? "" : "s");
    vf_reply_header(r, "Retry-After", value);
    vf_reply_msg(r, 429, "detail", msg);
    return -1;
}
