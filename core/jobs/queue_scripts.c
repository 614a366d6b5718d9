/*
 * queue_scripts.c - the Lua scripts that move a job between states, and
 * calling them.  Each script runs atomically in Redis, so a job's stream
 * entry, its pending-entry claim, its hash and the per-state sorted sets
 * change together or not at all.
 *
 * Keys are built inside the scripts from the base passed in ARGV[1], so this
 * needs a single Redis server (not Redis Cluster).  Timestamps are Redis's
 * own clock (TIME) in milliseconds, so that hosts with skewed clocks agree
 * on backoff due times.
 */
#include "config.h"
#include "jobs/queue_internal.h"
#include "util/log.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV[1] = base, ARGV[2] = group; each script's own arguments follow. */
#define PRELUDE                                                                    \
    "local base, group = ARGV[1], ARGV[2]\n"                                       \
    "local function now_ms()\n"                                                    \
    "  local t = redis.call('TIME')\n"                                             \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"         \
    "end\n"                                                                        \
    "local function jkey(id) return base .. ':job:' .. id end\n"                   \
    /* A finished job's id stays known for an hour after its record is gone, so \
     * that an outbox row pushed twice (its deletion failed) is not run twice. */  \
    "local function tombstone(id) redis.call('SET', base .. ':gone:' .. id, 1, 'EX', 3600) end\n" \
    "local function owner(entry)\n"                                                \
    "  local p = redis.pcall('XPENDING', base, group, entry, entry, 1)\n"          \
    "  if type(p) ~= 'table' or p.err or not p[1] then return nil end\n"           \
    "  return p[1][2]\n"                                                           \
    "end\n"                                                                        \
    /* Every change of a job's state or progress is published on <base>:events \
     * (docs/queue.md): the admin's live view listens; nobody has to. */         \
    "local function notify(id, state, progress)\n"                                \
    "  redis.call('PUBLISH', base .. ':events', cjson.encode({id = id, state = state,\n" \
    "    progress = tonumber(progress) or 0, type = redis.call('HGET', base .. ':job:' .. id, 'type') or ''}))\n" \
    "end\n"                                                                        \
    "local function drop_entry(entry)\n"                                           \
    "  redis.pcall('XACK', base, group, entry)\n"                                  \
    "  redis.call('XDEL', base, entry)\n"                                          \
    "end\n"                                                                        \
    "local function trim(hist, size)\n"                                            \
    "  local n = redis.call('ZCARD', hist)\n"                                      \
    "  if n > size then\n"                                                         \
    "    local old = redis.call('ZRANGE', hist, 0, n - size - 1)\n"                \
    "    for _, id in ipairs(old) do redis.call('DEL', jkey(id)) tombstone(id) end\n" \
    "    redis.call('ZREMRANGEBYRANK', hist, 0, n - size - 1)\n"                   \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "local function enqueue(id, h, t)\n"                                           \
    "  local e = redis.call('XADD', base, '*', 'id', id)\n"                        \
    "  redis.call('HSET', h, 'state', 'queued', 'entry', e, 'queued_at', t)\n"     \
    "  redis.call('HDEL', h, 'run_at')\n"                                          \
    "  redis.call('ZADD', base .. ':queued', t, id)\n"                             \
    "  notify(id, 'queued', 0)\n"                                                  \
    "  return e\n"                                                                 \
    "end\n"                                                                        \
    /* A delivered entry runs only if it is still its job's current entry. */      \
    "local function start(entry, id, consumer)\n"                                  \
    "  local h = jkey(id)\n"                                                       \
    "  local f = redis.call('HMGET', h, 'state', 'entry', 'type', 'payload')\n"    \
    "  if (f[1] ~= 'queued' and f[1] ~= 'running') or f[2] ~= entry then\n"        \
    "    drop_entry(entry)\n"                                                      \
    "    return {'gone', id, entry}\n"                                             \
    "  end\n"                                                                      \
    "  local t = now_ms()\n"                                                       \
    "  local attempts = redis.call('HINCRBY', h, 'attempts', 1)\n"                 \
    "  redis.call('HSET', h, 'state', 'running', 'started_at', t, 'worker', consumer, 'progress', 0)\n" \
    "  redis.call('ZREM', base .. ':queued', id)\n"                                \
    "  redis.call('ZADD', base .. ':running', t, id)\n"                            \
    "  notify(id, 'running', 0)\n"                                                 \
    "  return {'ok', id, entry, f[3], f[4], attempts}\n"                           \
    "end\n"                                                                        \
    /* Ends a run: only the consumer that owns the entry may. */                   \
    "local function settle(consumer, entry, id)\n"                                 \
    "  if owner(entry) ~= consumer then return nil end\n"                          \
    "  drop_entry(entry)\n"                                                        \
    "  local h = jkey(id)\n"                                                       \
    "  if redis.call('EXISTS', h) == 0 then return nil end\n"                      \
    "  redis.call('ZREM', base .. ':running', id)\n"                               \
    "  return h\n"                                                                 \
    "end\n"

