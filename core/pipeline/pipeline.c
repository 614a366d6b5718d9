/*
 * pipeline.c - see pipeline.h.  One transcode or thumbnail job runs as:
 *   lock the task (advisory lock) -> check the video's generation -> take
 *   its work directory -> locate the source -> probe + limits -> encode
 *   into the work directory -> store the outputs -> record them for the
 *   generation (or remove them when it changed) -> remove the directory.
 * The work directory (task_dir.c) is locked while the task runs; what a
 * killed worker left is removed by the next attempt of its task on the same
 * work directory, or by the sweep every worker of that directory runs at
 * start and every minute (vf_pipeline_register_jobs).
 */
#include "config.h"
#include "pipeline/pipeline.h"

#include "jobs/queue.h"
#include "jobs/worker.h"
#include "pipeline/hls_publish.h"
#include "pipeline/pipeline_db.h"
#include "pipeline/task_dir.h"
#include "plugins/job_slots.h"
#include "plugins/storage_calls.h"
#include "plugins/storage_key.h"
#include "runtime/db.h"
#include "storage/remove_files.h"
#include "uploads/upload_store.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RENDITIONS 32
/* Expired uploads swept by each job: keeps expiry going without a timer. */
#define SWEEP_PER_JOB 16
/* Seconds between sweeps of dead workers' task directories. */
#define SWEEP_INTERVAL_S 60
/* Progress is written to PostgreSQL at most this often. */
#define PROGRESS_WRITE_US 1000000
/* Shares of a job's own progress. */
#define PCT_PROBED 2.0
#define PCT_ENCODED 95.0

char *vf_pipeline_rendition_key(int64_t video_id, int generation, const char *quality)
{
    char *key = NULL;
    return asprintf(&key, "videos/%" PRId64 "/%d/%s.mp4", video_id, generation, quality) < 0 ? NULL : key;
}

char *vf_pipeline_thumbnail_key(int64_t video_id, int generation)
{
    char *key = NULL;
    return asprintf(&key, "videos/%" PRId64 "/%d/thumbnail.jpg", video_id, generation) < 0 ? NULL : key;
}

/* `videoflix worker` loads both plugins at start-up. */
static int check_plugins(vf_thread_ctx_t *ctx, int encoder, char *err, size_t errlen)
{
    if (ctx->app->storage && (!encoder || ctx->app->encoder))
        return 0;
    snprintf(err, errlen, "this process has not loaded the storage%s plugin", encoder ? " and encoder" : "");
    return -EIO;
}

/* ------------------------------------------------------------- one task */

typedef struct task_run {
    vf_job_t *job;
    vf_thread_ctx_t *ctx;
    const vf_config_t *cfg;
    const vf_storage_ops_t *storage;
    const vf_encoder_ops_t *encoder;
    int64_t video_id;
    int generation;
    const char *task;
    const char *renditions[MAX_RENDITIONS];
    size_t nrenditions;
    int thumbnail;
    char lock_name[160];
    char *dir;
    vf_task_dir_t work;
    char *source_key;
    char *source;          /* local path or URL for the encoder */
    char *source_download; /* our copy, when storage is remote and the encoder wants a file */
    int source_is_url;
    double pct_from, pct_span;
    int last_written;
    int64_t last_write_us;
    double fps;            /* the source's, from the probe */
    vf_hls_publish_t *hls; /* media.outputs has "hls" and the job transcodes */
    char *err;
    size_t errlen;
} task_run_t;

static void task_progress(task_run_t *t, double pct)
{
    int p = (int)(t->pct_from + pct * t->pct_span / 100.0);
    if (p > 100)
        p = 100;
    vf_job_progress(t->job, p);
    int64_t now = vf_mono_us();
    if (p > t->last_written && now - t->last_write_us >= PROGRESS_WRITE_US) {
        /* Best effort: a lost progress write only delays the percentage. */
        if (vf_pipeline_db_progress(t->ctx, t->video_id, t->generation, t->task, p) == 0)
            t->last_written = p;
        t->last_write_us = now;
    }
}

static int on_encoder_progress(void *ud, double percent)
{
    task_run_t *t = ud;
    if (vf_job_cancelled(t->job))
        return 1;
    task_progress(t, percent);
    return 0;
}

