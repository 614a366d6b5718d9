/*
 * queue.h - the job queue every background task runs through (emails,
 * transcodes, thumbnails, file removals, ...): creating jobs, the handler
 * interface of job types, and the inspection/administration functions shared
 * by `videoflix jobs`, `videoflix workers` and the web dashboard.
 *
 * Life of a job (docs/queue.md has the Redis key layout):
 *   outbox -> queued -> running -> done
 *                        |  ^
 *                        v  |  (handler failed, backoff with jitter)
 *                      retrying            -> failed (after max_attempts)
 * Jobs are created inside the caller's PostgreSQL transaction (the outbox
 * table), pushed to a Redis stream after COMMIT, read by workers through one
 * consumer group, and run at least once.
 *
 * Adding a job type: write a vf_job_handler_fn and call vf_worker_register()
 * for it before the worker starts (see worker.h); enqueue with its type name.
 */
#ifndef VF_QUEUE_H
#define VF_QUEUE_H

#include <errno.h>
#include <jansson.h>
#include <stddef.h>

#include "runtime/app.h"

/* Job ids are 28 hex digits (creation time in ms, then 64 random bits). */
#define VF_JOB_ID_SIZE 64

/* ------------------------------------------------------------- creating */

/* Inside the caller's open PostgreSQL transaction on ctx->db: records the
 * job in the outbox table, so it commits or rolls back with the change that
 * caused it.  Writes the new job id into id_out.  0 or a negative errno. */
int vf_queue_enqueue_tx(vf_thread_ctx_t *ctx, const char *type, json_t *payload /* borrowed */,
                        char id_out[VF_JOB_ID_SIZE]);
/* After COMMIT: pushes the outbox rows this thread created to Redis now.
 * Best effort and quick when Redis is down: rows left behind are pushed by
 * the outbox relay that runs in every worker and server process. */
void vf_queue_flush(vf_thread_ctx_t *ctx);
/* When there is no other change to commit with: own transaction + flush. */
int vf_queue_enqueue(vf_thread_ctx_t *ctx, const char *type, json_t *payload /* borrowed */,
                     char id_out[VF_JOB_ID_SIZE]);

/* The outbox relay: a thread with its own connections that pushes pending
 * outbox rows every second.  Started by `videoflix worker` and `serve`. */
typedef struct vf_outbox_relay vf_outbox_relay_t;
vf_outbox_relay_t *vf_outbox_relay_start(vf_app_t *app);
void vf_outbox_relay_stop(vf_outbox_relay_t **relay);
/* One pass of the relay on ctx: pushes up to `limit` rows.  Returns the
 * number pushed, or a negative errno (-ECONNRESET when Redis or PostgreSQL
 * is unreachable). */
int vf_queue_relay_once(vf_thread_ctx_t *ctx, int limit);

/* ------------------------------------------------------------- handlers */

typedef struct vf_job vf_job_t;

/* A handler returns 0 when the job is done; a negative errno when it failed
 * and should be retried (with backoff, up to max_attempts); -ECANCELED when
 * it stopped because vf_job_cancelled() said so; VF_JOB_FAIL_PERMANENT to
 * fail at once without retries; VF_JOB_DEFER when it could not start
 * because another run holds what it needs (a duplicate of a running task):
 * it runs again after queue.backoff_base seconds and the run does not count
 * as an attempt.  err receives one readable sentence. */
typedef int (*vf_job_handler_fn)(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen);
#define VF_JOB_FAIL_PERMANENT (-ENOTRECOVERABLE)
#define VF_JOB_DEFER (-EINPROGRESS)

const char *vf_job_id(const vf_job_t *job);
const char *vf_job_type(const vf_job_t *job);
/* 1 on the first run, 2 on the first retry, ... */
int vf_job_attempt(const vf_job_t *job);
const json_t *vf_job_payload(const vf_job_t *job);
/* Cheap to call often, from any thread: the worker writes it to Redis
 * every half second. */
void vf_job_progress(vf_job_t *job, int percent);
/* Non-zero once the job must stop: its timeout passed, the worker is
 * shutting down and the grace period is over, or the job is no longer ours
 * (taken over, deleted).  Handlers check it between steps and then return
 * -ECANCELED. */
int vf_job_cancelled(const vf_job_t *job);
/* Kept in the job's record when the handler returns 0. */
void vf_job_set_result(vf_job_t *job, json_t *result /* stolen */);

/* -------------------------------------------------- inspecting, admin */

/* States a job can be listed by (also the "state" member of a job object). */
#define VF_JOB_STATES "outbox, queued, running, retrying, done, failed"
int vf_job_state_valid(const char *state);

/* A JSON array of job objects, newest first except "queued" (queue order):
 * {"id", "type", "state", "attempts", "max_attempts", "progress",
 *  "created_at", "queued_at", "started_at", "finished_at", "run_at"
 *  (ISO 8601, absent when not reached), "worker", "payload", "result",
 *  "error"}.  state NULL lists every state.  0 or a negative errno. */
int vf_queue_list(vf_thread_ctx_t *ctx, const char *state, size_t limit, json_t **out);
/* One job object; -ENOENT when there is no such job. */
int vf_queue_show(vf_thread_ctx_t *ctx, const char *id, json_t **out);
/* Run a retrying, failed or done job again from attempt 1.  -ENOENT, or
 * -EBUSY when it is running, or -EALREADY when it is queued already. */
int vf_queue_requeue(vf_thread_ctx_t *ctx, const char *id);
/* Forget a job in any state (a running one is stopped by its worker at its
 * next claim check).  -ENOENT when there is no such job. */
int vf_queue_delete(vf_thread_ctx_t *ctx, const char *id);
/* Live workers: a JSON array of {"id", "name", "host", "pid",
 * "concurrency", "started_at", "heartbeat_at", "jobs": [ids]}. */
int vf_queue_workers(vf_thread_ctx_t *ctx, json_t **out);
/* Number of jobs in each state: {"outbox": n, "queued": n, ...}. */
int vf_queue_counts(vf_thread_ctx_t *ctx, json_t **out);
/* --------------------------------------------------- the web dashboard */
/* Stop a queued, retrying or running job: it fails at once with `reason`
 * as its error (a running one's worker notices at its next keep-alive and
 * stops the handler).  -ENOENT; -EALREADY when it finished already;
 * -EAGAIN while it is still in the outbox (not yet in Redis). */
int vf_queue_cancel(vf_thread_ctx_t *ctx, const char *id, const char *reason);
/* {"stream": key, "length": XLEN, "pending": entries delivered to a worker
 * and not yet acknowledged}. */
int vf_queue_stream_info(vf_thread_ctx_t *ctx, json_t **out);
/* The Redis pub/sub channel on which every change of a job's state or
 * progress is published as {"id", "type", "state", "progress"} ("deleted"
 * when it is gone). */
void vf_queue_events_channel(const vf_thread_ctx_t *ctx, char *buf, size_t len);
/* {"<type>": {"<state>": n, ...}, ...}: every job looked at once. */
int vf_queue_counts_by_type(vf_thread_ctx_t *ctx, json_t **out);
/* One keyset page of the jobs in `state` (required), of `type` when not
 * NULL, in vf_queue_list's order, after `cursor` (NULL: from the start).
 * The cursor of the following page into next ("" at the end); a page
 * narrowed by type may come back short (it looks at a bounded number of
 * jobs) with a cursor to go on from.  -EINVAL for a bad state or cursor. */
int vf_queue_page(vf_thread_ctx_t *ctx, const char *state, const char *type, const char *cursor, size_t limit,
                  json_t **out, char *next, size_t nextlen);

#endif
