/*
 * check_pipeline.c - the transcode pipeline under faults, through the real
 * server and pipeline workers:
 *   bad_inputs  a truncated MP4, a text file named .mp4 and an empty upload
 *               each end failed with a readable message; the same worker
 *               then processes a good video
 *               (the video's other tasks end failed, naming the task
 *               that failed it)
 *   sigkill     a worker killed mid-transcode: another one finishes the
 *               job and no temporary file is left
 *   orphan_sweep  a worker killed mid-transcode on one "host", its job
 *               finished once on another: the task directory it left is
 *               removed by the next worker started on its work directory,
 *               which keeps the directory of a live worker sharing it
 *   redis_down  a video created while Redis is stopped is processed once
 *               Redis is back (the job waited in the outbox)
 *   exclusive   with duplicated jobs and two workers, no task is ever run
 *               by two workers at once, and each is done once
 *   encoder_max_jobs  an encoder declaring max_jobs = 1 runs one job at a
 *               time in a worker of concurrency 2; the others wait their turn
 */
#include "config.h"
#include "uploads_fixture.h"

#include "core/pipeline/pipeline.h"
#include "core/jobs/queue.h"
#include "tests/media.h"

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_path(ufix_t *f, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", f->dir, name), 0);
    return p;
}

static json_t *wait_final(ufix_t *f, int64_t id, int timeout_ms)
{
    json_t *v = NULL;
    ck_assert_msg(ufix_wait_video(f, id, NULL, timeout_ms, &v) == 0, "video %" PRId64 " did not finish", id);
    return v;
}

static void assert_failed_readably(ufix_t *f, int64_t id, const char *expect)
{
    json_t *v = wait_final(f, id, 60000);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "failed");
    const char *msg = json_string_value(json_object_get(v, "processing_error"));
    ck_assert_msg(msg && strstr(msg, expect), "processing_error \"%s\" lacks \"%s\"", msg ? msg : "", expect);
    /* Storage paths are internal: never shown. */
    ck_assert_msg(!strstr(msg, f->dir), "processing_error shows a server path: %s", msg);
    json_decref(v);
}

/* ----------------------------------------------------------- bad inputs */

START_TEST(bad_inputs)
{
    ufix_t f;
    ck_assert_int_eq(ufix_setup(&f, NULL), 0);
    int w = ufix_start_worker(&f, 1);
    ck_assert_int_ge(w, 0);
    int pid = f.workers[w];

    char *good = tmp_path(&f, "good.mp4"), *cut = tmp_path(&f, "cut.mp4"), *text = tmp_path(&f, "notes.mp4");
    ck_assert_int_eq(ufix_make_clip(good, 320, 240, 2.0), 0);
    struct stat sb;
    ck_assert_int_eq(stat(good, &sb), 0);
    /* ffmpeg writes the index last: the first 60% have no moov box. */
    ck_assert_int_eq(vfm_copy_prefix(good, cut, (size_t)sb.st_size * 6 / 10), 0);
    FILE *fp = fopen(text, "w");
    for (int i = 0; i < 200; i++)
        fprintf(fp, "This is a text file, not a video: line %d.\n", i);
    fclose(fp);

    int64_t truncated = ufix_add_video(&f, cut, "Truncated");
    int64_t textual = ufix_add_video(&f, text, "Text");
    char path[256], id[33];
    ck_assert_int_eq(ufix_tus_create(&f, 0, "empty.mp4", path, sizeof path), 201);
    int64_t empty = ufix_create_video(&f, "Empty", "Other", ufix_upload_id(path, id));
    ck_assert(truncated > 0 && textual > 0 && empty > 0);

    assert_failed_readably(&f, truncated, "The uploaded file is not a video that can be read");
    assert_failed_readably(&f, textual, "The uploaded file is not a video that can be read");
    assert_failed_readably(&f, empty, "The uploaded file is not a video that can be read");

    /* No task of a failed video stays pending or running, and each says
     * why: its own failure, or the task that failed the video. */
    int64_t failed_ids[] = {truncated, textual, empty};
    for (size_t i = 0; i < 3; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'failed' AND error <> '') || ' ' || "
                 "count(*) FILTER (WHERE error LIKE 'Not finished: the video failed in task %%') "
                 "FROM video_tasks WHERE video_id = %" PRId64, failed_ids[i]);
        char *counts = ufix_sql(&f, sql);
        ck_assert_str_eq(counts, "3 3 2"); /* 120p, 240p, thumbnail: one failed, two not finished */
        free(counts);
    }

    /* The worker goes on serving. */
    int64_t fine = ufix_add_video(&f, good, "Fine");
    ck_assert_int_gt(fine, 0);
    json_t *v = wait_final(&f, fine, 60000);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    json_decref(v);
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(f.workers[w], pid);
    ck_assert_int_eq(ufix_count_files(f.work_dir), 0);

    free(good);
    free(cut);
    free(text);
    ufix_teardown(&f);
}
END_TEST

