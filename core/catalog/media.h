/*
 * media.h - GET and HEAD /media/<key>: the objects of local storage for
 * development (production puts Nginx in front, or uses S3).
 */
#ifndef VF_MEDIA_H
#define VF_MEDIA_H

#include "http/router.h"

/* The route is always registered; it answers 404 unless server.serve_media
 * (or media.accel_redirect, which also requires a login) is on and the
 * storage plugin keeps local files (the configuration is not
 * known yet when routes are registered). */
void vf_media_routes(vf_router_t *router);

#endif
