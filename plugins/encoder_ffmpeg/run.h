/*
 * run.h - running ffmpeg or ffprobe to completion under supervision.
 * Owns: the poll() loop over the child's stdout and stderr, the deadline,
 * the once-a-second progress callback (and cancellation through it), the
 * caller's tick beside it, and parsing ffmpeg's "-progress pipe:1"
 * key=value blocks.
 */
#ifndef FFE_RUN_H
#define FFE_RUN_H

#include <videoflix/encoder.h>

#include "stderr_tail.h"

typedef struct ffe_run_opts {
    const vf_host_api_t *host;
    const char *what;          /* "ffmpeg" or "ffprobe", for messages */
    double deadline;           /* ffe_now() value; 0 = none */
    double timeout;            /* the setting behind deadline, for messages */
    int stdout_is_progress;    /* 1: parse -progress blocks; 0: capture stdout */
    double duration;           /* source seconds for percentages; 0 = unknown */
    double percent_from;       /* the part of the whole call this run covers */
    double percent_to;
    vf_progress_fn progress;   /* may be NULL */
    void *progress_ud;
    const char *cwd;           /* the child's working directory; NULL = ours */
    /* Called with each progress report (at least once a second) while the
     * child runs, on this thread; may be NULL.  A negative return stops
     * the child and ffe_run() returns it (tick filled err). */
    int (*tick)(void *ud, vf_error_t *err);
    void *tick_ud;
} ffe_run_opts_t;

typedef struct ffe_run_result {
    int wait_status;           /* from waitpid() once the child ended by itself */
    char *out;                 /* captured stdout, NUL-terminated (capture mode) */
    size_t out_len;
    ffe_tail_t err_tail;       /* the last bytes of stderr */
} ffe_run_result_t;

/* Monotonic clock in seconds. */
double ffe_now(void);

/* Run argv (argv[0] resolved) until it exits.  Returns 0 when it ended by
 * itself (see wait_status), -ETIMEDOUT or -ECANCELED when it was killed,
 * or another negative errno when it could not run; err is filled for every
 * failure.  The caller frees r->out. */
int ffe_run(char *const argv[], const ffe_run_opts_t *o, ffe_run_result_t *r, vf_error_t *err);

/* For a run that ended by itself: 0 when it exited with status 0, else
 * -EIO with "<what> failed (exit status N): <last stderr lines>". */
int ffe_run_check_exit(const ffe_run_opts_t *o, ffe_run_result_t *r, const char *hidden,
                       const char *shown, vf_error_t *err);

#endif