/* -------------------------------------------------------------- sigkill */

/* ffmpeg processes working in dir (orphans of a killed worker). */
static int encoders_in(const char *dir)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strspn(e->d_name, "0123456789") != strlen(e->d_name))
            continue;
        char p[300], buf[8192];
        snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
        FILE *fp = fopen(p, "r");
        if (!fp)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        for (size_t i = 0; i < len; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[len] = '\0';
        n += strstr(buf, "ffmpeg") && strstr(buf, dir);
    }
    if (d)
        closedir(d);
    return n;
}

/* Wait until the running task of the video reports at least `pct`. */
static int wait_running_progress(ufix_t *f, int64_t vid, int pct)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT progress FROM video_tasks WHERE video_id = %" PRId64 " AND state = 'running'",
             vid);
    int progress = 0;
    for (int waited = 0; waited < 90000 && progress < pct; waited += 50) {
        char *p = ufix_sql(f, sql);
        progress = p && *p ? atoi(p) : 0;
        free(p);
        usleep(50000);
    }
    return progress;
}

START_TEST(sigkill)
{
    ufix_t f;
    ufix_opts_t o = {.job_split = "whole_ladder",
                     .media = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; }, "
                              "{ name = \"360p\"; height = 360; } ); preset = \"medium\";"};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    char *clip = tmp_path(&f, "long.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 640, 360, 10.0), 0);
    int a = ufix_start_worker(&f, 1);
    ck_assert_int_ge(a, 0);
    int64_t vid = ufix_add_video(&f, clip, "Killed");
    ck_assert_int_gt(vid, 0);

    /* Kill once the encoder is a good way in. */
    ck_assert_int_ge(wait_running_progress(&f, vid, 15), 15);
    ck_assert_int_gt(ufix_count_files(f.work_dir), 0);
    ufix_stop_worker(&f, a, SIGKILL);

    int b = ufix_start_worker(&f, 1);
    ck_assert_int_ge(b, 0);
    json_t *v = wait_final(&f, vid, 90000);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    const char *k360 = json_string_value(json_object_get(json_object_get(v, "converted_files"), "360p"));
    ck_assert_ptr_nonnull(k360);
    char out[4096];
    snprintf(out, sizeof out, "%s/%s", f.media_root, k360);
    ck_assert_int_eq(vfm_decodes(out), 1);
    json_decref(v);
    char *log = ufix_worker_log(&f, b);
    ck_assert_msg(strstr(log, "attempt 2)"), "the second worker did not take the job over");
    free(log);

    /* The killed worker's encoder may still be finishing into a removed
     * directory; once it is gone nothing may remain. */
    for (int waited = 0; waited < 30000 && encoders_in(f.work_dir) > 0; waited += 100)
        usleep(100000);
    ck_assert_int_eq(ufix_count_files(f.work_dir), 0);

    free(clip);
    ufix_teardown(&f);
}
END_TEST

/* --------------------------------------------------------- orphan sweep */

/* Entries of dir named vf-task-<vid>-... */
static int task_dirs_of(const char *dir, int64_t vid)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "vf-task-%" PRId64 "-", vid);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static int wait_log(ufix_t *f, int worker, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        char *log = ufix_worker_log(f, worker);
        int found = strstr(log, needle) != NULL;
        free(log);
        if (found)
            return 0;
        usleep(100000);
    }
    return -1;
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

