/*
 * queue_admin.c - looking at and managing jobs and workers: list, show,
 * requeue, delete, worker listing, counts.  Shared by the CLI (jobs_cli.c)
 * and the web dashboard; everything comes back as JSON objects.
 */
#include "config.h"
#include "jobs/queue_internal.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Listing order: what needs attention first. */
static const char *const index_states[] = {"running", "queued", "retrying", "failed", "done"};
#define NINDEX (sizeof index_states / sizeof index_states[0])

int vf_job_state_valid(const char *state)
{
    if (strcmp(state, "outbox") == 0)
        return 1;
    for (size_t i = 0; i < NINDEX; i++)
        if (strcmp(state, index_states[i]) == 0)
            return 1;
    return 0;
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n < 64 && strspn(id, "0123456789abcdef") == n;
}

static json_t *iso_from_ms(const char *ms)
{
    char buf[40];
    vf_time_iso8601(strtoll(ms, NULL, 10) * 1000, buf, sizeof buf);
    return json_string(buf);
}

/* Payload and result are JSON text; show them as JSON when they parse. */
static json_t *json_or_string(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    return v ? v : json_stringn(text, len);
}

static void add_common(json_t *o, const vf_config_t *cfg)
{
    const char *type = json_string_value(json_object_get(o, "type"));
    json_object_set_new(o, "max_attempts", json_integer(vf_config_job_max_attempts(cfg, type ? type : "")));
}

/* A job hash (HGETALL reply) as a job object; NULL when empty (no job). */
static json_t *job_from_hash(const redisReply *h, const vf_config_t *cfg)
{
    if (!h || h->type != REDIS_REPLY_ARRAY || h->elements < 2)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str;
        const redisReply *v = h->element[i + 1];
        if (!k || v->type != REDIS_REPLY_STRING)
            continue;
        json_t *jv;
        if (strcmp(k, "attempts") == 0 || strcmp(k, "progress") == 0)
            jv = json_integer(strtoll(v->str, NULL, 10));
        else if (strcmp(k, "payload") == 0 || strcmp(k, "result") == 0)
            jv = json_or_string(v->str, v->len);
        else if (strlen(k) > 3 && (strcmp(k + strlen(k) - 3, "_at") == 0))
            jv = iso_from_ms(v->str);
        else if (strcmp(k, "entry") == 0)
            continue;   /* an internal detail */
        else
            jv = json_stringn(v->str, v->len);
        json_object_set_new(o, k, jv);
    }
    add_common(o, cfg);
    return o;
}

static json_t *job_from_outbox(const PGresult *res, int row, const vf_config_t *cfg)
{
    char created[40];
    vf_time_iso8601(strtoll(PQgetvalue(res, row, 3), NULL, 10) * 1000, created, sizeof created);
    const char *payload = PQgetvalue(res, row, 2);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o}", "id", PQgetvalue(res, row, 0), "type",
                          PQgetvalue(res, row, 1), "state", "outbox", "attempts", 0, "progress", 0,
                          "created_at", created, "payload", json_or_string(payload, strlen(payload)));
    if (o)
        add_common(o, cfg);
    return o;
}

#define OUTBOX_COLUMNS "job_id, type, payload::text, (extract(epoch FROM created_at) * 1000)::bigint"

static int list_outbox(vf_thread_ctx_t *ctx, size_t limit, json_t *out)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[] = {lim};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, "SELECT " OUTBOX_COLUMNS " FROM job_outbox ORDER BY seq LIMIT $1::bigint",
                         1, params);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        json_array_append_new(out, job_from_outbox(res, i, ctx->app->cfg));
    PQclear(res);
    return ret;
}

