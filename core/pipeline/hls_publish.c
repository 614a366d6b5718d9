/*
 * hls_publish.c - see hls_publish.h.  Per reported file: put it, remove the
 * local copy, record it (one transaction that also checks the generation),
 * then put the rendition's playlist rendered from the rows, so a playlist
 * never names a segment that is not stored and recorded.  The master and
 * hls_state are decided under a lock of their own (hls_db.c), because
 * with media.job_split = per_rendition several jobs publish one video.
 */
#include "config.h"
#include "pipeline/hls_publish.h"

#include "pipeline/hls_db.h"
#include "pipeline/hls_init.h"
#include "pipeline/hls_playlist.h"
#include "plugins/storage_calls.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/metrics_series.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* hls_state, in the order it moves. */
static const char *const states[] = {"none", "live", "complete"};

struct vf_hls_publish {
    vf_hls_job_t job;
    vf_db_t *db;
    char *dir;
    char *published_dir;    /* what vf_hls_publish_fetch fetched, or NULL */
    int64_t first_segment;
    /* Per rendition: segments stored before this run (0 again when its
     * initialisation segment changed: they are replaced). */
    int64_t *published;
    int state_seen;         /* index into states[] last seen or set */
    int stale;
    char err[600];
};

static int fail(vf_hls_publish_t *p, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(vf_hls_publish_t *p, int ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    return ret < 0 ? ret : -EIO;
}

static int db_fail(vf_hls_publish_t *p, int ret) { return fail(p, ret, "database: %s", vf_db_last_error(p->db)); }

static int stale(vf_hls_publish_t *p)
{
    p->stale = 1;
    return fail(p, -ESTALE, "the video was deleted or its source replaced");
}

char *vf_hls_prefix(int64_t video_id, int generation)
{
    char *prefix = NULL;
    return asprintf(&prefix, "videos/%" PRId64 "/%d/hls/", video_id, generation) < 0 ? NULL : prefix;
}

static char *key_of(const vf_hls_publish_t *p, const char *quality, const char *name)
{
    char *key = NULL;
    int n = quality ? asprintf(&key, "videos/%" PRId64 "/%d/hls/%s/%s", p->job.video_id, p->job.generation,
                               quality, name)
                    : asprintf(&key, "videos/%" PRId64 "/%d/hls/%s", p->job.video_id, p->job.generation, name);
    return n < 0 ? NULL : key;
}

static int put_progress(void *ud, double percent)
{
    (void)percent;
    const vf_hls_publish_t *p = ud;
    return p->job.cancelled && p->job.cancelled(p->job.cancelled_ud) ? 1 : 0;
}

/* Put the local file under quality/name (the master when quality is NULL)
 * and remove it, stored or not: a failed job is retried from the rows. */
static int put(vf_hls_publish_t *p, const char *path, const char *quality, const char *name)
{
    char *key = key_of(p, quality, name);
    vf_error_t verr = {0};
    struct stat st;
    int64_t bytes = stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    int ret = key ? vf_storage_put(p->job.app->storage, key, path, put_progress, p, &verr) : -ENOMEM;
    /* The encoder's files (not the playlists, which are ours) count in
     * videoflix_transcode_output_bytes_total, as the MP4s do. */
    if (ret == 0 && !strstr(name, ".m3u8") && p->job.app->encoder)
        vf_metric_transcode_output(p->job.app->encoder->desc->name, bytes);
    if (unlink(path) < 0 && errno != ENOENT)
        vf_warn("hls: cannot remove %s: %s", path, strerror(errno));
    free(key);
    if (ret == -ECANCELED)
        return fail(p, ret, "stopped: the job was cancelled");
    if (ret < 0)
        return fail(p, ret, "storage: %s", key ? verr.message : "out of memory");
    return 0;
}

/* Write `text` to a file of the task directory and put it. */
static int put_text(vf_hls_publish_t *p, const char *text, size_t len, const char *quality, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/hls-%s.m3u8", p->job.task_dir, quality ? quality : "master") < 0)
        return fail(p, -ENOMEM, "out of memory");
    FILE *f = fopen(path, "we");
    int ret = 0;
    if (!f || fwrite(text, 1, len, f) != len)
        ret = errno ? -errno : -EIO;
    if (f && fclose(f) != 0 && ret == 0)
        ret = errno ? -errno : -EIO;
    if (ret < 0) {
        ret = fail(p, ret, "cannot write %s: %s", path, strerror(-ret));
        unlink(path);
    } else
        ret = put(p, path, quality, name);
    free(path);
    return ret;
}

/* The rendition's media playlist as the rows say now, relative URIs. */
static int put_media_playlist(vf_hls_publish_t *p, const char *quality)
{
    vf_hls_stream_t *streams = NULL;
    size_t n = 0;
    int ret = vf_hls_db_load(p->db, p->job.video_id, p->job.generation, quality, &streams, &n);
    if (ret < 0)
        return db_fail(p, ret);
    char *text = NULL;
    size_t len = 0;
    if (n != 1)
        ret = fail(p, -EIO, "database: the HLS stream %s of video %" PRId64 " has no row", quality, p->job.video_id);
    else if ((ret = vf_hls_media_playlist(&streams[0], NULL, NULL, &text, &len)) < 0)
        ret = fail(p, ret, "cannot render the playlist of %s: %s", quality, strerror(-ret));
    else
        ret = put_text(p, text, len, quality, VF_HLS_MEDIA_PLAYLIST_NAME);
    free(text);
    vf_hls_streams_free(streams, n);
    return ret;
}

static const vf_hls_stream_t *find_stream(const vf_hls_stream_t *streams, size_t n, const char *quality)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(streams[i].quality, quality) == 0)
            return &streams[i];
    return NULL;
}