START_TEST(orphan_sweep)
{
    /* The sweep's "kept" line is a debug line. */
    setenv("VF_TEST_LOG_LEVEL", "debug", 1);
    ufix_t f;
    /* The live job below must stay with its worker while a second one
     * starts beside it on two loaded cores: a lease of 10 s rather than 4
     * (the killed worker's job waits that much longer to be taken over). */
    ufix_opts_t o = {.job_split = "whole_ladder",
                     .media = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; }, "
                              "{ name = \"360p\"; height = 360; } ); preset = \"medium\";",
                     .visibility_timeout = 10};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    char *clip = tmp_path(&f, "long.mp4"), *longer = tmp_path(&f, "longer.mp4"), *other = tmp_path(&f, "host2");
    ck_assert_int_eq(ufix_make_clip(clip, 640, 360, 10.0), 0);
    ck_assert_int_eq(ufix_make_clip(longer, 640, 360, 40.0), 0);
    ck_assert_int_eq(mkdir(other, 0755), 0);

    /* Host 1: killed mid-encode. */
    int a = ufix_start_worker(&f, 1);
    ck_assert_int_ge(a, 0);
    int64_t killed = ufix_add_video(&f, clip, "Killed");
    ck_assert_int_gt(killed, 0);
    ck_assert_int_ge(wait_running_progress(&f, killed, 15), 15);
    ck_assert_int_eq(task_dirs_of(f.work_dir, killed), 1);
    ufix_stop_worker(&f, a, SIGKILL);

    /* Host 2 finishes the job, once, and leaves host 1's directory alone. */
    int b = ufix_start_worker_in(&f, 1, other);
    ck_assert_int_ge(b, 0);
    json_t *v = wait_final(&f, killed, 120000);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    json_decref(v);
    char *log = ufix_worker_log(&f, b);
    ck_assert_msg(strstr(log, "attempt 2)"), "the worker on host 2 did not take the job over");
    char done1[96];
    snprintf(done1, sizeof done1, "ladder of video %" PRId64 " generation 1 done", killed);
    ck_assert_int_eq(count_in(log, done1), 1);
    free(log);
    /* The video is ready a moment before the job removes its directory. */
    for (int waited = 0; waited < 10000 && ufix_count_files(other) != 0; waited += 100)
        usleep(100000);
    ck_assert_int_eq(ufix_count_files(other), 0);
    ck_assert_int_eq(task_dirs_of(f.work_dir, killed), 1);
    ufix_stop_worker(&f, b, SIGTERM);

    /* Host 1 again: a worker starts there and removes what the killed one
     * left; then it encodes a long video in a directory of its own. */
    int c = ufix_start_worker(&f, 1);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(wait_log(&f, c, "left by a process that is gone", 60000), 0);
    ck_assert_int_eq(task_dirs_of(f.work_dir, killed), 0);
    int64_t live = ufix_add_video(&f, longer, "Live");
    ck_assert_int_gt(live, 0);
    ck_assert_int_ge(wait_running_progress(&f, live, 3), 3);

    /* A second worker sharing host 1's work directory sweeps at its start:
     * the live worker's directory is kept, its job goes on undisturbed. */
    int d = ufix_start_worker(&f, 1);
    ck_assert_int_ge(d, 0);
    char kept[160], needle[160];
    snprintf(kept, sizeof kept, "vf-task-%" PRId64 "-1-ladder is in use by a live process; kept", live);
    ck_assert_int_eq(wait_log(&f, d, kept, 60000), 0);
    v = wait_final(&f, live, 240000);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    json_decref(v);
    /* Worker logs of a reused index follow each other in one file: count
     * this video's lines only. */
    log = ufix_worker_log(&f, c);
    snprintf(needle, sizeof needle, "ladder of video %" PRId64 " generation 1 started", live);
    ck_assert_int_eq(count_in(log, needle), 1);
    snprintf(needle, sizeof needle, "ladder of video %" PRId64 " generation 1 done", live);
    ck_assert_int_eq(count_in(log, needle), 1);
    free(log);
    ck_assert_int_eq(ufix_count_files(f.work_dir), 0);

    free(clip);
    free(longer);
    free(other);
    ufix_teardown(&f);
}
END_TEST

