/*
 * queue_internal.h - what the queue's own files (queue*.c, worker*.c) share:
 * the Redis key root, the Lua scripts that move jobs between states, and the
 * job object handed to handlers.  Not for other subsystems: they use
 * queue.h and worker.h.
 */
#ifndef VF_QUEUE_INTERNAL_H
#define VF_QUEUE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdint.h>

#include "jobs/queue.h"
#include "runtime/redis.h"

/* The one consumer group every worker on every host reads through. */
#define VF_QUEUE_GROUP "workers"

/* All queue keys hang off "<redis.prefix><queue.stream>" (the stream
 * itself): <base>:job:<id>, <base>:queued, <base>:running, ... */
#define VF_QUEUE_BASE_SIZE 256
void vf_queue_base(const vf_thread_ctx_t *ctx, char base[VF_QUEUE_BASE_SIZE]);

/* Every state change of a job is one Lua script, so that the stream, the
 * pending-entries list, the job hash and the state indexes never disagree. */
typedef enum {
    VF_QS_PUSH,      /* id type payload created_ms -> 1 pushed, 0 already known */
    VF_QS_TAKE,      /* consumer -> nil | {"ok"|"gone", id, entry, type, payload, attempts} */
    VF_QS_START,     /* consumer entry id -> as TAKE */
    VF_QS_DONE,      /* consumer entry id result history_size -> 1 | 0 lost */
    VF_QS_RETRY,     /* consumer entry id error delay_ms uncounted -> 1 | 0 lost
                        (uncounted "1": the run is not an attempt) */
    VF_QS_FAIL,      /* consumer entry id error history_size -> 1 | 0 lost */
    VF_QS_RELEASE,   /* consumer entry id -> 1 | 0 lost */
    VF_QS_KEEPALIVE, /* consumer entry -> 1 still ours | 0 lost */
    VF_QS_PROGRESS,  /* consumer id percent -> 1 | 0 */
    VF_QS_PROMOTE,   /* limit -> number of retrying jobs moved to the stream */
    VF_QS_REQUEUE,   /* id -> "ok" | "missing" | "running" | "queued" */
    VF_QS_DELETE,    /* id -> 1 | 0 missing */
    VF_QS_CANCEL,    /* id error -> "ok" | "missing" | the state it cannot leave */
    VF_QS_REAP,      /* consumer -> 1 deleted | 0 still has entries */
    VF_QS_COUNT
} vf_qscript_t;

/* EVALSHA (falling back to EVAL when Redis does not know the script yet)
 * with ARGV = base, group, args...  Returns the reply (maybe an error
 * reply) or NULL when Redis is unreachable. */
redisReply *vf_qscript_call(vf_redis_t *r, const char *base, vf_qscript_t s, int argc,
                            const char **argv);
/* The same in a pipeline: append now, read with vf_redis_get_reply().  A
 * reply that is a NOSCRIPT error must be redone with vf_qscript_call(). */
int vf_qscript_append(vf_redis_t *r, const char *base, vf_qscript_t s, int argc, const char **argv);
int vf_qscript_is_noscript(const redisReply *rep);
/* 1 when the reply is an error saying the consumer group does not exist
 * (Redis restarted empty); vf_queue_ensure_group() creates it. */
int vf_queue_reply_nogroup(const redisReply *rep);
int vf_queue_ensure_group(vf_redis_t *r, const char *base);

/* Why a running job must stop. */
enum {
    VF_JOB_RUN = 0,
    VF_JOB_CANCEL_TIMEOUT,
    VF_JOB_CANCEL_STOP, /* worker shutting down: back to the queue */
    VF_JOB_CANCEL_LOST, /* another worker owns it now, or it was deleted */
};

struct vf_job {
    char id[VF_JOB_ID_SIZE];
    char type[64];
    char entry[48];         /* the stream entry this run was delivered as */
    const char *consumer;   /* owned by the worker slot */
    const char *base;
    json_t *payload;
    json_t *result;
    int attempt;
    int max_attempts;
    int timeout_s;
    vf_thread_ctx_t *ctx;
    atomic_int cancel;      /* VF_JOB_RUN or a VF_JOB_CANCEL_* reason */
    atomic_int progress;
    int progress_written;   /* by the supervisor, under the slot's lock */
    int64_t deadline_mono_us;
    int64_t started_us;     /* when its handler was called; 0: it was not */
};

/* Fill a job from a TAKE/START reply {"ok", id, entry, type, payload,
 * attempts}.  -EINVAL when the reply does not have that shape. */
int vf_job_from_reply(vf_job_t *job, const redisReply *rep);
void vf_job_clear(vf_job_t *job);

/* Job ids: 12 hex digits of milliseconds since the epoch, 16 random. */
int vf_job_new_id(char id[VF_JOB_ID_SIZE]);

#endif