/* A storage copy of the source: only whether to go on (its share of the
 * job's progress is too small to show). */
static int on_fetch_progress(void *ud, double percent)
{
    (void)percent;
    return vf_job_cancelled(((task_run_t *)ud)->job) != 0;
}

/* Storing output i of n: its share of the last part of the job. */
typedef struct store_progress {
    task_run_t *t;
    size_t i, n;
} store_progress_t;

static int on_store_progress(void *ud, double percent)
{
    store_progress_t *sp = ud;
    if (vf_job_cancelled(sp->t->job))
        return 1;
    task_progress(sp->t, PCT_ENCODED + (100.0 - PCT_ENCODED) * ((double)sp->i + percent / 100.0) / (double)sp->n);
    return 0;
}

static int job_cancelled(void *ud) { return vf_job_cancelled(ud) != 0; }

/* Replace every occurrence of the source's path or URL in an encoder
 * message: storage paths are internal and presigned URLs carry signatures. */
static void scrub(char *msg, size_t cap, const char *secret)
{
    if (!secret || !*secret)
        return;
    const char *with = "the source file";
    size_t slen = strlen(secret), wlen = strlen(with);
    char *hit;
    while ((hit = strstr(msg, secret)) != NULL) {
        size_t tail = strlen(hit + slen);
        if ((size_t)(hit - msg) + wlen + tail + 1 > cap)
            break;
        memmove(hit + wlen, hit + slen, tail + 1);
        memcpy(hit, with, wlen);
    }
    /* "file:the source file" reads badly; ffmpeg names local inputs file:PATH. */
    while ((hit = strstr(msg, "file:the source file")) != NULL)
        memmove(hit, hit + 5, strlen(hit + 5) + 1);
}

static const char *job_type(const task_run_t *t) { return vf_job_type(t->job); }

/* The video fails for good: record why, and tell the queue not to retry. */
static int fail_permanently(task_run_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_permanently(task_run_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, t->errlen, fmt, ap);
    va_end(ap);
    if (vf_pipeline_db_fail(t->ctx, t->video_id, t->generation, t->task, t->err) < 0)
        return -EIO; /* retried: the failure is recorded by a later attempt */
    vf_warn("pipeline: video %" PRId64 " failed: %s", t->video_id, t->err);
    return VF_JOB_FAIL_PERMANENT;
}

/* A failure that may pass (storage or database trouble, a crashed
 * encoder): retried by the queue; on the last attempt the video fails. */
static int fail_transient(task_run_t *t, int ret)
{
    if (ret == -ECANCELED)
        return ret;
    int max = vf_config_job_max_attempts(t->cfg, job_type(t));
    if (vf_job_attempt(t->job) >= max) {
        char msg[600];
        snprintf(msg, sizeof msg, "Processing failed after %d attempts: %s", max, t->err);
        if (vf_pipeline_db_fail(t->ctx, t->video_id, t->generation, t->task, msg) == 0)
            vf_warn("pipeline: video %" PRId64 " failed: %s", t->video_id, msg);
    }
    return ret < 0 ? ret : -EIO;
}

/* How the encoder gets the source, by what each side declares: the
 * storage's own file when it has local paths and the encoder reads them;
 * else a URL when the encoder reads http(s); else a copy in the work
 * directory (a copy that stops when the job is cancelled). */
