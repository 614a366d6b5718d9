/*
 * check_queue.c - the queue module in one process against a real Redis and
 * PostgreSQL: the outbox and its transaction, flush and relay, idempotent
 * pushes, Redis down, the state-change scripts (ownership, keep-alive,
 * takeover, history bounds), list/show/requeue/delete, backoff.
 * Worker processes are tested in tests/e2e/check_worker.c.
 */
#include "config.h"
#include "vftest.h"

#include "core/runtime/db.h"
#include "core/jobs/queue_internal.h"
#include "core/runtime/redis.h"
#include "core/util/timeutil.h"
#include "core/jobs/worker.h"
#include "tests/e2e/worker_fixture.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static qfix_t fix;
static char base[VF_QUEUE_BASE_SIZE];

static void setup_with(const char *sections)
{
    ck_assert_int_eq(qfix_setup(&fix, sections), 0);
    vf_queue_base(&fix.ctx, base);
    ck_assert_int_eq(vf_queue_ensure_group(fix.ctx.redis, base), 0);
}

static void setup(void) { setup_with("queue = { visibility_timeout = 2; history_size = 3; failed_history_size = 2; };"); }
static void teardown(void) { qfix_teardown(&fix); }

static long long redis_int(const char *fmt, const char *arg)
{
    redisReply *r = vf_redis_cmd(fix.ctx.redis, fmt, base, arg);
    ck_assert_ptr_nonnull(r);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* Redis again on the same port (it comes back empty, as after a restart
 * without persistence). */
static void restart_redis(int port)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/redis-again", fix.dir);
    mkdir(dir, 0755);
    ck_assert_int_eq(vft_redis_start(&fix.redis, dir, port), 0);
}

static long outbox_rows(void)
{
    PGresult *res = NULL;
    ck_assert_int_eq(vf_db_exec(fix.ctx.db, &res, "SELECT count(*) FROM job_outbox", 0, NULL), 0);
    long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static const char *state_of(const char *id)
{
    static char state[32];
    qfix_state(&fix, id, state, sizeof state, NULL);
    return state;
}

/* Take the next job as `consumer` through the TAKE script. */
static int take(const char *consumer, vf_job_t *job)
{
    memset(job, 0, sizeof *job);
    const char *args[] = {consumer};
    redisReply *r = vf_qscript_call(fix.ctx.redis, base, VF_QS_TAKE, 1, args);
    ck_assert_ptr_nonnull(r);
    int ret = r->type == REDIS_REPLY_NIL ? 0 : vf_job_from_reply(job, r) == 0 ? 1 : -1;
    freeReplyObject(r);
    return ret;
}

static long long script_int(vf_qscript_t s, int argc, const char **argv)
{
    redisReply *r = vf_qscript_call(fix.ctx.redis, base, s, argc, argv);
    ck_assert_ptr_nonnull(r);
    if (r->type == REDIS_REPLY_ERROR)
        ck_abort_msg("script error: %s", r->str);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

START_TEST(test_outbox_follows_the_transaction)
{
    char rolled[VF_JOB_ID_SIZE], kept[VF_JOB_ID_SIZE];
    json_t *payload = json_pack("{s:s}", "to", "a@example.com");
    ck_assert_int_eq(vf_db_begin(fix.ctx.db), 0);
    ck_assert_int_eq(vf_queue_enqueue_tx(&fix.ctx, "email", payload, rolled), 0);
    vf_db_rollback(fix.ctx.db);
    vf_queue_flush(&fix.ctx);
    ck_assert_str_eq(state_of(rolled), "");

    ck_assert_int_eq(vf_db_begin(fix.ctx.db), 0);
    ck_assert_int_eq(vf_queue_enqueue_tx(&fix.ctx, "email", payload, kept), 0);
    /* Not visible to anybody before COMMIT, and flush inside the
     * transaction must not push it. */
    vf_queue_flush(&fix.ctx);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 0);
    ck_assert_int_eq(vf_db_commit(fix.ctx.db), 0);
    ck_assert_str_eq(state_of(kept), "outbox");
    vf_queue_flush(&fix.ctx);
    json_decref(payload);

    ck_assert_int_eq(strlen(kept), 28);
    ck_assert_str_eq(state_of(kept), "queued");
    ck_assert_int_eq(outbox_rows(), 0);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 1);
    json_t *job = NULL;
    ck_assert_int_eq(vf_queue_show(&fix.ctx, kept, &job), 0);
    ck_assert_str_eq(json_string_value(json_object_get(job, "type")), "email");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(job, "payload"), "to")), "a@example.com");
    ck_assert_int_eq(json_integer_value(json_object_get(job, "attempts")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "max_attempts")), 5);
    ck_assert_ptr_nonnull(json_object_get(job, "created_at"));
    json_decref(job);
    ck_assert_int_eq(vf_queue_enqueue(&fix.ctx, "Bad Type!", NULL, kept), -EINVAL);
}
END_TEST

