/*
 * worker.c - a thread fed through a small bounded queue of frames and
 * packets.  Each rendition has one, so the renditions' scalers and encoders
 * run concurrently while the caller's thread decodes; the bound keeps
 * memory flat (a few decoded frames per rendition, whatever the length of
 * the video).  The feeding side never blocks for long: it waits in short
 * slices and ticks the job in between, so progress reports, the timeout
 * and cancellation keep working while encoders are busy.
 */
#include "lav.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define WAIT_SLICE_NS 200000000L

static void item_free(lav_item_t *it)
{
    av_frame_free(&it->frame);
    av_packet_free(&it->packet);
}

static void *worker_main(void *arg)
{
    lav_worker_t *w = arg;
    int ret = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->count && !w->abort)
            pthread_cond_wait(&w->changed, &w->mu);
        if (w->abort)
            break;
        lav_item_t it = w->items[w->head];
        w->head = (w->head + 1) % LAV_QUEUE_CAP;
        w->count--;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->mu);

        int end = !it.frame && !it.packet;
        ret = w->fn(w->ud, &it);
        item_free(&it);

        pthread_mutex_lock(&w->mu);
        if (ret != 0 || end)
            break;
    }
    w->ret = ret;
    w->finished = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int lav_worker_start(lav_worker_t *w, lav_item_fn fn, void *ud)
{
    memset(w, 0, sizeof *w);
    w->fn = fn;
    w->ud = ud;
    pthread_condattr_t attr;
    int ret = pthread_condattr_init(&attr);
    if (ret)
        return -ret;
    if (!(ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) &&
        !(ret = pthread_mutex_init(&w->mu, NULL))) {
        if ((ret = pthread_cond_init(&w->changed, &attr)))
            pthread_mutex_destroy(&w->mu);
    }
    pthread_condattr_destroy(&attr);
    if (ret)
        return -ret;
    w->sync_ready = 1;
    if ((ret = pthread_create(&w->thread, NULL, worker_main, w)))
        return -ret;
    w->started = 1;
    return 0;
}

/* Wait on the condition for one slice; the caller holds w->mu. */
static void wait_slice(lav_worker_t *w)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += WAIT_SLICE_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->changed, &w->mu, &until);
}

int lav_worker_push(lav_worker_t *w, lav_job_t *job, AVFrame *frame, AVPacket *packet)
{
    lav_item_t it = {frame, packet};
    int ret = 0;
    pthread_mutex_lock(&w->mu);
    while (w->count == LAV_QUEUE_CAP && !w->finished) {
        pthread_mutex_unlock(&w->mu);
        ret = lav_job_tick(job);
        pthread_mutex_lock(&w->mu);
        if (ret)
            break;
        if (w->count == LAV_QUEUE_CAP && !w->finished)
            wait_slice(w);
    }
    if (!ret && w->finished)
        ret = -EPIPE;
    if (!ret) {
        w->items[(w->head + w->count) % LAV_QUEUE_CAP] = it;
        w->count++;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->mu);
    if (ret)
        item_free(&it);
    return ret;
}

int lav_worker_wait(lav_worker_t *w, lav_job_t *job)
{
    int ret = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->finished) {
        pthread_mutex_unlock(&w->mu);
        ret = lav_job_tick(job);
        pthread_mutex_lock(&w->mu);
        if (ret)
            break;
        if (!w->finished)
            wait_slice(w);
    }
    if (!ret)
        ret = w->ret;
    pthread_mutex_unlock(&w->mu);
    return ret;
}

int lav_worker_aborted(lav_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    int aborted = w->abort;
    pthread_mutex_unlock(&w->mu);
    return aborted;
}

void lav_worker_destroy(lav_worker_t *w)
{
    if (!w->sync_ready)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->abort = 1;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
    while (w->count) {
        item_free(&w->items[w->head]);
        w->head = (w->head + 1) % LAV_QUEUE_CAP;
        w->count--;
    }
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->mu);
    w->sync_ready = 0;
}
