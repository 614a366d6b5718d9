/*
 * video_json.h - the API's video object (API.md, "A video object") built from
 * one database row.  Shared by the content API, its cache and the admin API,
 * so it depends on the row and the storage plugin only, never on a request.
 *
 * Select the row with VF_VIDEO_COLUMNS from `videos` aliased as `v`:
 *     "SELECT " VF_VIDEO_COLUMNS " FROM videos v WHERE v.id = $1"
 * and pass the result with the row number.
 */
#ifndef VF_VIDEO_JSON_H
#define VF_VIDEO_JSON_H

#include <jansson.h>
#include <libpq-fe.h>

#include "plugins/loader.h"

/* converted_files holds only renditions of the video's current generation;
 * the ORDER BY puts "120p" before "1080p" (shorter names first). */
#define VF_VIDEO_COLUMNS                                                                          \
    "v.id, v.title, v.description, v.category, "                                                  \
    "floor(extract(epoch FROM v.created_at) * 1000000)::int8, "                                   \
    "v.source_key, v.thumbnail_key, v.processing_state, v.processing_error, "                     \
    "v.processing_progress, "                                                                     \
    "(SELECT json_object_agg(vr.quality, vr.storage_key ORDER BY length(vr.quality), vr.quality) " \
    "FROM video_renditions vr WHERE vr.video_id = v.id AND vr.generation = v.generation)"

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
    VF_VIDEO_NCOLS
};

/* The video object of `row`.  image_file/image_url and video_file are the
 * storage plugin's url() of the thumbnail and the source, asked to live
 * `url_expires` seconds (0: the plugin's default); null when the key is
 * missing, `storage` is NULL, or url() fails (logged).  NULL only when out
 * of memory or `res` lacks the columns. */
json_t *vf_video_json(const vf_plugin_t *storage, int url_expires, const PGresult *res, int row);

#endif
