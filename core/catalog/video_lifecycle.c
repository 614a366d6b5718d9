/*
 * video_lifecycle.c - see video_lifecycle.h.  Messages follow DRF's wording
 * so the admin API answers like the Django backend's serializers did.
 */
#include "config.h"
#include "catalog/video_lifecycle.h"

#include "jobs/queue.h"
#include "pipeline/hls_publish.h"
#include "pipeline/pipeline.h"
#include "runtime/db.h"
#include "storage/remove_files.h"
#include "uploads/upload_store.h"
#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TITLE_MAX_CHARS 255
#define MSG_REQUIRED "This field is required."
#define MSG_DUPLICATE_TITLE "video with this title already exists."

/* API.md, "Categories"; sql/003_videos.sql checks the same list. */
static const char *const categories[] = {
    "Action",      "Adventure", "Comedy",      "Crime",     "Drama",         "Fantasy",     "Historical",
    "Horror",      "Mystery",   "Philosophical", "Political", "Romance",     "Science fiction", "Thriller",
    "Western",     "Animation", "Documentary", "Biographical", "Educational", "Erotic",    "Musical",
    "Reality",     "Sports",    "Superhero",   "Surreal",   "Other",         NULL,
};

int vf_video_category_valid(const char *category)
{
    for (size_t i = 0; category && categories[i]; i++)
        if (strcmp(categories[i], category) == 0)
            return 1;
    return 0;
}

void vf_video_fields_free(vf_video_fields_t *f)
{
    free(f->title);
    free(f->description);
    free(f->category);
    free(f->upload_id);
    memset(f, 0, sizeof *f);
}

static void add_error(json_t **errors, const char *field, const char *message)
{
    if (!*errors)
        *errors = json_object();
    if (!*errors)
        return;
    json_t *list = json_object_get(*errors, field);
    if (!list) {
        list = json_array();
        json_object_set_new(*errors, field, list);
    }
    json_array_append_new(list, json_string(message));
}

/* A copy without leading and trailing white space (DRF trims CharFields). */
static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return strndup(s, n);
}

static int string_field(const json_t *body, const char *name, char **out, json_t **errors)
{
    json_t *v = json_object_get(body, name);
    if (!v)
        return 0;
    if (json_is_null(v)) {
        add_error(errors, name, "This field may not be null.");
        return 0;
    }
    if (!json_is_string(v)) {
        add_error(errors, name, "Not a valid string.");
        return 0;
    }
    *out = trimmed(json_string_value(v));
    return *out ? 0 : -ENOMEM;
}

int vf_video_fields_from_json(const json_t *body, vf_video_fields_t *f, json_t **errors)
{
    memset(f, 0, sizeof *f);
    if (string_field(body, "title", &f->title, errors) < 0 ||
        string_field(body, "description", &f->description, errors) < 0 ||
        string_field(body, "category", &f->category, errors) < 0 ||
        string_field(body, "upload_id", &f->upload_id, errors) < 0) {
        vf_video_fields_free(f);
        return -ENOMEM;
    }
    return 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

void vf_video_fields_check(const vf_video_fields_t *f, int creating, int have_source, json_t **errors)
{
    if (f->title) {
        if (!f->title[0])
            add_error(errors, "title", "This field may not be blank.");
        else if (utf8_chars(f->title) > TITLE_MAX_CHARS)
            add_error(errors, "title", "Ensure this field has no more than 255 characters.");
    } else if (creating) {
        add_error(errors, "title", MSG_REQUIRED);
    }
    if (f->category) {
        if (!vf_video_category_valid(f->category)) {
            char msg[300];
            snprintf(msg, sizeof msg, "\"%.*s\" is not a valid choice.", vf_utf8_prefix_len(f->category, 200),
                     f->category);
            add_error(errors, "category", msg);
        }
    } else if (creating) {
        add_error(errors, "category", MSG_REQUIRED);
    }
    if (f->upload_id && !f->upload_id[0])
        add_error(errors, "upload_id", "This field may not be blank.");
    else if (creating && !have_source)
        add_error(errors, "upload_id", MSG_REQUIRED);
}

/* 1 when another video (not `except`, 0 = none) has this title in any
 * letter case. */
static int title_taken(vf_thread_ctx_t *ctx, const char *title, int64_t except)
{
    char ex[24];
    snprintf(ex, sizeof ex, "%" PRId64, except);
    const char *p[] = {title, ex};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, "SELECT 1 FROM videos WHERE lower(title) = lower($1) AND id <> $2::bigint", 2,
                         p);
    if (ret == 0)
        ret = PQntuples(res) > 0;
    PQclear(res);
    return ret;
}

