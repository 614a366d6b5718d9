/*
 * job.c - the state of one operation on the caller's thread: the deadline
 * (`timeout`), progress reports and the first failure message.  Progress is
 * reported from here only, so the callback always runs on the caller's
 * thread; libavformat calls lav_job_interrupt() while it blocks on I/O, which
 * keeps reports coming when packets arrive slowly.
 */
#include "lav.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Report a little more often than the once a second callers are promised,
 * because ticks arrive at packet (or I/O poll) granularity. */
#define REPORT_INTERVAL_NS 500000000LL

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void lav_job_init(lav_job_t *job, const lav_state_t *state, vf_progress_fn progress, void *ud,
                  vf_error_t *err)
{
    memset(job, 0, sizeof *job);
    job->state = state;
    job->err = err;
    job->progress = progress;
    job->progress_ud = ud;
    int64_t now = now_ns();
    job->last_report_ns = now;
    if (state->cfg.timeout > 0)
        job->deadline_ns = now + (int64_t)(state->cfg.timeout * 1e9);
    if (err) {
        err->status = 0;
        err->message[0] = '\0';
    }
}

int lav_job_report(lav_job_t *job, double percent)
{
    if (job->stop)
        return job->stop;
    if (job->reported_end || job->failed)
        return 0;
    job->percent = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    job->reported_end = job->percent >= 100;
    job->last_report_ns = now_ns();
    if (job->progress && job->progress(job->progress_ud, job->percent) != 0)
        job->stop = -ECANCELED;
    return job->stop;
}

int lav_job_tick(lav_job_t *job)
{
    if (job->stop)
        return job->stop;
    int64_t now = now_ns();
    if (job->deadline_ns && now >= job->deadline_ns) {
        job->stop = -ETIMEDOUT;
        return job->stop;
    }
    /* Cleanup after the end or a failure may still block in libavformat;
     * the caller hears nothing more then. */
    if (!job->reported_end && !job->failed && now - job->last_report_ns >= REPORT_INTERVAL_NS)
        return lav_job_report(job, job->percent);
    return 0;
}

int lav_job_interrupt(void *opaque)
{
    return lav_job_tick(opaque) != 0;
}

static int stop_message(lav_job_t *job)
{
    if (job->stop == -ECANCELED)
        job->state->host->error(job->err, ECANCELED, "cancelled by the progress callback");
    else
        job->state->host->error(job->err, ETIMEDOUT, "timed out after %g s (the timeout setting)",
                                job->state->cfg.timeout);
    job->failed = 1;
    return job->stop;
}

int lav_job_fail(lav_job_t *job, int code, const char *fmt, ...)
{
    if (job->stop) {
        if (!job->failed)
            stop_message(job);
        return job->stop;
    }
    if (code > 0)
        code = -code;
    if (code == 0)
        code = -EIO;
    if (!job->failed) {
        char msg[LAV_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        job->state->host->error(job->err, code, "%s", msg);
        job->failed = 1;
    }
    return code;
}

int lav_errno(int averr, int fallback)
{
    /* AVERROR(e) is -e for errno values; libav's own codes are FFERRTAGs,
     * far below any errno. */
    if (averr < 0 && averr > -4096)
        return averr;
    return fallback;
}

int lav_job_av_fail(lav_job_t *job, int averr, int fallback, const char *step)
{
    if (averr == AVERROR_EXIT && !job->stop)
        job->stop = -ECANCELED;
    return lav_job_fail(job, lav_errno(averr, fallback), "%s: %s", step, av_err2str(averr));
}
