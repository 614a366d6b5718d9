/*
 * routes.c - the one list of every module's HTTP routes, in the order they
 * are matched.  A module adds one line here; nothing else knows the table.
 */
#include "config.h"
#include "accounts/users.h"
#include "admin/audit_api.h"
#include "admin/events.h"
#include "admin/jobs_api.h"
#include "admin/pages.h"
#include "admin/users_api.h"
#include "admin/video_jobs_api.h"
#include "catalog/content.h"
#include "catalog/hls_serve.h"
#include "catalog/media.h"
#include "catalog/videos.h"
#include "cli/cli.h"
#include "http/health.h"
#include "http/router.h"
#include "uploads/upload.h"

void vf_routes_register(vf_router_t *r)
{
    vf_health_routes(r);
    vf_users_routes(r);
    vf_content_routes(r);
    vf_hls_routes(r);
    vf_media_routes(r);
    vf_upload_routes(r);
    vf_videos_routes(r);
    vf_admin_audit_routes(r);
    vf_admin_users_routes(r);
    vf_admin_jobs_routes(r);
    vf_admin_video_jobs_routes(r);
    vf_admin_events_routes(r);
    vf_admin_pages_routes(r);
}
