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
#include "pipeline/hls_publish.h"
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


typedef struct uri_ctx {
    const vf_app_t *app;
    char *prefix;             /* videos/<id>/<gen>/hls/ */
} uri_ctx_t;

/* vf_hls_uri_fn: a segment's storage URL, presigned for media.url_expires
 * where the storage signs (the segments go from storage to the viewer). */
static int segment_url(void *ud, const char *quality, const char *name, char **uri)
{
    const uri_ctx_t *u = ud;
    char *key = NULL;
    if (asprintf(&key, "%s%s/%s", u->prefix, quality, name) < 0)
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
    uri_ctx_t u = {.app = ctx->app};
    char *text = NULL;
    size_t len = 0;
    int ret = vf_hls_db_load(ctx->db, key->video_id, (int)key->generation, quality, &streams, &n);
    if (ret == 0 && n == 0)
        ret = -ENOENT;
    if (ret < 0)
        goto out;
    int ended = 1;
    for (size_t i = 0; i < n; i++)
        ended &= streams[i].ended != 0;
    uint64_t version = vf_hls_streams_version(streams, n);
    if (quality) {
        ret = -ENOMEM;
        if (!(u.prefix = vf_hls_prefix(key->video_id, (int)key->generation)))
            goto out;
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
    free(u.prefix);
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
    if (live && (ret = vf_hls_db_version(r->ctx->db, v->id, v->generation, quality, &key.version)) < 0)
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
