/*
 * jobs_api.c - see jobs_api.h.
 */
#include "config.h"
#include "admin/jobs_api.h"

#include "accounts/audit.h"
#include "accounts/auth.h"
#include "admin/events.h"
#include "admin/paging.h"
#include "admin/video_jobs_api.h"
#include "http/http.h"
#include "jobs/queue.h"
#include "pipeline/pipeline.h"
#include "runtime/db.h"
#include "util/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JOBS_PATH "/admin/api/jobs/"

static void jobs_summary(vf_req_t *r)
{
    if (vf_auth_require_staff(r) != 0)
        return;
    json_t *by_type = NULL, *totals = NULL, *stream = NULL, *workers = NULL;
    int ret = vf_queue_counts_by_type(r->ctx, &by_type);
    if (ret == 0)
        ret = vf_queue_counts(r->ctx, &totals);
    if (ret == 0)
        ret = vf_queue_stream_info(r->ctx, &stream);
    if (ret == 0)
        ret = vf_queue_workers(r->ctx, &workers);
    if (ret < 0) {
        json_decref(by_type);
        json_decref(totals);
        json_decref(stream);
        vf_admin_reply_failure(r, ret, "read the queue");
        return;
    }
    vf_reply_header(r, "Cache-Control", "no-store");
    vf_reply_json(r, 200,
                  json_pack("{s:o, s:o, s:o, s:o, s:i}", "counts", by_type, "totals", totals, "stream", stream,
                            "workers", workers, "event_clients", vf_admin_events_clients()));
}

static void jobs_list(vf_req_t *r)
{
    int limit;
    const char *cursor;
    if (vf_admin_page_params(r, &limit, &cursor) != 0)
        return;
    const char *state = vf_req_query(r, "state");
    if (!state || !vf_job_state_valid(state)) {
        vf_reply_field_error(r, 400, "state", "One of: " VF_JOB_STATES ".");
        return;
    }
    const char *type = vf_req_query(r, "type");
    json_t *jobs = NULL;
    char next[128];
    int ret = vf_queue_page(r->ctx, state, type && *type ? type : NULL, cursor, (size_t)limit, &jobs, next,
                            sizeof next);
    if (ret == -EINVAL) {
        vf_reply_field_error(r, 400, "cursor", "Not a cursor of this list.");
        return;
    }
    if (ret < 0) {
        vf_admin_reply_failure(r, ret, "list the jobs");
        return;
    }
    vf_page_reply(r, jobs, next);
}

/* The job id of a /admin/api/jobs/<id>/... route after the staff check, or
 * NULL after answering. */
static const char *staff_and_job(vf_req_t *r)
{
    if (vf_auth_require_staff(r) != 0)
        return NULL;
    return vf_req_param(r, 0);
}

static void reply_job(vf_req_t *r, const char *id)
{
    json_t *job = NULL;
    int ret = vf_queue_show(r->ctx, id, &job);
    if (ret == -ENOENT)
        vf_reply_msg(r, 404, "detail", "Not found.");
    else if (ret < 0)
        vf_admin_reply_failure(r, ret, "read the job");
    else {
        vf_reply_header(r, "Cache-Control", "no-store");
        vf_reply_json(r, 200, job);
    }
}

/* The answer to a change: the job as it is now, or why not. */
static void reply_change(vf_req_t *r, const char *id, int ret, const char *action, json_t *detail)
{
    switch (ret) {
    case 0:
        vf_audit_record(r, action, "job", id, detail);
        if (r->method == VF_DELETE)
            vf_reply_buffer(r, 204, NULL, NULL);
        else
            reply_job(r, id);
        return;
    case -ENOENT: vf_reply_msg(r, 404, "detail", "Not found."); break;
    case -EBUSY: vf_reply_msg(r, 409, "detail", "The job is running: cancel it first."); break;
    case -EALREADY:
        vf_reply_msg(r, 409, "detail",
                     strcmp(action, "job.cancel") == 0 ? "The job has finished already." : "The job is queued already.");
        break;
    case -EAGAIN: vf_reply_msg(r, 409, "detail", "The job is not in the queue yet; try again in a moment."); break;
    default: vf_admin_reply_failure(r, ret, "change the job"); break;
    }
    json_decref(detail);
}

/* What an audit row keeps of a job: its type and state. */
static json_t *detail_of(const json_t *job)
{
    return job ? json_pack("{s:O, s:O}", "type", json_object_get(job, "type"), "state", json_object_get(job, "state"))
               : NULL;
}