static const char *const bodies[VF_QS_COUNT] = {
    [VF_QS_PUSH] =
        "local id = ARGV[3]\n"
        "local h = jkey(id)\n"
        "if redis.call('EXISTS', h) == 1 or redis.call('EXISTS', base .. ':gone:' .. id) == 1 then return 0 end\n"
        "redis.call('HSET', h, 'id', id, 'type', ARGV[4], 'payload', ARGV[5], 'attempts', 0,\n"
        "           'progress', 0, 'created_at', ARGV[6])\n"
        "enqueue(id, h, now_ms())\n"
        "return 1\n",
    [VF_QS_TAKE] =
        "local consumer = ARGV[3]\n"
        "local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', base, '>')\n"
        "if not r then return false end\n"
        "local e = r[1][2][1]\n"
        "local fields, id = e[2], nil\n"
        "for i = 1, #fields, 2 do if fields[i] == 'id' then id = fields[i + 1] end end\n"
        "if not id then drop_entry(e[1]) return {'gone', '', e[1]} end\n"
        "return start(e[1], id, consumer)\n",
    [VF_QS_START] = "return start(ARGV[4], ARGV[5], ARGV[3])\n",
    [VF_QS_DONE] =
        "local h = settle(ARGV[3], ARGV[4], ARGV[5])\n"
        "if not h then return 0 end\n"
        "local t = now_ms()\n"
        "redis.call('HSET', h, 'state', 'done', 'finished_at', t, 'progress', 100, 'result', ARGV[6])\n"
        "redis.call('HDEL', h, 'error', 'run_at')\n"
        "redis.call('ZADD', base .. ':done', t, ARGV[5])\n"
        "notify(ARGV[5], 'done', 100)\n"
        "trim(base .. ':done', tonumber(ARGV[7]))\n"
        "return 1\n",
    [VF_QS_RETRY] =
        "local h = settle(ARGV[3], ARGV[4], ARGV[5])\n"
        "if not h then return 0 end\n"
        "if ARGV[8] == '1' then redis.call('HINCRBY', h, 'attempts', -1) end\n"
        "local due = now_ms() + tonumber(ARGV[7])\n"
        "redis.call('HSET', h, 'state', 'retrying', 'error', ARGV[6], 'run_at', due)\n"
        "redis.call('ZADD', base .. ':retrying', due, ARGV[5])\n"
        "notify(ARGV[5], 'retrying', 0)\n"
        "return 1\n",
    [VF_QS_FAIL] =
        "local h = settle(ARGV[3], ARGV[4], ARGV[5])\n"
        "if not h then return 0 end\n"
        "local t = now_ms()\n"
        "redis.call('HSET', h, 'state', 'failed', 'finished_at', t, 'error', ARGV[6])\n"
        "redis.call('HDEL', h, 'run_at')\n"
        "redis.call('ZADD', base .. ':failed', t, ARGV[5])\n"
        "notify(ARGV[5], 'failed', 0)\n"
        "trim(base .. ':failed', tonumber(ARGV[7]))\n"
        "return 1\n",
    /* Shutdown: the run does not count as an attempt. */
    [VF_QS_RELEASE] =
        "local h = settle(ARGV[3], ARGV[4], ARGV[5])\n"
        "if not h then return 0 end\n"
        "redis.call('HINCRBY', h, 'attempts', -1)\n"
        "redis.call('HDEL', h, 'started_at', 'worker')\n"
        "enqueue(ARGV[5], h, now_ms())\n"
        "return 1\n",
    /* Resets the entry's idle time, so no other worker's XAUTOCLAIM takes it. */
    [VF_QS_KEEPALIVE] =
        "if owner(ARGV[4]) ~= ARGV[3] then return 0 end\n"
        "redis.call('XCLAIM', base, group, ARGV[3], 0, ARGV[4], 'JUSTID')\n"
        "return 1\n",
    [VF_QS_PROGRESS] =
        "local h = jkey(ARGV[4])\n"
        "local f = redis.call('HMGET', h, 'state', 'worker')\n"
        "if f[1] ~= 'running' or f[2] ~= ARGV[3] then return 0 end\n"
        "redis.call('HSET', h, 'progress', ARGV[5])\n"
        "notify(ARGV[4], 'running', ARGV[5])\n"
        "return 1\n",
    [VF_QS_PROMOTE] =
        "local t = now_ms()\n"
        "local ids = redis.call('ZRANGEBYSCORE', base .. ':retrying', '-inf', t, 'LIMIT', 0, tonumber(ARGV[3]))\n"
        "for _, id in ipairs(ids) do\n"
        "  redis.call('ZREM', base .. ':retrying', id)\n"
        "  local h = jkey(id)\n"
        "  if redis.call('EXISTS', h) == 1 then enqueue(id, h, t) end\n"
        "end\n"
        "return #ids\n",
    [VF_QS_REQUEUE] =
        "local id = ARGV[3]\n"
        "local h = jkey(id)\n"
        "local st = redis.call('HGET', h, 'state')\n"
        "if not st then return 'missing' end\n"
        "if st == 'running' or st == 'queued' then return st end\n"
        "redis.call('ZREM', base .. ':' .. st, id)\n"
        "redis.call('HSET', h, 'attempts', 0, 'progress', 0)\n"
        "redis.call('HDEL', h, 'error', 'result', 'started_at', 'finished_at', 'worker')\n"
        "enqueue(id, h, now_ms())\n"
        "return 'ok'\n",
    /* Dropping a running job's entry makes its worker's next keep-alive fail,
     * which cancels the run. */
    [VF_QS_DELETE] =
        "local id = ARGV[3]\n"
        "local h = jkey(id)\n"
        "local f = redis.call('HMGET', h, 'state', 'entry')\n"
        "if not f[1] then return 0 end\n"
        "if f[2] and (f[1] == 'queued' or f[1] == 'running') then drop_entry(f[2]) end\n"
        "redis.call('ZREM', base .. ':' .. f[1], id)\n"
        "redis.call('DEL', h)\n"
        "tombstone(id)\n"
        "notify(id, 'deleted', 0)\n"
        "return 1\n",
    /* Staff stop a job that has not finished: it fails at once with `error`,
     * and a running one's worker loses its entry at its next keep-alive. */
    [VF_QS_CANCEL] =
        "local id = ARGV[3]\n"
        "local h = jkey(id)\n"
        "local f = redis.call('HMGET', h, 'state', 'entry')\n"
        "if not f[1] then return 'missing' end\n"
        "if f[1] ~= 'queued' and f[1] ~= 'running' and f[1] ~= 'retrying' then return f[1] end\n"
        "if f[2] and f[1] ~= 'retrying' then drop_entry(f[2]) end\n"
        "redis.call('ZREM', base .. ':' .. f[1], id)\n"
        "local t = now_ms()\n"
        "redis.call('HSET', h, 'state', 'failed', 'finished_at', t, 'error', ARGV[4])\n"
        "redis.call('HDEL', h, 'run_at', 'worker')\n"
        "redis.call('ZADD', base .. ':failed', t, id)\n"
        "notify(id, 'failed', 0)\n"
        "return 'ok'\n",
    /* XGROUP DELCONSUMER drops the consumer's pending entries too: only
     * delete consumers that hold none. */
    [VF_QS_REAP] =
        "local p = redis.pcall('XPENDING', base, group, '-', '+', 1, ARGV[3])\n"
        "if type(p) ~= 'table' or p.err or p[1] then return 0 end\n"
        "redis.call('XGROUP', 'DELCONSUMER', base, group, ARGV[3])\n"
        "return 1\n",
};