START_TEST(test_enqueue_across_connections)
{
    char id[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", id), 0);
    /* The server loses our connection: the statement prepared on it is gone
     * with it, and the next connection prepares its own. */
    vf_db_t *admin = vf_db_new_conninfo(fix.conninfo, NULL, 5);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(vf_db_conn(fix.ctx.db)));
    const char *params[] = {pid};
    ck_assert_int_eq(vf_db_run(admin, "SELECT pg_terminate_backend($1::int)", 1, params), 0);
    vf_sleep_us(100000);
    int ret = qfix_enqueue(&fix, "noop", "{}", id);
    if (ret == -ECONNRESET)
        ret = qfix_enqueue(&fix, "noop", "{}", id);
    ck_assert_int_eq(ret, 0);
    ck_assert_str_eq(state_of(id), "queued");
    /* Two connections used in turn by one thread. */
    vf_db_t *mine = fix.ctx.db;
    for (int i = 0; i < 3; i++) {
        fix.ctx.db = i % 2 ? mine : admin;
        ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", id), 0);
        ck_assert_str_eq(state_of(id), "queued");
    }
    fix.ctx.db = mine;
    vf_db_free(&admin);
    ck_assert_int_eq(qfix_count(&fix, "queued"), 5);
}
END_TEST

START_TEST(test_push_is_idempotent)
{
    char id[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", id), 0);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 1);
    /* The row comes back as if its deletion had failed after the push. */
    const char *params[] = {id};
    ck_assert_int_eq(vf_db_run(fix.ctx.db, "INSERT INTO job_outbox (job_id, type, payload) VALUES ($1, 'noop', '{}')",
                               1, params), 0);
    ck_assert_int_eq(vf_queue_relay_once(&fix.ctx, 100), 1);
    ck_assert_int_eq(outbox_rows(), 0);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 1);
    /* Also once the job is finished and its record deleted. */
    ck_assert_int_eq(vf_queue_delete(&fix.ctx, id), 0);
    ck_assert_int_eq(vf_db_run(fix.ctx.db, "INSERT INTO job_outbox (job_id, type, payload) VALUES ($1, 'noop', '{}')",
                               1, params), 0);
    ck_assert_int_eq(vf_queue_relay_once(&fix.ctx, 100), 1);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 0);
    ck_assert_str_eq(state_of(id), "");
}
END_TEST

START_TEST(test_redis_down_keeps_jobs_in_the_outbox)
{
    int port = fix.redis.port;
    vft_redis_stop(&fix.redis);
    char ids[20][VF_JOB_ID_SIZE];
    int64_t start = vf_mono_us();
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{\"n\": 1}", ids[i]), 0);
    /* Creating jobs stays fast: no waiting for Redis. */
    ck_assert_int_lt(vf_mono_us() - start, 4000000);
    ck_assert_int_eq(outbox_rows(), 20);
    json_t *list = NULL;
    ck_assert_int_eq(vf_queue_list(&fix.ctx, "outbox", 100, &list), 0);
    ck_assert_int_eq(json_array_size(list), 20);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[0]);
    json_decref(list);
    ck_assert_str_eq(state_of(ids[3]), "outbox");
    ck_assert_int_eq(vf_queue_relay_once(&fix.ctx, 100), -ECONNRESET);

    restart_redis(port);
    vf_sleep_us(1100000); /* the connection's reconnect pause */
    /* The relay thread of a worker or server pushes them. */
    vf_outbox_relay_t *relay = vf_outbox_relay_start(&fix.app);
    ck_assert_ptr_nonnull(relay);
    int64_t until = vf_mono_us() + 5000000;
    while (outbox_rows() > 0 && vf_mono_us() < until)
        vf_sleep_us(50000);
    vf_outbox_relay_stop(&relay);
    ck_assert_int_eq(outbox_rows(), 0);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 20);
    for (int i = 0; i < 20; i++)
        ck_assert_str_eq(state_of(ids[i]), "queued");
}
END_TEST