/* What hls_state the rows call for: every configured rendition (the
 * lifecycle plans each for every video) with a segment: live; every one
 * ended as well: complete. */
static int wanted_state(const vf_config_t *cfg, const vf_hls_stream_t *streams, size_t n)
{
    int ended = 1;
    for (size_t i = 0; i < cfg->media.nrenditions; i++) {
        const vf_hls_stream_t *s = find_stream(streams, n, cfg->media.renditions[i].name);
        if (!s || s->nsegments == 0)
            return 0;
        ended &= s->ended;
    }
    return ended ? 2 : 1;
}

static int state_index(const char *state)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(states[i], state) == 0)
            return i;
    return 0;
}

/* Under the master lock: when the rows call for a later state than the
 * video has, put the master they describe, then record the state (so a
 * failed put is tried again by the next segment or attempt).  `rewrite`
 * puts the master even when the state stays: the lock is a session lock,
 * lost if the connection breaks during the put, and a job that lost it
 * (its set_state then fails) may have put an older master over a newer
 * one; its retry rewrites it when it ends. */
static int advance_state(vf_hls_publish_t *p, int rewrite)
{
    int ret = vf_hls_db_lock_master(p->db, p->job.video_id, p->job.generation);
    if (ret < 0)
        return db_fail(p, ret);
    vf_hls_stream_t *streams = NULL;
    size_t n = 0;
    char current[16];
    int is_stale = 0;
    char *text = NULL;
    size_t len = 0;
    if ((ret = vf_hls_db_state(p->db, p->job.video_id, p->job.generation, current, &is_stale)) < 0 ||
        (!is_stale && (ret = vf_hls_db_load(p->db, p->job.video_id, p->job.generation, NULL, &streams, &n)) < 0)) {
        ret = db_fail(p, ret);
        goto out;
    }
    if (is_stale) {
        ret = stale(p);
        goto out;
    }
    int have = state_index(current), want = wanted_state(p->job.app->cfg, streams, n);
    p->state_seen = have > want ? have : want;
    if (want <= have && !(rewrite && want > 0))
        goto out;
    if ((ret = vf_hls_master_playlist(streams, n, NULL, NULL, &text, &len)) < 0) {
        ret = fail(p, ret, "cannot render the master playlist: %s", strerror(-ret));
        goto out;
    }
    if ((ret = put_text(p, text, len, NULL, VF_HLS_MASTER_PLAYLIST_NAME)) < 0)
        goto out;
    if (want <= have)
        goto out;
    if ((ret = vf_hls_db_set_state(p->db, p->job.video_id, p->job.generation, states[want])) < 0) {
        ret = db_fail(p, ret);
        goto out;
    }
    vf_info("hls: video %" PRId64 " generation %d is %s", p->job.video_id, p->job.generation, states[want]);
out:
    free(text);
    vf_hls_streams_free(streams, n);
    vf_hls_db_unlock_master(p->db, p->job.video_id, p->job.generation);
    return ret;
}