/* The detail of job `id`, read before it may be gone. */
static json_t *job_detail(vf_req_t *r, const char *id)
{
    json_t *job = NULL;
    if (vf_queue_show(r->ctx, id, &job) != 0)
        return NULL;
    json_t *d = detail_of(job);
    json_decref(job);
    return d;
}

/* GET, DELETE /admin/api/jobs/<id>/ */
static void jobs_item(vf_req_t *r)
{
    const char *id = staff_and_job(r);
    if (!id)
        return;
    if (r->method != VF_DELETE) {
        reply_job(r, id);
        return;
    }
    json_t *detail = job_detail(r, id);
    reply_change(r, id, vf_queue_delete(r->ctx, id), "job.delete", detail);
}

/* A pipeline job of a video that failed in its generation: requeued
 * alone it would find the video failed and skip, and its sibling tasks
 * failed with it would keep the video from ready; so the video is retried
 * (vf_admin_video_retry: every failed task's job, this one among them).
 * 1 when retried, 0 when the job is not such a job (requeue it alone), or
 * <0. */
static int retry_video_of(vf_req_t *r, const json_t *job)
{
    const char *type = json_string_value(json_object_get(job, "type"));
    json_int_t vid = 0, gen = 0;
    if (!type || (strcmp(type, VF_JOB_TRANSCODE) != 0 && strcmp(type, VF_JOB_THUMBNAIL) != 0) ||
        json_unpack((json_t *)json_object_get(job, "payload"), "{s:I, s:I}", "video_id", &vid, "generation",
                    &gen) != 0 ||
        vid <= 0 || gen <= 0 || gen > INT32_MAX)
        return 0;
    char missing[64];
    int ret = vf_admin_video_retry(r, (int64_t)vid, (int)gen, NULL, missing, sizeof missing);
    /* Gone, not failed, or a sibling's job forgotten: the job alone. */
    if (ret == -ENOENT || ret == -EALREADY || ret == -ESRCH)
        return 0;
    return ret < 0 ? ret : 1;
}

static void jobs_requeue(vf_req_t *r)
{
    const char *id = staff_and_job(r);
    if (!id)
        return;
    json_t *job = NULL;
    if (vf_queue_show(r->ctx, id, &job) != 0)
        job = NULL;
    json_t *detail = detail_of(job);
    /* Only a job that may be requeued retries its video. */
    const char *state = json_string_value(json_object_get(job, "state"));
    int ret = state && (!strcmp(state, "failed") || !strcmp(state, "done")) ? retry_video_of(r, job) : 0;
    if (ret == 0)
        ret = vf_queue_requeue(r->ctx, id);
    else if (ret == 1)
        ret = 0;
    json_decref(job);
    reply_change(r, id, ret, "job.requeue", detail);
}

#define CANCELLED "Cancelled by staff."

/* A pipeline job's video fails with its cancelled job: no handler will
 * finish that task now, so it would stay in processing. */
static void fail_video_of(vf_req_t *r, const char *id, const json_t *job)
{
    int ret = vf_pipeline_job_cancelled(r->ctx, json_string_value(json_object_get(job, "type")),
                                        json_object_get(job, "payload"), CANCELLED);
    if (ret < 0)
        vf_error("admin: job %s was cancelled but its video could not be marked failed: %s", id,
                 vf_db_last_error(r->ctx->db));
}

static void jobs_cancel(vf_req_t *r)
{
    const char *id = staff_and_job(r);
    if (!id)
        return;
    json_t *job = NULL;
    if (vf_queue_show(r->ctx, id, &job) != 0)
        job = NULL;
    json_t *detail = detail_of(job);
    int ret = vf_queue_cancel(r->ctx, id, CANCELLED);
    if (ret == 0 && job)
        fail_video_of(r, id, job);
    json_decref(job);
    reply_change(r, id, ret, "job.cancel", detail);
}

void vf_admin_jobs_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, JOBS_PATH "summary/", jobs_summary);
    vf_router_add(router, VF_GET, JOBS_PATH, jobs_list);
    vf_router_add(router, VF_GET | VF_DELETE, JOBS_PATH "{id}/", jobs_item);
    vf_router_add(router, VF_POST, JOBS_PATH "{id}/requeue/", jobs_requeue);
    vf_router_add(router, VF_POST, JOBS_PATH "{id}/cancel/", jobs_cancel);
}