START_TEST(test_claims_and_takeover)
{
    char id[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "record", "{\"ms\": 1}", id), 0);
    vf_job_t a, b;
    ck_assert_int_eq(take("A/0", &a), 1);
    ck_assert_str_eq(a.id, id);
    ck_assert_int_eq(a.attempt, 1);
    ck_assert_str_eq(state_of(id), "running");
    ck_assert_int_eq(take("B/0", &b), 0); /* delivered once */

    const char *ka_a[] = {"A/0", a.entry}, *ka_b[] = {"B/0", a.entry};
    ck_assert_int_eq(script_int(VF_QS_KEEPALIVE, 2, ka_a), 1);
    ck_assert_int_eq(script_int(VF_QS_KEEPALIVE, 2, ka_b), 0);
    /* Kept alive: not idle long enough for anybody to take over. */
    vf_sleep_us(1500000);
    ck_assert_int_eq(script_int(VF_QS_KEEPALIVE, 2, ka_a), 1);
    vf_sleep_us(1000000);
    redisReply *r = vf_redis_cmd(fix.ctx.redis, "XAUTOCLAIM %s %s B/0 2000 0-0 COUNT 10", base, VF_QUEUE_GROUP);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->element[1]->elements, 0);
    freeReplyObject(r);
    /* A stops keeping it alive (as if killed): B takes it over. */
    vf_sleep_us(2100000);
    r = vf_redis_cmd(fix.ctx.redis, "XAUTOCLAIM %s %s B/0 2000 0-0 COUNT 10", base, VF_QUEUE_GROUP);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->element[1]->elements, 1);
    freeReplyObject(r);
    const char *start[] = {"B/0", a.entry, id};
    r = vf_qscript_call(fix.ctx.redis, base, VF_QS_START, 3, start);
    ck_assert_int_eq(vf_job_from_reply(&b, r), 0);
    freeReplyObject(r);
    ck_assert_int_eq(b.attempt, 2);
    /* A's next keep-alive tells it the job is not its own any more, and its
     * late result is refused. */
    ck_assert_int_eq(script_int(VF_QS_KEEPALIVE, 2, ka_a), 0);
    const char *done_a[] = {"A/0", a.entry, id, "{\"by\": \"A\"}", "10"};
    ck_assert_int_eq(script_int(VF_QS_DONE, 5, done_a), 0);
    ck_assert_str_eq(state_of(id), "running");
    const char *done_b[] = {"B/0", a.entry, id, "{\"by\": \"B\"}", "10"};
    ck_assert_int_eq(script_int(VF_QS_DONE, 5, done_b), 1);
    json_t *job = NULL;
    ck_assert_int_eq(vf_queue_show(&fix.ctx, id, &job), 0);
    ck_assert_str_eq(json_string_value(json_object_get(job, "state")), "done");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(job, "result"), "by")), "B");
    ck_assert_int_eq(json_integer_value(json_object_get(job, "progress")), 100);
    json_decref(job);
    ck_assert_int_eq(redis_int("XLEN %s", NULL), 0);
    r = vf_redis_cmd(fix.ctx.redis, "XPENDING %s %s", base, VF_QUEUE_GROUP);
    ck_assert_int_eq(r->element[0]->integer, 0);
    freeReplyObject(r);
    vf_job_clear(&a);
    vf_job_clear(&b);
}
END_TEST