/* A resumed rendition's reported initialisation segment against the one
 * its stored segments were made with (fetched for a continuing encoder,
 * else read from storage now): 1 when the same.  Different (an upgrade
 * changed the encoder's setup), or the stored one unreadable: 0. */
static int init_unchanged(vf_hls_publish_t *p, size_t r, const char *path)
{
    const char *quality = p->job.qualities[r];
    char *stored = NULL, *key = NULL, why[sizeof ((vf_error_t *)0)->message + 64] = "";
    int fetched_now = !p->published_dir, same = -ENOMEM;
    if (p->published_dir ? asprintf(&stored, "%s/%s/%s", p->published_dir, quality, VF_HLS_INIT_NAME) < 0
                         : asprintf(&stored, "%s/stored-%s-%s", p->dir, quality, VF_HLS_INIT_NAME) < 0) {
        stored = NULL; /* asprintf leaves it undefined on failure */
        snprintf(why, sizeof why, "out of memory");
    } else {
        vf_error_t verr = {0};
        if (fetched_now && (!(key = key_of(p, quality, VF_HLS_INIT_NAME)) ||
                            (same = vf_storage_get(p->job.app->storage, key, stored, put_progress, p, &verr)) < 0))
            snprintf(why, sizeof why, "%s", key ? verr.message : "out of memory");
        else
            same = vf_hls_init_same(stored, path, why, sizeof why);
        if (fetched_now)
            unlink(stored);
    }
    if (same != 1)
        vf_warn("hls: video %" PRId64 " generation %d, %s: %s; the segments encoded again replace the %" PRId64
                " stored", p->job.video_id, p->job.generation, quality,
                same == 0 ? "the initialisation segment changed" : why, p->published[r]);
    free(stored);
    free(key);
    return same == 1;
}

static int publish_init(vf_hls_publish_t *p, size_t r, const char *path)
{
    const char *quality = p->job.qualities[r];
    vf_hls_init_info_t info;
    char why[256] = "";
    int ret = vf_hls_init_read(path, &info, why, sizeof why);
    if (ret < 0) {
        unlink(path);
        return fail(p, ret, "the initialisation segment of %s cannot be read: %s", quality, why);
    }
    int is_stale = 0;
    if (p->published[r] > 0 && !init_unchanged(p, r, path)) {
        /* Withdrawn before the new one is stored: no player is given a
         * stored segment with an initialisation segment it does not fit. */
        if ((ret = vf_hls_db_restart(p->db, p->job.video_id, p->job.generation, quality, &is_stale)) < 0) {
            unlink(path);
            return db_fail(p, ret);
        }
        if (is_stale) {
            unlink(path);
            return stale(p);
        }
        p->published[r] = 0;
        if ((ret = put_media_playlist(p, quality)) < 0) {
            unlink(path);
            return ret;
        }
    }
    if ((ret = put(p, path, quality, VF_HLS_INIT_NAME)) < 0)
        return ret;
    ret = vf_hls_db_record_init(p->db, p->job.video_id, p->job.generation, quality, info.width, info.height,
                                info.codecs, p->job.frame_rate, &is_stale);
    if (ret < 0)
        return db_fail(p, ret);
    return is_stale ? stale(p) : put_media_playlist(p, quality);
}

