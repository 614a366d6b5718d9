/*
 * video_json.c - see video_json.h.
 */
#include "config.h"
#include "catalog/video_json.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* The storage URL of `key` as a JSON string, or JSON null. */
static json_t *url_of(const vf_plugin_t *storage, int url_expires, const char *key, const char *disposition)
{
    if (!storage || !key || !*key)
        return json_null();
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    vf_storage_url_opts_t opts = {.expires = url_expires, .content_disposition = disposition};
    vf_error_t err = {0};
    char *url = NULL;
    int rc = ops->url(storage->state, key, &opts, &url, &err);
    if (rc < 0 || !url) {
        vf_warn("content: no URL for '%.200s': %s", key, err.message[0] ? err.message : "url() failed");
        free(url);
        return json_null();
    }
    json_t *s = json_string(url);
    free(url);
    return s ? s : json_null();
}

static json_t *converted_files(const PGresult *res, int row)
{
    const char *text = text_or_null(res, row, VF_VIDEO_COL_RENDITIONS);
    if (!text)
        return json_object();
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    if (!json_is_object(obj)) {
        /* PostgreSQL built it; a failure here is a bug worth a log line. */
        vf_error("content: renditions of video %s are not a JSON object: %s", PQgetvalue(res, row, VF_VIDEO_COL_ID),
                 jerr.text);
        json_decref(obj);
        return json_object();
    }
    return obj;
}

char *vf_video_hls_url(const vf_config_t *cfg, long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/content/%lld/hls/master.m3u8", id);
    return vf_url_join(cfg->server.public_origin, path);
}

static json_t *hls_url(const vf_config_t *cfg, const char *state, long long id)
{
    if (strcmp(state, "none") == 0)
        return json_null();
    char *url = vf_video_hls_url(cfg, id);
    json_t *s = url ? json_string(url) : NULL;
    free(url);
    return s ? s : json_null();
}

json_t *vf_video_json(const vf_app_t *app, const PGresult *res, int row)
{
    if (PQnfields(res) < VF_VIDEO_NCOLS || row < 0 || row >= PQntuples(res))
        return NULL;
    const vf_plugin_t *storage = app->storage;
    int url_expires = app->cfg->media.url_expires;
    long long id = strtoll(PQgetvalue(res, row, VF_VIDEO_COL_ID), NULL, 10);
    const char *hls_state = PQgetvalue(res, row, VF_VIDEO_COL_HLS_STATE);
    char created[40];
    vf_time_iso8601(strtoll(PQgetvalue(res, row, VF_VIDEO_COL_CREATED_US), NULL, 10), created, sizeof created);

    json_t *image = url_of(storage, url_expires, text_or_null(res, row, VF_VIDEO_COL_THUMBNAIL_KEY), NULL);
    json_t *video = url_of(storage, url_expires, text_or_null(res, row, VF_VIDEO_COL_SOURCE_KEY), "inline");
    /* "o" steals a reference, "O" adds one: image appears twice. */
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:O, s:o, s:o, s:o, s:s, s:s, s:i, s:o, s:s}",
                     "id", (json_int_t)id,
                     "title", PQgetvalue(res, row, VF_VIDEO_COL_TITLE),
                     "description", PQgetvalue(res, row, VF_VIDEO_COL_DESCRIPTION),
                     "category", PQgetvalue(res, row, VF_VIDEO_COL_CATEGORY),
                     "created_at", created,
                     "image_file", image,
                     "image_url", image,
                     "video_file", video,
                     "converted_files", converted_files(res, row),
                     "processing_state", PQgetvalue(res, row, VF_VIDEO_COL_STATE),
                     "processing_error", PQgetvalue(res, row, VF_VIDEO_COL_ERROR),
                     "processing_progress", atoi(PQgetvalue(res, row, VF_VIDEO_COL_PROGRESS)),
                     "hls_url", hls_url(app->cfg, hls_state, id),
                     "hls_state", hls_state);
}
