/*
 * worker_supervisor.c - the housekeeping thread of a worker process:
 *   - keeps the claim of every running job alive (re-claims its entry, which
 *     resets its idle time, well within queue.visibility_timeout) and cancels
 *     a job whose entry is no longer ours;
 *   - writes the progress handlers report (so that they need not talk to
 *     Redis, and may report from any thread);
 *   - moves retrying jobs whose backoff is over back into the stream;
 *   - writes the heartbeat (a hash with a TTL of 3 heartbeat intervals);
 *   - forgets consumers of dead workers once they hold no entries;
 *   - runs the chores subsystems registered (vf_worker_register_chore).
 */
#include "config.h"
#include "jobs/worker.h"
#include "jobs/worker_internal.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_US 100000LL
#define PROMOTE_INTERVAL_US 250000LL
#define PROGRESS_INTERVAL_US 500000LL
#define REAP_INTERVAL_US (60 * 1000000LL)
#define PROMOTE_BATCH "100"
#define MAX_CHORES 8

typedef struct chore {
    char name[64];
    vf_worker_chore_fn fn;
    int64_t interval_us;
} chore_t;

/* Filled before any worker thread starts, read by supervisor threads only. */
static chore_t chores[MAX_CHORES];
static int nchores;

int vf_worker_register_chore(const char *name, vf_worker_chore_fn fn, int interval_s)
{
    if (!name || !*name || strlen(name) >= sizeof chores[0].name || !fn || interval_s <= 0)
        return -EINVAL;
    int i = 0;
    while (i < nchores && strcmp(chores[i].name, name) != 0)
        i++;
    if (i == MAX_CHORES)
        return -ENOSPC;
    snprintf(chores[i].name, sizeof chores[i].name, "%s", name);
    chores[i].fn = fn;
    chores[i].interval_us = (int64_t)interval_s * 1000000;
    if (i == nchores)
        nchores++;
    return 0;
}

static void run_due_chores(vf_worker_t *w, int64_t next_run[MAX_CHORES], int64_t now)
{
    for (int i = 0; i < nchores; i++) {
        if (now < next_run[i])
            continue;
        vf_debug("worker: running the chore '%s'", chores[i].name);
        chores[i].fn(w->app);
        next_run[i] = vf_mono_us() + chores[i].interval_us;
    }
}

int vf_slot_running(slot_t *s, char entry[48], char id[VF_JOB_ID_SIZE])
{
    entry[0] = id[0] = '\0';
    pthread_mutex_lock(&s->lock);
    if (s->job) {
        snprintf(entry, 48, "%s", s->job->entry);
        snprintf(id, VF_JOB_ID_SIZE, "%s", s->job->id);
    }
    pthread_mutex_unlock(&s->lock);
    return entry[0] != '\0';
}

static void keepalive_all(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    for (int i = 0; i < w->nslots; i++) {
        slot_t *s = &w->slots[i];
        char entry[48], id[VF_JOB_ID_SIZE];
        if (!vf_slot_running(s, entry, id))
            continue;
        const char *args[] = {s->consumer, entry};
        redisReply *rep = vf_qscript_call(ctx->redis, w->base, VF_QS_KEEPALIVE, 2, args);
        if (!rep)
            return; /* Redis down: nobody else can claim it either */
        if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 0) {
            pthread_mutex_lock(&s->lock);
            /* Unless the slot finished that job meanwhile (its entry is gone
             * because it was acknowledged). */
            if (s->job && strcmp(s->job->entry, entry) == 0) {
                atomic_store(&s->job->cancel, VF_JOB_CANCEL_LOST);
                vf_warn("worker: job %s lost its claim (taken over or deleted); cancelling it", id);
            }
            pthread_mutex_unlock(&s->lock);
        } else if (rep->type == REDIS_REPLY_ERROR) {
            vf_error("worker: keep-alive of job %s: %s", id, rep->str);
        }
        freeReplyObject(rep);
    }
}

