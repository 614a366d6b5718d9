/*
 * check_worker.c - several worker processes (tests/test_worker, the
 * production worker code with test-only job types) against a private Redis
 * and a fresh database: jobs run once and are acknowledged, retries with
 * backoff end failed, a SIGKILLed worker's job is finished by another and
 * never runs twice at once, jobs created while Redis is down run once after
 * it is back, the CLI's requeue and delete, SIGTERM drains, heartbeats,
 * timeouts.
 */
#include "config.h"
#include "vftest.h"

#include "core/runtime/db.h"
#include "core/jobs/queue_internal.h"
#include "core/runtime/redis.h"
#include "core/util/timeutil.h"
#include "tests/e2e/worker_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static qfix_t fix;

static void start_fixture(int visibility_timeout, int shutdown_grace)
{
    char sections[2048];
    snprintf(sections, sizeof sections,
             "queue = { visibility_timeout = %d; backoff_base = 1; backoff_max = 4; max_attempts = 3;\n"
             "  types = ( { type = \"failflag\"; max_attempts = 1; },\n"
             "            { type = \"deferflag\"; max_attempts = 1; },\n"
             "            { type = \"sleep\"; max_attempts = 2; timeout = 1; } ); };\n"
             "worker = { heartbeat_interval = 1; shutdown_grace = %d; };\n",
             visibility_timeout, shutdown_grace);
    ck_assert_int_eq(qfix_setup(&fix, sections), 0);
}

static void setup(void) { start_fixture(2, 10); }
static void teardown(void) { qfix_teardown(&fix); }

static char *record_payload(int ms)
{
    static char buf[4300];
    snprintf(buf, sizeof buf, "{\"ms\": %d, \"file\": \"%s\"}", ms, fix.record);
    return buf;
}

static size_t count_events(const qfix_event_t *ev, size_t n, const char *kind, const char *id)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(ev[i].kind, kind) == 0 && (!id || strcmp(ev[i].id, id) == 0);
    return c;
}

/* Runs of the same job never overlap: each start comes after the previous
 * run of that job ended (or its worker was killed at killed_us). */
static void assert_no_overlap(const qfix_event_t *ev, size_t n, int killed_pid, long long killed_us)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].kind, "start") != 0)
            continue;
        long long end = -1;
        for (size_t j = i + 1; j < n && end < 0; j++)
            if (strcmp(ev[j].id, ev[i].id) == 0 && ev[j].pid == ev[i].pid && strcmp(ev[j].kind, "start") != 0)
                end = ev[j].us;
        if (end < 0 && ev[i].pid == killed_pid)
            end = killed_us;
        ck_assert_msg(end >= 0, "job %s started by %d never ended", ev[i].id, ev[i].pid);
        for (size_t j = 0; j < n; j++)
            if (j != i && strcmp(ev[j].kind, "start") == 0 && strcmp(ev[j].id, ev[i].id) == 0 &&
                ev[j].us >= ev[i].us)
                ck_assert_msg(ev[j].us >= end, "job %s ran twice at once (pids %d and %d)", ev[i].id, ev[i].pid,
                              ev[j].pid);
    }
}

static long long redis_int(const char *cmd)
{
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(&fix.ctx, base);
    redisReply *r = vf_redis_cmd(fix.ctx.redis, cmd, base, VF_QUEUE_GROUP);
    ck_assert_ptr_nonnull(r);
    long long v = r->type == REDIS_REPLY_INTEGER                                    ? r->integer
                  : r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_INTEGER
                      ? r->element[0]->integer
                      : -1;
    freeReplyObject(r);
    return v;
}