/* HGETALL of each id in one round trip; appends the jobs still there. */
static int fetch_jobs(vf_thread_ctx_t *ctx, const char *base, const redisReply *ids, json_t *out)
{
    size_t sent = 0;
    int ret = 0;
    for (size_t i = 0; i < ids->elements; i++) {
        if (vf_redis_append(ctx->redis, "HGETALL %s:job:%s", base, ids->element[i]->str) < 0) {
            ret = -ECONNRESET;
            break;
        }
        sent++;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *h = vf_redis_get_reply(ctx->redis);
        if (!h)
            ret = -ECONNRESET;
        json_t *job = ret == 0 ? job_from_hash(h, ctx->app->cfg) : NULL;
        if (job)
            json_array_append_new(out, job);
        if (h)
            freeReplyObject(h);
    }
    return ret;
}

static int list_index(vf_thread_ctx_t *ctx, const char *base, const char *state, size_t limit, json_t *out)
{
    /* Finished jobs newest first; the others in the order they will move. */
    int newest_first = strcmp(state, "done") == 0 || strcmp(state, "failed") == 0;
    redisReply *ids = vf_redis_cmd(ctx->redis, newest_first ? "ZREVRANGE %s:%s 0 %lld" : "ZRANGE %s:%s 0 %lld",
                                   base, state, (long long)limit - 1);
    if (!ids)
        return -ECONNRESET;
    int ret = ids->type == REDIS_REPLY_ARRAY ? fetch_jobs(ctx, base, ids, out) : -EIO;
    freeReplyObject(ids);
    return ret;
}

int vf_queue_list(vf_thread_ctx_t *ctx, const char *state, size_t limit, json_t **out)
{
    *out = NULL;
    if (state && !vf_job_state_valid(state))
        return -EINVAL;
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    int ret = 0;
    for (size_t i = 0; i < NINDEX && ret == 0 && json_array_size(arr) < limit; i++)
        if (!state || strcmp(state, index_states[i]) == 0)
            ret = list_index(ctx, base, index_states[i], limit - json_array_size(arr), arr);
    if (ret == 0 && (!state || strcmp(state, "outbox") == 0) && json_array_size(arr) < limit)
        ret = list_outbox(ctx, limit - json_array_size(arr), arr);
    if (ret < 0) {
        json_decref(arr);
        return ret;
    }
    *out = arr;
    return 0;
}

int vf_queue_show(vf_thread_ctx_t *ctx, const char *id, json_t **out)
{
    *out = NULL;
    if (!valid_id(id))
        return -ENOENT;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    redisReply *h = vf_redis_cmd(ctx->redis, "HGETALL %s:job:%s", base, id);
    if (h) {
        *out = job_from_hash(h, ctx->app->cfg);
        freeReplyObject(h);
        if (*out)
            return 0;
    }
    const char *params[] = {id};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, "SELECT " OUTBOX_COLUMNS " FROM job_outbox WHERE job_id = $1", 1, params);
    if (ret == 0 && PQntuples(res) == 1)
        *out = job_from_outbox(res, 0, ctx->app->cfg);
    PQclear(res);
    if (*out)
        return 0;
    if (ret < 0)
        return ret;
    return h ? -ENOENT : -ECONNRESET;
}

static int in_outbox(vf_thread_ctx_t *ctx, const char *id)
{
    const char *params[] = {id};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, "SELECT 1 FROM job_outbox WHERE job_id = $1", 1, params);
    int found = ret == 0 && PQntuples(res) == 1;
    PQclear(res);
    return ret < 0 ? ret : found;
}

/* Run script s on job id (with one more argument when extra is not NULL)
 * and read the word it answers ("ok", "missing", a state) into word.
 * 0, -ENOENT for an id that cannot be one, -ECONNRESET or -EIO. */
static int job_script_word(vf_thread_ctx_t *ctx, vf_qscript_t s, const char *id, const char *extra, char *word,
                           size_t len)
{
    if (!valid_id(id))
        return -ENOENT;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    const char *args[] = {id, extra};
    redisReply *rep = vf_qscript_call(ctx->redis, base, s, extra ? 2 : 1, args);
    if (!rep)
        return -ECONNRESET;
    int ret = -EIO;
    if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) {
        snprintf(word, len, "%s", rep->str);
        ret = 0;
    } else {
        vf_error("queue: job %s: %s", id, rep->str ? rep->str : "unexpected reply");
    }
    freeReplyObject(rep);
    return ret;
}