static void upload_error(int ret, json_t **errors)
{
    add_error(errors, "upload_id",
              ret == -ESTALE        ? "The upload has expired."
              : ret == -EINPROGRESS ? "The upload is not complete yet."
                                    : "Upload not found.");
}

/* ------------------------------------------------------------ job plan */

static int add_task(vf_thread_ctx_t *ctx, int64_t id, int gen, const char *task, int weight, const char *type,
                    json_t *payload)
{
    char job_id[VF_JOB_ID_SIZE];
    int ret = vf_queue_enqueue_tx(ctx, type, payload, job_id);
    if (ret < 0)
        return ret;
    char ids[24], gens[16], w[16];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    snprintf(gens, sizeof gens, "%d", gen);
    snprintf(w, sizeof w, "%d", weight > 0 ? weight : 1);
    const char *p[] = {ids, task, gens, w, job_id};
    return vf_db_run(ctx->db,
                     "INSERT INTO video_tasks (video_id, task, generation, weight, job_id) "
                     "VALUES ($1::bigint, $2, $3::int, $4::int, $5)",
                     5, p);
}

/* The jobs of one generation (docs/pipeline.md, "Splitting a video into
 * jobs"): one per rendition plus one thumbnail job, so that several workers
 * share a video; or one job for the whole ladder, so that the source is
 * decoded once.  Weights approximate each task's share of the work. */
static int plan_jobs_tx(vf_thread_ctx_t *ctx, int64_t id, int gen)
{
    const vf_config_t *cfg = ctx->app->cfg;
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[] = {ids};
    int ret = vf_db_run(ctx->db, "DELETE FROM video_tasks WHERE video_id = $1::bigint", 1, p);
    if (ret < 0)
        return ret;
    json_t *payload = NULL;
    if (strcmp(cfg->media.job_split, "whole_ladder") == 0) {
        json_t *names = json_array();
        for (size_t i = 0; names && i < cfg->media.nrenditions; i++)
            json_array_append_new(names, json_string(cfg->media.renditions[i].name));
        payload = json_pack("{s:I, s:i, s:s, s:o, s:b}", "video_id", (json_int_t)id, "generation", gen, "task",
                            "ladder", "renditions", names, "thumbnail", 1);
        ret = payload ? add_task(ctx, id, gen, "ladder", 1, VF_JOB_TRANSCODE, payload) : -ENOMEM;
        json_decref(payload);
        return ret;
    }
    int smallest = 0;
    for (size_t i = 0; i < cfg->media.nrenditions && ret == 0; i++) {
        const vf_rendition_conf_t *rc = &cfg->media.renditions[i];
        char task[48];
        snprintf(task, sizeof task, "rendition/%s", rc->name);
        /* Encoding cost grows with the pixel count: height squared. */
        int weight = rc->height * rc->height / 64 + 1;
        if (!smallest || weight < smallest)
            smallest = weight;
        payload = json_pack("{s:I, s:i, s:s, s:[s], s:b}", "video_id", (json_int_t)id, "generation", gen, "task", task,
                            "renditions", rc->name, "thumbnail", 0);
        ret = payload ? add_task(ctx, id, gen, task, weight, VF_JOB_TRANSCODE, payload) : -ENOMEM;
        json_decref(payload);
    }
    if (ret < 0)
        return ret;
    payload = json_pack("{s:I, s:i, s:s}", "video_id", (json_int_t)id, "generation", gen, "task", "thumbnail");
    ret = payload ? add_task(ctx, id, gen, "thumbnail", smallest / 2 + 1, VF_JOB_THUMBNAIL, payload) : -ENOMEM;
    json_decref(payload);
    return ret;
}

/* Every object of generation `gen` of a video, known or possible: the
 * recorded renditions and thumbnail, and the key every configured output
 * would have (a job may have stored one and died before recording it);
 * removing a missing object is no error.  The generation's HLS stream, of
 * as many segments as the source was long, goes as one prefix. */
