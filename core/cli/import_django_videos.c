/*
 * import_django_videos.c - the videos of `videoflix import-django`: each
 * row of content_app_video with its source, thumbnail and converted files
 * copied from the Django MEDIA_ROOT, or from the storage of --source-storage
 * (through a file in media.work_dir), into the configured storage plugin.
 * Owns: the storage keys of imported files ("django/<Django file name>"),
 * deciding whether a video is ready as it is or needs processing.
 * Must not: encode anything (a video missing renditions gets the jobs of
 * vf_video_create, run later by the workers) or change the Django files.
 *
 * Files are copied before the row that names them commits; an interrupted
 * run leaves at most copies that the next run writes again under the same
 * keys.  A video that needs processing is created by vf_video_create (its
 * own transaction, with its jobs); if the run dies before its mapping row
 * commits, the next run finds it by its source key and maps it.
 */
#include "config.h"
#include "cli/import_django.h"

#include "catalog/video_lifecycle.h"
#include "plugins/loader.h"
#include "plugins/storage_key.h"
#include "runtime/db.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_PREFIX "django/"

enum { V_ID, V_TITLE, V_DESCRIPTION, V_CATEGORY, V_CREATED, V_SOURCE, V_IMAGE, V_CONVERTED };

/* One file of a video: its Django name, local path (with a source storage:
 * where it is fetched to) and storage key. */
typedef struct vfile {
    char *name;
    char *path;
    char *key;
    int present;
} vfile_t;

static void vfile_free(vfile_t *f)
{
    free(f->name);
    free(f->path);
    free(f->key);
    memset(f, 0, sizeof *f);
}

/* 0 (present says whether the file is there), or -1 with *why. */
static int vfile_init(idj_t *im, const char *name, vfile_t *f, const char **why)
{
    memset(f, 0, sizeof *f);
    if (!name || !*name)
        return 0;
    vf_error_t kerr = {0};
    int n = im->source ? asprintf(&f->path, "%s/django-import-%ld.tmp", im->app->cfg->media.work_dir, (long)getpid())
                       : asprintf(&f->path, "%s/%s", im->media_root, name);
    if (n < 0)
        f->path = NULL;
    if (n < 0 || asprintf(&f->key, KEY_PREFIX "%s", name) < 0 || !(f->name = strdup(name))) {
        if (!f->name)
            f->key = NULL; /* asprintf failed: undefined */
        *why = "out of memory";
        return -1;
    }
    if (strstr(name, "..") || vf_storage_key_check(f->key, &kerr) < 0 || vf_storage_key_check(name, &kerr) < 0) {
        *why = "a file name that is not a valid storage key";
        return -1;
    }
    if (im->source) {
        vf_storage_stat_t st;
        vf_error_t err = {0};
        int ret = vf_storage_ops(im->source)->stat(im->source->state, name, &st, &err);
        if (ret < 0 && ret != -ENOENT) {
            fprintf(stderr, "videoflix import-django: %s in the source storage: %s\n", name, err.message);
            *why = "the source storage cannot tell whether it exists";
            return -1;
        }
        f->present = ret == 0;
        return 0;
    }
    struct stat sb;
    f->present = stat(f->path, &sb) == 0 && S_ISREG(sb.st_mode);
    return 0;
}

static int copy_file(idj_t *im, const vfile_t *f)
{
    if (im->dry_run) {
        im->files_copied++;
        return 0;
    }
    const vf_storage_ops_t *ops = vf_storage_ops(im->app->storage);
    vf_error_t err = {0};
    if (im->source && vf_storage_ops(im->source)->get_file(im->source->state, f->name, f->path, &err) < 0) {
        fprintf(stderr, "videoflix import-django: cannot fetch %s from the source storage: %s\n", f->name,
                err.message);
        return -1;
    }
    int ret = ops->put_file(im->app->storage->state, f->key, f->path, &err);
    if (im->source)
        unlink(f->path);
    if (ret < 0) {
        fprintf(stderr, "videoflix import-django: cannot store %s as %s: %s\n", f->name, f->key, err.message);
        return -1;
    }
    im->files_copied++;
    return 0;
}

/* The video made here from this source key by an earlier, interrupted run:
 * 1 and *id, 0, or -1. */
