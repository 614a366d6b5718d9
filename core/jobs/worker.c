/*
 * worker.c - `videoflix worker`.  Threads of one worker process:
 *   - N slot threads (worker.concurrency), each a consumer of the group with
 *     its own vf_thread_ctx_t, taking one job at a time and settling it
 *     (done / retry with backoff / failed / back to the queue);
 *   - the supervisor (worker_supervisor.c): claim keep-alive, due retries,
 *     heartbeat, forgetting dead consumers;
 *   - the outbox relay (queue.c);
 *   - the main thread, which waits for SIGTERM/SIGINT and drains: no new
 *     jobs, running ones get worker.shutdown_grace seconds, then are
 *     cancelled and returned to the queue for another worker to take at once.
 */
#include "config.h"
#include "jobs/worker.h"
#include "jobs/queue_internal.h"
#include "jobs/worker_internal.h"
#include "runtime/db.h"
#include "runtime/reload.h"
#include "util/exit.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/sd_notify.h"
#include "util/timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* On shutdown, stop waiting for an unreachable Redis to settle a job this
 * long after running jobs were cancelled; the entry is then reclaimed by
 * another worker later.  Also how long a handler may ignore cancellation. */
#define STUCK_AFTER_CANCEL_US (10 * 1000000LL)
#define REDIS_RETRY_US 250000

/* ------------------------------------------------------------- settling */

typedef enum { OUTCOME_DONE, OUTCOME_RETRY, OUTCOME_FAIL, OUTCOME_RELEASE, OUTCOME_DEFER } outcome_t;

static const char *const outcome_name[] = {"done", "retry", "failed", "returned to the queue",
                                           "deferred (not counted as an attempt)"};
/* The state each outcome leaves the job in, as the metrics label it. */
static const char *const outcome_metric[] = {"done", "retrying", "failed", "returned", "deferred"};

/* Run the outcome's script, waiting out a Redis outage (the claim is kept
 * alive meanwhile by the supervisor) unless the worker must exit. */
