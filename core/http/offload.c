/*
 * offload.c - see offload.h.
 *
 * Why: an event-loop thread serves every connection it accepted, so one
 * blocking call there (Argon2id for ~90 ms; a 16 MiB part sent to a slow S3
 * with retries and backoff, inside a database transaction) stalls all of
 * them.  Such work is queued here instead; the queue is bounded so that a
 * flood of requests is refused with 503 early rather than held in memory
 * without end.  Queued jobs are never dropped: stopping runs them first,
 * so every job's done callback is called exactly once.
 */
#include "config.h"
#include "http/offload.h"

#include "http/http.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Pools started and not yet stopped, for vf_offload_stop_all. */
static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static vf_offload_pool_t *started_pools;

typedef struct thread_arg {
    vf_offload_pool_t *pool;
    vf_thread_ctx_t *ctx;
} thread_arg_t;

static void *pool_main(void *arg)
{
    thread_arg_t a = *(thread_arg_t *)arg;
    free(arg);
    vf_offload_pool_t *pool = a.pool;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (!pool->head && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->lock);
        vf_offload_job_t *job = pool->head;
        if (!job) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pool->head = job->next;
        if (!pool->head)
            pool->tail = NULL;
        pool->pending--;
        pthread_mutex_unlock(&pool->lock);

        job->next = NULL;
        job->run(job, a.ctx);
        job->done(job);
    }
}

static void unlist(vf_offload_pool_t *pool)
{
    pthread_mutex_lock(&started_lock);
    for (vf_offload_pool_t **p = &started_pools; *p; p = &(*p)->next_started)
        if (*p == pool) {
            *p = pool->next_started;
            break;
        }
    pool->next_started = NULL;
    pthread_mutex_unlock(&started_lock);
}

/* Join the threads and free what start allocated; pool->lock not held. */
static void join_and_free(vf_offload_pool_t *pool)
{
    for (int i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    if (pool->ctxs)
        for (int i = 0; i < pool->nthreads; i++)
            vf_thread_ctx_fini(&pool->ctxs[i]);
    free(pool->threads);
    free(pool->ctxs);
    pool->threads = NULL;
    pool->ctxs = NULL;
    pool->nthreads = 0;
}

int vf_offload_start(vf_offload_pool_t *pool, int threads, size_t max_pending, vf_app_t *app)
{
    int ret = 0;
    pthread_mutex_lock(&pool->lock);
    if (pool->started)
        goto out;
    ret = -ENOMEM;
    if (threads < 1)
        threads = 1;
    pool->threads = calloc((size_t)threads, sizeof *pool->threads);
    pool->ctxs = app ? calloc((size_t)threads, sizeof *pool->ctxs) : NULL;
    if (!pool->threads || (app && !pool->ctxs))
        goto fail;
    pool->stopping = 0;
    pool->max_pending = max_pending;
    for (pool->nthreads = 0; pool->nthreads < threads; pool->nthreads++) {
        int i = pool->nthreads;
        thread_arg_t *arg = malloc(sizeof *arg);
        /* Contexts are numbered after the loop threads' (0..N-1). */
        if (!arg || (app && vf_thread_ctx_init(&pool->ctxs[i], app, 1000 + i) != 0)) {
            free(arg);
            break;
        }
        *arg = (thread_arg_t){pool, app ? &pool->ctxs[i] : NULL};
        if (pthread_create(&pool->threads[i], NULL, pool_main, arg) != 0) {
            if (app)
                vf_thread_ctx_fini(&pool->ctxs[i]);
            free(arg);
            break;
        }
    }
    if (pool->nthreads < threads) {
        vf_error("offload: cannot start the %s threads (%d of %d started)", pool->name, pool->nthreads, threads);
        ret = -EAGAIN;
        /* The started threads find no work and `stopping`: they return. */
        pool->stopping = 1;
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
        join_and_free(pool);
        return ret;
    }
    pool->started = 1;
    pthread_mutex_lock(&started_lock);
    pool->next_started = started_pools;
    started_pools = pool;
    pthread_mutex_unlock(&started_lock);
    ret = 0;
    goto out;
fail:
    free(pool->threads);
    free(pool->ctxs);
    pool->threads = NULL;
    pool->ctxs = NULL;
out:
    pthread_mutex_unlock(&pool->lock);
    return ret;
}

int vf_offload_submit(vf_offload_pool_t *pool, vf_offload_job_t *job)
{
    int ret = -EAGAIN;
    pthread_mutex_lock(&pool->lock);
    if (!pool->started || pool->stopping) {
        ret = -ESHUTDOWN;
    } else if (pool->pending < pool->max_pending) {
        job->next = NULL;
        if (pool->tail)
            pool->tail->next = job;
        else
            pool->head = job;
        pool->tail = job;
        pool->pending++;
        pthread_cond_signal(&pool->wake);
        ret = 0;
    }
    pthread_mutex_unlock(&pool->lock);
    return ret;
}

void vf_offload_stop(vf_offload_pool_t *pool)
{
    pthread_mutex_lock(&pool->lock);
    if (!pool->started || pool->stopping) {
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    unlist(pool);
    /* Threads leave once the queue is empty. */
    join_and_free(pool);
    pthread_mutex_lock(&pool->lock);
    pool->started = 0;
    pool->stopping = 0;
    pthread_mutex_unlock(&pool->lock);
}

void vf_offload_stop_all(void)
{
    for (;;) {
        pthread_mutex_lock(&started_lock);
        vf_offload_pool_t *pool = started_pools;
        pthread_mutex_unlock(&started_lock);
        if (!pool)
            return;
        vf_offload_stop(pool);
    }
}

/* ------------------------------------------------------------- requests */

static void resume_on_loop(void *arg)
{
    vf_offload_job_t *job = arg;
    job->resume(job);
}

/* On the pool thread: post the job to the request's loop. */
static void back_to_loop(vf_offload_job_t *job)
{
    if (vf_req_run_in_loop(job->req, resume_on_loop, job) != 0)
        vf_error("offload: cannot return a result to request %s; it will time out", job->req->request_id);
}

int vf_offload_request(vf_offload_pool_t *pool, vf_req_t *r, vf_offload_job_t *job,
                       void (*resume)(vf_offload_job_t *job))
{
    job->req = r;
    job->resume = resume;
    job->done = back_to_loop;
    return vf_offload_submit(pool, job);
}

/* ------------------------------------------------------- the storage pool */

static vf_offload_pool_t storage_pool = VF_OFFLOAD_POOL_INIT("storage");

int vf_offload_storage_start(vf_app_t *app)
{
    const vf_config_t *cfg = app->cfg;
    return vf_offload_start(&storage_pool, cfg->server.storage_threads, (size_t)cfg->server.storage_queue, app);
}

vf_offload_pool_t *vf_offload_storage_pool(vf_app_t *app)
{
    const vf_config_t *cfg = app->cfg;
    /* A failed start is logged there; submit then answers -ESHUTDOWN. */
    vf_offload_start(&storage_pool, cfg->server.storage_threads, (size_t)cfg->server.storage_queue, app);
    return &storage_pool;
}
