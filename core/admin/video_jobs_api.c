/*
 * video_jobs_api.c - see video_jobs_api.h.
 */
#include "config.h"
#include "admin/video_jobs_api.h"

#include "accounts/audit.h"
#include "accounts/auth.h"
#include "admin/paging.h"
#include "http/http.h"
#include "jobs/queue.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One task row as JSON, with its job from the queue (null once the queue
 * has forgotten it: finished jobs leave the history after a while). */
static int task_json(vf_req_t *r, const PGresult *res, int i, json_t **out)
{
    json_t *job = NULL;
    const char *job_id = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4);
    int ret = job_id ? vf_queue_show(r->ctx, job_id, &job) : -ENOENT;
    if (ret < 0 && ret != -ENOENT)
        return ret;
    *out = json_pack("{s:s, s:s, s:i, s:s, s:s?, s:o}", "task", PQgetvalue(res, i, 0), "state",
                     PQgetvalue(res, i, 1), "progress", atoi(PQgetvalue(res, i, 2)), "error", PQgetvalue(res, i, 3),
                     "job_id", job_id, "job", job ? job : json_null());
    return *out ? 0 : -ENOMEM;
}

/* The video id of a /admin/api/videos/<id>/... route after the staff
 * check, as a number and as text; -1 after answering. */
static int staff_and_video(vf_req_t *r, int64_t *id, char ids[24])
{
    if (vf_auth_require_staff(r) != 0)
        return -1;
    if (vf_parse_id(vf_req_param(r, 0), id) != 0) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return -1;
    }
    snprintf(ids, 24, "%" PRId64, *id);
    return 0;
}