static int video_by_source(idj_t *im, const char *key, int64_t *id)
{
    const char *p[] = {key};
    return idj_lookup(im, "SELECT id FROM videos WHERE source_key = $1", 1, p, id);
}

static int map_only(idj_t *im, const char *django_id, int64_t id)
{
    if (vf_db_begin(im->ctx->db) < 0 || idj_map_tx(im, "video", django_id, id) < 0 || vf_db_commit(im->ctx->db) < 0) {
        vf_db_rollback(im->ctx->db);
        return -1;
    }
    return 0;
}

/* Every rendition and the thumbnail exist: the video is ready as it is. */
static int insert_ready(idj_t *im, PGresult *src, int row, const char *category, const vfile_t *source,
                        const vfile_t *thumb, const vfile_t *renditions)
{
    const vf_config_t *cfg = im->app->cfg;
    const char *django_id = PQgetvalue(src, row, V_ID);
    const char *p[] = {PQgetvalue(src, row, V_TITLE), PQgetvalue(src, row, V_DESCRIPTION), category,
                       PQgetvalue(src, row, V_CREATED), source->key, thumb->key};
    PGresult *res = NULL;
    if (vf_db_begin(im->ctx->db) < 0)
        goto fail;
    if (vf_db_exec(im->ctx->db, &res,
                   "INSERT INTO videos (title, description, category, created_at, updated_at, source_key, "
                   "thumbnail_key, processing_state, processing_progress) "
                   "VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz, $5, $6, 'ready', 100) "
                   "RETURNING id, generation",
                   6, p) < 0)
        goto fail;
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *gen = PQgetvalue(res, 0, 1);
    for (size_t i = 0; i < cfg->media.nrenditions; i++) {
        const char *rp[] = {ids, cfg->media.renditions[i].name, renditions[i].key, gen};
        if (vf_db_run(im->ctx->db,
                      "INSERT INTO video_renditions (video_id, quality, storage_key, generation) "
                      "VALUES ($1::bigint, $2, $3, $4::int)",
                      4, rp) < 0)
            goto fail;
    }
    if (idj_map_tx(im, "video", django_id, id) < 0 || vf_db_commit(im->ctx->db) < 0)
        goto fail;
    PQclear(res);
    return 0;
fail:
    fprintf(stderr, "videoflix import-django: video %s: %s\n", django_id, vf_db_last_error(im->ctx->db));
    PQclear(res);
    vf_db_rollback(im->ctx->db);
    return -1;
}

/* Some rendition or the thumbnail is missing: created from its source with
 * the processing jobs of a new video. */
static int create_queued(idj_t *im, PGresult *src, int row, const char *category, const vfile_t *source)
{
    const char *django_id = PQgetvalue(src, row, V_ID);
    vf_video_fields_t f = {.title = PQgetvalue(src, row, V_TITLE),
                           .description = PQgetvalue(src, row, V_DESCRIPTION),
                           .category = (char *)category};
    json_t *errors = NULL;
    int64_t id = 0;
    if (vf_video_create(im->ctx, &f, 0, source->key, &id, &errors) < 0) {
        char *text = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
        fprintf(stderr, "videoflix import-django: video %s: %s\n", django_id,
                text ? text : vf_db_last_error(im->ctx->db));
        free(text);
        json_decref(errors);
        return -1;
    }
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[] = {ids, PQgetvalue(src, row, V_CREATED)};
    if (vf_db_begin(im->ctx->db) < 0 ||
        vf_db_run(im->ctx->db, "UPDATE videos SET created_at = $2::timestamptz WHERE id = $1::bigint", 2, p) < 0 ||
        idj_map_tx(im, "video", django_id, id) < 0 || vf_db_commit(im->ctx->db) < 0) {
        fprintf(stderr, "videoflix import-django: video %s: %s\n", django_id, vf_db_last_error(im->ctx->db));
        vf_db_rollback(im->ctx->db);
        return -1;
    }
    return 0;
}

/* The title already names another video here: 1, else 0 or -1. */
static int title_taken(idj_t *im, const char *title)
{
    const char *p[] = {title};
    return idj_lookup(im, "SELECT id FROM videos WHERE lower(title) = lower($1)", 1, p, NULL);
}

