/*
 * bench_queue.c - throughput of the job queue against the bare Redis
 * commands it is built on (run by bench/queue/run.sh, not by make check).
 *
 * For 1, 2 and 4 worker processes (tests/test_worker, concurrency 1 each):
 *   queue: N no-op jobs created by 2 producer threads (standing for API
 *          threads) in transactions of 50 through the outbox, each flushed
 *          to Redis after its COMMIT, run and acknowledged; timed from the
 *          first INSERT to the last job done ("queue job/s", compared with
 *          bare).  Also shown: how fast they were created ("enqueue"), and
 *          how fast the workers empty a queue filled while they were
 *          stopped ("run").
 *   bare:  the same N through the bare commands with hiredis: XADD in
 *          pipelined batches of 500 (like the flush), and W consumer
 *          processes looping XREADGROUP COUNT 1, then XACK + XDEL in one
 *          round trip (two round trips per job, as a worker does).
 * Prints jobs/s of both and their ratio.
 */
#include "config.h"
#include "tests/e2e/worker_fixture.h"

#include "core/runtime/db.h"
#include "core/jobs/queue_internal.h"
#include "core/runtime/redis.h"
#include "core/util/timeutil.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BARE_STREAM "bench:bare"
#define BATCH 500
#define JOBS_PER_TRANSACTION 50
#define PRODUCERS 2

static redisContext *connect_redis(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        fprintf(stderr, "bench: cannot connect to Redis on %d\n", port);
        exit(1);
    }
    return c;
}

static void must(redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench: redis: %s\n", r ? r->str : "no reply");
        exit(1);
    }
    freeReplyObject(r);
}

/* A bare consumer: read one entry, acknowledge and delete it; until told. */
static void bare_consumer(int port, int index)
{
    redisContext *c = connect_redis(port);
    char name[32];
    snprintf(name, sizeof name, "c%d", index);
    for (;;) {
        redisReply *r = redisCommand(c, "XREADGROUP GROUP g %s COUNT 1 BLOCK 100 STREAMS " BARE_STREAM " >", name);
        if (!r)
            _exit(1);
        if (r->type == REDIS_REPLY_NIL) {
            freeReplyObject(r);
            redisReply *stop = redisCommand(c, "EXISTS bench:stop");
            int done = stop && stop->integer == 1;
            if (stop)
                freeReplyObject(stop);
            if (done)
                _exit(0);
            continue;
        }
        const char *id = r->element[0]->element[1]->element[0]->element[0]->str;
        redisAppendCommand(c, "XACK " BARE_STREAM " g %s", id);
        redisAppendCommand(c, "XDEL " BARE_STREAM " %s", id);
        freeReplyObject(r);
        for (int i = 0; i < 2; i++) {
            void *rep = NULL;
            if (redisGetReply(c, &rep) != REDIS_OK)
                _exit(1);
            freeReplyObject(rep);
        }
    }
}

static double bare_rate(int port, int workers, int n)
{
    redisContext *c = connect_redis(port);
    must(redisCommand(c, "DEL " BARE_STREAM " bench:stop"));
    must(redisCommand(c, "XGROUP CREATE " BARE_STREAM " g 0 MKSTREAM"));
    pid_t pids[8];
    for (int w = 0; w < workers; w++) {
        pids[w] = fork();
        if (pids[w] == 0)
            bare_consumer(port, w);
    }
    vf_sleep_us(200000);
    int64_t t0 = vf_mono_us();
    for (int sent = 0; sent < n;) {
        int batch = n - sent < BATCH ? n - sent : BATCH;
        for (int i = 0; i < batch; i++)
            redisAppendCommand(c, "XADD " BARE_STREAM " * id %012x%016x", sent + i, sent + i);
        for (int i = 0; i < batch; i++) {
            void *rep = NULL;
            if (redisGetReply(c, &rep) != REDIS_OK)
                exit(1);
            freeReplyObject(rep);
        }
        sent += batch;
    }
    for (;;) {
        redisReply *r = redisCommand(c, "XLEN " BARE_STREAM);
        long long left = r ? r->integer : -1;
        if (r)
            freeReplyObject(r);
        if (left == 0)
            break;
        vf_sleep_us(2000);
    }
    int64_t t1 = vf_mono_us();
    must(redisCommand(c, "SET bench:stop 1"));
    for (int w = 0; w < workers; w++)
        waitpid(pids[w], NULL, 0);
    redisFree(c);
    return n / ((double)(t1 - t0) / 1e6);
}

typedef struct queue_result {
    double enqueue_rate;   /* created and pushed to Redis */
    double total_rate;     /* created, run and acknowledged */
    double run_rate;       /* run and acknowledged from a full queue */
} queue_result_t;

/* Producers stand for API threads: each its own connections, creating its
 * share of the jobs in transactions of JOBS_PER_TRANSACTION, each flushed
 * after COMMIT. */
typedef struct producer {
    qfix_t *f;
    int n;
    int ret;
    pthread_t thread;
} producer_t;

static void *produce(void *arg)
{
    producer_t *p = arg;
    vf_thread_ctx_t ctx;
    p->ret = vf_thread_ctx_init(&ctx, &p->f->app, 1);
    for (int done = 0; p->ret == 0 && done < p->n; done += JOBS_PER_TRANSACTION) {
        p->ret = vf_db_begin(ctx.db);
        for (int i = done; p->ret == 0 && i < p->n && i < done + JOBS_PER_TRANSACTION; i++)
            p->ret = vf_queue_enqueue_tx(&ctx, "noop", NULL, NULL);
        if (p->ret == 0)
            p->ret = vf_db_commit(ctx.db);
        vf_queue_flush(&ctx);
    }
    vf_thread_ctx_fini(&ctx);
    return NULL;
}