static int locate_source(task_run_t *t)
{
    vf_error_t verr = {0};
    vf_storage_stat_t st;
    const vf_plugin_t *storage = t->ctx->app->storage;
    uint32_t sources = t->ctx->app->encoder->encoder_caps.sources;
    int ret = t->storage->stat(storage->state, t->source_key, &st, &verr);
    if (ret == -ENOENT)
        return fail_permanently(t, "The source file is missing from storage.");
    if (ret < 0) {
        snprintf(t->err, t->errlen, "storage: %s", verr.message);
        return fail_transient(t, ret);
    }
    /* Known before anything can fail: a failed video shows its size too. */
    if (vf_pipeline_db_source_size(t->ctx, t->video_id, t->generation, (int64_t)st.size) < 0)
        vf_warn("pipeline: the source size of video %" PRId64 " was not recorded: %s", t->video_id,
                vf_db_last_error(t->ctx->db));
    ret = -ENOTSUP;
    if (sources & VF_ENCODER_SOURCE_PATH)
        ret = vf_storage_local_path(storage, t->source_key, &t->source, &verr);
    if (ret == 0)
        return 0;
    if (ret != -ENOTSUP) {
        snprintf(t->err, t->errlen, "storage: %s", verr.message);
        return fail_transient(t, ret);
    }
    if (sources & VF_ENCODER_SOURCE_HTTP) {
        vf_storage_url_opts_t opts = {.expires = t->cfg->media.url_expires, .content_disposition = NULL};
        ret = t->storage->url(storage->state, t->source_key, &opts, &t->source, &verr);
        t->source_is_url = ret == 0;
    } else {
        if (asprintf(&t->source_download, "%s/source", t->dir) < 0) {
            t->source_download = NULL;
            return -ENOMEM;
        }
        ret = vf_storage_get(storage, t->source_key, t->source_download, on_fetch_progress, t, &verr);
        if (ret == 0 && !(t->source = strdup(t->source_download)))
            ret = -ENOMEM;
    }
    if (ret == -ECANCELED) {
        snprintf(t->err, t->errlen, "stopped: the job was cancelled");
        return ret;
    }
    if (ret < 0) {
        snprintf(t->err, t->errlen, "storage: %s", verr.message);
        return fail_transient(t, ret);
    }
    return 0;
}

/* The limits live here, once for every encoder. */
static int probe_source(task_run_t *t)
{
    vf_media_info_t info;
    vf_error_t verr = {0};
    memset(&info, 0, sizeof info);
    int ret = t->encoder->probe(t->ctx->app->encoder->state, t->source, &info, &verr);
    scrub(verr.message, sizeof verr.message, t->source);
    /* Read through a URL, "unreadable" may be a storage hiccup: one retry
     * before the upload is blamed. */
    if (ret == -EINVAL && t->source_is_url && vf_job_attempt(t->job) == 1) {
        snprintf(t->err, t->errlen, "probe: %s", verr.message);
        return -EIO;
    }
    if (ret == -EINVAL)
        return fail_permanently(t, "The uploaded file is not a video that can be read (%s).", verr.message);
    if (ret < 0) {
        snprintf(t->err, t->errlen, "probe: %s", verr.message);
        return fail_transient(t, ret);
    }
    if (!info.has_video)
        return fail_permanently(t, "The uploaded file has no video stream.");
    int w = info.width, h = info.height;
    if (info.rotation == 90 || info.rotation == 270) {
        w = info.height;
        h = info.width;
    }
    if (w > t->cfg->media.max_width || h > t->cfg->media.max_height)
        return fail_permanently(t, "The video is %dx%d pixels; the largest allowed is %dx%d.", w, h,
                                t->cfg->media.max_width, t->cfg->media.max_height);
    if (w <= 0 || h <= 0)
        return fail_permanently(t, "The video stream has no picture size.");
    if (info.duration > t->cfg->media.max_duration)
        return fail_permanently(t, "The video lasts %.0f seconds; the longest allowed is %d seconds.", info.duration,
                                t->cfg->media.max_duration);
    t->fps = info.fps;
    task_progress(t, PCT_PROBED);
    return 0;
}

static char *work_file(const task_run_t *t, const char *name, const char *ext)
{
    char *path = NULL;
    return asprintf(&path, "%s/%s%s", t->dir, name, ext) < 0 ? NULL : path;
}

typedef struct outputs {
    vf_output_t items[MAX_RENDITIONS + 1];
    char *paths[MAX_RENDITIONS + 1];
    char *keys[MAX_RENDITIONS + 1];
    size_t n;
} outputs_t;

static void outputs_free(outputs_t *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->paths[i]);
        free(o->keys[i]);
    }
    o->n = 0;
}

static int outputs_add(outputs_t *o, const task_run_t *t, const char *quality)
{
    size_t i = o->n;
    o->paths[i] = quality ? work_file(t, quality, ".mp4") : work_file(t, "thumbnail", ".jpg");
    o->keys[i] = quality ? vf_pipeline_rendition_key(t->video_id, t->generation, quality)
                         : vf_pipeline_thumbnail_key(t->video_id, t->generation);
    o->items[i] = (vf_output_t){.quality = quality, .key = o->keys[i], .size = 0};
    o->n++;
    return o->paths[i] && o->keys[i] ? 0 : -ENOMEM;
}

