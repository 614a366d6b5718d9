/*
 * job_slots.c - see job_slots.h.  A counter under a mutex with a condition
 * variable on the monotonic clock, so a wall-clock jump neither wakes the
 * waiters early nor keeps them asleep.
 */
#include "config.h"
#include "plugins/job_slots.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define CANCEL_CHECK_NS 100000000L

struct vf_job_slots {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned max;
    unsigned busy;
};

vf_job_slots_t *vf_job_slots_new(unsigned max)
{
    vf_job_slots_t *s = calloc(1, sizeof *s);
    pthread_condattr_t attr;
    if (!s)
        return NULL;
    if (pthread_condattr_init(&attr) != 0) {
        free(s);
        return NULL;
    }
    int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&s->freed, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok || pthread_mutex_init(&s->lock, NULL) != 0) {
        if (ok)
            pthread_cond_destroy(&s->freed);
        free(s);
        return NULL;
    }
    s->max = max ? max : 1;
    return s;
}

void vf_job_slots_free(vf_job_slots_t **slots)
{
    vf_job_slots_t *s = *slots;
    if (!s)
        return;
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *slots = NULL;
}

int vf_job_slots_enter(vf_job_slots_t *s, int (*cancelled)(void *ud), void *ud)
{
    if (!s)
        return 0;
    int ret = 0;
    pthread_mutex_lock(&s->lock);
    while (s->busy >= s->max) {
        if (cancelled && cancelled(ud)) {
            ret = -ECANCELED;
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += CANCEL_CHECK_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->freed, &s->lock, &until);
    }
    if (ret == 0)
        s->busy++;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

void vf_job_slots_leave(vf_job_slots_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->busy > 0)
        s->busy--;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

unsigned vf_job_slots_busy(vf_job_slots_t *s)
{
    if (!s)
        return 0;
    pthread_mutex_lock(&s->lock);
    unsigned n = s->busy;
    pthread_mutex_unlock(&s->lock);
    return n;
}
