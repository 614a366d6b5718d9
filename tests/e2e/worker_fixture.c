/*
 * worker_fixture.c - see worker_fixture.h.
 */
#include "config.h"
#include "worker_fixture.h"

#include "core/runtime/db.h"
#include "core/util/log.h"
#include "core/runtime/redis.h"
#include "core/util/timeutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int qfix_setup(qfix_t *f, const char *sections)
{
    memset(f, 0, sizeof *f);
    vft_env_or_skip("VF_TEST_PG_DSN");
    f->dir = vft_tmpdir("vfqueue");
    if (!f->dir || vft_redis_start(&f->redis, f->dir, 0) != 0)
        return -1;
    f->conninfo = vft_pg_create("vfqueue");
    if (!f->conninfo)
        return -1;
    f->config_path = vft_write_config(f->dir, f->conninfo, f->redis.port, sections);
    if (!f->config_path)
        return -1;
    char *errors = NULL;
    f->app.cfg = vf_config_load(f->config_path, &errors);
    if (!f->app.cfg) {
        fprintf(stderr, "qfix: %s", errors ? errors : "cannot load the config\n");
        free(errors);
        return -1;
    }
    vf_log_level_t level;
    if (vf_log_parse_level(f->app.cfg->log.level, &level) == 0)
        vf_log_set_level(level);
    if (vf_thread_ctx_init(&f->ctx, &f->app, 0) < 0)
        return -1;
    char err[512];
    int applied;
    if (vf_db_migrate(f->ctx.db, f->app.cfg->database.migrations_dir, &applied, err, sizeof err) < 0) {
        fprintf(stderr, "qfix: migrations: %s\n", err);
        return -1;
    }
    snprintf(f->record, sizeof f->record, "%s/record.log", f->dir);
    return 0;
}

void qfix_teardown(qfix_t *f)
{
    for (int i = 0; i < f->nworkers; i++)
        if (f->pids[i] > 0)
            vft_stop(f->pids[i], SIGKILL, 2000);
    vf_thread_ctx_fini(&f->ctx);
    vf_config_free(&f->app.cfg);
    if (f->redis.pid > 0)
        vft_redis_stop(&f->redis);
    else
        free(f->redis.dir);
    if (f->conninfo)
        vft_pg_drop(f->conninfo);
    free(f->conninfo);
    free(f->config_path);
    if (f->dir && !getenv("VF_TEST_KEEP"))
        vft_rmrf(f->dir);
    free(f->dir);
}

static const char *test_worker_path(char *buf, size_t len)
{
    const char *builddir = getenv("VF_BUILDDIR");
    snprintf(buf, len, "%s/tests/test_worker", builddir ? builddir : ".");
    return buf;
}

int qfix_spawn_worker(qfix_t *f, int concurrency)
{
    if (f->nworkers >= QFIX_MAX_WORKERS)
        return -1;
    char bin[4096], conc[16], log[4096];
    test_worker_path(bin, sizeof bin);
    snprintf(conc, sizeof conc, "%d", concurrency);
    snprintf(log, sizeof log, "%s/worker-%d.log", f->dir, f->nworkers);
    char *argv[] = {bin, "--config", f->config_path, "worker", "--concurrency", conc, NULL};
    int pid = vft_spawn(argv, log);
    if (pid < 0)
        return -1;
    f->pids[f->nworkers] = pid;
    return f->nworkers++;
}

int qfix_stop_worker(qfix_t *f, int index, int sig, int timeout_ms)
{
    int status = vft_stop(f->pids[index], sig, timeout_ms);
    f->pids[index] = 0;
    return status;
}

int qfix_enqueue(qfix_t *f, const char *type, const char *payload_json, char id[VF_JOB_ID_SIZE])
{
    json_t *payload = json_loads(payload_json ? payload_json : "{}", 0, NULL);
    if (!payload)
        return -1;
    int ret = vf_queue_enqueue(&f->ctx, type, payload, id);
    json_decref(payload);
    return ret;
}

void qfix_state(qfix_t *f, const char *id, char *state, size_t len, int *attempts)
{
    json_t *job = NULL;
    state[0] = '\0';
    if (vf_queue_show(&f->ctx, id, &job) == 0) {
        const char *s = json_string_value(json_object_get(job, "state"));
        snprintf(state, len, "%s", s ? s : "");
        if (attempts)
            *attempts = (int)json_integer_value(json_object_get(job, "attempts"));
    }
    json_decref(job);
}

int qfix_wait_state(qfix_t *f, const char *id, const char *state, int timeout_ms)
{
    int64_t until = vf_mono_us() + (int64_t)timeout_ms * 1000;
    char now[32];
    do {
        qfix_state(f, id, now, sizeof now, NULL);
        if (strcmp(now, state) == 0)
            return 0;
        vf_sleep_us(50000);
    } while (vf_mono_us() < until);
    fprintf(stderr, "qfix: job %s is '%s', not '%s', after %d ms\n", id, now, state, timeout_ms);
    return -1;
}

long qfix_count(qfix_t *f, const char *state)
{
    json_t *counts = NULL;
    long n = -1;
    if (vf_queue_counts(&f->ctx, &counts) == 0)
        n = (long)json_integer_value(json_object_get(counts, state));
    json_decref(counts);
    return n;
}

int qfix_wait_count(qfix_t *f, const char *state, long count, int timeout_ms)
{
    int64_t until = vf_mono_us() + (int64_t)timeout_ms * 1000;
    long n;
    do {
        n = qfix_count(f, state);
        if (n == count)
            return 0;
        vf_sleep_us(50000);
    } while (vf_mono_us() < until);
    fprintf(stderr, "qfix: %ld jobs %s, not %ld, after %d ms\n", n, state, count, timeout_ms);
    return -1;
}

int qfix_read_events(qfix_t *f, qfix_event_t **events, size_t *n)
{
    *events = NULL;
    *n = 0;
    FILE *in = fopen(f->record, "r");
    if (!in)
        return 0; /* nothing recorded yet */
    size_t cap = 0;
    char line[512];
    int ret = 0;
    while (fgets(line, sizeof line, in)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            qfix_event_t *grown = realloc(*events, cap * sizeof *grown);
            if (!grown) {
                ret = -1;
                break;
            }
            *events = grown;
        }
        qfix_event_t *e = &(*events)[*n];
        memset(e, 0, sizeof *e);
        int ok;
        if (strncmp(line, "attempt ", 8) == 0)
            ok = sscanf(line, "%11s %63s %d %d %lld", e->kind, e->id, &e->attempt, &e->pid, &e->us) == 5;
        else
            ok = sscanf(line, "%11s %63s %d %lld", e->kind, e->id, &e->pid, &e->us) == 4;
        if (ok)
            (*n)++;
    }
    fclose(in);
    return ret;
}

int qfix_cli(qfix_t *f, int use_binary, char **out, const char *const *args)
{
    char bin[4096];
    const char *path = use_binary ? getenv("VF_BINARY") : test_worker_path(bin, sizeof bin);
    if (!path)
        return -1;
    const char *argv[16] = {path, "--config", f->config_path};
    int argc = 3;
    for (size_t i = 0; args[i] && argc < 15; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    return vft_run((char *const *)argv, out);
}
