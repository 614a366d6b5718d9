/*
 * worker_fixture.h - what the queue's multi-process tests (and bench/queue)
 * share: a private Redis, a fresh database with the migrations, a config
 * file, worker processes of tests/test_worker, and reading job states.
 */
#ifndef VF_WORKER_FIXTURE_H
#define VF_WORKER_FIXTURE_H

#include <jansson.h>

#include "core/runtime/app.h"
#include "core/jobs/queue.h"
#include "vftest.h"

#define QFIX_MAX_WORKERS 8

typedef struct qfix {
    char *dir;
    vft_redis_t redis;
    char *conninfo;
    char *config_path;
    vf_app_t app;
    vf_thread_ctx_t ctx;        /* the test's own connections */
    char record[4096];          /* dir/record.log for the record/fail job types */
    int pids[QFIX_MAX_WORKERS];
    int nworkers;
} qfix_t;

/* `sections` is appended to the config (e.g. "queue = { ... }; worker = { ... };"). */
int qfix_setup(qfix_t *f, const char *sections);
void qfix_teardown(qfix_t *f);

/* Start tests/test_worker with `worker --concurrency N`; returns its index
 * in f->pids, or -1.  Its log is dir/worker-<index>.log. */
int qfix_spawn_worker(qfix_t *f, int concurrency);
/* Stop worker `index` with sig (SIGKILL, SIGTERM); its exit status. */
int qfix_stop_worker(qfix_t *f, int index, int sig, int timeout_ms);

/* Enqueue with a payload written as JSON text. */
int qfix_enqueue(qfix_t *f, const char *type, const char *payload_json, char id[VF_JOB_ID_SIZE]);
/* The job's state ("" when unknown); attempts into *attempts if not NULL. */
void qfix_state(qfix_t *f, const char *id, char *state, size_t len, int *attempts);
/* Wait until the job reaches `state`; 0, or -1 after timeout_ms. */
int qfix_wait_state(qfix_t *f, const char *id, const char *state, int timeout_ms);
/* Wait until `count` jobs are in `state` (counts of vf_queue_counts). */
int qfix_wait_count(qfix_t *f, const char *state, long count, int timeout_ms);
long qfix_count(qfix_t *f, const char *state);

/* The record file as events: kind ("start", "end", "cancel", "attempt"). */
typedef struct qfix_event {
    char kind[12];
    char id[VF_JOB_ID_SIZE];
    int pid;
    int attempt;
    long long us;
} qfix_event_t;
int qfix_read_events(qfix_t *f, qfix_event_t **events, size_t *n);

/* Run tests/test_worker (or $VF_BINARY when use_binary) with --config and
 * the args; stdout into *out.  Returns the exit status. */
int qfix_cli(qfix_t *f, int use_binary, char **out, const char *const *args);

#endif
