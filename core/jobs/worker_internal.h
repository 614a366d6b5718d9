/*
 * worker_internal.h - the state of one worker process, shared by worker.c
 * (slots, drain) and worker_supervisor.c (keep-alive, heartbeat, ...).
 */
#ifndef VF_WORKER_INTERNAL_H
#define VF_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "jobs/queue_internal.h"

#define AUTOCLAIM_INTERVAL_US 1000000LL

typedef struct vf_worker vf_worker_t;

/* One thread running one job at a time, as its own consumer of the group. */
typedef struct slot {
    vf_worker_t *w;
    int index;
    pthread_t thread;
    int started;
    atomic_int exited;
    vf_thread_ctx_t ctx;
    char consumer[192];         /* "<worker id>/<index>" */
    char autoclaim_cursor[48];
    int64_t next_autoclaim_us;
    int64_t redis_ok_since_us;  /* in touch with Redis since (0: not now) */
    pthread_mutex_t lock;       /* guards job */
    vf_job_t *job;              /* running (or being settled), else NULL */
} slot_t;

struct vf_worker {
    vf_app_t *app;
    char id[160];               /* "<name>:<pid>:<random>" */
    char name[64];
    char host[64];
    int pid;
    int64_t started_ms;
    char base[VF_QUEUE_BASE_SIZE];
    slot_t *slots;
    int nslots;
    atomic_int stopping;        /* take no new jobs */
    atomic_llong give_up_us;    /* settle no longer waits for Redis after this (0 = never) */
    atomic_int supervisor_stop;
    pthread_t supervisor;
    int supervisor_started;
    vf_thread_ctx_t supervisor_ctx;
    vf_outbox_relay_t *relay;
};

/* Copy the stream entry and id of the slot's running job (under its lock);
 * 0 when the slot is idle. */
int vf_slot_running(slot_t *s, char entry[48], char id[VF_JOB_ID_SIZE]);

int vf_worker_supervisor_start(vf_worker_t *w);
void vf_worker_supervisor_stop(vf_worker_t *w);
/* Remove the heartbeat and the slots' consumers (those holding no entry). */
void vf_worker_deregister(vf_worker_t *w, vf_thread_ctx_t *ctx);

#endif