static void write_progress(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    for (int i = 0; i < w->nslots; i++) {
        slot_t *s = &w->slots[i];
        char entry[48] = "", id[VF_JOB_ID_SIZE] = "";
        int pct = 0;
        pthread_mutex_lock(&s->lock);
        if (s->job && atomic_load(&s->job->progress) != s->job->progress_written) {
            pct = atomic_load(&s->job->progress);
            snprintf(entry, sizeof entry, "%s", s->job->entry);
            snprintf(id, sizeof id, "%s", s->job->id);
        }
        pthread_mutex_unlock(&s->lock);
        if (!id[0])
            continue;
        char pctbuf[8];
        snprintf(pctbuf, sizeof pctbuf, "%d", pct);
        const char *args[] = {s->consumer, id, pctbuf};
        redisReply *rep = vf_qscript_call(ctx->redis, w->base, VF_QS_PROGRESS, 3, args);
        if (!rep)
            return;
        freeReplyObject(rep);
        pthread_mutex_lock(&s->lock);
        if (s->job && strcmp(s->job->entry, entry) == 0)
            s->job->progress_written = pct;
        pthread_mutex_unlock(&s->lock);
    }
}

static void promote_due(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    const char *args[] = {PROMOTE_BATCH};
    redisReply *rep = vf_qscript_call(ctx->redis, w->base, VF_QS_PROMOTE, 1, args);
    if (rep && rep->type == REDIS_REPLY_ERROR)
        vf_error("worker: moving due retries: %s", rep->str);
    if (rep)
        freeReplyObject(rep);
}

static void heartbeat(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    size_t cap = (size_t)w->nslots * (VF_JOB_ID_SIZE + 1) + 1, off = 0;
    char *jobs = malloc(cap);
    if (!jobs)
        return;
    jobs[0] = '\0';
    for (int i = 0; i < w->nslots; i++) {
        pthread_mutex_lock(&w->slots[i].lock);
        if (w->slots[i].job)
            off += (size_t)snprintf(jobs + off, cap - off, "%s%s", off ? " " : "", w->slots[i].job->id);
        pthread_mutex_unlock(&w->slots[i].lock);
    }
    int ttl = 3 * w->app->cfg->worker.heartbeat_interval;
    char key[VF_QUEUE_BASE_SIZE + 200];
    snprintf(key, sizeof key, "%s:worker:%s", w->base, w->id);
    int n = 0;
    n += vf_redis_append(ctx->redis,
                         "HSET %s id %s name %s host %s pid %d concurrency %d started_at %lld heartbeat_at %lld "
                         "jobs %s",
                         key, w->id, w->name, w->host, w->pid, w->nslots, (long long)w->started_ms,
                         (long long)(vf_now_us() / 1000), jobs) == 0;
    n += vf_redis_append(ctx->redis, "EXPIRE %s %d", key, ttl) == 0;
    n += vf_redis_append(ctx->redis, "SADD %s:workers %s", w->base, w->id) == 0;
    for (int i = 0; i < n; i++) {
        redisReply *rep = vf_redis_get_reply(ctx->redis);
        if (rep && rep->type == REDIS_REPLY_ERROR)
            vf_error("worker: heartbeat: %s", rep->str);
        else if (rep && i == 0)
            vf_metric_worker_heartbeat();
        if (rep)
            freeReplyObject(rep);
    }
    free(jobs);
}

static long long field_int(const redisReply *map, const char *name)
{
    for (size_t i = 0; i + 1 < map->elements; i += 2)
        if (map->element[i]->str && strcmp(map->element[i]->str, name) == 0)
            return map->element[i + 1]->integer;
    return -1;
}

static const char *field_str(const redisReply *map, const char *name)
{
    for (size_t i = 0; i + 1 < map->elements; i += 2)
        if (map->element[i]->str && strcmp(map->element[i]->str, name) == 0)
            return map->element[i + 1]->str;
    return NULL;
}

/* Consumers of workers whose heartbeat expired, once their entries were
 * taken over: they would otherwise pile up in the group forever. */
