/*
 * jobs_api.h - /admin/api/jobs/: the job dashboard's JSON, on the queue's
 * own administration functions (jobs/queue_admin.c, shared with the CLI).
 *   GET    /admin/api/jobs/summary/          counts per type and state, the
 *                                            stream's length and pending
 *                                            entries, live workers
 *   GET    /admin/api/jobs/?state=S&type=T&limit=&cursor=
 *   GET    /admin/api/jobs/<id>/
 *   DELETE /admin/api/jobs/<id>/
 *   POST   /admin/api/jobs/<id>/requeue/
 *   POST   /admin/api/jobs/<id>/cancel/
 * Every change is audited.
 * Owns: those answers.  Must not: touch Redis keys itself.
 */
#ifndef VF_ADMIN_JOBS_API_H
#define VF_ADMIN_JOBS_API_H

#include "http/router.h"

void vf_admin_jobs_routes(vf_router_t *router);

#endif
