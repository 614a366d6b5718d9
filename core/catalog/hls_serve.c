/*
 * hls_serve.c - see hls_serve.h.
 * Owns: those two routes, the playlist cache's keys and lifetimes, and
 * which URI each name in a playlist gets.  Reads the video (its
 * generation, HLS state and stream versions) from the catalogue, so a
 * cached playlist costs no query.  Must not: write playlists itself (one
 * renderer, pipeline/hls_playlist.c) or know how the catalogue is
 * invalidated.
 */
#include "config.h"
#include "catalog/hls_serve.h"
#include "catalog/content.h"
#include "catalog/playlist_cache.h"
#include "http/http.h"
#include "http/shared_reply.h"
#include "pipeline/hls_db.h"
#include "pipeline/hls_playlist.h"
#include "runtime/db.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAYLIST_TYPE "application/vnd.apple.mpegurl"
/* A growing EVENT playlist: the player asks again every target duration. */
#define GROWING_CACHE "private, no-cache"
#define NO_STREAM "This video has no HLS stream yet."

/* How long a rendered playlist is served: a third of media.url_expires
 * when the storage's URLs expire (every URL handed out has two thirds of
 * its life left), else until its version changes. */
static int64_t playlist_ttl_us(const vf_app_t *app)
{
    int expire = app->storage && (app->storage->storage_caps.flags & VF_STORAGE_URLS_EXPIRE);
    return expire ? (int64_t)app->cfg->media.url_expires * 1000000 / 3 : 0;
}

static uint64_t fold(uint64_t h, const char *text, uint64_t number)
{
    for (const char *q = text; *q; q++) {
        h ^= (unsigned char)*q;
        h *= 0x100000001b3ULL;
    }
    h ^= number + 0x9e3779b97f4a7c15ULL;
    return h * 0x100000001b3ULL;
}

/* While the stream grows: the version of the rendition (quality), or of
 * the master (every rendition's, folded), read from the stream rows, which
 * notify nobody (a segment every few seconds must not rebuild the
 * catalogue).  One primary-key read per request, and a render only when a
 * segment came.  0, -ENOENT without such a rendition, or the database's
 * error. */