static void reap_dead_consumers(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    redisReply *rep = vf_redis_cmd(ctx->redis, "XINFO CONSUMERS %s %s", w->base, VF_QUEUE_GROUP);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return;
    }
    long long min_idle_ms = 2LL * w->app->cfg->queue.visibility_timeout * 1000;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *c = rep->element[i];
        const char *name = c->type == REDIS_REPLY_ARRAY ? field_str(c, "name") : NULL;
        const char *slash = name ? strrchr(name, '/') : NULL;
        if (!slash || field_int(c, "pending") != 0 || field_int(c, "idle") < min_idle_ms)
            continue;
        redisReply *alive = vf_redis_cmd(ctx->redis, "EXISTS %s:worker:%.*s", w->base, (int)(slash - name), name);
        int dead = alive && alive->type == REDIS_REPLY_INTEGER && alive->integer == 0;
        if (alive)
            freeReplyObject(alive);
        if (!dead)
            continue;
        const char *args[] = {name};
        redisReply *r = vf_qscript_call(ctx->redis, w->base, VF_QS_REAP, 1, args);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            vf_debug("worker: forgot consumer %s of a dead worker", name);
        if (r)
            freeReplyObject(r);
    }
    freeReplyObject(rep);
}

static void *supervisor_main(void *arg)
{
    vf_worker_t *w = arg;
    vf_thread_ctx_t *ctx = &w->supervisor_ctx;
    const vf_config_t *cfg = w->app->cfg;
    /* Three keep-alives per visibility timeout: one late one is harmless. */
    int64_t keepalive_us = (int64_t)cfg->queue.visibility_timeout * 1000000 / 3;
    if (keepalive_us < TICK_US)
        keepalive_us = TICK_US;
    int64_t heartbeat_us = (int64_t)cfg->worker.heartbeat_interval * 1000000;
    int64_t now = vf_mono_us();
    int64_t next_keepalive = now + keepalive_us, next_promote = now, next_heartbeat = now,
            next_progress = now, next_reap = now + REAP_INTERVAL_US / 4;
    int64_t next_chore[MAX_CHORES];
    for (int i = 0; i < MAX_CHORES; i++)
        next_chore[i] = now; /* every chore runs at start */
    while (!atomic_load(&w->supervisor_stop)) {
        now = vf_mono_us();
        if (now >= next_keepalive) {
            keepalive_all(w, ctx);
            next_keepalive = now + keepalive_us;
        }
        if (now >= next_progress) {
            write_progress(w, ctx);
            next_progress = now + PROGRESS_INTERVAL_US;
        }
        if (now >= next_promote && !atomic_load(&w->stopping)) {
            promote_due(w, ctx);
            next_promote = now + PROMOTE_INTERVAL_US;
        }
        if (now >= next_heartbeat) {
            heartbeat(w, ctx);
            next_heartbeat = now + heartbeat_us;
        }
        if (now >= next_reap) {
            reap_dead_consumers(w, ctx);
            next_reap = now + REAP_INTERVAL_US;
        }
        run_due_chores(w, next_chore, now);
        vf_sleep_us(TICK_US);
    }
    return NULL;
}

int vf_worker_supervisor_start(vf_worker_t *w)
{
    if (vf_thread_ctx_init(&w->supervisor_ctx, w->app, -2) < 0)
        return -ENOMEM;
    if (pthread_create(&w->supervisor, NULL, supervisor_main, w) != 0) {
        vf_thread_ctx_fini(&w->supervisor_ctx);
        return -EAGAIN;
    }
    w->supervisor_started = 1;
    return 0;
}

void vf_worker_supervisor_stop(vf_worker_t *w)
{
    if (!w->supervisor_started)
        return;
    atomic_store(&w->supervisor_stop, 1);
    pthread_join(w->supervisor, NULL);
    vf_thread_ctx_fini(&w->supervisor_ctx);
    w->supervisor_started = 0;
}

void vf_worker_deregister(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    if (!w->base[0])
        return;
    redisReply *rep = vf_redis_cmd(ctx->redis, "DEL %s:worker:%s", w->base, w->id);
    if (!rep)
        return;
    freeReplyObject(rep);
    rep = vf_redis_cmd(ctx->redis, "SREM %s:workers %s", w->base, w->id);
    if (rep)
        freeReplyObject(rep);
    for (int i = 0; i < w->nslots; i++) {
        const char *args[] = {w->slots[i].consumer};
        rep = vf_qscript_call(ctx->redis, w->base, VF_QS_REAP, 1, args);
        if (rep)
            freeReplyObject(rep);
    }
}