/* HLS is published while the encoder runs (hls_publish.c), on a
 * connection of its own. */
static int hls_begin(task_run_t *t)
{
    if (!t->cfg->media.output_hls)
        return 0;
    vf_hls_job_t job = {.app = t->ctx->app, .video_id = t->video_id, .generation = t->generation,
                        .qualities = t->renditions, .nqualities = t->nrenditions, .frame_rate = t->fps,
                        .task_dir = t->dir, .cancelled = job_cancelled, .cancelled_ud = t->job};
    int ret = vf_hls_publish_begin(&t->hls, &job, t->err, t->errlen);
    return ret < 0 ? fail_transient(t, ret) : 0;
}

/* A video replaced meanwhile stops the job as a stale result does
 * (run_task); anything else is retried, resuming at the stored segment. */
static int hls_failed(task_run_t *t, int ret)
{
    if (vf_hls_publish_stale(t->hls))
        return ret;
    snprintf(t->err, t->errlen, "hls: %s", vf_hls_publish_error(t->hls));
    return fail_transient(t, ret);
}

static int encode(task_run_t *t, outputs_t *out)
{
    vf_error_t verr = {0};
    vf_rendition_t rend[MAX_RENDITIONS];
    const char *thumb_path = NULL;
    int ret = 0;
    for (size_t i = 0; i < t->nrenditions; i++) {
        const vf_rendition_conf_t *rc = vf_config_rendition(t->cfg, t->renditions[i]);
        if (!rc)
            return fail_permanently(t, "The rendition '%s' is no longer configured.", t->renditions[i]);
        rend[i] = (vf_rendition_t){rc->name, rc->height, NULL};
        if (!t->cfg->media.output_mp4)
            continue;
        if ((ret = outputs_add(out, t, rc->name)) < 0)
            return ret;
        rend[i].output_path = out->paths[out->n - 1];
    }
    if (t->thumbnail) {
        if ((ret = outputs_add(out, t, NULL)) < 0)
            return ret;
        thumb_path = out->paths[out->n - 1];
    }
    t->pct_from = PCT_PROBED;
    t->pct_span = PCT_ENCODED - PCT_PROBED;
    void *es = t->ctx->app->encoder->state;
    /* media.preset and media.crf are libx264 words: only for encoders that
     * take them as defaults (encoder.h). */
    int x264 = (t->ctx->app->encoder->encoder_caps.flags & VF_ENCODER_X264_DEFAULTS) != 0;
    int64_t cpu_before_us = vf_metric_cpu_us();
    if (t->nrenditions > 0 && (ret = hls_begin(t)) < 0)
        return ret;
    const char *published = NULL;
    if (t->hls && (t->ctx->app->encoder->encoder_caps.flags & VF_ENCODER_HLS_RESUME) &&
        (ret = vf_hls_publish_fetch(t->hls, &published)) < 0)
        return hls_failed(t, ret);
    if (t->nrenditions > 0) {
        vf_transcode_params_t params = {
            .size = sizeof params,
            .renditions = rend,
            .nrenditions = t->nrenditions,
            .preset = x264 ? t->cfg->media.preset : NULL,
            .crf = x264 ? t->cfg->media.crf : -1,
            .audio_bitrate = t->cfg->media.audio_bitrate,
            .allow_upscale = t->cfg->media.allow_upscale,
            .thumbnail_path = thumb_path,
            .thumbnail_at = t->cfg->media.thumbnail_at,
            .progress = on_encoder_progress,
            .progress_ud = t,
            .outputs = (t->cfg->media.output_mp4 ? VF_OUTPUT_MP4 : 0) | (t->hls ? VF_OUTPUT_HLS : 0),
            .hls_dir = t->hls ? vf_hls_publish_dir(t->hls) : NULL,
            .hls_segment_seconds = t->cfg->media.hls_segment_seconds,
            .hls_first_segment = t->hls ? vf_hls_publish_first_segment(t->hls) : 0,
            .hls_file = t->hls ? vf_hls_publish_file : NULL,
            .hls_ud = t->hls,
            .hls_published_dir = published,
        };
        ret = t->encoder->transcode(es, t->source, &params, &verr);
        /* The renditions are complete: their playlists end. */
        if (ret == 0 && t->hls)
            ret = vf_hls_publish_finish(t->hls);
    } else {
        ret = t->encoder->thumbnail(es, t->source, t->cfg->media.thumbnail_at, thumb_path, on_encoder_progress, t,
                                    &verr);
    }
    t->pct_from = 0;
    t->pct_span = 100;
    vf_metric_transcode(t->ctx->app->encoder->desc->name, cpu_before_us, (const char *const *)out->paths,
                        ret == 0 ? out->n : 0);
    if (ret == 0)
        return 0;
    /* Publishing stopped the encoder (or failed after it): its reason. */
    if (t->hls && *vf_hls_publish_error(t->hls))
        return hls_failed(t, ret);
    scrub(verr.message, sizeof verr.message, t->source);
    if (ret == -ECANCELED) {
        snprintf(t->err, t->errlen, "stopped: %s", vf_job_cancelled(t->job) ? "the job was cancelled" : verr.message);
        return ret;
    }
    if (ret == -EINVAL)
        return fail_permanently(t, "The video could not be converted (%s).", verr.message);
    snprintf(t->err, t->errlen, "encoder: %s", verr.message);
    return fail_transient(t, ret);
}