static int import_video(idj_t *im, PGresult *src, int row)
{
    const vf_config_t *cfg = im->app->cfg;
    const char *id = PQgetvalue(src, row, V_ID);
    const char *title = PQgetvalue(src, row, V_TITLE);
    int mapped = idj_mapped(im, "video", id, NULL);
    if (mapped != 0) {
        if (mapped > 0)
            im->videos.unchanged++;
        return mapped < 0 ? -1 : 0;
    }
    size_t n = cfg->media.nrenditions;
    vfile_t source, thumb, *renditions = calloc(n ? n : 1, sizeof *renditions);
    json_t *converted = NULL;
    const char *why = NULL;
    int status = 0;
    memset(&source, 0, sizeof source);
    memset(&thumb, 0, sizeof thumb);
    if (!renditions) {
        fprintf(stderr, "videoflix import-django: out of memory\n");
        return -1;
    }
    if (vfile_init(im, PQgetvalue(src, row, V_SOURCE), &source, &why) < 0 ||
        vfile_init(im, PQgetvalue(src, row, V_IMAGE), &thumb, &why) < 0) {
        idj_skip(&im->videos, "video", id, title, why);
        goto out;
    }
    if (!source.present) {
        char msg[1200];
        snprintf(msg, sizeof msg, "its source file %s is missing", source.name ? source.name : "(none recorded)");
        idj_skip(&im->videos, "video", id, title, msg);
        goto out;
    }
    /* converted_files: {"360p": "videos/x_360p.mp4", ...}; a quality we
     * do not make is left where it is (the workers make ours). */
    converted = json_loads(PQgetvalue(src, row, V_CONVERTED), 0, NULL);
    int complete = thumb.present;
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(converted, cfg->media.renditions[i].name));
        if (vfile_init(im, name, &renditions[i], &why) < 0) {
            idj_skip(&im->videos, "video", id, title, why);
            goto out;
        }
        complete = complete && renditions[i].present;
    }
    const char *category = PQgetvalue(src, row, V_CATEGORY);
    if (!vf_video_category_valid(category)) {
        printf("video %s (%s): category \"%s\" is not one of the genres: imported as \"Other\"\n", id, title,
               category);
        category = "Other";
    }
    int64_t existing = 0;
    int adopted = im->dry_run ? 0 : video_by_source(im, source.key, &existing);
    if (adopted < 0 || (adopted && map_only(im, id, existing) < 0)) {
        status = -1;
        goto out;
    }
    if (adopted) {
        im->videos.imported++;
        goto out;
    }
    int taken = title_taken(im, title);
    if (taken != 0) {
        if (taken > 0)
            idj_skip(&im->videos, "video", id, title, "a Videoflix video has this title already");
        status = taken < 0 ? -1 : 0;
        goto out;
    }
    if (copy_file(im, &source) < 0) {
        status = -1;
        goto out;
    }
    if (complete) {
        if (copy_file(im, &thumb) < 0) {
            status = -1;
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (copy_file(im, &renditions[i]) < 0) {
                status = -1;
                goto out;
            }
    }
    if (im->dry_run) {
        printf("would import video %s (%s)%s\n", id, title, complete ? "" : " and queue its processing");
        if (idj_would(im, "video", id) < 0) {
            status = -1;
            goto out;
        }
    } else if ((complete ? insert_ready(im, src, row, category, &source, &thumb, renditions)
                       : create_queued(im, src, row, category, &source)) < 0) {
        status = -1;
        goto out;
    }
    im->videos.imported++;
    if (!complete) {
        im->videos.queued++;
        printf("video %s (%s): renditions or thumbnail missing: queued for processing\n", id, title);
    }
out:
    json_decref(converted);
    vfile_free(&source);
    vfile_free(&thumb);
    for (size_t i = 0; i < n; i++)
        vfile_free(&renditions[i]);
    free(renditions);
    return status;
}

int idj_import_videos(idj_t *im)
{
    return idj_each_row(im,
                        "SELECT id, title, description, coalesce(category, ''), created_at, "
                        "coalesce(video_file, ''), coalesce(image_file, ''), "
                        "coalesce(converted_files::text, '{}') FROM content_app_video ORDER BY id",
                        import_video);
}