static int publish_segment(vf_hls_publish_t *p, size_t r, const vf_hls_file_t *file)
{
    const char *quality = p->job.qualities[r];
    if (file->sequence < p->published[r]) {
        /* Stored by an earlier attempt: the stored one stays. */
        unlink(file->path);
        return 0;
    }
    struct stat st;
    if (stat(file->path, &st) < 0)
        return fail(p, -errno, "cannot read the segment %s: %s", file->path, strerror(errno));
    char name[32];
    snprintf(name, sizeof name, "%" PRId64 ".m4s", file->sequence);
    int ret = put(p, file->path, quality, name);
    if (ret < 0)
        return ret;
    vf_hls_segment_t seg = {.sequence = file->sequence, .duration = file->duration, .bytes = (int64_t)st.st_size};
    int is_stale = 0;
    if ((ret = vf_hls_db_record_segment(p->db, p->job.video_id, p->job.generation, quality, &seg, &is_stale)) < 0)
        return db_fail(p, ret);
    if (is_stale)
        return stale(p);
    if ((ret = put_media_playlist(p, quality)) < 0)
        return ret;
    /* Until the video is live, each segment may be the one that makes it. */
    return p->state_seen == 0 ? advance_state(p, 0) : 0;
}

int vf_hls_publish_file(void *ud, const vf_hls_file_t *file)
{
    vf_hls_publish_t *p = ud;
    if (file->rendition >= p->job.nqualities || !file->path ||
        (file->sequence < 0 && file->sequence != VF_HLS_INIT)) {
        if (file->path)
            unlink(file->path);
        return fail(p, -EPROTO, "the encoder reported an HLS file of rendition %zu, sequence %" PRId64,
                    file->rendition, file->sequence);
    }
    if (file->sequence == VF_HLS_INIT)
        return publish_init(p, file->rendition, file->path);
    return publish_segment(p, file->rendition, file);
}

int vf_hls_publish_finish(vf_hls_publish_t *p)
{
    for (size_t i = 0; i < p->job.nqualities; i++) {
        int is_stale = 0;
        int ret = vf_hls_db_end(p->db, p->job.video_id, p->job.generation, p->job.qualities[i], &is_stale);
        if (ret < 0)
            return db_fail(p, ret);
        if (is_stale)
            return stale(p);
        if ((ret = put_media_playlist(p, p->job.qualities[i])) < 0)
            return ret;
    }
    return advance_state(p, 1);
}