int vf_queue_requeue(vf_thread_ctx_t *ctx, const char *id)
{
    char word[32];
    int ret = job_script_word(ctx, VF_QS_REQUEUE, id, NULL, word, sizeof word);
    if (ret < 0)
        return ret;
    if (strcmp(word, "ok") == 0)
        return 0;
    if (strcmp(word, "running") == 0)
        return -EBUSY;
    if (strcmp(word, "queued") == 0)
        return -EALREADY;
    return in_outbox(ctx, id) == 1 ? -EALREADY : -ENOENT;
}

int vf_queue_delete(vf_thread_ctx_t *ctx, const char *id)
{
    if (!valid_id(id))
        return -ENOENT;
    /* The outbox first, so that the relay cannot push it back meanwhile. */
    const char *params[] = {id};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, "DELETE FROM job_outbox WHERE job_id = $1", 1, params);
    int from_outbox = ret == 0 && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (ret < 0)
        return ret;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    const char *args[] = {id};
    redisReply *rep = vf_qscript_call(ctx->redis, base, VF_QS_DELETE, 1, args);
    if (!rep)
        return from_outbox ? 0 : -ECONNRESET;
    int from_redis = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    if (rep->type == REDIS_REPLY_ERROR)
        vf_error("queue: delete %s: %s", id, rep->str);
    freeReplyObject(rep);
    return from_outbox || from_redis ? 0 : -ENOENT;
}

/* --------------------------------------------------------------- workers */

static json_t *worker_from_hash(const redisReply *h)
{
    if (!h || h->type != REDIS_REPLY_ARRAY || h->elements < 2)
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; o && i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str;
        const redisReply *v = h->element[i + 1];
        if (!k || v->type != REDIS_REPLY_STRING)
            continue;
        json_t *jv;
        if (strcmp(k, "pid") == 0 || strcmp(k, "concurrency") == 0)
            jv = json_integer(strtoll(v->str, NULL, 10));
        else if (strcmp(k, "started_at") == 0 || strcmp(k, "heartbeat_at") == 0)
            jv = iso_from_ms(v->str);
        else if (strcmp(k, "jobs") == 0) {
            jv = json_array();
            char *copy = strndup(v->str, v->len), *save = NULL;
            for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
                json_array_append_new(jv, json_string(t));
            free(copy);
        } else
            jv = json_stringn(v->str, v->len);
        json_object_set_new(o, k, jv);
    }
    return o;
}

int vf_queue_workers(vf_thread_ctx_t *ctx, json_t **out)
{
    *out = NULL;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    redisReply *ids = vf_redis_cmd(ctx->redis, "SMEMBERS %s:workers", base);
    if (!ids)
        return -ECONNRESET;
    int ret = ids->type == REDIS_REPLY_ARRAY ? 0 : -EIO;
    json_t *arr = json_array();
    unsigned char *expired = calloc(ids->elements + 1, 1);
    if (!arr || !expired)
        ret = -ENOMEM;
    size_t sent = 0;
    for (size_t i = 0; ret == 0 && i < ids->elements; i++) {
        if (vf_redis_append(ctx->redis, "HGETALL %s:worker:%s", base, ids->element[i]->str) < 0)
            ret = -ECONNRESET;
        else
            sent++;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *h = vf_redis_get_reply(ctx->redis);
        if (!h) {
            ret = -ECONNRESET;
            continue;
        }
        json_t *w = ret == 0 ? worker_from_hash(h) : NULL;
        if (w)
            json_array_append_new(arr, w);
        else if (ret == 0)
            expired[i] = 1;
        freeReplyObject(h);
    }
    /* A heartbeat key that expired means the worker died. */
    for (size_t i = 0; ret == 0 && i < sent; i++) {
        if (!expired[i])
            continue;
        redisReply *r = vf_redis_cmd(ctx->redis, "SREM %s:workers %s", base, ids->element[i]->str);
        if (r)
            freeReplyObject(r);
    }
    freeReplyObject(ids);
    free(expired);
    if (ret < 0) {
        json_decref(arr);
        return ret;
    }
    *out = arr;
    return 0;
}

