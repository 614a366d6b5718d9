/*
 * content.h - the content API of API.md ("Content"): the catalogue, one
 * video, toggling favourites, and the playable URL of a rendition.
 */
#ifndef VF_CONTENT_H
#define VF_CONTENT_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/content_cache.h"
#include "http/http.h"
#include "http/router.h"

void vf_content_routes(vf_router_t *router);

/* The video a /content/<id>/... request names, as GET /content/<id>/ finds
 * it: the access cookie checked, then the id and the catalogue (a
 * reference into *cat, released by the caller).  NULL when it has replied
 * (401, 404 {"detail": "Not found."}, 503). */
const vf_catalog_video_t *vf_content_video_or_reply(vf_req_t *r, vf_catalog_t **cat);

/* The video_id of a POST /content/add-favorite/ body, as DRF reads it: 0
 * with *id for an integer or a string of digits; -ENODATA when missing or
 * falsy ("Video ID is required."), -EINVAL for anything else. */
int vf_favorite_video_id(const json_t *body, int64_t *id);

#endif