/* ----------------------------------------------------------- redis down */

START_TEST(redis_down)
{
    ufix_t f;
    ck_assert_int_eq(ufix_setup(&f, NULL), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    char *clip = tmp_path(&f, "clip.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 1.0), 0);

    char *dir = strdup(f.redis.dir);
    int port = f.redis.port;
    vft_redis_stop(&f.redis);
    int64_t vid = ufix_add_video(&f, clip, "While Redis sleeps");
    ck_assert_int_gt(vid, 0);
    usleep(1500000);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT processing_state FROM videos WHERE id = %" PRId64, vid);
    char *st = ufix_sql(&f, sql);
    ck_assert_str_eq(st, "pending");
    free(st);
    ck_assert_int_eq(vft_redis_start(&f.redis, dir, port), 0);
    free(dir);

    json_t *v = wait_final(&f, vid, 60000);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    json_decref(v);
    free(clip);
    ufix_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------ exclusive */

typedef struct run_span {
    char key[96];          /* "<video> <task>" */
    double start, end;
    int done;
} run_span_t;

static double log_seconds(const char *line)
{
    int h, m;
    double s;
    return sscanf(line + 11, "%d:%d:%lfZ", &h, &m, &s) == 3 ? h * 3600 + m * 60 + s : -1;
}

/* Spans of every task run found in the log: start .. done/skip/failure. */
static size_t read_spans(const char *log, run_span_t *spans, size_t max, size_t n)
{
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        char buf[1024];
        size_t len = end ? (size_t)(end - line) : strlen(line);
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        char task[48];
        long long vid;
        int gen, used = 0;
        const char *p = strstr(buf, "pipeline: ");
        if (p && sscanf(p, "pipeline: %47s of video %lld generation %d %n", task, &vid, &gen, &used) == 3 && used) {
            char key[96];
            snprintf(key, sizeof key, "%lld %s", vid, task);
            if (strncmp(p + used, "started", 7) == 0 && n < max) {
                spans[n] = (run_span_t){.start = log_seconds(buf), .end = -1};
                snprintf(spans[n].key, sizeof spans[n].key, "%s", key);
                n++;
            } else if (strncmp(p + used, "done", 4) == 0) {
                for (size_t i = n; i-- > 0;)
                    if (!strcmp(spans[i].key, key) && spans[i].end < 0) {
                        spans[i].end = log_seconds(buf);
                        spans[i].done = 1;
                        break;
                    }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}

START_TEST(exclusive)
{
    ufix_t f;
    ck_assert_int_eq(ufix_setup(&f, NULL), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);
    char *clip = tmp_path(&f, "clip.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 3.0), 0);

    /* The test's own connections, to enqueue duplicates of live jobs. */
    char *errors = NULL;
    vf_app_t app = {0};
    app.cfg = vf_config_load(f.config, &errors);
    ck_assert_msg(app.cfg != NULL, "%s", errors ? errors : "");
    vf_thread_ctx_t ctx;
    ck_assert_int_eq(vf_thread_ctx_init(&ctx, &app, 0), 0);

    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        char title[32];
        snprintf(title, sizeof title, "Shared %d", i);
        ids[i] = ufix_add_video(&f, clip, title);
        ck_assert_int_gt(ids[i], 0);
        static const char *const tasks[] = {"120p", "240p"};
        for (int k = 0; k < 2; k++) {
            char task[32], job[VF_JOB_ID_SIZE];
            snprintf(task, sizeof task, "rendition/%s", tasks[k]);
            json_t *payload = json_pack("{s:I, s:i, s:s, s:[s], s:b}", "video_id", (json_int_t)ids[i], "generation",
                                        1, "task", task, "renditions", tasks[k], "thumbnail", 0);
            ck_assert_int_eq(vf_queue_enqueue(&ctx, VF_JOB_TRANSCODE, payload, job), 0);
            json_decref(payload);
        }
    }
    for (int i = 0; i < 3; i++) {
        json_t *v = wait_final(&f, ids[i], 90000);
        ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
        json_decref(v);
    }
    /* Let the duplicates drain. */
    for (int waited = 0; waited < 30000; waited += 200) {
        json_t *counts = NULL;
        ck_assert_int_eq(vf_queue_counts(&ctx, &counts), 0);
        long busy = 0;
        const char *states[] = {"outbox", "queued", "running", "retrying"};
        for (int s = 0; s < 4; s++)
            busy += (long)json_integer_value(json_object_get(counts, states[s]));
        json_decref(counts);
        if (!busy)
            break;
        usleep(200000);
    }

    run_span_t spans[64];
    size_t n = 0;
    int skipped = 0;
    for (int w = 0; w < 2; w++) {
        char *log = ufix_worker_log(&f, w);
        n = read_spans(log, spans, 64, n);
        for (const char *p = log; (p = strstr(p, "skipped: already done")) != NULL; p++)
            skipped++;
        free(log);
    }
    /* Each of the 6 duplicates ran into a done task (after waiting for
     * the lock, or not). */
    ck_assert_int_eq(skipped, 6);
    ck_assert_uint_ge(n, 9);
    for (size_t i = 0; i < n; i++) {
        int done = 0;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(spans[i].key, spans[j].key) != 0)
                continue;
            done += spans[j].done;
            if (i == j || spans[i].end < 0 || spans[j].end < 0)
                continue;
            ck_assert_msg(spans[i].end <= spans[j].start || spans[j].end <= spans[i].start,
                          "%s ran twice at once", spans[i].key);
        }
        ck_assert_msg(done == 1, "%s was done %d times", spans[i].key, done);
    }

    vf_thread_ctx_fini(&ctx);
    vf_app_fini(&app);
    free(clip);
    ufix_teardown(&f);
}
END_TEST

START_TEST(encoder_max_jobs)
{
    ufix_t f;
    ufix_opts_t opts = {.extra = "encoder = { plugin = \"encoder_ffmpeg\"; settings = { max_jobs = 1; }; };\n"};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);
    char *clip = tmp_path(&f, "clip.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 2.0), 0);
    int64_t ids[2];
    for (int i = 0; i < 2; i++) {
        char title[32];
        snprintf(title, sizeof title, "Turns %d", i);
        ids[i] = ufix_add_video(&f, clip, title);
        ck_assert_int_gt(ids[i], 0);
    }
    for (int i = 0; i < 2; i++) {
        json_t *v = wait_final(&f, ids[i], 120000);
        ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
        json_decref(v);
    }
    /* In log order, turns taken minus turns given back never passes 1. */
    char *log = ufix_worker_log(&f, 0);
    int holding = 0, most = 0, turns = 0;
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (memmem(line, len, "has an encoder turn", 19)) {
            turns++;
            if (++holding > most)
                most = holding;
        } else if (memmem(line, len, "gives its encoder turn back", 27)) {
            holding--;
        }
        line = end ? end + 1 : NULL;
    }
    ck_assert_msg(strstr(log, "encoder encoder_ffmpeg runs at most 1 jobs at once"), "%s", log);
    ck_assert_msg(strstr(log, "waits for the encoder"), "no job ever waited:\n%s", log);
    free(log);
    ck_assert_int_ge(turns, 6); /* 2 videos x (120p, 240p, thumbnail) */
    ck_assert_int_eq(most, 1);
    ck_assert_int_eq(holding, 0);
    free(clip);
    ufix_teardown(&f);
}
END_TEST

static Suite *pipeline_suite(void)
{
    vft_env_or_skip("VF_TEST_PG_DSN");
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("bad_inputs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_inputs);
    suite_add_tcase(s, tc);
    tc = tcase_create("sigkill");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, sigkill);
    suite_add_tcase(s, tc);
    tc = tcase_create("orphan_sweep");
    tcase_set_timeout(tc, 420);
    tcase_add_test(tc, orphan_sweep);
    suite_add_tcase(s, tc);
    tc = tcase_create("redis_down");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, redis_down);
    suite_add_tcase(s, tc);
    tc = tcase_create("exclusive");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, exclusive);
    tcase_add_test(tc, encoder_max_jobs);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(pipeline_suite)
