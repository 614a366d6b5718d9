/*
 * worker.h - the process that runs jobs (vf_worker_main, which `videoflix
 * worker` calls) and the registry of job types.
 * Owns: handler registration, worker threads (each with its own
 * vf_thread_ctx_t), keeping claims alive, retries with backoff, timeouts,
 * the SIGTERM drain, the heartbeat, and the outbox relay of the process.
 *
 * A job type is a plain C function; a subsystem adds one with
 *     vf_worker_register("email", send_email_job);
 * called from vf_job_types_register() (core/cli/job_types.c) so that every
 * `videoflix worker` knows it.  Test binaries register their own types
 * before calling vf_cmd_worker().
 */
#ifndef VF_WORKER_H
#define VF_WORKER_H

#include <stdint.h>

#include "jobs/queue.h"

/* Register (or replace) the handler of a job type.  Call before the worker
 * starts.  0, -EINVAL for a bad name, -ENOSPC when the table is full. */
int vf_worker_register(const char *type, vf_job_handler_fn fn);
vf_job_handler_fn vf_worker_handler(const char *type);

/* A chore: housekeeping a subsystem needs wherever a worker runs (e.g. files
 * a killed worker left on its host), run by the worker's supervisor thread
 * when the worker starts and then every interval_s seconds.  It must be
 * quick (it delays the claim keep-alives) and must not need a job.  Register
 * before the worker starts; a name registered again replaces the chore.
 * 0, -EINVAL, or -ENOSPC when the table is full. */
typedef void (*vf_worker_chore_fn)(vf_app_t *app);
int vf_worker_register_chore(const char *name, vf_worker_chore_fn fn, int interval_s);
/* Run the worker with `videoflix worker`'s arguments (--concurrency N,
 * --name NAME) until SIGTERM/SIGINT and its drain; the job types must be
 * registered first.  Returns the exit status (util/exit.h). */
int vf_worker_main(vf_app_t *app, int argc, char **argv);

/* Milliseconds to wait before attempt `attempt` + 1 after attempt
 * `attempt` failed: base * 2^(attempt-1), capped at max, half of it random
 * ("equal jitter") so that jobs failing together do not retry together. */
int64_t vf_worker_backoff_ms(int base_s, int max_s, int attempt);

#endif
