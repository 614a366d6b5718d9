/*
 * content.c - the /content/ handlers, see content.h and docs/content.md.
 * Owns: the answers and error shapes of those endpoints, and favourites
 * (user_favorites).  Reads videos only through the catalogue cache
 * (content_cache.c), so listing and URL lookups cost no query while nothing
 * changes.  Must not: build video objects (video_json.c) or know how the
 * cache is invalidated.
 */
#include "config.h"
#include "catalog/content.h"
#include "accounts/auth.h"
#include "catalog/content_cache.h"
#include "http/http.h"
#include "http/shared_reply.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE "application/json; charset=utf-8"
/* Personal data: a browser may keep it, revalidating with the ETag. */
#define PRIVATE_CACHE "private, no-cache"

static vf_catalog_t *catalog_or_reply(vf_req_t *r)
{
    vf_catalog_t *cat = NULL;
    if (vf_catalog_get(r->ctx, &cat) < 0) {
        vf_reply_msg(r, 503, "detail", "The video catalogue is unavailable right now; try again shortly.");
        return NULL;
    }
    return cat;
}

static int add_catalog_reference(void *owner, struct evbuffer *buf, const char *data, size_t len)
{
    return vf_catalog_add_to_buffer(owner, buf, data, len);
}

/* How bytes the catalogue owns are answered. */
static vf_shared_reply_t catalog_reply(vf_catalog_t *cat)
{
    return (vf_shared_reply_t){.content_type = JSON_TYPE, .cache_control = PRIVATE_CACHE,
                               .add_reference = add_catalog_reference, .owner = cat};
}

/* GET /content/ */
static void content_list(vf_req_t *r)
{
    if (vf_auth_require(r) < 0)
        return;
    vf_catalog_t *cat = catalog_or_reply(r);
    if (!cat)
        return;
    /* Compressed once per catalogue, never per request (the list is the
     * largest answer, and the one every visit asks for). */
    vf_shared_reply_t how = catalog_reply(cat);
    vf_reply_shared_coded(r, &how, vf_catalog_list_body(cat));
    vf_catalog_release(cat);
}

const vf_catalog_video_t *vf_content_video_or_reply(vf_req_t *r, vf_catalog_t **cat)
{
    *cat = NULL;
    if (vf_auth_require(r) < 0)
        return NULL;
    int64_t id;
    if (vf_parse_id(vf_req_param(r, 0), &id) < 0) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return NULL;
    }
    if (!(*cat = catalog_or_reply(r)))
        return NULL;
    const vf_catalog_video_t *v = vf_catalog_find(*cat, id);
    if (!v) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        vf_catalog_release(*cat);
        *cat = NULL;
    }
    return v;
}

/* GET /content/<id>/ */
static void content_detail(vf_req_t *r)
{
    vf_catalog_t *cat;
    const vf_catalog_video_t *v = vf_content_video_or_reply(r, &cat);
    if (!v)
        return;
    vf_shared_reply_t how = catalog_reply(cat);
    vf_reply_shared(r, &how, cat->body + v->json_off, v->json_len, v->etag, VF_CODING_IDENTITY);
    vf_catalog_release(cat);
}

/* GET /content/video-url/<id>/?quality=720p */
static void content_video_url(vf_req_t *r)
{
    if (vf_auth_require(r) < 0)
        return;
    const vf_app_t *app = r->ctx->app;
    int64_t id;
    if (vf_parse_id(vf_req_param(r, 0), &id) < 0) {
        vf_reply_msg(r, 404, "detail", "Video not found");
        return;
    }
    const char *quality = vf_req_query(r, "quality");
    if (quality && !vf_config_rendition(app->cfg, quality)) {
        json_t *msg = json_sprintf("\"%.*s\" is not a valid choice.", vf_utf8_prefix_len(quality, 40), quality);
        vf_reply_json(r, 400, json_pack("{s:[o]}", "quality", msg ? msg : json_string("Not a valid choice.")));
        return;
    }
    vf_catalog_t *cat = catalog_or_reply(r);
    if (!cat)
        return;
    const vf_catalog_video_t *v = vf_catalog_find(cat, id);
    const char *json = NULL;
    size_t len = 0;
    vf_error_t err = {0};
    int rc = v ? vf_catalog_play_json(cat, v, quality, &json, &len, &err) : -ENOENT;
    if (!v)
        vf_reply_msg(r, 404, "detail", "Video not found");
    else if (rc == -ENOENT)
        vf_reply_msg(r, 404, "detail", "Requested quality not available");
    else if (rc < 0) {
        vf_error("content: no URL for video %" PRId64 " (%s): %s", id, quality ? quality : "source", err.message);
        vf_reply_msg(r, 500, "detail", "Cannot make a URL for this video.");
    } else {
        vf_shared_reply_t how = catalog_reply(cat);
        vf_reply_shared(r, &how, json, len, NULL, VF_CODING_IDENTITY);
    }
    vf_catalog_release(cat);
}