START_TEST(test_jobs_run_once_and_are_acknowledged)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(qfix_spawn_worker(&fix, 2), 0);
    enum { N = 300 };
    static char ids[N][VF_JOB_ID_SIZE];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(qfix_enqueue(&fix, i % 2 ? "record" : "noop", record_payload(0), ids[i]), 0);
    ck_assert_int_eq(qfix_wait_count(&fix, "done", N, 30000), 0);
    qfix_event_t *ev;
    size_t n;
    ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
    for (int i = 1; i < N; i += 2) {
        ck_assert_int_eq(count_events(ev, n, "start", ids[i]), 1);
        ck_assert_int_eq(count_events(ev, n, "end", ids[i]), 1);
    }
    /* Spread over the workers. */
    int pids = 0;
    for (int w = 0; w < 3; w++)
        for (size_t i = 0; i < n; i++)
            if (ev[i].pid == fix.pids[w]) {
                pids++;
                break;
            }
    ck_assert_int_ge(pids, 2);
    free(ev);
    int attempts = -1;
    char state[32];
    qfix_state(&fix, ids[7], state, sizeof state, &attempts);
    ck_assert_str_eq(state, "done");
    ck_assert_int_eq(attempts, 1);
    /* Acknowledged and removed: nothing pending, nothing left in the stream. */
    ck_assert_int_eq(redis_int("XPENDING %s %s"), 0);
    ck_assert_int_eq(redis_int("XLEN %s"), 0);
    ck_assert_int_eq(qfix_count(&fix, "outbox"), 0);
    ck_assert_int_eq(qfix_count(&fix, "queued"), 0);
    ck_assert_int_eq(qfix_count(&fix, "running"), 0);
}
END_TEST

START_TEST(test_failures_retry_with_backoff_then_fail)
{
    ck_assert_int_ge(qfix_spawn_worker(&fix, 2), 0);
    ck_assert_int_ge(qfix_spawn_worker(&fix, 2), 0);
    char payload[4400], recovers[VF_JOB_ID_SIZE], never[VF_JOB_ID_SIZE], permanent[VF_JOB_ID_SIZE];
    snprintf(payload, sizeof payload, "{\"times\": 2, \"file\": \"%s\"}", fix.record);
    ck_assert_int_eq(qfix_enqueue(&fix, "fail", payload, recovers), 0);
    snprintf(payload, sizeof payload, "{\"times\": 99, \"file\": \"%s\"}", fix.record);
    ck_assert_int_eq(qfix_enqueue(&fix, "fail", payload, never), 0);
    snprintf(payload, sizeof payload, "{\"times\": 99, \"permanent\": true, \"file\": \"%s\"}", fix.record);
    ck_assert_int_eq(qfix_enqueue(&fix, "fail", payload, permanent), 0);

    ck_assert_int_eq(qfix_wait_state(&fix, permanent, "failed", 5000), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, never, "retrying", 5000), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, recovers, "done", 15000), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, never, "failed", 15000), 0);

    json_t *job = NULL;
    ck_assert_int_eq(vf_queue_show(&fix.ctx, never, &job), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "attempts")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "max_attempts")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(job, "error")), "attempt 3: planned failure 3 of 99");
    ck_assert_ptr_nonnull(json_object_get(job, "finished_at"));
    json_decref(job);
    ck_assert_int_eq(vf_queue_show(&fix.ctx, permanent, &job), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(job);
    int attempts = -1;
    char state[32];
    qfix_state(&fix, recovers, state, sizeof state, &attempts);
    ck_assert_int_eq(attempts, 3);

    /* Exponential backoff with jitter: base 1 s then 2 s, each at least
     * half of that, at most all of it (plus slack for a loaded machine). */
    qfix_event_t *ev;
    size_t n;
    ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
    const char *jobs[] = {recovers, never};
    for (int j = 0; j < 2; j++) {
        long long at[4] = {0};
        for (size_t i = 0; i < n; i++)
            if (strcmp(ev[i].id, jobs[j]) == 0 && ev[i].attempt >= 1 && ev[i].attempt <= 3)
                at[ev[i].attempt] = ev[i].us;
        ck_assert(at[1] && at[2] && at[3]);
        ck_assert_int_ge(at[2] - at[1], 500000);
        ck_assert_int_le(at[2] - at[1], 1000000 + 1500000);
        ck_assert_int_ge(at[3] - at[2], 1000000);
        ck_assert_int_le(at[3] - at[2], 2000000 + 1500000);
    }
    ck_assert_int_eq(count_events(ev, n, "attempt", never), 3);
    ck_assert_int_eq(count_events(ev, n, "attempt", permanent), 1);
    free(ev);
}
END_TEST