static int enqueue_all(qfix_t *f, int n)
{
    producer_t producers[PRODUCERS];
    int ret = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i] = (producer_t){f, n / PRODUCERS + (i < n % PRODUCERS), -1, 0};
        if (pthread_create(&producers[i].thread, NULL, produce, &producers[i]) != 0)
            return -1;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(producers[i].thread, NULL);
        if (producers[i].ret < 0)
            ret = -1;
    }
    return ret;
}

static void wait_done(qfix_t *f, long long n)
{
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(&f->ctx, base);
    for (;;) {
        redisReply *r = vf_redis_cmd(f->ctx.redis, "ZCARD %s:done", base);
        long long done = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        if (r)
            freeReplyObject(r);
        if (done >= n)
            return;
        vf_sleep_us(5000);
    }
}

static void signal_workers(qfix_t *f, int sig)
{
    for (int w = 0; w < f->nworkers; w++)
        kill(f->pids[w], sig);
}

static int queue_rate(qfix_t *f, int workers, int n, queue_result_t *out)
{
    for (int w = 0; w < workers; w++)
        if (qfix_spawn_worker(f, 1) < 0)
            return -1;
    /* Idle and registered before the clock starts. */
    for (int tries = 0;; tries++) {
        json_t *list = NULL;
        size_t alive = vf_queue_workers(&f->ctx, &list) == 0 ? json_array_size(list) : 0;
        json_decref(list);
        if (alive == (size_t)workers)
            break;
        if (tries > 200) {
            fprintf(stderr, "bench: the workers did not start; the first one's log:\n");
            char log[4200], line[1024];
            snprintf(log, sizeof log, "%s/worker-0.log", f->dir);
            FILE *in = fopen(log, "r");
            while (in && fgets(line, sizeof line, in))
                fputs(line, stderr);
            if (in)
                fclose(in);
            return -1;
        }
        vf_sleep_us(50000);
    }
    vf_sleep_us(200000);
    /* Jobs come from many transactions: workers start on the first ones
     * while the next are created. */
    int64_t t0 = vf_mono_us();
    if (enqueue_all(f, n) < 0)
        return -1;
    int64_t t1 = vf_mono_us();
    wait_done(f, n);
    int64_t t2 = vf_mono_us();
    out->enqueue_rate = n / ((double)(t1 - t0) / 1e6);
    out->total_rate = n / ((double)(t2 - t0) / 1e6);

    /* The workers alone: the same again into a queue they do not read
     * until it is full. */
    signal_workers(f, SIGSTOP);
    int ret = enqueue_all(f, n);
    int64_t t3 = vf_mono_us();
    signal_workers(f, SIGCONT);
    if (ret < 0)
        return -1;
    wait_done(f, 2LL * n);
    out->run_rate = n / ((double)(vf_mono_us() - t3) / 1e6);
    return 0;
}

/* One queue run and one bare run with `workers` processes. */
static int run_pair(int workers, int n, const char *sections, queue_result_t *q, double *bare)
{
    qfix_t f;
    if (qfix_setup(&f, sections) < 0 || queue_rate(&f, workers, n, q) < 0) {
        fprintf(stderr, "bench: the queue run failed\n");
        qfix_teardown(&f);
        return -1;
    }
    for (int w = 0; w < f.nworkers; w++)
        qfix_stop_worker(&f, w, SIGTERM, 5000);
    f.nworkers = 0;
    *bare = bare_rate(f.redis.port, workers, n);
    qfix_teardown(&f);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_queue [JOBS [ROUNDS]]\n");
        return 2;
    }
    setenv("VF_TEST_LOG_LEVEL", "warning", 0);
    char sections[256];
    /* A long visibility timeout: stopped workers keep their (idle) slots. */
    snprintf(sections, sizeof sections, "queue = { history_size = %d; visibility_timeout = 600; };", 2 * n);
    printf("%d no-op jobs; worker processes of concurrency 1; best of %d rounds\n", n, rounds);
    printf("%-8s %14s %14s %14s %14s %8s\n", "workers", "enqueue job/s", "run job/s", "queue job/s", "bare job/s",
           "ratio");
    int workers_list[] = {1, 2, 4};
    for (size_t k = 0; k < 3; k++) {
        int workers = workers_list[k];
        /* Alternating rounds, best of each: other load on the machine only
         * ever slows a run down. */
        queue_result_t best = {0, 0, 0};
        double best_bare = 0;
        for (int r = 0; r < rounds; r++) {
            queue_result_t q;
            double bare;
            if (run_pair(workers, n, sections, &q, &bare) < 0)
                return 1;
            if (q.total_rate > best.total_rate)
                best.total_rate = q.total_rate;
            if (q.enqueue_rate > best.enqueue_rate)
                best.enqueue_rate = q.enqueue_rate;
            if (q.run_rate > best.run_rate)
                best.run_rate = q.run_rate;
            if (bare > best_bare)
                best_bare = bare;
        }
        printf("%-8d %14.0f %14.0f %14.0f %14.0f %8.2f\n", workers, best.enqueue_rate, best.run_rate,
               best.total_rate, best_bare, best.total_rate / best_bare);
        fflush(stdout);
    }
    return 0;
}