static int live_version(vf_db_t *db, const vf_catalog_video_t *v, const char *quality, uint64_t *version)
{
    char id[24], generation[16];
    snprintf(id, sizeof id, "%" PRId64, v->id);
    snprintf(generation, sizeof generation, "%d", v->generation);
    const char *params[] = {id, generation, quality};
    PGresult *res = NULL;
    int ret = vf_db_exec(db, &res,
                         quality ? "SELECT quality, version FROM video_hls_streams"
                                   " WHERE video_id = $1::int8 AND generation = $2::int AND quality = $3"
                                 : "SELECT quality, version FROM video_hls_streams"
                                   " WHERE video_id = $1::int8 AND generation = $2::int ORDER BY quality",
                         quality ? 3 : 2, params);
    if (ret == 0 && PQntuples(res) == 0)
        ret = -ENOENT;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        h = fold(h, PQgetvalue(res, i, 0), strtoull(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    *version = h;
    return ret;
}

typedef struct uri_ctx {
    const vf_app_t *app;
    int64_t video_id;
    int generation;
} uri_ctx_t;

/* vf_hls_uri_fn: a segment's storage URL, presigned for media.url_expires
 * where the storage signs (the segments go from storage to the viewer). */
static int segment_url(void *ud, const char *quality, const char *name, char **uri)
{
    const uri_ctx_t *u = ud;
    char *key = NULL;
    /* The storage layout of docs/pipeline.md: videos/<id>/<gen>/hls/<quality>/<name>. */
    if (asprintf(&key, "videos/%" PRId64 "/%d/hls/%s/%s", u->video_id, u->generation, quality, name) < 0)
        return -ENOMEM;
    const vf_storage_ops_t *ops = vf_storage_ops(u->app->storage);
    vf_storage_url_opts_t opts = {.expires = u->app->cfg->media.url_expires};
    vf_error_t err = {0};
    *uri = NULL;
    int ret = ops->url(u->app->storage->state, key, &opts, uri, &err);
    if (ret == 0 && !*uri)
        ret = -EIO;
    if (ret < 0) {
        vf_error("hls: no URL for '%s': %s", key, err.message[0] ? err.message : strerror(-ret));
        free(*uri);
        *uri = NULL;
    }
    free(key);
    return ret;
}

/* Render key's playlist from the database rows and keep it in the cache
 * (under the version the rows have: they may be newer than asked for).
 * 0 with a reference in *out, -ENOENT when there is nothing to list, or a
 * negative errno. */
static int render(vf_thread_ctx_t *ctx, vf_playlist_key_t *key, int live, vf_playlist_t **out)
{
    const char *quality = key->quality[0] ? key->quality : NULL;
    vf_hls_stream_t *streams = NULL;
    size_t n = 0;
    uri_ctx_t u = {.app = ctx->app, .video_id = key->video_id, .generation = (int)key->generation};
    char *text = NULL;
    size_t len = 0;
    int ret = vf_hls_db_load(ctx->db, key->video_id, (int)key->generation, quality, &streams, &n);
    if (ret == 0 && n == 0)
        ret = -ENOENT;
    if (ret < 0)
        goto out;
    int ended = 1;
    uint64_t version = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        ended &= streams[i].ended != 0;
        version = fold(version, streams[i].quality, (uint64_t)streams[i].version);
    }
    if (quality) {
        ret = vf_hls_media_playlist(&streams[0], segment_url, &u, &text, &len);
    } else {
        /* Variants relative to /content/<id>/hls/: "720p/index.m3u8". */
        ret = vf_hls_master_playlist(streams, n, NULL, NULL, &text, &len);
    }
    if (ret < 0)
        goto out;
    if (live)
        key->version = version;
    ret = vf_playlist_cache_put(key, text, len, ended, out);
    text = NULL;
out:
    free(text);
    vf_hls_streams_free(streams, n);
    return ret;
}

static void reply_playlist(vf_req_t *r, vf_playlist_t *p)
{
    char cache_control[48];
    const char *cc = GROWING_CACHE;
    if (p->ended) {
        /* Fixed now; a third of the URL lifetime keeps presigned segment
         * URLs valid while a player replays from its copy. */
        snprintf(cache_control, sizeof cache_control, "private, max-age=%d", r->ctx->app->cfg->media.url_expires / 3);
        cc = cache_control;
    }
    vf_shared_reply_t how = {.content_type = PLAYLIST_TYPE, .cache_control = cc,
                             .add_reference = vf_playlist_add_reference, .owner = p};
    vf_reply_shared_coded(r, &how, &p->body);
}

static void reply_error(vf_req_t *r, int ret, const char *quality)
{
    if (ret == -ENOENT)
        vf_reply_msg(r, 404, "detail", quality ? "Requested quality not available" : NO_STREAM);
    else if (ret == -ECONNRESET)
        vf_reply_msg(r, 503, "detail", "The database is unavailable right now; try again shortly.");
    else
        vf_reply_msg(r, 500, "detail", "Cannot make this playlist.");
}

/* quality NULL: the master playlist. */
static void serve(vf_req_t *r, const char *quality)
{
    vf_catalog_t *cat;
    const vf_catalog_video_t *v = vf_content_video_or_reply(r, &cat);
    if (!v)
        return;
    vf_playlist_key_t key = {.video_id = v->id, .generation = v->generation};
    int live = strcmp(v->hls_state, "complete") != 0;
    int ret = 0;
    vf_playlist_t *p = NULL;
    if (strcmp(v->hls_state, "none") == 0) {
        vf_reply_msg(r, 404, "detail", NO_STREAM);
        goto out;
    }
    if (quality && (!*quality || strlen(quality) >= sizeof key.quality || strlen(quality) > VF_HLS_QUALITY_MAX)) {
        ret = -ENOENT;
        goto out;
    }
    snprintf(key.quality, sizeof key.quality, "%s", quality ? quality : "");
    /* A complete generation never changes: its playlists are keyed by the
     * generation alone (version 0), and cost no query. */
    if (live && (ret = live_version(r->ctx->db, v, quality, &key.version)) < 0)
        goto out;
    p = vf_playlist_cache_get(&key, playlist_ttl_us(r->ctx->app));
    if (!p && (ret = render(r->ctx, &key, live, &p)) < 0 && ret != -ENOENT)
        vf_error("hls: cannot render the %s playlist of video %" PRId64 ": %s", quality ? quality : "master", v->id,
                 strerror(-ret));
out:
    if (ret < 0)
        reply_error(r, ret, quality);
    else if (p)
        reply_playlist(r, p);
    vf_playlist_release(p);
    vf_catalog_release(cat);
}

/* GET /content/<id>/hls/master.m3u8 */
static void hls_master(vf_req_t *r) { serve(r, NULL); }

/* GET /content/<id>/hls/<quality>/index.m3u8 */
static void hls_media(vf_req_t *r) { serve(r, vf_req_param(r, 1)); }

void vf_hls_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/content/{id}/hls/" VF_HLS_MASTER_PLAYLIST_NAME, hls_master);
    vf_router_add(router, VF_GET, "/content/{id}/hls/{quality}/" VF_HLS_MEDIA_PLAYLIST_NAME, hls_media);
}
