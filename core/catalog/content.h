/*
 * content.h - the content API of API.md ("Content"): the catalogue, one
 * video, toggling favourites, and the playable URL of a rendition.
 */
#ifndef VF_CONTENT_H
#define VF_CONTENT_H

#include "http/router.h"

void vf_content_routes(vf_router_t *router);

#endif