int vf_hls_publish_begin(vf_hls_publish_t **out, const vf_hls_job_t *job, char *err, size_t errlen)
{
    *out = NULL;
    vf_hls_publish_t *p = calloc(1, sizeof *p);
    if (!p || !(p->published = calloc(job->nqualities ? job->nqualities : 1, sizeof *p->published)) ||
        asprintf(&p->dir, "%s/hls", job->task_dir) < 0) {
        if (p)
            p->dir = NULL;
        vf_hls_publish_free(&p);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    p->job = *job;
    int ret = 0;
    if (mkdir(p->dir, 0700) < 0 && errno != EEXIST) {
        ret = -errno;
        snprintf(err, errlen, "cannot make %s: %s", p->dir, strerror(errno));
        goto out;
    }
    if (!(p->db = vf_db_new(job->app->cfg))) {
        snprintf(err, errlen, "out of memory");
        ret = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < job->nqualities; i++) {
        if ((ret = vf_hls_db_published(p->db, job->video_id, job->generation, job->qualities[i],
                                       &p->published[i])) < 0) {
            snprintf(err, errlen, "database: %s", vf_db_last_error(p->db));
            goto out;
        }
        if (i == 0 || p->published[i] < p->first_segment)
            p->first_segment = p->published[i];
    }
    if (p->first_segment > 0)
        vf_info("hls: video %" PRId64 " generation %d resumes at segment %" PRId64, job->video_id, job->generation,
                p->first_segment);
out:
    if (ret < 0)
        vf_hls_publish_free(&p);
    *out = p;
    return ret;
}

void vf_hls_publish_free(vf_hls_publish_t **pp)
{
    vf_hls_publish_t *p = *pp;
    if (!p)
        return;
    vf_db_free(&p->db);
    free(p->published);
    free(p->dir);
    free(p->published_dir);
    free(p);
    *pp = NULL;
}

/* One stored file of the generation into <dir>/<quality>/<name>. */
static int fetch_one(vf_hls_publish_t *p, const char *dir, const char *quality, const char *name, int64_t *bytes,
                     vf_error_t *verr)
{
    char *key = key_of(p, quality, name), *path = NULL;
    int ret = -ENOMEM;
    if (key && asprintf(&path, "%s/%s/%s", dir, quality, name) < 0)
        path = NULL; /* asprintf leaves it undefined on failure */
    if (key && path &&
        (ret = vf_storage_get(p->job.app->storage, key, path, put_progress, p, verr)) == 0) {
        struct stat st;
        *bytes += stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    } else if (ret == -ENOMEM) {
        snprintf(verr->message, sizeof verr->message, "out of memory");
    }
    free(key);
    free(path);
    return ret;
}

int vf_hls_publish_fetch(vf_hls_publish_t *p, const char **dir_out)
{
    *dir_out = NULL;
    if (p->first_segment <= 0)
        return 0;
    char *dir = NULL;
    vf_error_t verr = {0};
    int64_t bytes = 0;
    int ret = 0;
    if (asprintf(&dir, "%s/published", p->job.task_dir) < 0) {
        dir = NULL; /* asprintf leaves it undefined on failure */
        ret = -ENOMEM;
    }
    if (ret == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        ret = -errno;
        snprintf(verr.message, sizeof verr.message, "cannot make %s: %s", dir, strerror(errno));
    }
    for (size_t i = 0; ret == 0 && i < p->job.nqualities; i++) {
        const char *quality = p->job.qualities[i];
        char *sub = NULL;
        if (asprintf(&sub, "%s/%s", dir, quality) < 0) {
            ret = -ENOMEM;
            snprintf(verr.message, sizeof verr.message, "out of memory");
            break;
        }
        if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
            ret = -errno;
            snprintf(verr.message, sizeof verr.message, "cannot make %s: %s", sub, strerror(errno));
        }
        free(sub);
        if (ret == 0)
            ret = fetch_one(p, dir, quality, VF_HLS_INIT_NAME, &bytes, &verr);
        for (int64_t n = 0; ret == 0 && n < p->first_segment; n++) {
            char name[32];
            snprintf(name, sizeof name, "%" PRId64 ".m4s", n);
            ret = fetch_one(p, dir, quality, name, &bytes, &verr);
        }
    }
    if (ret == -ECANCELED) {
        free(dir);
        return fail(p, ret, "stopped: the job was cancelled");
    }
    if (ret < 0) {
        /* The encoder can still make everything from the source. */
        vf_warn("hls: video %" PRId64 " generation %d encodes from the start: the published segments cannot be "
                "fetched (%s)", p->job.video_id, p->job.generation, dir ? verr.message : "out of memory");
        free(dir);
        return 0;
    }
    vf_info("hls: video %" PRId64 " generation %d continues from segment %" PRId64 " with %zu rendition(s) "
            "published before (%" PRId64 " bytes fetched)", p->job.video_id, p->job.generation, p->first_segment,
            p->job.nqualities, bytes);
    free(p->published_dir);
    p->published_dir = dir;
    *dir_out = dir;
    return 0;
}

const char *vf_hls_publish_dir(const vf_hls_publish_t *p) { return p->dir; }
int64_t vf_hls_publish_first_segment(const vf_hls_publish_t *p) { return p->first_segment; }
const char *vf_hls_publish_error(const vf_hls_publish_t *p) { return p->err; }
int vf_hls_publish_stale(const vf_hls_publish_t *p) { return p->stale; }