START_TEST(test_retry_release_and_history)
{
    char ids[6][VF_JOB_ID_SIZE];
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", ids[i]), 0);
    vf_job_t job;
    /* Retry: waits in "retrying" until due, then comes back queued. */
    ck_assert_int_eq(take("A/0", &job), 1);
    const char *retry[] = {"A/0", job.entry, job.id, "attempt 1: boom", "300"};
    ck_assert_int_eq(script_int(VF_QS_RETRY, 5, retry), 1);
    ck_assert_str_eq(state_of(ids[0]), "retrying");
    const char *promote[] = {"100"};
    ck_assert_int_eq(script_int(VF_QS_PROMOTE, 1, promote), 0);
    vf_sleep_us(400000);
    ck_assert_int_eq(script_int(VF_QS_PROMOTE, 1, promote), 1);
    ck_assert_str_eq(state_of(ids[0]), "queued");
    json_t *o = NULL;
    ck_assert_int_eq(vf_queue_show(&fix.ctx, ids[0], &o), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")), "attempt 1: boom");
    json_decref(o);
    vf_job_clear(&job);

    /* Release (shutdown): back in the queue without using up an attempt. */
    ck_assert_int_eq(take("A/0", &job), 1);
    ck_assert_str_eq(job.id, ids[1]);
    const char *release[] = {"A/0", job.entry, job.id};
    ck_assert_int_eq(script_int(VF_QS_RELEASE, 3, release), 1);
    int attempts = -1;
    char state[32];
    qfix_state(&fix, ids[1], state, sizeof state, &attempts);
    ck_assert_str_eq(state, "queued");
    ck_assert_int_eq(attempts, 0);
    vf_job_clear(&job);

    /* Finish all six: history keeps the 3 newest done (history_size). */
    int done = 0, failed = 0;
    while (take("A/0", &job) == 1) {
        int fail = strcmp(job.id, ids[5]) == 0 || strcmp(job.id, ids[4]) == 0 || strcmp(job.id, ids[3]) == 0;
        const char *args[] = {"A/0", job.entry, job.id, fail ? "attempt 1: no" : "{}", fail ? "2" : "3"};
        ck_assert_int_eq(script_int(fail ? VF_QS_FAIL : VF_QS_DONE, 5, args), 1);
        done += !fail;
        failed += fail;
        vf_job_clear(&job);
        vf_sleep_us(3000); /* distinct finishing times (ms) order the history */
    }
    ck_assert_int_eq(done, 3);
    ck_assert_int_eq(failed, 3);
    ck_assert_int_eq(qfix_count(&fix, "done"), 3);
    ck_assert_int_eq(qfix_count(&fix, "failed"), 2);
    ck_assert_int_eq(qfix_count(&fix, "queued"), 0);
    /* The oldest failed job was dropped with its record. */
    json_t *list = NULL;
    ck_assert_int_eq(vf_queue_list(&fix.ctx, "failed", 10, &list), 0);
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[5]);
    json_decref(list);
    ck_assert_str_eq(state_of(ids[3]), "");
    ck_assert_int_eq(redis_int("EXISTS %s:job:%s", ids[3]), 0);
}
END_TEST

START_TEST(test_requeue_and_delete)
{
    char id[VF_JOB_ID_SIZE], other[VF_JOB_ID_SIZE];
    ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", id), 0);
    ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", other), 0);
    ck_assert_int_eq(vf_queue_requeue(&fix.ctx, id), -EALREADY);
    vf_job_t job;
    ck_assert_int_eq(take("A/0", &job), 1);
    ck_assert_int_eq(vf_queue_requeue(&fix.ctx, id), -EBUSY);
    const char *fail[] = {"A/0", job.entry, job.id, "attempt 1: broken", "10"};
    ck_assert_int_eq(script_int(VF_QS_FAIL, 5, fail), 1);
    ck_assert_str_eq(state_of(id), "failed");

    ck_assert_int_eq(vf_queue_requeue(&fix.ctx, id), 0);
    int attempts = -1;
    char state[32];
    qfix_state(&fix, id, state, sizeof state, &attempts);
    ck_assert_str_eq(state, "queued");
    ck_assert_int_eq(attempts, 0);
    /* The stale entry of the first run is gone; the new one runs. */
    vf_job_clear(&job);
    ck_assert_int_eq(take("A/0", &job), 1);
    ck_assert_str_eq(job.id, other);
    vf_job_clear(&job);
    ck_assert_int_eq(take("A/0", &job), 1);
    ck_assert_str_eq(job.id, id);
    ck_assert_int_eq(job.attempt, 1);

    /* Deleting a running job takes its claim away. */
    ck_assert_int_eq(vf_queue_delete(&fix.ctx, id), 0);
    const char *ka[] = {"A/0", job.entry};
    ck_assert_int_eq(script_int(VF_QS_KEEPALIVE, 2, ka), 0);
    ck_assert_int_eq(vf_queue_delete(&fix.ctx, id), -ENOENT);
    ck_assert_int_eq(vf_queue_requeue(&fix.ctx, id), -ENOENT);
    json_t *o = NULL;
    ck_assert_int_eq(vf_queue_show(&fix.ctx, id, &o), -ENOENT);
    ck_assert_int_eq(vf_queue_show(&fix.ctx, "not-an-id", &o), -ENOENT);
    vf_job_clear(&job);

    /* A job still in the outbox can be deleted too. */
    int port = fix.redis.port;
    vft_redis_stop(&fix.redis);
    ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", id), 0);
    ck_assert_int_eq(vf_queue_delete(&fix.ctx, id), 0);
    ck_assert_int_eq(outbox_rows(), 0);
    restart_redis(port);
}
END_TEST

