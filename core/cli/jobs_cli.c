/*
 * jobs_cli.c - `videoflix jobs list|show|requeue|delete|counts` and
 * `videoflix workers`: a terminal front end to queue_admin.c.
 */
#include "config.h"
#include "cli/cli.h"
#include "jobs/queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jobs_usage(FILE *f)
{
    fprintf(f, "usage: videoflix jobs list [--state STATE] [--limit N] [--json]\n"
               "       videoflix jobs show ID\n"
               "       videoflix jobs requeue ID\n"
               "       videoflix jobs delete ID\n"
               "       videoflix jobs counts\n"
               "STATE is one of: " VF_JOB_STATES "\n");
}

static const char *str_member(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

static int fail(const char *what, const char *id, int err)
{
    if (err == -ENOENT)
        fprintf(stderr, "videoflix jobs: no job %s\n", id);
    else if (err == -ECONNRESET)
        fprintf(stderr, "videoflix jobs %s: Redis or PostgreSQL is unreachable\n", what);
    else
        fprintf(stderr, "videoflix jobs %s: %s\n", what, strerror(-err));
    return VF_EXIT_FAILURE;
}

static void print_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
}

/* "2025-11-22T10:53:08.123456Z" -> "2025-11-22 10:53:08" */
static void short_time(const char *iso, char *buf, size_t len)
{
    snprintf(buf, len, "%.19s", iso);
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
}

static void print_job_row(const json_t *job)
{
    char created[24], attempts[24];
    short_time(str_member(job, "created_at"), created, sizeof created);
    snprintf(attempts, sizeof attempts, "%lld/%lld", (long long)json_integer_value(json_object_get(job, "attempts")),
             (long long)json_integer_value(json_object_get(job, "max_attempts")));
    const char *error = json_string_value(json_object_get(job, "error"));
    printf("%-28s  %-16s  %-8s  %-8s  %3lld%%  %-19s  %.60s\n", str_member(job, "id"), str_member(job, "type"),
           str_member(job, "state"), attempts, (long long)json_integer_value(json_object_get(job, "progress")),
           created, error ? error : "");
}

static int cmd_list(vf_thread_ctx_t *ctx, int argc, char **argv)
{
    const char *state = NULL;
    long limit = 100;
    int as_json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            char *end;
            limit = strtol(argv[++i], &end, 10);
            if (*end || limit < 1 || limit > 1000000) {
                fprintf(stderr, "videoflix jobs list: --limit must be 1..1000000\n");
                return VF_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else {
            jobs_usage(stderr);
            return VF_EXIT_USAGE;
        }
    }
    if (state && !vf_job_state_valid(state)) {
        fprintf(stderr, "videoflix jobs list: unknown state '%s' (one of: " VF_JOB_STATES ")\n", state);
        return VF_EXIT_USAGE;
    }
    json_t *jobs = NULL;
    int ret = vf_queue_list(ctx, state, (size_t)limit, &jobs);
    if (ret < 0)
        return fail("list", "", ret);
    if (as_json) {
        print_json(jobs);
    } else {
        printf("%-28s  %-16s  %-8s  %-8s  %4s  %-19s  %s\n", "ID", "TYPE", "STATE", "ATTEMPTS", "PROG", "CREATED",
               "ERROR");
        size_t i;
        json_t *job;
        json_array_foreach(jobs, i, job)
            print_job_row(job);
    }
    json_decref(jobs);
    return VF_EXIT_OK;
}

static int cmd_one(vf_thread_ctx_t *ctx, const char *what, const char *id)
{
    int ret;
    if (strcmp(what, "show") == 0) {
        json_t *job = NULL;
        ret = vf_queue_show(ctx, id, &job);
        if (ret == 0)
            print_json(job);
        json_decref(job);
    } else if (strcmp(what, "requeue") == 0) {
        ret = vf_queue_requeue(ctx, id);
        if (ret == -EBUSY) {
            fprintf(stderr, "videoflix jobs requeue: job %s is running\n", id);
            return VF_EXIT_FAILURE;
        }
        if (ret == -EALREADY) {
            fprintf(stderr, "videoflix jobs requeue: job %s is queued already\n", id);
            return VF_EXIT_FAILURE;
        }
        if (ret == 0)
            printf("job %s queued again\n", id);
    } else {
        ret = vf_queue_delete(ctx, id);
        if (ret == 0)
            printf("job %s deleted\n", id);
    }
    return ret < 0 ? fail(what, id, ret) : VF_EXIT_OK;
}