/* Outputs of a generation that is gone: removed by a job of their own, so
 * that a storage hiccup does not leave them behind. */
static void discard_outputs(task_run_t *t, const outputs_t *out)
{
    json_t *keys = json_array(), *prefixes = json_array();
    for (size_t i = 0; keys && i < out->n; i++)
        json_array_append_new(keys, json_string(out->keys[i]));
    /* What this job published of HLS, under the generation's prefix. */
    char *hls = t->hls ? vf_hls_prefix(t->video_id, t->generation) : NULL;
    if (hls && prefixes)
        json_array_append_new(prefixes, json_string(hls));
    free(hls);
    json_t *payload = json_pack("{s:o, s:[], s:o}", "keys", keys, "multipart", "prefixes", prefixes);
    char id[VF_JOB_ID_SIZE];
    if (!payload || vf_queue_enqueue(t->ctx, VF_JOB_REMOVE_FILES, payload, id) < 0)
        vf_warn("pipeline: cannot schedule the removal of stale outputs of video %" PRId64, t->video_id);
    json_decref(payload);
}

/* Each copy stops when the job is cancelled (storage with the 1.1
 * put_file_progress; a 1.0 plugin's copy runs to its end). */
static int store_outputs(task_run_t *t, outputs_t *out)
{
    for (size_t i = 0; i < out->n; i++) {
        vf_error_t verr = {0};
        struct stat st;
        out->items[i].size = stat(out->paths[i], &st) == 0 ? (int64_t)st.st_size : 0;
        store_progress_t sp = {t, i, out->n};
        int ret = vf_storage_put(t->ctx->app->storage, out->keys[i], out->paths[i], on_store_progress, &sp, &verr);
        if (ret == -ECANCELED) {
            snprintf(t->err, t->errlen, "stopped: the job was cancelled");
            return ret;
        }
        if (ret < 0) {
            snprintf(t->err, t->errlen, "storage: %s", verr.message);
            return fail_transient(t, ret);
        }
        task_progress(t, PCT_ENCODED + (100.0 - PCT_ENCODED) * (double)(i + 1) / (double)out->n);
    }
    return 0;
}