START_TEST(test_list_counts_and_workers)
{
    char ids[3][VF_JOB_ID_SIZE];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(qfix_enqueue(&fix, "noop", "{}", ids[i]), 0);
    vf_job_t job;
    ck_assert_int_eq(take("A/0", &job), 1);
    json_t *list = NULL;
    ck_assert_int_eq(vf_queue_list(&fix.ctx, NULL, 10, &list), 0);
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "state")), "running");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "worker")), "A/0");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), ids[1]);
    json_decref(list);
    ck_assert_int_eq(vf_queue_list(&fix.ctx, NULL, 2, &list), 0);
    ck_assert_int_eq(json_array_size(list), 2);
    json_decref(list);
    ck_assert_int_eq(vf_queue_list(&fix.ctx, "bogus", 2, &list), -EINVAL);
    ck_assert_int_eq(qfix_count(&fix, "queued"), 2);
    ck_assert_int_eq(qfix_count(&fix, "running"), 1);
    ck_assert_int_eq(qfix_count(&fix, "outbox"), 0);
    vf_job_clear(&job);

    /* A heartbeat as the supervisor writes it, and one that expired. */
    redisReply *r = vf_redis_cmd(fix.ctx.redis, "HSET %s:worker:w1 id w1 host h pid 42 concurrency 2 jobs %s", base,
                                 ids[0]);
    freeReplyObject(r);
    r = vf_redis_cmd(fix.ctx.redis, "SADD %s:workers w1 w-dead", base);
    freeReplyObject(r);
    json_t *workers = NULL;
    ck_assert_int_eq(vf_queue_workers(&fix.ctx, &workers), 0);
    ck_assert_int_eq(json_array_size(workers), 1);
    json_t *w = json_array_get(workers, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(w, "pid")), 42);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(w, "jobs"), 0)), ids[0]);
    json_decref(workers);
    ck_assert_int_eq(redis_int("SCARD %s:workers", NULL), 1);
}
END_TEST

START_TEST(test_backoff_grows_with_jitter)
{
    for (int attempt = 1; attempt <= 12; attempt++) {
        int64_t full = 2000LL << (attempt - 1);
        if (full > 60000)
            full = 60000;
        int64_t lo = full, hi = 0;
        for (int i = 0; i < 200; i++) {
            int64_t d = vf_worker_backoff_ms(2, 60, attempt);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        ck_assert_int_ge(lo, full / 2);
        ck_assert_int_le(hi, full);
        ck_assert_int_lt(lo, hi); /* jittered */
    }
    ck_assert_int_eq(vf_worker_backoff_ms(0, 600, 3), 0);
}
END_TEST

START_TEST(test_register_validates)
{
    ck_assert_int_eq(vf_worker_register("Bad Name", NULL), -EINVAL);
    ck_assert_ptr_null(vf_worker_handler("nothing"));
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("queue");
    TCase *tc = tcase_create("redis+pg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_outbox_follows_the_transaction);
    tcase_add_test(tc, test_enqueue_across_connections);
    tcase_add_test(tc, test_push_is_idempotent);
    tcase_add_test(tc, test_redis_down_keeps_jobs_in_the_outbox);
    tcase_add_test(tc, test_claims_and_takeover);
    tcase_add_test(tc, test_retry_release_and_history);
    tcase_add_test(tc, test_requeue_and_delete);
    tcase_add_test(tc, test_list_counts_and_workers);
    suite_add_tcase(s, tc);
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_backoff_grows_with_jitter);
    tcase_add_test(pure, test_register_validates);
    suite_add_tcase(s, pure);
    return s;
}

VFT_MAIN(queue_suite)