static char *sources[VF_QS_COUNT];
static char shas[VF_QS_COUNT][41];
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;
static int scripts_ok;

static void init_scripts(void)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < VF_QS_COUNT; i++) {
        size_t plen = strlen(PRELUDE), blen = strlen(bodies[i]);
        sources[i] = malloc(plen + blen + 1);
        if (!sources[i])
            return;
        memcpy(sources[i], PRELUDE, plen);
        memcpy(sources[i] + plen, bodies[i], blen + 1);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (EVP_Digest(sources[i], plen + blen, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
            return;
        for (unsigned j = 0; j < 20; j++) {
            shas[i][2 * j] = hex[md[j] >> 4];
            shas[i][2 * j + 1] = hex[md[j] & 15];
        }
        shas[i][40] = '\0';
    }
    scripts_ok = 1;
}

#define MAX_SCRIPT_ARGS 12

/* "EVALSHA sha 0 base group args..." (or EVAL source ...) into av. */
static int build_argv(const char **av, const char *verb, const char *body, const char *base,
                      int argc, const char **argv)
{
    if (argc > MAX_SCRIPT_ARGS)
        return -1;
    av[0] = verb;
    av[1] = body;
    av[2] = "0";
    av[3] = base;
    av[4] = VF_QUEUE_GROUP;
    for (int i = 0; i < argc; i++)
        av[5 + i] = argv[i];
    return 5 + argc;
}

int vf_qscript_is_noscript(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && rep->str && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

redisReply *vf_qscript_call(vf_redis_t *r, const char *base, vf_qscript_t s, int argc, const char **argv)
{
    pthread_once(&scripts_once, init_scripts);
    if (!scripts_ok)
        return NULL;
    const char *av[5 + MAX_SCRIPT_ARGS];
    int n = build_argv(av, "EVALSHA", shas[s], base, argc, argv);
    if (n < 0)
        return NULL;
    redisReply *rep = vf_redis_cmdargv(r, n, av, NULL);
    if (!vf_qscript_is_noscript(rep))
        return rep;
    freeReplyObject(rep);
    /* Redis restarted or never saw it: EVAL also caches it for EVALSHA. */
    build_argv(av, "EVAL", sources[s], base, argc, argv);
    return vf_redis_cmdargv(r, n, av, NULL);
}

int vf_qscript_append(vf_redis_t *r, const char *base, vf_qscript_t s, int argc, const char **argv)
{
    pthread_once(&scripts_once, init_scripts);
    if (!scripts_ok)
        return -ENOMEM;
    redisContext *c = vf_redis_context(r);
    if (!c)
        return -ECONNRESET;
    const char *av[5 + MAX_SCRIPT_ARGS];
    int n = build_argv(av, "EVALSHA", shas[s], base, argc, argv);
    if (n < 0)
        return -E2BIG;
    return redisAppendCommandArgv(c, n, av, NULL) == REDIS_OK ? 0 : -ENOMEM;
}

int vf_queue_reply_nogroup(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && rep->str && strstr(rep->str, "NOGROUP") != NULL;
}

int vf_queue_ensure_group(vf_redis_t *r, const char *base)
{
    /* From id 0: entries pushed before the group existed (the relay after a
     * Redis restart) must be delivered too.  The stream only ever holds
     * unfinished jobs, as finished entries are deleted. */
    redisReply *rep = vf_redis_cmd(r, "XGROUP CREATE %s %s 0 MKSTREAM", base, VF_QUEUE_GROUP);
    if (!rep)
        return -ECONNRESET;
    int ok = rep->type != REDIS_REPLY_ERROR || (rep->str && strncmp(rep->str, "BUSYGROUP", 9) == 0);
    if (!ok)
        vf_error("queue: cannot create the consumer group on %s: %s", base, rep->str);
    freeReplyObject(rep);
    return ok ? 0 : -EIO;
}

void vf_queue_base(const vf_thread_ctx_t *ctx, char base[VF_QUEUE_BASE_SIZE])
{
    vf_redis_key(ctx->redis, base, VF_QUEUE_BASE_SIZE, "%s", ctx->app->cfg->queue.stream);
}