static void settle(vf_worker_t *w, slot_t *s, vf_job_t *job, outcome_t outcome, const char *error,
                   int64_t delay_ms)
{
    const vf_config_t *cfg = w->app->cfg;
    char num[24];
    char *result = NULL;
    const char *args[6] = {s->consumer, job->entry, job->id};
    int argc = 3;
    vf_qscript_t script = VF_QS_RELEASE;
    switch (outcome) {
    case OUTCOME_DONE:
        result = job->result ? json_dumps(job->result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        snprintf(num, sizeof num, "%d", cfg->queue.history_size);
        args[3] = result ? result : "null";
        args[4] = num;
        argc = 5;
        script = VF_QS_DONE;
        break;
    case OUTCOME_RETRY:
    case OUTCOME_DEFER:
        snprintf(num, sizeof num, "%lld", (long long)delay_ms);
        args[3] = error;
        args[4] = num;
        args[5] = outcome == OUTCOME_DEFER ? "1" : "0";
        argc = 6;
        script = VF_QS_RETRY;
        break;
    case OUTCOME_FAIL:
        snprintf(num, sizeof num, "%d", cfg->queue.failed_history_size);
        args[3] = error;
        args[4] = num;
        argc = 5;
        script = VF_QS_FAIL;
        break;
    case OUTCOME_RELEASE:
        break;
    }
    redisReply *rep;
    while (!(rep = vf_qscript_call(s->ctx.redis, w->base, script, argc, args))) {
        s->redis_ok_since_us = 0;
        int64_t give_up = atomic_load(&w->give_up_us);
        if (give_up && vf_mono_us() > give_up) {
            vf_warn("worker: job %s (%s): Redis unreachable, leaving it to be reclaimed", job->id, job->type);
            free(result);
            return;
        }
        vf_sleep_us(REDIS_RETRY_US);
    }
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
        vf_metric_job_settled(job->type, outcome_metric[outcome],
                              job->started_us ? vf_mono_us() - job->started_us : 0);
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
        vf_log(outcome == OUTCOME_DONE ? VF_LOG_DEBUG : VF_LOG_INFO, NULL, "worker: job %s (%s) attempt %d: %s%s%s",
               job->id, job->type, job->attempt, outcome_name[outcome], error ? ": " : "", error ? error : "");
    else if (rep->type == REDIS_REPLY_INTEGER)
        vf_warn("worker: job %s (%s): no longer ours (taken over or deleted); outcome '%s' dropped", job->id,
                job->type, outcome_name[outcome]);
    else
        vf_error("worker: job %s (%s): %s", job->id, job->type, rep->str ? rep->str : "unexpected reply");
    freeReplyObject(rep);
    free(result);
}

static void run_job(vf_worker_t *w, slot_t *s, vf_job_t *job)
{
    const vf_config_t *cfg = w->app->cfg;
    job->consumer = s->consumer;
    job->base = w->base;
    job->ctx = &s->ctx;
    job->max_attempts = vf_config_job_max_attempts(cfg, job->type);
    job->timeout_s = vf_config_job_timeout(cfg, job->type);
    atomic_store(&job->cancel, VF_JOB_RUN);
    atomic_store(&job->progress, 0);

    pthread_mutex_lock(&s->lock);
    s->job = job;
    pthread_mutex_unlock(&s->lock);

    char err[512] = "";
    int rc;
    if (job->attempt > job->max_attempts) {
        /* Earlier runs never finished: their workers died or lost it. */
        snprintf(err, sizeof err, "gave up after %d attempts: the workers running it stopped without finishing",
                 job->max_attempts);
        settle(w, s, job, OUTCOME_FAIL, err, 0);
        goto out;
    }
    if (atomic_load(&w->stopping)) {
        settle(w, s, job, OUTCOME_RELEASE, NULL, 0);
        goto out;
    }
    vf_job_handler_fn fn = vf_worker_handler(job->type);
    int64_t started = job->started_us = vf_mono_us();
    job->deadline_mono_us = started + (int64_t)job->timeout_s * 1000000;
    vf_debug("worker: job %s (%s) attempt %d/%d started", job->id, job->type, job->attempt, job->max_attempts);
    if (fn) {
        rc = fn(job, &s->ctx, err, sizeof err);
    } else {
        snprintf(err, sizeof err, "no handler for job type '%s' in this worker", job->type);
        rc = -ENOSYS;
    }
    /* A handler must not leave a transaction open on the thread's connection. */
    PGconn *conn = vf_db_conn(s->ctx.db);
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        vf_warn("worker: job %s (%s) left a transaction open; rolled back", job->id, job->type);
        vf_db_rollback(s->ctx.db);
    }
    int reason = atomic_load(&job->cancel);
    if (reason == VF_JOB_RUN && rc < 0 && vf_mono_us() >= job->deadline_mono_us)
        reason = VF_JOB_CANCEL_TIMEOUT;

    if (reason == VF_JOB_CANCEL_LOST) {
        vf_warn("worker: job %s (%s): stopped, another worker took it over or it was deleted", job->id,
                job->type);
    } else if (rc == 0) {
        settle(w, s, job, OUTCOME_DONE, NULL, 0);
    } else if (reason == VF_JOB_CANCEL_STOP) {
        settle(w, s, job, OUTCOME_RELEASE, NULL, 0);
    } else {
        char msg[640];
        if (reason == VF_JOB_CANCEL_TIMEOUT)
            snprintf(msg, sizeof msg, "attempt %d: timed out after %d s%s%s", job->attempt, job->timeout_s,
                     err[0] ? ": " : "", err);
        else
            snprintf(msg, sizeof msg, "attempt %d: %s", job->attempt, err[0] ? err : strerror(-rc));
        if (rc == VF_JOB_DEFER && reason == VF_JOB_RUN)
            settle(w, s, job, OUTCOME_DEFER, msg,
                   vf_worker_backoff_ms(cfg->queue.backoff_base, cfg->queue.backoff_max, 1));
        else if (rc == VF_JOB_FAIL_PERMANENT || job->attempt >= job->max_attempts)
            settle(w, s, job, OUTCOME_FAIL, msg, 0);
        else
            settle(w, s, job, OUTCOME_RETRY, msg,
                   vf_worker_backoff_ms(cfg->queue.backoff_base, cfg->queue.backoff_max, job->attempt));
    }
out:
    pthread_mutex_lock(&s->lock);
    s->job = NULL;
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------- taking */

/* 1: a job to run in *job; 0: nothing came; -EAGAIN: try again at once;
 * other negative: Redis trouble (pause before trying again). */
static int from_start_reply(vf_worker_t *w, slot_t *s, redisReply *rep, vf_job_t *job)
{
    if (!rep)
        return -ECONNRESET;
    int ret = 0;
    if (rep->type == REDIS_REPLY_NIL) {
        ret = 0;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        if (vf_queue_reply_nogroup(rep)) {
            /* Redis restarted empty: the group goes with it. */
            vf_queue_ensure_group(s->ctx.redis, w->base);
            ret = -EAGAIN;
        } else {
            vf_error("worker: %s", rep->str);
            ret = -EIO;
        }
    } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 && rep->element[0]->str &&
               strcmp(rep->element[0]->str, "gone") == 0) {
        ret = -EAGAIN; /* a deleted or superseded entry, dropped by the script */
    } else if (vf_job_from_reply(job, rep) == 0) {
        ret = 1;
    } else {
        vf_error("worker: unexpected reply when taking a job");
        ret = -EIO;
    }
    freeReplyObject(rep);
    return ret;
}