static int orphaned_keys_tx(vf_thread_ctx_t *ctx, int64_t id, int gen, json_t *keys, json_t *prefixes)
{
    char *hls = vf_hls_prefix(id, gen);
    if (!hls || json_array_append_new(prefixes, json_string(hls)) != 0) {
        free(hls);
        return -ENOMEM;
    }
    free(hls);
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[] = {ids};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT storage_key FROM video_renditions WHERE video_id = $1::bigint "
                         "UNION SELECT k FROM videos, LATERAL (VALUES (source_key), (thumbnail_key)) AS t(k) "
                         "WHERE id = $1::bigint AND k IS NOT NULL",
                         1, p);
    if (ret < 0)
        return ret;
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(keys, json_string(PQgetvalue(res, i, 0)));
    PQclear(res);
    const vf_config_t *cfg = ctx->app->cfg;
    for (size_t i = 0; i < cfg->media.nrenditions; i++) {
        char *k = vf_pipeline_rendition_key(id, gen, cfg->media.renditions[i].name);
        if (!k)
            return -ENOMEM;
        json_array_append_new(keys, json_string(k));
        free(k);
    }
    char *k = vf_pipeline_thumbnail_key(id, gen);
    if (!k)
        return -ENOMEM;
    json_array_append_new(keys, json_string(k));
    free(k);
    return 0;
}

/* ------------------------------------------------------------ changes */

static int is_unique_violation(vf_thread_ctx_t *ctx, const char *sql, int n, const char *const *p, int *dup)
{
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, sql, n, p);
    const char *state = ret == -EIO ? vf_db_sqlstate(res) : NULL;
    *dup = state && strcmp(state, VF_SQLSTATE_UNIQUE_VIOLATION) == 0;
    PQclear(res);
    return ret;
}

int vf_video_create(vf_thread_ctx_t *ctx, const vf_video_fields_t *f, int64_t owner, const char *source_key,
                    int64_t *id_out, json_t **errors)
{
    char *taken_key = NULL;
    PGresult *res = NULL;
    *errors = NULL;
    *id_out = 0;
    vf_video_fields_check(f, 1, f->upload_id || source_key, errors);
    if (*errors)
        return -EINVAL;
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    if ((ret = title_taken(ctx, f->title, 0)) != 0) {
        if (ret > 0) {
            add_error(errors, "title", MSG_DUPLICATE_TITLE);
            ret = -EINVAL;
        }
        goto out;
    }
    if (f->upload_id) {
        ret = vf_upload_take_tx(ctx, f->upload_id, owner, &taken_key);
        if (ret == -ENOENT || ret == -ESTALE || ret == -EINPROGRESS) {
            upload_error(ret, errors);
            ret = -EINVAL;
        }
        if (ret < 0)
            goto out;
        source_key = taken_key;
    }
    const char *p[] = {f->title, f->description ? f->description : "", f->category, source_key};
    ret = vf_db_exec(ctx->db, &res,
                     "INSERT INTO videos (title, description, category, source_key) VALUES ($1, $2, $3, $4) "
                     "RETURNING id, generation",
                     4, p);
    if (ret < 0) {
        const char *state = vf_db_sqlstate(res);
        if (state && strcmp(state, VF_SQLSTATE_UNIQUE_VIOLATION) == 0) {
            add_error(errors, "title", MSG_DUPLICATE_TITLE);
            ret = -EINVAL;
        }
        goto out;
    }
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    int gen = atoi(PQgetvalue(res, 0, 1));
    if ((ret = plan_jobs_tx(ctx, id, gen)) < 0 || (ret = vf_db_commit(ctx->db)) < 0)
        goto out;
    vf_queue_flush(ctx);
    *id_out = id;
    vf_info("videos: video %" PRId64 " \"%s\" created; processing planned", id, f->title);
out:
    if (ret < 0)
        vf_db_rollback(ctx->db);
    PQclear(res);
    free(taken_key);
    return ret;
}

