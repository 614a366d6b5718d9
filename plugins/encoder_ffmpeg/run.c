/*
 * run.c - see run.h.  One thread supervises one child: poll() wakes at
 * least once a second (also when ffmpeg prints nothing) so that the
 * deadline and the caller's cancellation are noticed within a second.
 */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define KILL_GRACE_MS 2000
#define MAX_CAPTURE (8u << 20)  /* ffprobe JSON of a sane file is far smaller */
#define PROGRESS_LINE_MAX 256

double ffe_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct run_state {
    const ffe_run_opts_t *o;
    ffe_run_result_t *r;
    size_t out_cap;
    char line[PROGRESS_LINE_MAX];
    size_t line_len;
    int line_overflow;
    double out_time;           /* seconds written so far, from -progress */
    int block_ended;           /* a "progress=" line arrived since the last report */
    double last_report;
} run_state_t;

static int capture(run_state_t *s, const char *data, size_t len)
{
    ffe_run_result_t *r = s->r;
    if (r->out_len + len + 1 > MAX_CAPTURE)
        return -EFBIG;
    if (r->out_len + len + 1 > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 16384;
        while (cap < r->out_len + len + 1)
            cap *= 2;
        char *grown = realloc(r->out, cap);
        if (!grown)
            return -ENOMEM;
        r->out = grown;
        s->out_cap = cap;
    }
    memcpy(r->out + r->out_len, data, len);
    r->out_len += len;
    r->out[r->out_len] = '\0';
    return 0;
}

static void progress_line(run_state_t *s, const char *line)
{
    /* out_time_ms is microseconds too (a historical misnomer). */
    const char *value = NULL;
    if (strncmp(line, "out_time_us=", 12) == 0)
        value = line + 12;
    else if (strncmp(line, "out_time_ms=", 12) == 0)
        value = line + 12;
    if (value) {
        char *end;
        errno = 0;
        long long us = strtoll(value, &end, 10);
        if (errno == 0 && end != value && us >= 0)
            s->out_time = (double)us / 1e6;
    } else if (strncmp(line, "progress=", 9) == 0)
        s->block_ended = 1;
}

static void parse_progress(run_state_t *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            s->line[s->line_len] = '\0';
            if (!s->line_overflow)
                progress_line(s, s->line);
            s->line_len = 0;
            s->line_overflow = 0;
        } else if (s->line_len + 1 < sizeof s->line)
            s->line[s->line_len++] = data[i];
        else
            s->line_overflow = 1;
    }
}

static double percent_now(const run_state_t *s)
{
    const ffe_run_opts_t *o = s->o;
    double fraction = 0;
    if (o->duration > 0 && s->out_time > 0)
        fraction = fmin(s->out_time / o->duration, 0.999);
    return o->percent_from + fraction * (o->percent_to - o->percent_from);
}

/* Calls the caller's callback; non-zero means "stop". */
static int report(run_state_t *s)
{
    s->last_report = ffe_now();
    s->block_ended = 0;
    if (!s->o->progress)
        return 0;
    return s->o->progress(s->o->progress_ud, percent_now(s));
}

/* Drain what is readable on *fd; closes it at end of file. */
static int drain(run_state_t *s, int *fd, int is_stdout)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -errno;
        }
        if (n == 0) {
            close(*fd);
            *fd = -1;
            return 0;
        }
        if (!is_stdout)
            ffe_tail_append(&s->r->err_tail, buf, (size_t)n);
        else if (s->o->stdout_is_progress)
            parse_progress(s, buf, (size_t)n);
        else {
            int ret = capture(s, buf, (size_t)n);
            if (ret < 0)
                return ret;
        }
    }
}

static int supervise(run_state_t *s, ffe_proc_t *p, vf_error_t *err)
{
    const ffe_run_opts_t *o = s->o;
    const vf_host_api_t *host = o->host;
    for (;;) {
        double now = ffe_now();
        if (o->deadline > 0 && now >= o->deadline)
            return host->error(err, ETIMEDOUT, "%s did not finish within the %g s timeout", o->what,
                               o->timeout);
        if (s->block_ended || now - s->last_report >= 1.0) {
            if (report(s) != 0)
                return host->error(err, ECANCELED, "%s was cancelled", o->what);
            int ret = o->tick ? o->tick(o->tick_ud, err) : 0;
            if (ret < 0)
                return ret;
        }
        if (p->out_fd < 0 && p->err_fd < 0 && ffe_proc_exited(p))
            return 0;

        double wait = s->last_report + 1.0 - ffe_now();
        if (o->deadline > 0 && o->deadline - now < wait)
            wait = o->deadline - now;
        if (p->out_fd < 0 && p->err_fd < 0 && wait > 0.05)
            wait = 0.05; /* pipes closed: the exit is imminent, look often */
        int timeout_ms = wait > 0 ? (int)ceil(wait * 1000) : 0;

        struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
        int n = poll(fds, 2, timeout_ms);
        if (n < 0 && errno != EINTR)
            return host->error(err, errno, "waiting for %s failed: %s", o->what, strerror(errno));
        if (n <= 0)
            continue;
        int ret = 0;
        if (fds[0].revents && (ret = drain(s, &p->out_fd, 1)) < 0)
            return host->error(err, ret, "reading the output of %s failed: %s", o->what,
                               strerror(-ret));
        if (fds[1].revents && (ret = drain(s, &p->err_fd, 0)) < 0)
            return host->error(err, ret, "reading the messages of %s failed: %s", o->what,
                               strerror(-ret));
    }
}

int ffe_run(char *const argv[], const ffe_run_opts_t *o, ffe_run_result_t *r, vf_error_t *err)
{
    memset(r, 0, sizeof *r);
    /* Report once right away, so a caller can cancel before any work. */
    run_state_t s = {.o = o, .r = r, .last_report = ffe_now() - 1.0};
    ffe_proc_t p;
    int ret = ffe_proc_start(argv, o->cwd, &p);
    if (ret < 0)
        return o->host->error(err, ret, "cannot run %s (%s): %s", o->what, argv[0], strerror(-ret));
    o->host->log("encoder_ffmpeg", VF_LOG_DEBUG, "started %s as pid %d", o->what, (int)p.pid);

    ret = supervise(&s, &p, err);
    if (ret < 0) {
        ffe_proc_kill(&p, KILL_GRACE_MS, NULL);
        return ret;
    }
    int reap = ffe_proc_reap(&p, &r->wait_status);
    if (reap < 0)
        return o->host->error(err, reap, "cannot collect the exit status of %s: %s", o->what,
                              strerror(-reap));
    return 0;
}

int ffe_run_check_exit(const ffe_run_opts_t *o, ffe_run_result_t *r, const char *hidden,
                       const char *shown, vf_error_t *err)
{
    int status = r->wait_status;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char tail[FFE_TAIL_SIZE + 1], lines[400];
    ffe_tail_text(&r->err_tail, tail);
    if (hidden && shown)
        ffe_replace_all(tail, sizeof tail, hidden, shown);
    ffe_last_lines(tail, 3, lines, sizeof lines);
    char how[64];
    if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
    return o->host->error(err, EIO, "%s failed (%s): %s", o->what, how,
                          lines[0] ? lines : "it printed no message");
}