int vf_favorite_video_id(const json_t *body, int64_t *id)
{
    json_t *v = json_object_get(body, "video_id");
    if (!v || json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
        (json_is_string(v) && json_string_length(v) == 0))
        return -ENODATA;
    if (json_is_integer(v)) {
        *id = json_integer_value(v);
        return 0;
    }
    return vf_parse_decimal(json_string_value(v), id) == 0 ? 0 : -EINVAL;
}

static int favorite_id(vf_req_t *r, const json_t *body, int64_t *id)
{
    int rc = vf_favorite_video_id(body, id);
    if (rc == -ENODATA)
        vf_reply_msg(r, 400, "message", "Video ID is required.");
    else if (rc < 0)
        vf_reply_field_error(r, 400, "video_id", "A valid integer is required.");
    return rc < 0 ? -1 : 0;
}

/* The user's favourite ids, oldest first. */
static json_t *favorite_ids(vf_db_t *db, const char *user)
{
    const char *params[] = {user};
    PGresult *res = NULL;
    json_t *ids = NULL;
    if (vf_db_exec(db, &res, "SELECT video_id FROM user_favorites WHERE user_id = $1::int8 ORDER BY created_at, video_id",
                   1, params) == 0 &&
        (ids = json_array()) != NULL) {
        for (int i = 0; i < PQntuples(res); i++)
            json_array_append_new(ids, json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
    }
    PQclear(res);
    return ids;
}

/* POST /content/add-favorite/ {"video_id"}: add it, or remove it when it is
 * there already; answer the list. */
static void content_add_favorite(vf_req_t *r)
{
    /* A POST that acts on the cookie's user: refused from other sites. */
    if (vf_auth_require(r) < 0)
        return;
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    int64_t id;
    int rc = favorite_id(r, body, &id);
    json_decref(body);
    if (rc < 0)
        return;
    char user[24], video[24];
    snprintf(user, sizeof user, "%" PRId64, r->user_id);
    snprintf(video, sizeof video, "%" PRId64, id);
    const char *params[] = {user, video};
    PGresult *res = NULL;
    /* One statement: the delete and the insert see the same snapshot, so
     * exactly one of them acts. */
    rc = vf_db_exec(r->ctx->db, &res,
                    "WITH target AS (SELECT id FROM videos WHERE id = $2::int8),"
                    " removed AS (DELETE FROM user_favorites f USING target t"
                    "   WHERE f.user_id = $1::int8 AND f.video_id = t.id RETURNING f.video_id),"
                    " added AS (INSERT INTO user_favorites (user_id, video_id)"
                    "   SELECT $1::int8, t.id FROM target t WHERE NOT EXISTS (SELECT 1 FROM removed)"
                    "   ON CONFLICT DO NOTHING RETURNING video_id)"
                    " SELECT EXISTS (SELECT 1 FROM target), (SELECT count(*) FROM added) AS added",
                    2, params);
    int found = rc == 0 && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    /* The video (or the user) went away between the lookup and the insert. */
    int gone = rc == -EIO && vf_db_sqlstate(res) && strcmp(vf_db_sqlstate(res), "23503") == 0;
    PQclear(res);
    if ((rc == 0 && !found) || gone) {
        vf_reply_msg(r, 404, "message", "Video not found");
        return;
    }
    json_t *ids = rc == 0 ? favorite_ids(r->ctx->db, user) : NULL;
    if (!ids) {
        vf_reply_msg(r, 503, "detail", "The database is unavailable right now; try again shortly.");
        return;
    }
    vf_reply_json(r, 200, ids);
}

void vf_content_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/content/", content_list);
    vf_router_add(router, VF_POST, "/content/add-favorite/", content_add_favorite);
    vf_router_add(router, VF_GET, "/content/video-url/{id}/", content_video_url);
    vf_router_add(router, VF_GET, "/content/{id}/", content_detail);
}