static const char *entry_job_id(const redisReply *fields)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return "";
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->str && strcmp(fields->element[i]->str, "id") == 0 && fields->element[i + 1]->str)
            return fields->element[i + 1]->str;
    return "";
}

static int start_entry(vf_worker_t *w, slot_t *s, const redisReply *entry, vf_job_t *job)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 || !entry->element[0]->str)
        return -EAGAIN;
    const char *args[] = {s->consumer, entry->element[0]->str, entry_job_id(entry->element[1])};
    return from_start_reply(w, s, vf_qscript_call(s->ctx.redis, w->base, VF_QS_START, 3, args), job);
}

/* Take over one entry whose worker vanished (idle past the visibility
 * timeout).  Scans the pending list a little further on each call. */
static int autoclaim(vf_worker_t *w, slot_t *s, vf_job_t *job)
{
    char idle[24];
    snprintf(idle, sizeof idle, "%lld", (long long)w->app->cfg->queue.visibility_timeout * 1000);
    redisReply *rep = vf_redis_cmd(s->ctx.redis, "XAUTOCLAIM %s %s %s %s %s COUNT 1", w->base, VF_QUEUE_GROUP,
                                   s->consumer, idle, s->autoclaim_cursor);
    if (!rep)
        return -ECONNRESET;
    int ret = 0;
    int64_t now = vf_mono_us();
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 && rep->element[0]->str) {
        snprintf(s->autoclaim_cursor, sizeof s->autoclaim_cursor, "%s", rep->element[0]->str);
        const redisReply *entries = rep->element[1];
        if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0) {
            vf_info("worker: taking over job entry %s, idle for more than %d s",
                    entries->element[0]->type == REDIS_REPLY_ARRAY && entries->element[0]->elements
                        ? entries->element[0]->element[0]->str
                        : "?",
                    w->app->cfg->queue.visibility_timeout);
            ret = start_entry(w, s, entries->element[0], job);
        }
        /* More to scan (or just found one): look again soon. */
        int more = strcmp(s->autoclaim_cursor, "0-0") != 0 || ret != 0;
        s->next_autoclaim_us = now + (more ? 0 : AUTOCLAIM_INTERVAL_US);
    } else {
        if (vf_queue_reply_nogroup(rep))
            vf_queue_ensure_group(s->ctx.redis, w->base);
        else
            vf_error("worker: XAUTOCLAIM: %s", rep->str ? rep->str : "unexpected reply");
        snprintf(s->autoclaim_cursor, sizeof s->autoclaim_cursor, "0-0");
        s->next_autoclaim_us = now + AUTOCLAIM_INTERVAL_US;
        ret = -EAGAIN;
    }
    freeReplyObject(rep);
    return ret;
}