int vf_video_update(vf_thread_ctx_t *ctx, int64_t id, const vf_video_fields_t *f, int64_t owner, json_t **errors)
{
    char ids[24];
    char *new_key = NULL;
    json_t *old_keys = NULL, *old_prefixes = NULL;
    PGresult *res = NULL;
    int dup = 0;
    snprintf(ids, sizeof ids, "%" PRId64, id);
    *errors = NULL;
    vf_video_fields_check(f, 0, 1, errors);
    if (*errors)
        return -EINVAL;
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    const char *pid[] = {ids};
    if ((ret = vf_db_exec(ctx->db, &res, "SELECT generation FROM videos WHERE id = $1::bigint FOR UPDATE", 1, pid)) <
        0)
        goto out;
    if (PQntuples(res) != 1) {
        ret = -ENOENT;
        goto out;
    }
    int gen = atoi(PQgetvalue(res, 0, 0));
    if (f->title && (ret = title_taken(ctx, f->title, id)) != 0) {
        if (ret > 0) {
            add_error(errors, "title", MSG_DUPLICATE_TITLE);
            ret = -EINVAL;
        }
        goto out;
    }
    if (f->title || f->description || f->category) {
        /* Metadata only: the renditions stay as they are. */
        const char *p[] = {ids, f->title, f->description, f->category};
        ret = is_unique_violation(ctx,
                                  "UPDATE videos SET title = coalesce($2, title), "
                                  "description = coalesce($3, description), category = coalesce($4, category), "
                                  "updated_at = now() WHERE id = $1::bigint",
                                  4, p, &dup);
        if (dup) {
            add_error(errors, "title", MSG_DUPLICATE_TITLE);
            ret = -EINVAL;
        }
        if (ret < 0)
            goto out;
    }
    if (f->upload_id) {
        ret = vf_upload_take_tx(ctx, f->upload_id, owner, &new_key);
        if (ret == -ENOENT || ret == -ESTALE || ret == -EINPROGRESS) {
            upload_error(ret, errors);
            ret = -EINVAL;
        }
        if (ret < 0)
            goto out;
        old_keys = json_array();
        old_prefixes = json_array();
        if (!old_keys || !old_prefixes) {
            ret = -ENOMEM;
            goto out;
        }
        if ((ret = orphaned_keys_tx(ctx, id, gen, old_keys, old_prefixes)) < 0)
            goto out;
        const char *p[] = {ids, new_key};
        if ((ret = vf_db_run(ctx->db,
                             "UPDATE videos SET source_key = $2, generation = generation + 1, "
                             "processing_state = 'pending', processing_progress = 0, processing_error = '', "
                             "thumbnail_key = NULL, updated_at = now() WHERE id = $1::bigint",
                             2, p)) < 0 ||
            (ret = vf_db_run(ctx->db, "DELETE FROM video_renditions WHERE video_id = $1::bigint", 1, pid)) < 0 ||
            (ret = plan_jobs_tx(ctx, id, gen + 1)) < 0 ||
            (ret = vf_remove_files_tx(ctx, old_keys, old_prefixes, NULL, NULL)) < 0)
            goto out;
    }
    if ((ret = vf_db_commit(ctx->db)) < 0)
        goto out;
    vf_queue_flush(ctx);
    if (f->upload_id)
        vf_info("videos: video %" PRId64 " has a new source (generation %d); processing planned", id, gen + 1);
out:
    if (ret < 0)
        vf_db_rollback(ctx->db);
    PQclear(res);
    json_decref(old_keys);
    json_decref(old_prefixes);
    free(new_key);
    return ret;
}

int vf_video_delete(vf_thread_ctx_t *ctx, int64_t id)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[] = {ids};
    PGresult *res = NULL;
    json_t *keys = json_array(), *prefixes = json_array();
    int ret = keys && prefixes ? vf_db_begin(ctx->db) : -ENOMEM;
    if (ret < 0)
        goto done;
    if ((ret = vf_db_exec(ctx->db, &res, "SELECT generation FROM videos WHERE id = $1::bigint FOR UPDATE", 1, p)) < 0)
        goto out;
    if (PQntuples(res) != 1) {
        ret = -ENOENT;
        goto out;
    }
    int gen = atoi(PQgetvalue(res, 0, 0));
    if ((ret = orphaned_keys_tx(ctx, id, gen, keys, prefixes)) < 0 ||
        (ret = vf_db_run(ctx->db, "DELETE FROM videos WHERE id = $1::bigint", 1, p)) < 0 ||
        (ret = vf_remove_files_tx(ctx, keys, prefixes, NULL, NULL)) < 0 || (ret = vf_db_commit(ctx->db)) < 0)
        goto out;
    vf_queue_flush(ctx);
    vf_info("videos: video %" PRId64 " deleted; %zu files and the HLS stream to remove", id, json_array_size(keys));
out:
    if (ret < 0)
        vf_db_rollback(ctx->db);
done:
    PQclear(res);
    json_decref(keys);
    json_decref(prefixes);
    return ret;
}
