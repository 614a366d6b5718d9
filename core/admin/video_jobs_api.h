/*
 * video_jobs_api.h - one video's jobs (docs/admin.md, "Videos"):
 *   GET  /admin/api/videos/<id>/jobs/   the tasks of its current generation
 *                                       (video_tasks) with each one's job
 *                                       as the queue holds it
 *   POST /admin/api/videos/<id>/retry/  a failed video processes again:
 *                                       its failed tasks' jobs requeued
 * so that the video dialog acts on exactly that video's jobs.
 * The jobs dashboard's Requeue of a failed video's pipeline job retries
 * the video the same way (jobs_api.c).
 * Owns: those answers, and the retry's reset of the failed tasks.  Must
 * not: plan jobs (catalog/video_lifecycle.c) or touch Redis keys itself.
 */
#ifndef VF_ADMIN_VIDEO_JOBS_API_H
#define VF_ADMIN_VIDEO_JOBS_API_H

#include "http/http.h"
#include "http/router.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

void vf_admin_video_jobs_routes(vf_router_t *router);

/* A failed video processes again: its failed tasks back to pending and the
 * video to processing (one transaction: a job of a failed video does
 * nothing), then those tasks' jobs requeued from attempt 1 (one queued or
 * running already is left as it is), audited as video.retry.  generation:
 * only when the video failed in that one (0: any).  0 with the job ids in
 * *requeued (when not NULL; the caller's), -ENOENT (no such video),
 * -EALREADY (not failed), -ESRCH (the queue forgot a task's job: its name
 * into missing), or another negative errno. */
int vf_admin_video_retry(vf_req_t *r, int64_t id, int generation, json_t **requeued, char *missing, size_t len);

#endif