static int wait_for_entry(vf_worker_t *w, slot_t *s, vf_job_t *job)
{
    int block_ms = w->app->cfg->redis.timeout_ms / 2;
    if (block_ms > 1000)
        block_ms = 1000;
    redisReply *rep = vf_redis_cmd(s->ctx.redis, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >",
                                   VF_QUEUE_GROUP, s->consumer, block_ms, w->base);
    if (!rep)
        return -ECONNRESET;
    int ret = 0;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1) {
        const redisReply *stream = rep->element[0];
        if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2 &&
            stream->element[1]->type == REDIS_REPLY_ARRAY && stream->element[1]->elements == 1)
            ret = start_entry(w, s, stream->element[1]->element[0], job);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        if (vf_queue_reply_nogroup(rep)) {
            vf_queue_ensure_group(s->ctx.redis, w->base);
            ret = -EAGAIN;
        } else {
            vf_error("worker: XREADGROUP: %s", rep->str);
            ret = -EIO;
        }
    }
    freeReplyObject(rep);
    return ret;
}

/* One job for this slot: a vanished worker's first, then a new one without
 * waiting (one round trip), then wait on the stream for up to a second.
 * After a Redis outage every entry looks idle: a slot takes nothing over
 * before it has been in touch with Redis for one visibility timeout, so
 * that the owners, cut off too, renew their claims first. */
static int acquire(vf_worker_t *w, slot_t *s, vf_job_t *job)
{
    int ret = 0;
    int64_t now = vf_mono_us();
    int64_t vt_us = (int64_t)w->app->cfg->queue.visibility_timeout * 1000000;
    if (now >= s->next_autoclaim_us && s->redis_ok_since_us && now - s->redis_ok_since_us > vt_us)
        ret = autoclaim(w, s, job);
    if (ret == 0) {
        const char *args[] = {s->consumer};
        ret = from_start_reply(w, s, vf_qscript_call(s->ctx.redis, w->base, VF_QS_TAKE, 1, args), job);
    }
    if (ret == 0 && !atomic_load(&w->stopping))
        ret = wait_for_entry(w, s, job);
    return ret;
}

static void *slot_main(void *arg)
{
    slot_t *s = arg;
    vf_worker_t *w = s->w;
    while (!atomic_load(&w->stopping)) {
        vf_job_t job;
        memset(&job, 0, sizeof job);
        int ret = acquire(w, s, &job);
        if (ret == 1)
            run_job(w, s, &job);
        vf_job_clear(&job);
        if (ret == -ECONNRESET)
            s->redis_ok_since_us = 0;
        else if (!s->redis_ok_since_us)
            s->redis_ok_since_us = vf_mono_us();
        if (ret < 0 && ret != -EAGAIN)
            vf_sleep_us(REDIS_RETRY_US);
    }
    atomic_store(&s->exited, 1);
    return NULL;
}

/* ------------------------------------------------------------- lifecycle */

static void usage(FILE *f)
{
    fprintf(f, "usage: videoflix worker [--concurrency N] [--name NAME]\n"
               "Runs jobs from the queue until SIGTERM or SIGINT (see docs/queue.md).\n"
               "  --concurrency N  jobs run at once (default: worker.concurrency)\n"
               "  --name NAME      name shown by `videoflix workers` (default: worker.name or the host name)\n"
               "  --metrics-listen HOST:PORT  where GET /metrics answers (default: metrics.worker_listen)\n");
}