static int run_task(task_run_t *t)
{
    outputs_t out = {.n = 0};
    vf_task_verdict_t verdict;
    int ret = vf_pipeline_db_start(t->ctx, t->video_id, t->generation, t->task, vf_job_id(t->job), &verdict,
                                   &t->source_key);
    if (ret < 0) {
        snprintf(t->err, t->errlen, "database: %s", vf_db_last_error(t->ctx->db));
        return ret;
    }
    if (verdict != VF_TASK_RUN) {
        static const char *const why[] = {"", "the video was deleted or its source replaced", "already done",
                                          "the video failed already"};
        vf_info("pipeline: %s of video %" PRId64 " generation %d skipped: %s", t->task, t->video_id, t->generation,
                why[verdict]);
        vf_job_set_result(t->job, json_pack("{s:s}", "skipped", why[verdict]));
        return 0;
    }
    vf_info("pipeline: %s of video %" PRId64 " generation %d started (job %s, attempt %d)", t->task, t->video_id,
            t->generation, vf_job_id(t->job), vf_job_attempt(t->job));
    /* A live process holding the directory (this task's previous attempt,
     * when a PostgreSQL restart freed the advisory lock under it) makes
     * this attempt wait for a retry: two encoders never share a directory. */
    if ((ret = vf_task_dir_take(&t->work, t->dir, job_cancelled, t->job, t->err, t->errlen)) < 0)
        return ret == -EBUSY ? VF_JOB_DEFER : fail_transient(t, ret);
    /* The encoder runs at most max_jobs operations at once: wait for a
     * turn, giving up when the job is cancelled.  The source is located
     * after the wait, so that a presigned URL is fresh when used. */
    vf_job_slots_t *slots = t->ctx->app->encoder->job_slots;
    if (slots && vf_job_slots_busy(slots) >= t->ctx->app->encoder->encoder_caps.max_jobs)
        vf_info("pipeline: %s of video %" PRId64 " waits for the encoder (%u jobs at once)", t->task, t->video_id,
                t->ctx->app->encoder->encoder_caps.max_jobs);
    if ((ret = vf_job_slots_enter(slots, job_cancelled, t->job)) < 0) {
        snprintf(t->err, t->errlen, "stopped: the job was cancelled while waiting for the encoder");
        goto out;
    }
    if (slots)
        vf_info("pipeline: %s of video %" PRId64 " has an encoder turn", t->task, t->video_id);
    ret = locate_source(t);
    if (ret == 0)
        ret = probe_source(t);
    if (ret == 0)
        ret = encode(t, &out);
    if (slots)
        vf_info("pipeline: %s of video %" PRId64 " gives its encoder turn back", t->task, t->video_id);
    vf_job_slots_leave(slots);
    int stale = ret < 0 && t->hls && vf_hls_publish_stale(t->hls);
    if (stale)
        ret = 0;
    else if (ret < 0 || (ret = store_outputs(t, &out)) < 0)
        goto out;
    else
        ret = vf_pipeline_db_finish(t->ctx, t->video_id, t->generation, t->task, out.items, out.n, &stale);
    if (ret < 0) {
        snprintf(t->err, t->errlen, "database: %s", vf_db_last_error(t->ctx->db));
        goto out;
    }
    if (stale) {
        discard_outputs(t, &out);
        vf_job_set_result(t->job, json_pack("{s:s}", "skipped", "the video was deleted or its source replaced"));
    } else {
        json_t *keys = json_array();
        for (size_t i = 0; keys && i < out.n; i++)
            json_array_append_new(keys, json_string(out.keys[i]));
        vf_job_set_result(t->job, json_pack("{s:o}", "stored", keys));
        vf_info("pipeline: %s of video %" PRId64 " generation %d done", t->task, t->video_id, t->generation);
    }
out:
    outputs_free(&out);
    return ret;
}

static int parse_task(task_run_t *t, const json_t *payload)
{
    json_int_t vid = 0, gen = 0;
    const char *task = NULL;
    json_t *rends = NULL;
    int thumb = 0;
    json_error_t jerr;
    if (json_unpack_ex((json_t *)payload, &jerr, 0, "{s:I, s:I, s:s, s?o, s?b}", "video_id", &vid, "generation", &gen,
                       "task", &task, "renditions", &rends, "thumbnail", &thumb) != 0 ||
        vid <= 0 || gen <= 0 || gen > INT32_MAX || strlen(task) > 40 ||
        strspn(task, "abcdefghijklmnopqrstuvwxyz0123456789_-/") != strlen(task)) {
        snprintf(t->err, t->errlen, "malformed payload: %s", jerr.text[0] ? jerr.text : "bad values");
        return VF_JOB_FAIL_PERMANENT;
    }
    t->video_id = vid;
    t->generation = (int)gen;
    t->task = task;
    t->thumbnail = thumb;
    if (rends) {
        if (!json_is_array(rends) || json_array_size(rends) > MAX_RENDITIONS) {
            snprintf(t->err, t->errlen, "malformed payload: renditions must be an array of names");
            return VF_JOB_FAIL_PERMANENT;
        }
        for (size_t i = 0; i < json_array_size(rends); i++) {
            const char *name = json_string_value(json_array_get(rends, i));
            if (!name) {
                snprintf(t->err, t->errlen, "malformed payload: renditions must be an array of names");
                return VF_JOB_FAIL_PERMANENT;
            }
            t->renditions[t->nrenditions++] = name;
        }
    }
    return 0;
}

