/*
 * video_jobs_api.h - one video's jobs (docs/admin.md, "Videos"):
 *   GET  /admin/api/videos/<id>/jobs/   the tasks of its current generation
 *                                       (video_tasks) with each one's job
 *                                       as the queue holds it
 *   POST /admin/api/videos/<id>/retry/  a failed video processes again:
 *                                       its failed tasks' jobs requeued
 * so that the video dialog acts on exactly that video's jobs.
 * Owns: those answers, and the retry's reset of the failed tasks.  Must
 * not: plan jobs (catalog/video_lifecycle.c) or touch Redis keys itself.
 */
#ifndef VF_ADMIN_VIDEO_JOBS_API_H
#define VF_ADMIN_VIDEO_JOBS_API_H

#include "http/router.h"

void vf_admin_video_jobs_routes(vf_router_t *router);

#endif
