/*
 * videos.c - see videos.h.  Reads go straight to PostgreSQL (not the
 * catalogue cache): staff watch processing progress and must see it live.
 */
#include "config.h"
#include "catalog/videos.h"

#include "accounts/audit.h"
#include "accounts/auth.h"
#include "catalog/video_json.h"
#include "catalog/video_lifecycle.h"
#include "catalog/video_list.h"
#include "http/http.h"
#include "http/paging.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIDEOS_PATH "/admin/api/videos/"

static void reply_unavailable(vf_req_t *r)
{
    vf_reply_header(r, "Retry-After", "5");
    vf_reply_msg(r, 503, "detail", "The database is unreachable right now; try again shortly.");
}

static void reply_failure(vf_req_t *r, int ret)
{
    if (ret == -ECONNRESET) {
        reply_unavailable(r);
        return;
    }
    vf_error("videos: %s (%s)", vf_db_last_error(r->ctx->db), strerror(-ret));
    vf_reply_msg(r, 500, "detail", "The change could not be saved.");
}

/* One video object (or an array of all with id 0). */
static int load_json(vf_req_t *r, int64_t id, json_t **out)
{
    const vf_app_t *app = r->ctx->app;
    PGresult *res = NULL;
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[] = {ids};
    int ret = id ? vf_db_exec(r->ctx->db, &res, "SELECT " VF_VIDEO_ADMIN_COLUMNS " FROM videos v WHERE v.id = $1::bigint",
                              1, p)
                 : vf_db_exec(r->ctx->db, &res,
                              "SELECT " VF_VIDEO_ADMIN_COLUMNS " FROM videos v ORDER BY v.created_at DESC, v.id DESC",
                              0,
                              NULL);
    *out = NULL;
    if (ret < 0)
        goto out;
    if (id && PQntuples(res) != 1) {
        ret = -ENOENT;
        goto out;
    }
    json_t *all = id ? NULL : json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *v = vf_video_admin_json(app, res, i);
        if (!v) {
            json_decref(all);
            ret = -ENOMEM;
            goto out;
        }
        if (id) {
            *out = v;
            goto out;
        }
        json_array_append_new(all, v);
    }
    *out = all;
    ret = all ? 0 : -ENOMEM;
out:
    PQclear(res);
    return ret;
}

static void reply_video(vf_req_t *r, int status, int64_t id)
{
    json_t *v = NULL;
    int ret = load_json(r, id, &v);
    if (ret == -ENOENT) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    if (ret < 0) {
        reply_failure(r, ret);
        return;
    }
    vf_reply_header(r, "Cache-Control", "no-store");
    vf_reply_json(r, status, v);
}

/* What an audit row says of a create or an edit: the fields given (the
 * description only as a length: it can be long). */
static json_t *fields_detail(const vf_video_fields_t *f)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    if (f->title)
        json_object_set_new(d, "title", json_string(f->title));
    if (f->category)
        json_object_set_new(d, "category", json_string(f->category));
    if (f->description)
        json_object_set_new(d, "description_length", json_integer((json_int_t)strlen(f->description)));
    if (f->upload_id)
        json_object_set_new(d, "upload_id", json_string(f->upload_id));
    return d;
}

/* GET /admin/api/videos/?limit=&cursor=&q=&state=&category=&sort=: in the
 * order `sort` names (video_list.h; newest first by default), narrowed by
 * a part of the title, a processing state, a category.  The cursor holds
 * the last row's sort key and id, and each order walks an index on
 * (key, id): a page costs the same deep in 10,000 videos. */
