/*
 * videos.h - the staff-only JSON API of videos under /admin/api/videos/
 * (docs/uploads.md, "Admin API"): list, show, create from a finished
 * upload, edit metadata or replace the source, delete.
 * Owns: the answers of those endpoints.  Must not: change videos itself
 * (video_lifecycle.c) or build video objects (video_json.c).
 */
#ifndef VF_VIDEOS_H
#define VF_VIDEOS_H

#include "http/router.h"

void vf_videos_routes(vf_router_t *router);

#endif