/* GET /admin/api/videos/<id>/jobs/ */
static void video_jobs(vf_req_t *r)
{
    int64_t id;
    char ids[24];
    if (staff_and_video(r, &id, ids) != 0)
        return;
    const char *p[] = {ids};
    PGresult *res = NULL;
    /* The video's row too, so that a video with no task is told from none. */
    int ret = vf_db_exec(r->ctx->db, &res,
                         "SELECT t.task, t.state, t.progress, t.error, t.job_id, v.generation FROM videos v "
                         "LEFT JOIN video_tasks t ON t.video_id = v.id AND t.generation = v.generation "
                         "WHERE v.id = $1::bigint ORDER BY t.task",
                         1, p);
    if (ret < 0) {
        PQclear(res);
        vf_admin_reply_failure(r, ret, "read the video's jobs");
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    json_t *tasks = json_array();
    ret = tasks ? 0 : -ENOMEM;
    for (int i = 0; ret == 0 && i < PQntuples(res) && !PQgetisnull(res, i, 0); i++) {
        json_t *t = NULL;
        if ((ret = task_json(r, res, i, &t)) == 0 && json_array_append_new(tasks, t) != 0)
            ret = -ENOMEM;
    }
    json_t *body = ret == 0 ? json_pack("{s:I, s:i, s:o}", "video_id", (json_int_t)id, "generation",
                                        atoi(PQgetvalue(res, 0, 5)), "results", tasks)
                            : NULL;
    PQclear(res);
    if (!body) {
        if (ret == 0)
            ret = -ENOMEM;
        else
            json_decref(tasks);
        vf_admin_reply_failure(r, ret, "read the video's jobs");
        return;
    }
    vf_reply_header(r, "Cache-Control", "no-store");
    vf_reply_json(r, 200, body);
}

/* Retry, in one transaction: the job ids of the failed video's failed
 * tasks into `jobs`, then the tasks back to pending and the video to
 * processing (a job of a failed video does nothing).  -ENOENT: no such
 * video; -EALREADY: it is not failed (in `generation`, when not 0);
 * -ESRCH with the task's name in `missing`: the queue has forgotten that
 * task's job. */
static int retry_tx(vf_req_t *r, const char *ids, int generation, json_t *jobs, char *missing, size_t len)
{
    PGresult *res = NULL;
    const char *p[] = {ids};
    char gens[16];
    snprintf(gens, sizeof gens, "%d", generation);
    int ret = vf_db_begin(r->ctx->db);
    if (ret < 0)
        return ret;
    ret = vf_db_exec(r->ctx->db, &res,
                     "SELECT v.processing_state, t.task, t.job_id, v.generation FROM videos v "
                     "LEFT JOIN video_tasks t ON t.video_id = v.id AND t.generation = v.generation "
                     "AND t.state = 'failed' WHERE v.id = $1::bigint FOR UPDATE OF v",
                     1, p);
    if (ret == 0 && PQntuples(res) == 0)
        ret = -ENOENT;
    else if (ret == 0 && (strcmp(PQgetvalue(res, 0, 0), "failed") != 0 ||
                          (generation && atoi(PQgetvalue(res, 0, 3)) != generation)))
        ret = -EALREADY;
    for (int i = 0; ret == 0 && i < PQntuples(res) && !PQgetisnull(res, i, 1); i++) {
        json_t *job = NULL;
        const char *job_id = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
        ret = job_id ? vf_queue_show(r->ctx, job_id, &job) : -ENOENT;
        json_decref(job);
        if (ret == -ENOENT) {
            snprintf(missing, len, "%s", PQgetvalue(res, i, 1));
            ret = -ESRCH;
        } else if (ret == 0 && json_array_append_new(jobs, json_string(job_id)) != 0)
            ret = -ENOMEM;
    }
    PQclear(res);
    if (ret == 0 &&
        (ret = vf_db_run(r->ctx->db,
                         "UPDATE video_tasks t SET state = 'pending', error = '', progress = 0, updated_at = now() "
                         "FROM videos v WHERE v.id = $1::bigint AND t.video_id = v.id "
                         "AND t.generation = v.generation AND t.state = 'failed'",
                         1, p)) == 0)
        ret = vf_db_run(r->ctx->db,
                        "UPDATE videos SET processing_state = 'processing', processing_error = '', "
                        "updated_at = now() WHERE id = $1::bigint",
                        1, p);
    if (ret == 0)
        ret = vf_db_commit(r->ctx->db);
    if (ret < 0)
        vf_db_rollback(r->ctx->db);
    return ret;
}

/* A new job of the type and payload of job `id`. */
static int enqueue_again(vf_req_t *r, const char *id)
{
    json_t *job = NULL;
    int ret = vf_queue_show(r->ctx, id, &job);
    const char *type = json_string_value(json_object_get(job, "type"));
    json_t *payload = json_object_get(job, "payload");
    if (ret == 0 && (!type || !json_is_object(payload)))
        ret = -EINVAL;
    char fresh[VF_JOB_ID_SIZE];
    if (ret == 0)
        ret = vf_queue_enqueue(r->ctx, type, payload, fresh);
    if (ret == 0)
        vf_info("admin: job %s of a retried video was running; job %s runs its task again if it skipped", id,
                fresh);
    json_decref(job);
    return ret;
}

int vf_admin_video_retry(vf_req_t *r, int64_t id, int generation, json_t **requeued, char *missing, size_t len)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    json_t *jobs = json_array();
    int ret = jobs ? retry_tx(r, ids, generation, jobs, missing, len) : -ENOMEM;
    size_t i;
    json_t *job_id;
    json_array_foreach(jobs, i, job_id) {
        if (ret < 0)
            break;
        ret = vf_queue_requeue(r->ctx, json_string_value(job_id));
        /* Queued: it will find the video processing when it starts. */
        if (ret == -EALREADY)
            ret = 0;
        /* Running: it may have looked before this retry and be ending as
         * skipped (the video was failed then), leaving its task pending
         * with no job.  A fresh job with the same payload runs the task in
         * that case; otherwise it waits for the running one (the task's
         * directory lock) and finds the task done. */
        if (ret == -EBUSY)
            ret = enqueue_again(r, json_string_value(job_id));
    }
    if (ret == 0)
        vf_audit_record_id(r, "video.retry", "video", id, json_pack("{s:O}", "jobs", jobs));
    if (ret == 0 && requeued)
        *requeued = jobs;
    else
        json_decref(jobs);
    return ret;
}

/* POST /admin/api/videos/<id>/retry/: vf_admin_video_retry.  409 when the
 * video is not failed, or when the queue has forgotten a job (finished
 * jobs leave its history): then only a new source starts over. */
static void video_retry(vf_req_t *r)
{
    int64_t id;
    char ids[24], missing[64] = "";
    if (staff_and_video(r, &id, ids) != 0)
        return;
    json_t *jobs = NULL;
    int ret = vf_admin_video_retry(r, id, 0, &jobs, missing, sizeof missing);
    if (ret == 0) {
        json_t *body = json_pack("{s:I, s:o}", "video_id", (json_int_t)id, "requeued", jobs);
        vf_reply_json(r, body ? 200 : 500, body);
    } else if (ret == -ENOENT)
        vf_reply_msg(r, 404, "detail", "Not found.");
    else if (ret == -EALREADY)
        vf_reply_msg(r, 409, "detail", "Only a failed video can be retried.");
    else if (ret == -ESRCH) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "The job of task %s is no longer in the queue; upload the source again to start over.", missing);
        vf_reply_msg(r, 409, "detail", msg);
    } else
        vf_admin_reply_failure(r, ret, "retry the video");
}

void vf_admin_video_jobs_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/admin/api/videos/{id}/jobs/", video_jobs);
    vf_router_add(router, VF_POST, "/admin/api/videos/{id}/retry/", video_retry);
}
