/*
 * video_json.h - the API's video object (API.md, "A video object") built from
 * one database row.  Shared by the content API, its cache and the admin API,
 * so it depends on the row, the configuration and the storage plugin only,
 * never on a request.
 *
 * Select the row with VF_VIDEO_COLUMNS from `videos` aliased as `v`:
 *     "SELECT " VF_VIDEO_COLUMNS " FROM videos v WHERE v.id = $1"
 * and pass the result with the row number.
 */
#ifndef VF_VIDEO_JSON_H
#define VF_VIDEO_JSON_H

#include <jansson.h>
#include <libpq-fe.h>

#include "runtime/app.h"

/* converted_files holds only renditions of the video's current generation;
 * the ORDER BY puts "120p" before "1080p" (shorter names first).
 * hls_state (sql/010_hls.sql) is the current generation's too. */
#define VF_VIDEO_COLUMNS                                                                          \
    "v.id, v.title, v.description, v.category, "                                                  \
    "floor(extract(epoch FROM v.created_at) * 1000000)::int8, "                                   \
    "v.source_key, v.thumbnail_key, v.processing_state, v.processing_error, "                     \
    "v.processing_progress, "                                                                     \
    "(SELECT json_object_agg(vr.quality, vr.storage_key ORDER BY length(vr.quality), vr.quality) " \
    "FROM video_renditions vr WHERE vr.video_id = v.id AND vr.generation = v.generation), "       \
    "v.generation, v.hls_state"

/* Column numbers of VF_VIDEO_COLUMNS, for callers that need the raw keys. */
enum vf_video_column {
    VF_VIDEO_COL_ID,
    VF_VIDEO_COL_TITLE,
    VF_VIDEO_COL_DESCRIPTION,
    VF_VIDEO_COL_CATEGORY,
    VF_VIDEO_COL_CREATED_US,
    VF_VIDEO_COL_SOURCE_KEY,       /* NULL until a source is stored */
    VF_VIDEO_COL_THUMBNAIL_KEY,    /* NULL until the thumbnail is made */
    VF_VIDEO_COL_STATE,
    VF_VIDEO_COL_ERROR,
    VF_VIDEO_COL_PROGRESS,
    VF_VIDEO_COL_RENDITIONS,       /* JSON object quality -> key, or NULL */
    VF_VIDEO_COL_GENERATION,
    VF_VIDEO_COL_HLS_STATE,        /* "none", "live" or "complete" */
    VF_VIDEO_NCOLS
};

/* The video object of `row`.  image_file/image_url and video_file are the
 * storage plugin's url() of the thumbnail and the source, asked to live
 * media.url_expires seconds; null when the key is missing, app->storage is
 * NULL, or url() fails (logged).  hls_url is the API's own
 * <server.public_origin>/content/<id>/hls/master.m3u8 whatever the
 * storage (one URL that works with the access cookie everywhere), null
 * while hls_state is "none".  NULL only when out of memory or `res` lacks
 * the columns. */
json_t *vf_video_json(const vf_app_t *app, const PGresult *res, int row);

/* "<server.public_origin>/content/<id>/hls/master.m3u8", malloc()ed, or
 * NULL when out of memory. */
char *vf_video_hls_url(const vf_config_t *cfg, long long id);

#endif
