/*
 * offload.h - bounded pools of threads that run blocking work away from the
 * event-loop threads: password hashing (password.c) and the storage work of
 * requests together with its database transactions (upload.c).  A job runs
 * on a pool thread; a request's job then continues on the request's own loop
 * thread (vf_offload_request), where the answer is sent.
 * Owns: the threads, their FIFO queues and bounds, each thread's own
 * vf_thread_ctx_t (PostgreSQL and Redis connections) for pools that need
 * one, and stopping every pool at shutdown.
 * Must not: know what jobs do, or answer requests.
 */
#ifndef VF_OFFLOAD_H
#define VF_OFFLOAD_H

#include <pthread.h>
#include <stddef.h>

#include "runtime/app.h"

struct vf_req;
typedef struct vf_offload_job vf_offload_job_t;

struct vf_offload_job {
    /* On a pool thread: the blocking work.  ctx is the thread's own context,
     * or NULL in a pool started without an app. */
    void (*run)(vf_offload_job_t *job, vf_thread_ctx_t *ctx);
    /* On the pool thread after run: hand the job back to its owner without
     * blocking.  vf_offload_request sets it. */
    void (*done)(vf_offload_job_t *job);
    /* vf_offload_request: called on the request's loop thread after run. */
    void (*resume)(vf_offload_job_t *job);
    struct vf_req *req;
    vf_offload_job_t *next; /* the pool's */
};

/* A pool lives in static storage of the module that uses it, so that a
 * pointer to it stays valid after it is stopped (submit then refuses). */
typedef struct vf_offload_pool {
    const char *name;       /* in log lines */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t *threads;
    vf_thread_ctx_t *ctxs;  /* one per thread, or NULL */
    int nthreads;
    int started, stopping;
    size_t pending, max_pending;
    vf_offload_job_t *head, *tail;
    struct vf_offload_pool *next_started;
} vf_offload_pool_t;

#define VF_OFFLOAD_POOL_INIT(pool_name)                                                      \
    {                                                                                       \
        .name = (pool_name), .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER \
    }

/* Start the pool with `threads` threads and room for `max_pending` queued
 * jobs (jobs running are not counted); with an app, each thread gets its own
 * vf_thread_ctx_t (connections are made lazily, on first use).  Once only:
 * later calls return 0 and change nothing.  0 or -ENOMEM/-EAGAIN. */
int vf_offload_start(vf_offload_pool_t *pool, int threads, size_t max_pending, vf_app_t *app);
/* Queue a job.  0; -EAGAIN when max_pending jobs are waiting (answer 503);
 * -ESHUTDOWN when the pool is not running.  On failure the job is still the
 * caller's. */
int vf_offload_submit(vf_offload_pool_t *pool, vf_offload_job_t *job);
/* Stop accepting, run every queued job, join the threads, close their
 * contexts.  The pool may be started again. */
void vf_offload_stop(vf_offload_pool_t *pool);
/* vf_offload_stop for every started pool: `serve` calls it once the HTTP
 * loops have ended and before their event bases are freed, since finished
 * jobs post their answers to those bases. */
void vf_offload_stop_all(void);

/* Run job->run on the pool, then job->resume(job) on r's loop thread, where
 * r may be answered (until then nobody else answers it).  Same returns as
 * vf_offload_submit; on failure r is not answered and the job is the
 * caller's. */
int vf_offload_request(vf_offload_pool_t *pool, struct vf_req *r, vf_offload_job_t *job,
                       void (*resume)(vf_offload_job_t *job));

/* The pool for the storage work of requests (server.storage_threads
 * threads with their own contexts, server.storage_queue queued jobs): the
 * server starts it at start-up (0 or a negative errno); other processes
 * (tests) get it started on first use. */
int vf_offload_storage_start(vf_app_t *app);
vf_offload_pool_t *vf_offload_storage_pool(vf_app_t *app);

#endif