static int parse_args(int argc, char **argv, int *concurrency, const char **name)
{
    static const struct option opts[] = {
        {"concurrency", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    /* No -c: main.c takes "-c FILE" after the command name as --config. */
    while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 256) {
                fprintf(stderr, "videoflix worker: --concurrency must be 1..256\n");
                return -1;
            }
            *concurrency = (int)v;
            break;
        }
        case 'n':
            *name = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "videoflix worker: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static void make_identity(vf_worker_t *w, const char *name)
{
    if (gethostname(w->host, sizeof w->host) != 0)
        snprintf(w->host, sizeof w->host, "unknown");
    w->host[sizeof w->host - 1] = '\0';
    snprintf(w->name, sizeof w->name, "%s", name && *name ? name : w->host);
    w->pid = (int)getpid();
    unsigned short rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        rnd = (unsigned short)vf_mono_us();
    /* Unique even when a restarted container reuses the pid and host name. */
    snprintf(w->id, sizeof w->id, "%s:%d:%04x", w->name, w->pid, rnd);
    w->started_ms = vf_now_us() / 1000;
}

static int busy_slots(vf_worker_t *w)
{
    int n = 0;
    for (int i = 0; i < w->nslots; i++) {
        pthread_mutex_lock(&w->slots[i].lock);
        n += w->slots[i].job != NULL;
        pthread_mutex_unlock(&w->slots[i].lock);
    }
    return n;
}

static int exited_slots(vf_worker_t *w)
{
    int n = 0;
    for (int i = 0; i < w->nslots; i++)
        n += !w->slots[i].started || atomic_load(&w->slots[i].exited);
    return n;
}

static void cancel_running(vf_worker_t *w)
{
    for (int i = 0; i < w->nslots; i++) {
        pthread_mutex_lock(&w->slots[i].lock);
        if (w->slots[i].job)
            atomic_store(&w->slots[i].job->cancel, VF_JOB_CANCEL_STOP);
        pthread_mutex_unlock(&w->slots[i].lock);
    }
}

/* Wait for SIGTERM/SIGINT, then drain.  Returns 0 when every slot ended.
 * Meanwhile: WATCHDOG=1 pings at half of WATCHDOG_USEC (this loop is the
 * worker's heartbeat to systemd), SIGHUP reloads the log settings. */
static int wait_and_drain(vf_worker_t *w, const sigset_t *signals)
{
    const int64_t grace_us = (int64_t)w->app->cfg->worker.shutdown_grace * 1000000;
    const int64_t ping_every_us = (int64_t)(vf_sd_watchdog_usec() / 2);
    int64_t stop_at = 0, next_ping = 0;
    int cancelled = 0;
    for (;;) {
        struct timespec tick = {0, 200 * 1000000L};
        if (ping_every_us > 0 && ping_every_us < 200000)
            tick.tv_nsec = (long)ping_every_us * 1000;
        int sig = sigtimedwait(signals, NULL, &tick);
        int64_t now = vf_mono_us();
        if (ping_every_us > 0 && now >= next_ping) {
            vf_sd_notify("WATCHDOG=1");
            next_ping = now + ping_every_us;
        }
        if (sig == SIGHUP) {
            vf_info("worker: SIGHUP received, reloading the log settings");
            vf_reload_logging(w->app->cfg);
            sig = 0;
        }
        if (sig > 0) {
            if (!stop_at) {
                stop_at = now;
                atomic_store(&w->stopping, 1);
                vf_sd_notify("STOPPING=1");
                vf_info("worker: %s received, waiting up to %d s for %d running jobs", strsignal(sig),
                        w->app->cfg->worker.shutdown_grace, busy_slots(w));
            } else if (!cancelled) {
                vf_info("worker: second %s: cancelling running jobs now", strsignal(sig));
                stop_at = now - grace_us;
            }
        }
        if (!stop_at)
            continue;
        if (exited_slots(w) == w->nslots)
            return 0;
        if (!cancelled && now - stop_at >= grace_us) {
            vf_info("worker: grace period over, cancelling %d running jobs and returning them to the queue",
                    busy_slots(w));
            cancel_running(w);
            atomic_store(&w->give_up_us, now + STUCK_AFTER_CANCEL_US);
            cancelled = 1;
        }
        if (cancelled && now > atomic_load(&w->give_up_us) + 1000000)
            return -ETIMEDOUT;
    }
}

/* Handlers that ignore cancellation: hand their jobs back ourselves. */
static void release_stuck(vf_worker_t *w, vf_thread_ctx_t *ctx)
{
    for (int i = 0; i < w->nslots; i++) {
        slot_t *s = &w->slots[i];
        char entry[48], id[VF_JOB_ID_SIZE];
        if (!vf_slot_running(s, entry, id))
            continue;
        vf_error("worker: job %s ignores cancellation; returning it to the queue and exiting", id);
        const char *args[] = {s->consumer, entry, id};
        redisReply *rep = vf_qscript_call(ctx->redis, w->base, VF_QS_RELEASE, 3, args);
        if (rep)
            freeReplyObject(rep);
    }
}

static void free_worker(vf_worker_t *w)
{
    for (int i = 0; i < w->nslots; i++) {
        vf_thread_ctx_fini(&w->slots[i].ctx);
        pthread_mutex_destroy(&w->slots[i].lock);
    }
    free(w->slots);
}

int vf_worker_main(vf_app_t *app, int argc, char **argv)
{
    int concurrency = app->cfg->worker.concurrency;
    const char *name = app->cfg->worker.name;
    int rc = parse_args(argc, argv, &concurrency, &name);
    if (rc != 0)
        return rc > 0 ? VF_EXIT_OK : VF_EXIT_USAGE;
    /* Job handlers use the plugins; loaded before any thread can. */
    char err[1024];
    if (vf_app_load_plugins(app, 1, 1, err, sizeof err) < 0) {
        vf_error("worker: %s", err);
        return VF_EXIT_FAILURE;
    }

    /* hiredis writes to sockets Redis may have closed. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    /* Blocked before any thread starts, so only sigtimedwait sees them. */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    vf_worker_t w;
    memset(&w, 0, sizeof w);
    w.app = app;
    make_identity(&w, name);
    int status = VF_EXIT_FAILURE;
    vf_thread_ctx_t main_ctx;
    if (vf_thread_ctx_init(&main_ctx, app, 0) < 0) {
        vf_error("worker: out of memory");
        return VF_EXIT_FAILURE;
    }
    vf_queue_base(&main_ctx, w.base);
    if (vf_queue_ensure_group(main_ctx.redis, w.base) < 0)
        vf_warn("worker: Redis is not reachable yet; waiting for it");

    w.slots = calloc((size_t)concurrency, sizeof *w.slots);
    if (!w.slots)
        goto out;
    w.nslots = concurrency;
    for (int i = 0; i < concurrency; i++) {
        slot_t *s = &w.slots[i];
        s->w = &w;
        s->index = i;
        pthread_mutex_init(&s->lock, NULL);
        snprintf(s->consumer, sizeof s->consumer, "%s/%d", w.id, i);
        snprintf(s->autoclaim_cursor, sizeof s->autoclaim_cursor, "0-0");
        if (vf_thread_ctx_init(&s->ctx, app, i + 1) < 0)
            goto out;
    }
    w.relay = vf_outbox_relay_start(app);
    if (!w.relay || vf_worker_supervisor_start(&w) < 0) {
        vf_error("worker: cannot start its threads");
        goto out;
    }
    for (int i = 0; i < concurrency; i++) {
        if (pthread_create(&w.slots[i].thread, NULL, slot_main, &w.slots[i]) != 0) {
            vf_error("worker: cannot start thread %d", i);
            atomic_store(&w.stopping, 1);
            break;
        }
        w.slots[i].started = 1;
    }
    vf_info("worker: %s started, running up to %d jobs at once", w.id, concurrency);
    /* The encoder's own limit (its capabilities): pipeline.c holds further
     * media jobs until one of its turns is free. */
    unsigned encoder_jobs = app->encoder->encoder_caps.max_jobs;
    if (encoder_jobs && encoder_jobs < (unsigned)concurrency)
        vf_info("worker: encoder %s runs at most %u jobs at once; further transcode and thumbnail jobs wait",
                app->encoder->desc->name, encoder_jobs);

    char state[256];
    snprintf(state, sizeof state, "READY=1\nSTATUS=%.160s running up to %d jobs at once", w.id, concurrency);
    vf_sd_notify(state);
    rc = wait_and_drain(&w, &signals);
    if (rc < 0) {
        release_stuck(&w, &main_ctx);
        vf_worker_supervisor_stop(&w);
        vf_worker_deregister(&w, &main_ctx);
        /* The stuck threads still use the configuration: do not free it. */
        _exit(VF_EXIT_FAILURE);
    }
    for (int i = 0; i < concurrency; i++)
        if (w.slots[i].started)
            pthread_join(w.slots[i].thread, NULL);
    status = VF_EXIT_OK;
    vf_info("worker: %s stopped", w.id);
out:
    atomic_store(&w.stopping, 1);
    for (int i = 0; status != VF_EXIT_OK && w.slots && i < w.nslots; i++)
        if (w.slots[i].started)
            pthread_join(w.slots[i].thread, NULL);
    vf_worker_supervisor_stop(&w);
    vf_outbox_relay_stop(&w.relay);
    vf_worker_deregister(&w, &main_ctx);
    free_worker(&w);
    vf_thread_ctx_fini(&main_ctx);
    pthread_sigmask(SIG_UNBLOCK, &signals, NULL);
    return status;
}
