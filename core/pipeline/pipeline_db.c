/*
 * pipeline_db.c - see pipeline_db.h.  Every statement names the job's
 * generation, so a job of a replaced source can run to its end and change
 * nothing; the video row is locked (FOR UPDATE) where a decision depends on
 * it, so a replace or delete is either before or after the result, never
 * in between.
 */
#include "config.h"
#include "pipeline/pipeline_db.h"

#include "runtime/db.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The weighted average of the generation's tasks, below 100 until ready. */
#define TASKS_PROGRESS_SQL                                                                           \
    "SELECT s.p FROM videos v, "                                                                     \
    "(SELECT LEAST(99, floor(sum(weight::numeric * progress) / sum(weight)))::int AS p "             \
    " FROM video_tasks WHERE video_id = $1::bigint AND generation = $2::int) s "                     \
    "WHERE v.id = $1::bigint AND v.generation = $2::int AND s.p IS NOT NULL "                       \
    "AND v.processing_state IN ('pending', 'processing') AND v.processing_progress < s.p"

typedef struct ids {
    char vid[24];
    char gen[16];
} ids_t;

static void fmt_ids(ids_t *ids, int64_t video_id, int generation)
{
    snprintf(ids->vid, sizeof ids->vid, "%" PRId64, video_id);
    snprintf(ids->gen, sizeof ids->gen, "%d", generation);
}

/* Statement triggers on videos notify the catalogue caches even when no
 * row changes, so the video is written only when its percentage grew. */
static int refresh_progress(vf_thread_ctx_t *ctx, const ids_t *ids)
{
    PGresult *res = NULL;
    const char *p2[] = {ids->vid, ids->gen};
    int ret = vf_db_exec(ctx->db, &res, TASKS_PROGRESS_SQL, 2, p2);
    if (ret == 0 && PQntuples(res) == 1) {
        const char *p3[] = {ids->vid, ids->gen, PQgetvalue(res, 0, 0)};
        ret = vf_db_run(ctx->db,
                        "UPDATE videos SET processing_progress = $3::int WHERE id = $1::bigint "
                        "AND generation = $2::int AND processing_state IN ('pending', 'processing') "
                        "AND processing_progress < $3::int",
                        3, p3);
    }
    PQclear(res);
    return ret;
}

int vf_pipeline_db_start(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                         const char *job_id, vf_task_verdict_t *verdict, char **source_key)
{
    PGresult *res = NULL;
    ids_t ids;
    fmt_ids(&ids, video_id, generation);
    *verdict = VF_TASK_STALE;
    *source_key = NULL;

    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    const char *p2[] = {ids.vid, ids.gen, task};
    ret = vf_db_exec(ctx->db, &res,
                     "SELECT v.source_key, v.processing_state, t.state FROM videos v "
                     "LEFT JOIN video_tasks t ON t.video_id = v.id AND t.task = $3 AND t.generation = v.generation "
                     "WHERE v.id = $1::bigint AND v.generation = $2::int FOR UPDATE OF v",
                     3, p2);
    if (ret < 0)
        goto out;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        *verdict = VF_TASK_STALE;
        goto commit;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "failed") == 0) {
        *verdict = VF_TASK_FAILED;
        goto commit;
    }
    if (!PQgetisnull(res, 0, 2) && strcmp(PQgetvalue(res, 0, 2), "done") == 0) {
        *verdict = VF_TASK_DONE;
        goto commit;
    }
    *source_key = strdup(PQgetvalue(res, 0, 0));
    if (!*source_key) {
        ret = -ENOMEM;
        goto out;
    }
    *verdict = VF_TASK_RUN;
    if (strcmp(PQgetvalue(res, 0, 1), "pending") == 0 &&
        (ret = vf_db_run(ctx->db,
                         "UPDATE videos SET processing_state = 'processing' "
                         "WHERE id = $1::bigint AND generation = $2::int AND processing_state = 'pending'",
                         2, p2)) < 0)
        goto out;
    const char *p4[] = {ids.vid, ids.gen, task, job_id};
    if ((ret = vf_db_run(ctx->db,
                         "UPDATE video_tasks SET state = 'running', job_id = $4, updated_at = now() "
                         "WHERE video_id = $1::bigint AND generation = $2::int AND task = $3",
                         4, p4)) < 0)
        goto out;
commit:
    ret = vf_db_commit(ctx->db);
out:
    PQclear(res);
    if (ret < 0) {
        vf_db_rollback(ctx->db);
        free(*source_key);
        *source_key = NULL;
    }
    return ret;
}

int vf_pipeline_db_progress(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task, int percent)
{
    ids_t ids;
    fmt_ids(&ids, video_id, generation);
    char pct[8];
    snprintf(pct, sizeof pct, "%d", percent < 0 ? 0 : percent > 100 ? 100 : percent);
    const char *p4[] = {ids.vid, ids.gen, task, pct};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res,
                         "UPDATE video_tasks SET progress = $4::int, updated_at = now() "
                         "WHERE video_id = $1::bigint AND generation = $2::int AND task = $3 "
                         "AND state = 'running' AND progress < $4::int",
                         4, p4);
    int changed = ret == 0 && PQcmdTuples(res)[0] != '0';
    PQclear(res);
    if (ret < 0 || !changed)
        return ret;
    return refresh_progress(ctx, &ids);
}