START_TEST(test_sigkill_mid_job_is_finished_by_another_worker)
{
    int w0 = qfix_spawn_worker(&fix, 1), w1 = qfix_spawn_worker(&fix, 1), w2 = qfix_spawn_worker(&fix, 1);
    ck_assert(w0 >= 0 && w1 >= 0 && w2 >= 0);
    /* A job longer than the visibility timeout (2 s) keeps its claim. */
    char longer[VF_JOB_ID_SIZE], victim[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(5000), longer), 0);
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(3000), victim), 0);

    /* Kill the victim's worker once the job is well under way. */
    int killed_pid = 0;
    int64_t until = vf_mono_us() + 10000000;
    while (!killed_pid && vf_mono_us() < until) {
        qfix_event_t *ev;
        size_t n;
        ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
        for (size_t i = 0; i < n; i++)
            if (strcmp(ev[i].kind, "start") == 0 && strcmp(ev[i].id, victim) == 0)
                killed_pid = ev[i].pid;
        free(ev);
        vf_sleep_us(50000);
    }
    ck_assert_int_gt(killed_pid, 0);
    vf_sleep_us(1000000);
    long long killed_us = vf_now_us();
    for (int w = 0; w < fix.nworkers; w++)
        if (fix.pids[w] == killed_pid)
            ck_assert_int_eq(qfix_stop_worker(&fix, w, SIGKILL, 2000), 128 + SIGKILL);

    ck_assert_int_eq(qfix_wait_state(&fix, victim, "done", 20000), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, longer, "done", 20000), 0);
    qfix_event_t *ev;
    size_t n;
    ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
    ck_assert_int_eq(count_events(ev, n, "start", longer), 1);
    ck_assert_int_eq(count_events(ev, n, "start", victim), 2);
    ck_assert_int_eq(count_events(ev, n, "end", victim), 1);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ev[i].id, victim) == 0 && strcmp(ev[i].kind, "end") == 0)
            ck_assert_int_ne(ev[i].pid, killed_pid);
    assert_no_overlap(ev, n, killed_pid, killed_us);
    free(ev);
    int attempts = -1;
    char state[32];
    qfix_state(&fix, victim, state, sizeof state, &attempts);
    ck_assert_int_eq(attempts, 2);
    ck_assert_int_eq(redis_int("XPENDING %s %s"), 0);
}
END_TEST

START_TEST(test_jobs_created_while_redis_is_down_run_once_after)
{
    ck_assert_int_ge(qfix_spawn_worker(&fix, 2), 0);
    ck_assert_int_ge(qfix_spawn_worker(&fix, 2), 0);
    char first[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(0), first), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, first, "done", 10000), 0);

    int port = fix.redis.port;
    vft_redis_stop(&fix.redis);
    enum { N = 40 };
    char ids[N][VF_JOB_ID_SIZE];
    int64_t start = vf_mono_us();
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(10), ids[i]), 0);
    ck_assert_int_lt(vf_mono_us() - start, 6000000);
    PGresult *res = NULL;
    ck_assert_int_eq(vf_db_exec(fix.ctx.db, &res, "SELECT count(*) FROM job_outbox", 0, NULL), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "40");
    PQclear(res);
    vf_sleep_us(1500000); /* workers and relays keep failing meanwhile */

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/redis-again", fix.dir);
    mkdir(dir, 0755);
    ck_assert_int_eq(vft_redis_start(&fix.redis, dir, port), 0);
    vf_sleep_us(1100000);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(qfix_wait_state(&fix, ids[i], "done", 20000), 0);
    qfix_event_t *ev;
    size_t n;
    ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(count_events(ev, n, "start", ids[i]), 1);
        ck_assert_int_eq(count_events(ev, n, "end", ids[i]), 1);
    }
    free(ev);
    ck_assert_int_eq(qfix_count(&fix, "outbox"), 0);
    ck_assert_int_eq(qfix_count(&fix, "done"), N);
}
END_TEST

