/*
 * routes.c - the one list of every module's HTTP routes, in the order they
 * are matched.  A module adds one line here; nothing else knows the table.
 */
#include "config.h"
#include "content.h"
#include "health.h"
#include "media.h"
#include "router.h"
#include "upload.h"
#include "users.h"
#include "videos.h"

void vf_routes_register(vf_router_t *r)
{
    vf_health_routes(r);
    vf_users_routes(r);
    vf_content_routes(r);
    vf_media_routes(r);
    vf_upload_routes(r);
    vf_videos_routes(r);
}
