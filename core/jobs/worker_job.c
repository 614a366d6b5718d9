/*
 * worker_job.c - the job object handlers see (accessors, progress,
 * cancellation, result), job ids, the table of registered job types and the
 * retry backoff.
 */
#include "config.h"
#include "jobs/queue_internal.h"
#include "jobs/worker.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ------------------------------------------------------------ registry */

#define MAX_JOB_TYPES 64

typedef struct job_type {
    char name[64];
    vf_job_handler_fn fn;
} job_type_t;

static job_type_t job_types[MAX_JOB_TYPES];
static size_t njob_types;
static pthread_mutex_t job_types_lock = PTHREAD_MUTEX_INITIALIZER;

static int valid_type_name(const char *type)
{
    size_t n = type ? strlen(type) : 0;
    return n > 0 && n < sizeof job_types[0].name &&
           strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int vf_worker_register(const char *type, vf_job_handler_fn fn)
{
    if (!valid_type_name(type) || !fn)
        return -EINVAL;
    int ret = -ENOSPC;
    pthread_mutex_lock(&job_types_lock);
    for (size_t i = 0; i < njob_types; i++) {
        if (strcmp(job_types[i].name, type) == 0) {
            job_types[i].fn = fn;
            ret = 0;
            goto out;
        }
    }
    if (njob_types < MAX_JOB_TYPES) {
        snprintf(job_types[njob_types].name, sizeof job_types[0].name, "%s", type);
        job_types[njob_types++].fn = fn;
        ret = 0;
    }
out:
    pthread_mutex_unlock(&job_types_lock);
    return ret;
}

vf_job_handler_fn vf_worker_handler(const char *type)
{
    vf_job_handler_fn fn = NULL;
    pthread_mutex_lock(&job_types_lock);
    for (size_t i = 0; i < njob_types && !fn; i++)
        if (strcmp(job_types[i].name, type) == 0)
            fn = job_types[i].fn;
    pthread_mutex_unlock(&job_types_lock);
    return fn;
}

/* -------------------------------------------------------------- backoff */

static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)vf_mono_us() * 6364136223846793005ULL + (uint64_t)vf_now_us();
    return v;
}

int64_t vf_worker_backoff_ms(int base_s, int max_s, int attempt)
{
    int64_t max_ms = (int64_t)max_s * 1000;
    int64_t delay = (int64_t)base_s * 1000;
    for (int i = 1; i < attempt && delay < max_ms; i++)
        delay *= 2;
    if (delay > max_ms)
        delay = max_ms;
    int64_t half = delay / 2;
    return delay - half + (int64_t)(random_u64() % (uint64_t)(half + 1));
}

/* --------------------------------------------------------------- job ids */

int vf_job_new_id(char id[VF_JOB_ID_SIZE])
{
    uint64_t rnd;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -errno;
    snprintf(id, VF_JOB_ID_SIZE, "%012llx%016llx",
             (unsigned long long)(vf_now_us() / 1000) & 0xffffffffffffULL, (unsigned long long)rnd);
    return 0;
}

/* ------------------------------------------------------------ job object */

static int reply_str(const redisReply *r, char *buf, size_t len)
{
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) || r->len >= len)
        return -EINVAL;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    return 0;
}

int vf_job_from_reply(vf_job_t *job, const redisReply *rep)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 6 ||
        rep->element[5]->type != REDIS_REPLY_INTEGER)
        return -EINVAL;
    if (reply_str(rep->element[1], job->id, sizeof job->id) < 0 ||
        reply_str(rep->element[2], job->entry, sizeof job->entry) < 0 ||
        reply_str(rep->element[3], job->type, sizeof job->type) < 0)
        return -EINVAL;
    const redisReply *p = rep->element[4];
    if (p->type != REDIS_REPLY_STRING)
        return -EINVAL;
    json_error_t jerr;
    job->payload = json_loadb(p->str, p->len, JSON_DECODE_ANY, &jerr);
    if (!job->payload)
        return -EINVAL;
    job->attempt = (int)rep->element[5]->integer;
    return 0;
}

void vf_job_clear(vf_job_t *job)
{
    json_decref(job->payload);
    json_decref(job->result);
    job->payload = NULL;
    job->result = NULL;
}

const char *vf_job_id(const vf_job_t *job) { return job->id; }
const char *vf_job_type(const vf_job_t *job) { return job->type; }
int vf_job_attempt(const vf_job_t *job) { return job->attempt; }
const json_t *vf_job_payload(const vf_job_t *job) { return job->payload; }

int vf_job_cancelled(const vf_job_t *job)
{
    return atomic_load(&((vf_job_t *)job)->cancel) != VF_JOB_RUN ||
           (job->deadline_mono_us > 0 && vf_mono_us() >= job->deadline_mono_us);
}

void vf_job_set_result(vf_job_t *job, json_t *result)
{
    json_decref(job->result);
    job->result = result;
}

/* Only noted here: the worker's supervisor thread writes it to Redis on its
 * own connection, so handlers may report from any thread. */
void vf_job_progress(vf_job_t *job, int percent)
{
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    atomic_store(&job->progress, percent);
}