START_TEST(test_redis_pause_longer_than_visibility_timeout)
{
    ck_assert_int_ge(qfix_spawn_worker(&fix, 1), 0);
    ck_assert_int_ge(qfix_spawn_worker(&fix, 1), 0);
    char id[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(6000), id), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "running", 5000), 0);
    /* Unreachable for longer than the visibility timeout (2 s): when it is
     * back every claim looks expired, yet the owner keeps its job. */
    ck_assert_int_eq(kill(fix.redis.pid, SIGSTOP), 0);
    vf_sleep_us(3500000);
    ck_assert_int_eq(kill(fix.redis.pid, SIGCONT), 0);
    vf_sleep_us(1100000);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "done", 15000), 0);
    qfix_event_t *ev;
    size_t n;
    ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
    ck_assert_int_eq(count_events(ev, n, "start", id), 1);
    ck_assert_int_eq(count_events(ev, n, "end", id), 1);
    free(ev);
}
END_TEST

static int cli_ok(char **out, const char *const *args) { return qfix_cli(&fix, 1, out, args); }

START_TEST(test_cli_requeue_delete_list_workers)
{
    vft_env_or_skip("VF_BINARY");
    int w = qfix_spawn_worker(&fix, 1);
    ck_assert_int_ge(w, 0);
    char flag[4200], payload[4300], id[VF_JOB_ID_SIZE], done_id[VF_JOB_ID_SIZE];
    snprintf(flag, sizeof flag, "%s/flag", fix.dir);
    FILE *fl = fopen(flag, "w");
    ck_assert_ptr_nonnull(fl);
    fclose(fl);
    snprintf(payload, sizeof payload, "{\"flag\": \"%s\"}", flag);
    ck_assert_int_eq(qfix_enqueue(&fix, "failflag", payload, id), 0);
    ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", done_id), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "failed", 10000), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, done_id, "done", 10000), 0);

    char *out = NULL;
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "list", "--state", "failed", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(out, id));
    ck_assert_ptr_nonnull(strstr(out, "flag file"));
    ck_assert_ptr_null(strstr(out, done_id));
    free(out);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "show", id, NULL}), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"state\": \"failed\""));
    free(out);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "list", "--state", "nonsense", NULL}), 2);
    free(out);
    char worker_pid[32];
    snprintf(worker_pid, sizeof worker_pid, " %d ", fix.pids[w]);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"workers", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(out, worker_pid));
    free(out);

    /* Fixed: requeue it, and it runs again from attempt 1. */
    ck_assert_int_eq(unlink(flag), 0);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "requeue", id, NULL}), 0);
    free(out);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "done", 10000), 0);
    int attempts = -1;
    char state[32];
    qfix_state(&fix, id, state, sizeof state, &attempts);
    ck_assert_int_eq(attempts, 1);

    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "delete", id, NULL}), 0);
    free(out);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "show", id, NULL}), 1);
    free(out);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "delete", id, NULL}), 1);
    free(out);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "requeue", id, NULL}), 1);
    free(out);
    ck_assert_int_eq(cli_ok(&out, (const char *[]){"jobs", "list", NULL}), 0);
    ck_assert_ptr_null(strstr(out, id));
    ck_assert_ptr_nonnull(strstr(out, done_id));
    free(out);
}
END_TEST

START_TEST(test_sigterm_lets_running_jobs_finish)
{
    int w = qfix_spawn_worker(&fix, 2);
    char a[VF_JOB_ID_SIZE], b[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(1500), a), 0);
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(1500), b), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, a, "running", 5000), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, b, "running", 5000), 0);
    int64_t start = vf_mono_us();
    ck_assert_int_eq(qfix_stop_worker(&fix, w, SIGTERM, 12000), 0);
    ck_assert_int_lt(vf_mono_us() - start, 8000000);
    char state[32];
    int attempts;
    qfix_state(&fix, a, state, sizeof state, &attempts);
    ck_assert_str_eq(state, "done");
    qfix_state(&fix, b, state, sizeof state, &attempts);
    ck_assert_str_eq(state, "done");
    ck_assert_int_eq(attempts, 1);
    json_t *workers = NULL;
    ck_assert_int_eq(vf_queue_workers(&fix.ctx, &workers), 0);
    ck_assert_int_eq(json_array_size(workers), 0); /* deregistered */
    json_decref(workers);
}
END_TEST