static void reply_page(vf_req_t *r)
{
    int limit;
    const char *cursor;
    if (vf_page_params(r, &limit, &cursor) != 0)
        return;
    const vf_video_sort_t *sort = vf_video_sort_find(vf_req_query(r, "sort"));
    if (!sort) {
        vf_reply_field_error(r, 400, "sort", "One of: " VF_VIDEO_SORT_NAMES ".");
        return;
    }
    const char *q = vf_req_query(r, "q"), *state = vf_req_query(r, "state"),
               *category = vf_req_query(r, "category");
    q = q && *q ? q : NULL;
    state = state && *state ? state : NULL;
    category = category && *category ? category : NULL;
    if (state && strcmp(state, "pending") && strcmp(state, "processing") && strcmp(state, "ready") &&
        strcmp(state, "failed")) {
        vf_reply_field_error(r, 400, "state", "One of: pending, processing, ready, failed.");
        return;
    }
    if (category && !vf_video_category_valid(category)) {
        vf_reply_field_error(r, 400, "category", "Not a category of the catalogue.");
        return;
    }
    char *after_key = NULL, *sql = NULL, *next = NULL;
    int64_t after_id = 0;
    int ret = cursor ? vf_video_cursor_parse(sort, cursor, &after_key, &after_id) : 0;
    if (ret == -EINVAL) {
        vf_reply_field_error(r, 400, "cursor", "Not a cursor of this list (in this order).");
        return;
    }
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%" PRId64, after_id);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
    const char *params[] = {limit_s, q, state, category, after_key, after_s};
    PGresult *res = NULL;
    json_t *rows = NULL;
    if (ret == 0 && !(sql = vf_video_page_sql(sort, cursor != NULL)))
        ret = -ENOMEM;
    if (ret == 0)
        ret = vf_db_exec(r->ctx->db, &res, sql, cursor ? 6 : 4, params);
    if (ret == 0 && !(rows = json_array()))
        ret = -ENOMEM;
    int n = ret == 0 ? PQntuples(res) : 0;
    for (int i = 0; ret == 0 && i < n && i < limit; i++) {
        json_t *v = vf_video_admin_json(r->ctx->app, res, i);
        if (!v || json_array_append_new(rows, v) != 0)
            ret = -ENOMEM;
    }
    if (ret == 0 && n > limit &&
        !(next = vf_video_cursor(sort, PQgetvalue(res, limit - 1, VF_VIDEO_COL_SORT_KEY),
                                 PQgetvalue(res, limit - 1, VF_VIDEO_COL_ID))))
        ret = -ENOMEM;
    PQclear(res);
    free(sql);
    free(after_key);
    if (ret < 0) {
        json_decref(rows);
        free(next);
        reply_failure(r, ret);
        return;
    }
    vf_page_reply(r, rows, next);
    free(next);
}

/* GET, POST /admin/api/videos/ */
static void videos_collection(vf_req_t *r)
{
    if (vf_auth_require_staff(r) != 0)
        return;
    if (r->method != VF_POST) {
        /* Pages when asked for them; the whole array otherwise (as before). */
        if (vf_req_query(r, "limit") || vf_req_query(r, "cursor") || vf_req_query(r, "sort"))
            reply_page(r);
        else
            reply_video(r, 200, 0);
        return;
    }
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    vf_video_fields_t f;
    json_t *errors = NULL;
    int64_t id = 0;
    int ret = vf_video_fields_from_json(body, &f, &errors);
    json_decref(body);
    if (ret == 0)
        ret = errors ? -EINVAL : vf_video_create(r->ctx, &f, r->user_id, NULL, &id, &errors);
    if (ret == 0)
        vf_audit_record_id(r, "video.create", "video", id, fields_detail(&f));
    vf_video_fields_free(&f);
    if (ret == -EINVAL && errors) {
        vf_reply_json(r, 400, errors);
        return;
    }
    json_decref(errors);
    if (ret < 0) {
        reply_failure(r, ret);
        return;
    }
    reply_video(r, 201, id);
}

/* GET, PATCH, DELETE /admin/api/videos/<id>/ */
static void videos_item(vf_req_t *r)
{
    if (vf_auth_require_staff(r) != 0)
        return;
    int64_t id = 0;
    if (vf_parse_id(vf_req_param(r, 0), &id) != 0) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    if (r->method == VF_GET || r->method == VF_HEAD) {
        reply_video(r, 200, id);
        return;
    }
    int ret;
    if (r->method == VF_DELETE) {
        ret = vf_video_delete(r->ctx, id);
        if (ret == -ENOENT)
            vf_reply_msg(r, 404, "detail", "Not found.");
        else if (ret < 0)
            reply_failure(r, ret);
        else {
            vf_audit_record_id(r, "video.delete", "video", id, NULL);
            vf_reply_buffer(r, 204, NULL, NULL);
        }
        return;
    }
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    vf_video_fields_t f;
    json_t *errors = NULL;
    ret = vf_video_fields_from_json(body, &f, &errors);
    json_decref(body);
    if (ret == 0)
        ret = errors ? -EINVAL : vf_video_update(r->ctx, id, &f, r->user_id, &errors);
    if (ret == 0)
        vf_audit_record_id(r, "video.update", "video", id, fields_detail(&f));
    vf_video_fields_free(&f);
    if (ret == -EINVAL && errors) {
        vf_reply_json(r, 400, errors);
        return;
    }
    json_decref(errors);
    if (ret == -ENOENT) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    if (ret < 0) {
        reply_failure(r, ret);
        return;
    }
    reply_video(r, 200, id);
}

void vf_videos_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET | VF_POST, VIDEOS_PATH, videos_collection);
    vf_router_add(router, VF_GET | VF_PATCH | VF_DELETE, VIDEOS_PATH "{id}/", videos_item);
}
