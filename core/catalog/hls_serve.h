/*
 * hls_serve.h - GET /content/<id>/hls/master.m3u8 and
 * GET /content/<id>/hls/<quality>/index.m3u8 (docs/content.md, "HLS"):
 * the current generation's playlists for a signed-in viewer, rendered from
 * the database rows with the pipeline's renderer (pipeline/hls_playlist.h),
 * segment URLs made by the storage plugin (presigned on private S3), kept
 * in the playlist cache and compressed once per entry.
 */
#ifndef VF_HLS_SERVE_H
#define VF_HLS_SERVE_H

#include "http/router.h"

void vf_hls_routes(vf_router_t *router);

#endif