static void setup_short_grace(void)
{
    /* A long visibility timeout: a returned job must not wait for it. */
    start_fixture(30, 1);
}

START_TEST(test_sigterm_returns_unfinished_jobs_to_the_queue)
{
    int w = qfix_spawn_worker(&fix, 1);
    char id[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(60000), id), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "running", 5000), 0);
    int64_t start = vf_mono_us();
    ck_assert_int_eq(qfix_stop_worker(&fix, w, SIGTERM, 20000), 0);
    /* Far below the job's 60 s: the worker stopped it (room for a busy
     * machine). */
    ck_assert_int_lt(vf_mono_us() - start, 15000000);
    char state[32];
    int attempts = -1;
    qfix_state(&fix, id, state, sizeof state, &attempts);
    ck_assert_str_eq(state, "queued");
    ck_assert_int_eq(attempts, 0);

    /* Another worker takes it at once, not after the visibility timeout. */
    start = vf_mono_us();
    ck_assert_int_ge(qfix_spawn_worker(&fix, 1), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "running", 20000), 0);
    ck_assert_int_lt(vf_mono_us() - start, 20000000); /* the visibility timeout is 30 s */
    qfix_event_t *ev;
    size_t n;
    ck_assert_int_eq(qfix_read_events(&fix, &ev, &n), 0);
    ck_assert_int_eq(count_events(ev, n, "cancel", id), 1);
    free(ev);
}
END_TEST

START_TEST(test_heartbeats_expire_with_their_worker)
{
    int a = qfix_spawn_worker(&fix, 3), b = qfix_spawn_worker(&fix, 1);
    char id[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", record_payload(3000), id), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "running", 5000), 0);
    int64_t until = vf_mono_us() + 5000000;
    json_t *workers = NULL;
    size_t busy = 0;
    for (;;) {
        ck_assert_int_eq(vf_queue_workers(&fix.ctx, &workers), 0);
        busy = 0;
        size_t i;
        json_t *w;
        json_array_foreach(workers, i, w) busy += json_array_size(json_object_get(w, "jobs")) == 1;
        if ((json_array_size(workers) == 2 && busy == 1) || vf_mono_us() > until)
            break;
        json_decref(workers);
        vf_sleep_us(100000);
    }
    ck_assert_int_eq(json_array_size(workers), 2);
    ck_assert_int_eq(busy, 1);
    size_t i;
    json_t *w;
    int seen = 0;
    json_array_foreach(workers, i, w) {
        int pid = (int)json_integer_value(json_object_get(w, "pid"));
        seen += pid == fix.pids[a] || pid == fix.pids[b];
        ck_assert_ptr_nonnull(json_object_get(w, "host"));
        ck_assert_ptr_nonnull(json_object_get(w, "started_at"));
        if (pid == fix.pids[a])
            ck_assert_int_eq(json_integer_value(json_object_get(w, "concurrency")), 3);
    }
    ck_assert_int_eq(seen, 2);
    json_decref(workers);

    qfix_stop_worker(&fix, b, SIGKILL, 2000);
    until = vf_mono_us() + 15000000; /* 3 heartbeat intervals, and room for a busy machine */
    size_t alive;
    do {
        vf_sleep_us(200000);
        ck_assert_int_eq(vf_queue_workers(&fix.ctx, &workers), 0);
        alive = json_array_size(workers);
        json_decref(workers);
    } while (alive != 1 && vf_mono_us() < until);
    ck_assert_int_eq(alive, 1);
}
END_TEST

/* A job that cannot start because another run holds its task waits and
 * runs again without using up its attempts (max_attempts = 1 here). */
START_TEST(test_deferred_runs_are_not_attempts)
{
    ck_assert_int_ge(qfix_spawn_worker(&fix, 1), 0);
    char flag[1200], runs[1200], payload[2600], id[VF_JOB_ID_SIZE];
    snprintf(flag, sizeof flag, "%s/busy.flag", fix.dir);
    snprintf(runs, sizeof runs, "%s/defer.runs", fix.dir);
    FILE *fl = fopen(flag, "w");
    ck_assert_ptr_nonnull(fl);
    fclose(fl);
    snprintf(payload, sizeof payload, "{\"flag\": \"%s\", \"file\": \"%s\"}", flag, runs);
    ck_assert_int_eq(qfix_enqueue(&fix, "deferflag", payload, id), 0);
    /* Three runs deferred (backoff_base = 1 s apart), then the flag goes. */
    int nruns = 0;
    for (int64_t until = vf_mono_us() + 30000000; nruns < 3 && vf_mono_us() < until; vf_sleep_us(100000)) {
        size_t len = 0;
        char *text = vft_read_file(runs, &len);
        nruns = 0;
        for (const char *p = text; p && (p = strstr(p, "run ")) != NULL; p++)
            nruns++;
        free(text);
    }
    ck_assert_int_ge(nruns, 3);
    char state[32];
    int attempts = -1;
    qfix_state(&fix, id, state, sizeof state, &attempts);
    ck_assert_msg(strcmp(state, "failed") != 0, "a deferred job failed");
    ck_assert_int_eq(unlink(flag), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "done", 20000), 0);
    qfix_state(&fix, id, state, sizeof state, &attempts);
    ck_assert_int_eq(attempts, 1);
}
END_TEST