int vf_queue_counts(vf_thread_ctx_t *ctx, json_t **out)
{
    *out = NULL;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    json_t *o = json_object();
    int ret = o ? 0 : -ENOMEM;
    for (size_t i = 0; ret == 0 && i < NINDEX; i++) {
        redisReply *r = vf_redis_cmd(ctx->redis, "ZCARD %s:%s", base, index_states[i]);
        if (!r || r->type != REDIS_REPLY_INTEGER)
            ret = r ? -EIO : -ECONNRESET;
        else
            json_object_set_new(o, index_states[i], json_integer(r->integer));
        if (r)
            freeReplyObject(r);
    }
    PGresult *res = NULL;
    if (ret == 0)
        ret = vf_db_exec(ctx->db, &res, "SELECT count(*) FROM job_outbox", 0, NULL);
    if (ret == 0)
        json_object_set_new(o, "outbox", json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
    PQclear(res);
    if (ret < 0) {
        json_decref(o);
        return ret;
    }
    *out = o;
    return 0;
}

/* ---------------------------------------------------- the web dashboard */

int vf_queue_cancel(vf_thread_ctx_t *ctx, const char *id, const char *reason)
{
    char word[32];
    int ret = job_script_word(ctx, VF_QS_CANCEL, id, reason, word, sizeof word);
    if (ret < 0)
        return ret;
    if (strcmp(word, "ok") == 0)
        return 0;
    if (strcmp(word, "missing") == 0)
        return in_outbox(ctx, id) == 1 ? -EAGAIN : -ENOENT;
    return -EALREADY; /* done or failed already */
}

int vf_queue_stream_info(vf_thread_ctx_t *ctx, json_t **out)
{
    *out = NULL;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    redisReply *len = vf_redis_cmd(ctx->redis, "XLEN %s", base);
    redisReply *pend = len ? vf_redis_cmd(ctx->redis, "XPENDING %s %s", base, VF_QUEUE_GROUP) : NULL;
    int ret = 0;
    if (!len || !pend)
        ret = -ECONNRESET;
    else if (len->type != REDIS_REPLY_INTEGER)
        ret = -EIO;
    long long pending = 0;
    /* No group yet (no worker ever ran): nothing is pending. */
    if (ret == 0 && pend->type == REDIS_REPLY_ARRAY && pend->elements >= 1 &&
        pend->element[0]->type == REDIS_REPLY_INTEGER)
        pending = pend->element[0]->integer;
    else if (ret == 0 && !vf_queue_reply_nogroup(pend))
        ret = -EIO;
    if (ret == 0 && !(*out = json_pack("{s:s, s:I, s:I}", "stream", base, "length", (json_int_t)len->integer,
                                       "pending", (json_int_t)pending)))
        ret = -ENOMEM;
    if (len)
        freeReplyObject(len);
    if (pend)
        freeReplyObject(pend);
    return ret;
}

/* counts[type][state] += 1, creating what is missing. */
static void count_one(json_t *counts, const char *type, const char *state, json_int_t n)
{
    json_t *t = json_object_get(counts, type);
    if (!t) {
        t = json_object();
        json_object_set_new(counts, type, t);
    }
    json_t *c = json_object_get(t, state);
    json_object_set_new(t, state, json_integer((c ? json_integer_value(c) : 0) + n));
}

/* Every job of one state index, its type read in one pipelined round trip. */
static int count_index_by_type(vf_thread_ctx_t *ctx, const char *base, const char *state, json_t *counts)
{
    redisReply *ids = vf_redis_cmd(ctx->redis, "ZRANGE %s:%s 0 -1", base, state);
    if (!ids)
        return -ECONNRESET;
    int ret = ids->type == REDIS_REPLY_ARRAY ? 0 : -EIO;
    size_t sent = 0;
    for (size_t i = 0; ret == 0 && i < ids->elements; i++, sent++)
        if (vf_redis_append(ctx->redis, "HGET %s:job:%s type", base, ids->element[i]->str) < 0)
            ret = -ECONNRESET;
    for (size_t i = 0; i < sent; i++) {
        redisReply *t = vf_redis_get_reply(ctx->redis);
        if (!t)
            ret = -ECONNRESET;
        else if (t->type == REDIS_REPLY_STRING)
            count_one(counts, t->str, state, 1);
        if (t)
            freeReplyObject(t);
    }
    freeReplyObject(ids);
    return ret;
}

int vf_queue_counts_by_type(vf_thread_ctx_t *ctx, json_t **out)
{
    *out = NULL;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    json_t *counts = json_object();
    int ret = counts ? 0 : -ENOMEM;
    for (size_t i = 0; ret == 0 && i < NINDEX; i++)
        ret = count_index_by_type(ctx, base, index_states[i], counts);
    PGresult *res = NULL;
    if (ret == 0)
        ret = vf_db_exec(ctx->db, &res, "SELECT type, count(*) FROM job_outbox GROUP BY type", 0, NULL);
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        count_one(counts, PQgetvalue(res, i, 0), "outbox", strtoll(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    if (ret < 0) {
        json_decref(counts);
        return ret;
    }
    *out = counts;
    return 0;
}

/* How many index entries one page may look at when a type filter skips
 * most of them: a page can come back short, with a cursor to go on from. */
#define PAGE_SCAN_BUDGET 2000
#define PAGE_BATCH 100

typedef struct page_cursor {
    int set;
    char score[32];
    char id[VF_JOB_ID_SIZE];
} page_cursor_t;

/* "<score>:<id>" of a state index.  -EINVAL when it is not one. */
static int parse_index_cursor(const char *s, page_cursor_t *c)
{
    memset(c, 0, sizeof *c);
    if (!s)
        return 0;
    const char *colon = strchr(s, ':');
    size_t slen = colon ? (size_t)(colon - s) : 0;
    if (!colon || slen == 0 || slen >= sizeof c->score || strspn(s, "0123456789") != slen || !valid_id(colon + 1))
        return -EINVAL;
    memcpy(c->score, s, slen);
    snprintf(c->id, sizeof c->id, "%s", colon + 1);
    c->set = 1;
    return 0;
}

/* Whether (score, id) comes after the cursor in listing order (ties are
 * ordered by id as Redis orders them, reversed for newest-first lists). */
static int after_cursor(const page_cursor_t *c, const char *score, const char *id, int newest_first)
{
    if (!c->set || strcmp(score, c->score) != 0)
        return 1;
    return newest_first ? strcmp(id, c->id) < 0 : strcmp(id, c->id) > 0;
}

static int page_index(vf_thread_ctx_t *ctx, const char *base, const char *state, const char *type,
                      const page_cursor_t *cur, size_t limit, json_t *out, char *next, size_t nextlen)
{
    int newest_first = strcmp(state, "done") == 0 || strcmp(state, "failed") == 0;
    const char *bound = cur->set ? cur->score : newest_first ? "+inf" : "-inf";
    size_t offset = 0, scanned = 0;
    int ret = 0, more = 1;
    char last[sizeof cur->score + VF_JOB_ID_SIZE + 1] = "";
    while (ret == 0 && more && json_array_size(out) < limit && scanned < PAGE_SCAN_BUDGET) {
        /* hiredis's format knows no %zu. */
        redisReply *ids = newest_first ? vf_redis_cmd(ctx->redis, "ZREVRANGEBYSCORE %s:%s %s -inf WITHSCORES LIMIT %lld %d",
                                                      base, state, bound, (long long)offset, PAGE_BATCH)
                                       : vf_redis_cmd(ctx->redis, "ZRANGEBYSCORE %s:%s %s +inf WITHSCORES LIMIT %lld %d",
                                                      base, state, bound, (long long)offset, PAGE_BATCH);
        if (!ids)
            return -ECONNRESET;
        if (ids->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(ids);
            return -EIO;
        }
        size_t n = ids->elements / 2, sent = 0;
        offset += n;
        more = n == PAGE_BATCH;
        for (size_t i = 0; ret == 0 && i < n; i++, sent++)
            if (vf_redis_append(ctx->redis, "HGETALL %s:job:%s", base, ids->element[2 * i]->str) < 0)
                ret = -ECONNRESET;
        for (size_t i = 0; i < sent; i++) {
            redisReply *h = vf_redis_get_reply(ctx->redis);
            const char *id = ids->element[2 * i]->str, *score = ids->element[2 * i + 1]->str;
            if (!h)
                ret = -ECONNRESET;
            int wanted = ret == 0 && json_array_size(out) < limit && after_cursor(cur, score, id, newest_first);
            json_t *job = wanted ? job_from_hash(h, ctx->app->cfg) : NULL;
            if (wanted) {
                scanned++;
                snprintf(last, sizeof last, "%s:%s", score, id);
                if (i + 1 < n)
                    more = 1; /* entries left in this batch */
                else
                    more = n == PAGE_BATCH;
            }
            const char *jt = job ? json_string_value(json_object_get(job, "type")) : NULL;
            if (job && (!type || (jt && strcmp(jt, type) == 0)))
                json_array_append_new(out, job);
            else
                json_decref(job);
            if (h)
                freeReplyObject(h);
        }
        freeReplyObject(ids);
    }
    if (ret == 0 && more && last[0])
        snprintf(next, nextlen, "%s", last);
    return ret;
}

static int page_outbox(vf_thread_ctx_t *ctx, const char *type, const char *cursor, size_t limit, json_t *out,
                       char *next, size_t nextlen)
{
    int64_t after = 0;
    if (cursor && vf_parse_decimal(cursor, &after) != 0)
        return -EINVAL;
    char after_s[24], lim[24];
    snprintf(after_s, sizeof after_s, "%lld", (long long)after);
    snprintf(lim, sizeof lim, "%zu", limit + 1);
    const char *params[] = {after_s, lim, type};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT " OUTBOX_COLUMNS ", seq FROM job_outbox WHERE seq > $1::bigint"
                         " AND ($3::text IS NULL OR type = $3) ORDER BY seq LIMIT $2::bigint",
                         3, params);
    size_t n = ret == 0 ? (size_t)PQntuples(res) : 0;
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(out, job_from_outbox(res, (int)i, ctx->app->cfg));
    if (n > limit)
        snprintf(next, nextlen, "%s", PQgetvalue(res, (int)limit - 1, 4));
    PQclear(res);
    return ret;
}

int vf_queue_page(vf_thread_ctx_t *ctx, const char *state, const char *type, const char *cursor, size_t limit,
                  json_t **out, char *next, size_t nextlen)
{
    *out = NULL;
    next[0] = '\0';
    if (!state || !vf_job_state_valid(state))
        return -EINVAL;
    page_cursor_t cur = {0};
    if (strcmp(state, "outbox") != 0 && parse_index_cursor(cursor, &cur) != 0)
        return -EINVAL;
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    int ret = strcmp(state, "outbox") == 0 ? page_outbox(ctx, type, cursor, limit, arr, next, nextlen)
                                           : page_index(ctx, base, state, type, &cur, limit, arr, next, nextlen);
    if (ret < 0) {
        json_decref(arr);
        next[0] = '\0';
        return ret;
    }
    *out = arr;
    return 0;
}

void vf_queue_events_channel(const vf_thread_ctx_t *ctx, char *buf, size_t len)
{
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    snprintf(buf, len, "%s:events", base);
}