int vf_pipeline_db_finish(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                          const vf_output_t *outputs, size_t noutputs, int *stale)
{
    PGresult *res = NULL;
    ids_t ids;
    fmt_ids(&ids, video_id, generation);
    *stale = 0;
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    const char *p2[] = {ids.vid, ids.gen};
    ret = vf_db_exec(ctx->db, &res,
                     "SELECT 1 FROM videos WHERE id = $1::bigint AND generation = $2::int FOR UPDATE", 2, p2);
    if (ret < 0)
        goto out;
    if (PQntuples(res) != 1) {
        *stale = 1;
        goto commit;
    }
    for (size_t i = 0; i < noutputs; i++) {
        if (outputs[i].quality) {
            char size[24];
            snprintf(size, sizeof size, "%" PRId64, outputs[i].size);
            const char *p[] = {ids.vid, outputs[i].quality, outputs[i].key, ids.gen, size};
            ret = vf_db_run(ctx->db,
                            "INSERT INTO video_renditions (video_id, quality, storage_key, generation, size) "
                            "VALUES ($1::bigint, $2, $3, $4::int, $5::int8) ON CONFLICT (video_id, quality) DO UPDATE "
                            "SET storage_key = EXCLUDED.storage_key, generation = EXCLUDED.generation, "
                            "size = EXCLUDED.size",
                            5, p);
        } else {
            const char *p[] = {ids.vid, ids.gen, outputs[i].key};
            ret = vf_db_run(ctx->db,
                            "UPDATE videos SET thumbnail_key = $3 WHERE id = $1::bigint AND generation = $2::int",
                            3, p);
        }
        if (ret < 0)
            goto out;
    }
    const char *p3[] = {ids.vid, ids.gen, task};
    if ((ret = vf_db_run(ctx->db,
                         "UPDATE video_tasks SET state = 'done', progress = 100, error = '', updated_at = now() "
                         "WHERE video_id = $1::bigint AND generation = $2::int AND task = $3",
                         3, p3)) < 0)
        goto out;
    /* Ready only when every planned output exists: all tasks done and a
     * thumbnail recorded. */
    if ((ret = vf_db_run(ctx->db,
                         "UPDATE videos SET processing_state = 'ready', processing_progress = 100, "
                         "processing_error = '' WHERE id = $1::bigint AND generation = $2::int "
                         "AND processing_state IN ('pending', 'processing') AND thumbnail_key IS NOT NULL "
                         "AND NOT EXISTS (SELECT 1 FROM video_tasks WHERE video_id = $1::bigint "
                         "AND generation = $2::int AND state <> 'done')",
                         2, p2)) < 0)
        goto out;
    if ((ret = refresh_progress(ctx, &ids)) < 0)
        goto out;
commit:
    ret = vf_db_commit(ctx->db);
out:
    PQclear(res);
    if (ret < 0)
        vf_db_rollback(ctx->db);
    return ret;
}

int vf_pipeline_db_source_size(vf_thread_ctx_t *ctx, int64_t video_id, int generation, int64_t size)
{
    ids_t ids;
    fmt_ids(&ids, video_id, generation);
    char sizes[24];
    snprintf(sizes, sizeof sizes, "%" PRId64, size);
    const char *p[] = {ids.vid, ids.gen, sizes};
    /* Each task of the generation finds the same size: written once. */
    return vf_db_run(ctx->db,
                     "UPDATE videos SET source_size = $3::int8 WHERE id = $1::bigint AND generation = $2::int "
                     "AND source_size <> $3::int8",
                     3, p);
}

int vf_pipeline_db_fail(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                        const char *message)
{
    ids_t ids;
    fmt_ids(&ids, video_id, generation);
    const char *ptask[] = {ids.vid, ids.gen, task, message};
    const char *pmsg[] = {ids.vid, ids.gen, message};
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    /* The video's other unfinished tasks end with it: their queued jobs
     * find the video failed and do nothing (vf_pipeline_db_start), so
     * nothing else would ever finish them.  A task running elsewhere still
     * ends done if its outputs get recorded.  Its HLS stream is withdrawn
     * (hls_state 'none'): it would never end, and players poll a growing
     * playlist until it does. */
    if ((ret = vf_db_run(ctx->db,
                         "UPDATE video_tasks SET state = 'failed', error = $4, updated_at = now() "
                         "WHERE video_id = $1::bigint AND generation = $2::int AND task = $3",
                         4, ptask)) < 0 ||
        (ret = vf_db_run(ctx->db,
                         "UPDATE videos SET processing_state = 'failed', processing_error = $3, "
                         "hls_state = 'none' "
                         "WHERE id = $1::bigint AND generation = $2::int "
                         "AND processing_state IN ('pending', 'processing')",
                         3, pmsg)) < 0 ||
        (ret = vf_db_run(ctx->db,
                         "UPDATE video_tasks SET state = 'failed', updated_at = now(), "
                         "error = 'Not finished: the video failed in task ' || $3 || ': ' || $4 "
                         "WHERE video_id = $1::bigint AND generation = $2::int AND task <> $3 "
                         "AND state IN ('pending', 'running') AND EXISTS (SELECT 1 FROM videos "
                         "WHERE id = $1::bigint AND generation = $2::int AND processing_state = 'failed')",
                         4, ptask)) < 0) {
        vf_db_rollback(ctx->db);
        return ret;
    }
    ret = vf_db_commit(ctx->db);
    if (ret < 0)
        vf_db_rollback(ctx->db);
    return ret;
}

int vf_pipeline_db_lock(vf_thread_ctx_t *ctx, const char *lock_name)
{
    PGresult *res = NULL;
    const char *p[] = {lock_name};
    int ret = vf_db_exec(ctx->db, &res, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", 1, p);
    if (ret == 0)
        ret = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return ret;
}

void vf_pipeline_db_unlock(vf_thread_ctx_t *ctx, const char *lock_name)
{
    const char *p[] = {lock_name};
    if (vf_db_run(ctx->db, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1, p) < 0)
        vf_warn("pipeline: cannot release the lock of %s; it goes with the connection", lock_name);
}