START_TEST(test_job_timeout_cancels_and_fails)
{
    ck_assert_int_ge(qfix_spawn_worker(&fix, 1), 0);
    char id[VF_JOB_ID_SIZE];
    /* "sleep" has timeout = 1 s and max_attempts = 2 in this config. */
    ck_assert_int_eq(qfix_enqueue(&fix, "sleep", "{\"ms\": 20000}", id), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "failed", 10000), 0);
    json_t *job = NULL;
    ck_assert_int_eq(vf_queue_show(&fix.ctx, id, &job), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "attempts")), 2);
    const char *error = json_string_value(json_object_get(job, "error"));
    ck_assert_ptr_nonnull(error);
    ck_assert_ptr_nonnull(strstr(error, "timed out after 1 s"));
    json_decref(job);

    /* Progress shows while a job runs. */
    ck_assert_int_eq(qfix_enqueue(&fix, "sleep", "{\"ms\": 900}", id), 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "running", 10000), 0);
    int64_t until = vf_mono_us() + 10000000;
    long long progress = 0;
    while (progress == 0 && vf_mono_us() < until) {
        vf_sleep_us(50000);
        if (vf_queue_show(&fix.ctx, id, &job) == 0) {
            if (strcmp(json_string_value(json_object_get(job, "state")), "running") == 0)
                progress = json_integer_value(json_object_get(job, "progress"));
            json_decref(job);
        }
    }
    ck_assert_int_gt(progress, 0);
    ck_assert_int_eq(qfix_wait_state(&fix, id, "done", 15000), 0);
    ck_assert_int_eq(vf_queue_show(&fix.ctx, id, &job), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(job, "result"), "slept_ms")), 900);
    json_decref(job);
}
END_TEST

static Suite *worker_suite(void)
{
    Suite *s = suite_create("worker");
    TCase *tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_jobs_run_once_and_are_acknowledged);
    tcase_add_test(tc, test_failures_retry_with_backoff_then_fail);
    tcase_add_test(tc, test_sigkill_mid_job_is_finished_by_another_worker);
    tcase_add_test(tc, test_jobs_created_while_redis_is_down_run_once_after);
    tcase_add_test(tc, test_redis_pause_longer_than_visibility_timeout);
    tcase_add_test(tc, test_cli_requeue_delete_list_workers);
    tcase_add_test(tc, test_sigterm_lets_running_jobs_finish);
    tcase_add_test(tc, test_heartbeats_expire_with_their_worker);
    tcase_add_test(tc, test_deferred_runs_are_not_attempts);
    tcase_add_test(tc, test_job_timeout_cancels_and_fails);
    suite_add_tcase(s, tc);
    TCase *grace = tcase_create("short grace");
    tcase_add_checked_fixture(grace, setup_short_grace, teardown);
    tcase_set_timeout(grace, 60);
    tcase_add_test(grace, test_sigterm_returns_unfinished_jobs_to_the_queue);
    suite_add_tcase(s, grace);
    return s;
}

VFT_MAIN(worker_suite)