int vf_pipeline_job_cancelled(vf_thread_ctx_t *ctx, const char *type, const json_t *payload, const char *message)
{
    if (!type || (strcmp(type, VF_JOB_TRANSCODE) != 0 && strcmp(type, VF_JOB_THUMBNAIL) != 0))
        return 0;
    char err[256];
    task_run_t t = {.err = err, .errlen = sizeof err};
    /* A malformed payload names no video: nothing to fail. */
    if (parse_task(&t, payload) != 0)
        return 0;
    return vf_pipeline_db_fail(ctx, t.video_id, t.generation, t.task, message);
}

static int media_job(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen, int thumbnail_only)
{
    task_run_t t = {.job = job, .ctx = ctx, .cfg = ctx->app->cfg, .err = err, .errlen = errlen, .pct_span = 100,
                    .work = {.path = NULL, .lock_fd = -1}};
    int locked = 0;
    int ret = parse_task(&t, vf_job_payload(job));
    if (ret < 0)
        return ret;
    if (thumbnail_only) {
        t.nrenditions = 0;
        t.thumbnail = 1;
    } else if (t.nrenditions == 0) {
        snprintf(err, errlen, "malformed payload: a transcode job needs renditions");
        return VF_JOB_FAIL_PERMANENT;
    }
    if ((ret = check_plugins(ctx, 1, err, errlen)) < 0)
        return ret;
    t.storage = vf_storage_ops(ctx->app->storage);
    t.encoder = vf_encoder_ops(ctx->app->encoder);

    snprintf(t.lock_name, sizeof t.lock_name, "vf-pipeline:%" PRId64 ":%d:%s", t.video_id, t.generation, t.task);
    ret = vf_pipeline_db_lock(ctx, t.lock_name);
    if (ret <= 0) {
        snprintf(err, errlen, ret == 0 ? "another worker is running this task now" : "database: %s",
                 vf_db_last_error(ctx->db));
        return ret == 0 ? VF_JOB_DEFER : ret;
    }
    locked = 1;
    char safe_task[48];
    snprintf(safe_task, sizeof safe_task, "%s", t.task);
    for (char *c = safe_task; *c; c++)
        if (*c == '/')
            *c = '-';
    if (asprintf(&t.dir, "%s/" VF_TASK_DIR_PREFIX "%" PRId64 "-%d-%s", t.cfg->media.work_dir, t.video_id, t.generation,
                 safe_task) < 0) {
        t.dir = NULL;
        ret = -ENOMEM;
        goto out;
    }
    ret = run_task(&t);
out:
    vf_task_dir_release(&t.work);
    if (locked)
        vf_pipeline_db_unlock(ctx, t.lock_name);
    if (vf_upload_expire_sweep(ctx, SWEEP_PER_JOB) < 0)
        vf_warn("pipeline: the sweep of expired uploads failed");
    free(t.dir);
    free(t.source_key);
    free(t.source);
    free(t.source_download);
    vf_hls_publish_free(&t.hls);
    return ret;
}

static int transcode_job(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    return media_job(job, ctx, err, errlen, 0);
}

static int thumbnail_job(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    return media_job(job, ctx, err, errlen, 1);
}

/* Task directories of workers killed on this work directory: the next
 * attempt of their task may run on another host, so nobody else would. */
static void sweep_work_dir(vf_app_t *app)
{
    int n = vf_task_dir_sweep(app->cfg->media.work_dir);
    if (n < 0)
        vf_warn("pipeline: cannot read the work directory %s: %s", app->cfg->media.work_dir, strerror(-n));
}

void vf_pipeline_register_jobs(void)
{
    vf_worker_register(VF_JOB_TRANSCODE, transcode_job);
    vf_worker_register(VF_JOB_THUMBNAIL, thumbnail_job);
    vf_worker_register_chore("sweep of task directories", sweep_work_dir, SWEEP_INTERVAL_S);
}