int vf_cmd_jobs(vf_app_t *app, int argc, char **argv)
{
    /* argv[0] is "jobs". */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        jobs_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VF_EXIT_USAGE : VF_EXIT_OK;
    }
    const char *sub = argv[1];
    int one = strcmp(sub, "show") == 0 || strcmp(sub, "requeue") == 0 || strcmp(sub, "delete") == 0;
    if (!one && strcmp(sub, "list") != 0 && strcmp(sub, "counts") != 0) {
        jobs_usage(stderr);
        return VF_EXIT_USAGE;
    }
    if ((one && argc != 3) || (strcmp(sub, "counts") == 0 && argc != 2)) {
        jobs_usage(stderr);
        return VF_EXIT_USAGE;
    }
    vf_thread_ctx_t ctx;
    if (vf_thread_ctx_init(&ctx, app, 0) < 0) {
        fprintf(stderr, "videoflix jobs: out of memory\n");
        return VF_EXIT_FAILURE;
    }
    int status;
    if (one) {
        status = cmd_one(&ctx, sub, argv[2]);
    } else if (strcmp(sub, "list") == 0) {
        status = cmd_list(&ctx, argc - 2, argv + 2);
    } else {
        json_t *counts = NULL;
        int ret = vf_queue_counts(&ctx, &counts);
        status = ret < 0 ? fail("counts", "", ret) : VF_EXIT_OK;
        if (counts)
            print_json(counts);
        json_decref(counts);
    }
    vf_thread_ctx_fini(&ctx);
    return status;
}

static void print_worker_row(const json_t *w)
{
    char started[24];
    short_time(str_member(w, "started_at"), started, sizeof started);
    printf("%-40s  %-20s  %7lld  %4lld  %-19s  ", str_member(w, "id"), str_member(w, "host"),
           (long long)json_integer_value(json_object_get(w, "pid")),
           (long long)json_integer_value(json_object_get(w, "concurrency")), started);
    size_t j;
    json_t *id;
    json_array_foreach(json_object_get(w, "jobs"), j, id)
        printf("%s%s", j ? " " : "", json_string_value(id));
    putchar('\n');
}

int vf_cmd_workers(vf_app_t *app, int argc, char **argv)
{
    int as_json = argc == 2 && strcmp(argv[1], "--json") == 0;
    if (argc > 1 && !as_json) {
        fprintf(stderr, "usage: videoflix workers [--json]\n");
        return VF_EXIT_USAGE;
    }
    vf_thread_ctx_t ctx;
    if (vf_thread_ctx_init(&ctx, app, 0) < 0) {
        fprintf(stderr, "videoflix workers: out of memory\n");
        return VF_EXIT_FAILURE;
    }
    json_t *workers = NULL;
    int ret = vf_queue_workers(&ctx, &workers);
    vf_thread_ctx_fini(&ctx);
    if (ret < 0) {
        fprintf(stderr, "videoflix workers: %s\n",
                ret == -ECONNRESET ? "Redis is unreachable" : strerror(-ret));
        return VF_EXIT_FAILURE;
    }
    if (as_json) {
        print_json(workers);
    } else {
        printf("%-40s  %-20s  %7s  %4s  %-19s  %s\n", "ID", "HOST", "PID", "JOBS", "STARTED", "RUNNING");
        size_t i;
        json_t *w;
        json_array_foreach(workers, i, w)
            print_worker_row(w);
    }
    json_decref(workers);
    return VF_EXIT_OK;
}
