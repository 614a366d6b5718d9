/*
 * test_worker.c - the worker of the tests: the production `worker`, `jobs`
 * and `workers` commands (the very code `videoflix` runs) plus job types
 * that exist only here:
 *   noop     done at once
 *   sleep    {"ms": N}: sleeps N ms in small steps, reporting progress and
 *            stopping when cancelled
 *   fail     {"times": N, "permanent": bool, "file": F}: fails its first N
 *            attempts ("attempt <id> <n> <pid> <us>" appended to F)
 *   failflag {"flag": F}: fails while the file F exists
 *   record   {"ms": N, "file": F}: appends "start <id> <pid> <us>", sleeps
 *            N ms, appends "end <id> <pid> <us>" (O_APPEND lines, so that
 *            several processes can share F); "cancel ..." when cancelled
 * usage: test_worker [--config FILE] worker|jobs|workers [args...]
 */
#include "config.h"
#include "core/cli/cli.h"
#include "core/util/log.h"
#include "core/jobs/queue.h"
#include "core/util/timeutil.h"
#include "core/jobs/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int append_line(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int append_line(const char *path, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return -EINVAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int ret = write(fd, line, (size_t)n) == n ? 0 : -EIO;
    if (close(fd) != 0)
        ret = -errno;
    return ret;
}

static const char *payload_str(vf_job_t *job, const char *key)
{
    return json_string_value(json_object_get(vf_job_payload(job), key));
}

static long long payload_int(vf_job_t *job, const char *key)
{
    return (long long)json_integer_value(json_object_get(vf_job_payload(job), key));
}

/* Sleep ms in 20 ms steps; -ECANCELED as soon as the job is cancelled. */
static int cancellable_sleep(vf_job_t *job, long long ms)
{
    int64_t start = vf_mono_us(), end = start + ms * 1000;
    for (int64_t now = start; now < end; now = vf_mono_us()) {
        if (vf_job_cancelled(job))
            return -ECANCELED;
        vf_job_progress(job, (int)((now - start) * 100 / (end - start)));
        int64_t step = end - now < 20000 ? end - now : 20000;
        vf_sleep_us(step);
    }
    return 0;
}

static int job_noop(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    return 0;
}

static int job_sleep(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    int ret = cancellable_sleep(job, payload_int(job, "ms"));
    if (ret == 0)
        vf_job_set_result(job, json_pack("{s:I}", "slept_ms", (json_int_t)payload_int(job, "ms")));
    else
        snprintf(err, errlen, "sleep interrupted");
    return ret;
}

static int job_fail(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    const char *file = payload_str(job, "file");
    if (file && append_line(file, "attempt %s %d %d %lld\n", vf_job_id(job), vf_job_attempt(job), (int)getpid(),
                            (long long)vf_now_us()) < 0) {
        snprintf(err, errlen, "cannot write %s", file);
        return -EIO;
    }
    if (vf_job_attempt(job) > payload_int(job, "times"))
        return 0;
    snprintf(err, errlen, "planned failure %d of %lld", vf_job_attempt(job), payload_int(job, "times"));
    return json_is_true(json_object_get(vf_job_payload(job), "permanent")) ? VF_JOB_FAIL_PERMANENT : -EIO;
}

static int job_failflag(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    const char *flag = payload_str(job, "flag");
    if (flag && access(flag, F_OK) == 0) {
        snprintf(err, errlen, "flag file %s exists", flag);
        return -EAGAIN;
    }
    return 0;
}

/* Deferred while the flag file exists; each run is recorded in "file". */
static int job_deferflag(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    const char *flag = payload_str(job, "flag"), *file = payload_str(job, "file");
    if (file && append_line(file, "run %s %d\n", vf_job_id(job), vf_job_attempt(job)) < 0)
        return -EIO;
    if (flag && access(flag, F_OK) == 0) {
        snprintf(err, errlen, "flag file %s exists: another run holds the task", flag);
        return VF_JOB_DEFER;
    }
    return 0;
}

static int job_record(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    const char *file = payload_str(job, "file");
    if (!file) {
        snprintf(err, errlen, "record needs a file");
        return VF_JOB_FAIL_PERMANENT;
    }
    if (append_line(file, "start %s %d %lld\n", vf_job_id(job), (int)getpid(), (long long)vf_now_us()) < 0)
        return -EIO;
    int ret = cancellable_sleep(job, payload_int(job, "ms"));
    append_line(file, "%s %s %d %lld\n", ret == 0 ? "end" : "cancel", vf_job_id(job), (int)getpid(),
                (long long)vf_now_us());
    return ret;
}

int main(int argc, char **argv)
{
    const char *config_arg = NULL;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
        config_arg = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: test_worker [--config FILE] worker|jobs|workers [args...]\n");
        return VF_EXIT_USAGE;
    }
    char *errors = NULL;
    vf_app_t app = {0};
    app.cfg = vf_config_load(vf_config_default_path(config_arg), &errors);
    if (!app.cfg) {
        fprintf(stderr, "%s", errors ? errors : "cannot load the configuration\n");
        free(errors);
        return VF_EXIT_FAILURE;
    }
    vf_log_level_t level;
    if (vf_log_parse_level(app.cfg->log.level, &level) == 0)
        vf_log_set_level(level);
    vf_worker_register("noop", job_noop);
    vf_worker_register("sleep", job_sleep);
    vf_worker_register("fail", job_fail);
    vf_worker_register("failflag", job_failflag);
    vf_worker_register("deferflag", job_deferflag);
    vf_worker_register("record", job_record);

    int status;
    if (strcmp(argv[i], "worker") == 0)
        status = vf_cmd_worker(&app, argc - i, argv + i);
    else if (strcmp(argv[i], "jobs") == 0)
        status = vf_cmd_jobs(&app, argc - i, argv + i);
    else if (strcmp(argv[i], "workers") == 0)
        status = vf_cmd_workers(&app, argc - i, argv + i);
    else {
        fprintf(stderr, "test_worker: unknown command '%s'\n", argv[i]);
        status = VF_EXIT_USAGE;
    }
    vf_app_fini(&app);
    return status;
}
