/*
 * users_api.c - see users_api.h.  Lists page by id, newest account first;
 * the cursor is the id of the last row shown.  Each change runs in one
 * transaction with its audit row and its session revocation, so the record
 * never says something happened that did not.
 */
#include "config.h"
#include "admin/users_api.h"

#include "accounts/audit.h"
#include "accounts/auth.h"
#include "accounts/mail.h"
#include "accounts/sessions.h"
#include "admin/paging.h"
#include "http/http.h"
#include "jobs/queue.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_PATH "/admin/api/users/"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define USER_COLUMNS                                                                                    \
    "u.id, u.email, u.username, u.is_active, u.is_staff, u.is_superuser, " ISO("u.date_joined") ", " \
    ISO("u.last_login") ", u.email_confirmed_at IS NOT NULL,"                                         \
    " (SELECT count(*) FROM user_favorites f WHERE f.user_id = u.id)"

static json_t *user_json(const PGresult *res, int i)
{
    return json_pack("{s:I, s:s, s:s, s:b, s:b, s:b, s:s, s:o, s:b, s:I}", "id",
                     (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "email", PQgetvalue(res, i, 1),
                     "username", PQgetvalue(res, i, 2), "is_active", *PQgetvalue(res, i, 3) == 't', "is_staff",
                     *PQgetvalue(res, i, 4) == 't', "is_superuser", *PQgetvalue(res, i, 5) == 't', "date_joined",
                     PQgetvalue(res, i, 6), "last_login",
                     PQgetisnull(res, i, 7) ? json_null() : json_string(PQgetvalue(res, i, 7)), "email_confirmed",
                     *PQgetvalue(res, i, 8) == 't', "favourites",
                     (json_int_t)strtoll(PQgetvalue(res, i, 9), NULL, 10));
}

static void reply_not_found(vf_req_t *r) { vf_reply_msg(r, 404, "detail", "Not found."); }

/* ?is_staff=true|false into "t"/"f"/NULL; -1 after answering 400. */
static int bool_filter(vf_req_t *r, const char *name, const char **out)
{
    const char *v = vf_req_query(r, name);
    *out = NULL;
    if (!v || !*v)
        return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = v;
        return 0;
    }
    vf_reply_field_error(r, 400, name, "Either true or false.");
    return -1;
}

/* GET /admin/api/users/ */
static void users_list(vf_req_t *r)
{
    int limit;
    const char *cursor, *staff, *active;
    if (vf_admin_page_params(r, &limit, &cursor) != 0 || bool_filter(r, "is_staff", &staff) != 0 ||
        bool_filter(r, "is_active", &active) != 0)
        return;
    int64_t before = INT64_MAX;
    if (cursor && vf_parse_id(cursor, &before) != 0) {
        vf_reply_field_error(r, 400, "cursor", "Not a cursor of this list.");
        return;
    }
    const char *q = vf_req_query(r, "q");
    char before_s[24], limit_s[16];
    snprintf(before_s, sizeof before_s, "%" PRId64, before);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
    const char *params[] = {before_s, limit_s, q && *q ? q : NULL, staff, active};
    PGresult *res = NULL;
    /* strpos, not LIKE: what staff type is matched as it is, % and _ included. */
    int ret = vf_db_exec(r->ctx->db, &res,
                         "SELECT " USER_COLUMNS " FROM users u WHERE u.id < $1::bigint"
                         " AND ($3::text IS NULL OR strpos(lower(u.email), lower($3)) > 0"
                         "      OR strpos(lower(u.username), lower($3)) > 0)"
                         " AND ($4::boolean IS NULL OR u.is_staff = $4::boolean)"
                         " AND ($5::boolean IS NULL OR u.is_active = $5::boolean)"
                         " ORDER BY u.id DESC LIMIT $2::int",
                         5, params);
    if (ret < 0) {
        PQclear(res);
        vf_admin_reply_failure(r, ret, "list the users");
        return;
    }
    json_t *rows = json_array();
    int n = PQntuples(res);
    for (int i = 0; rows && i < n && i < limit; i++)
        json_array_append_new(rows, user_json(res, i));
    char next[24] = "";
    if (n > limit)
        snprintf(next, sizeof next, "%s", PQgetvalue(res, limit - 1, 0));
    PQclear(res);
    vf_page_reply(r, rows, next);
}

/* The user object, or -ENOENT. */
static int load_user(vf_req_t *r, const char *id, json_t **out)
{
    const char *params[] = {id};
    PGresult *res = NULL;
    *out = NULL;
    int ret = vf_db_exec(r->ctx->db, &res, "SELECT " USER_COLUMNS " FROM users u WHERE u.id = $1::bigint", 1, params);
    if (ret == 0 && PQntuples(res) != 1)
        ret = -ENOENT;
    if (ret == 0 && !(*out = user_json(res, 0)))
        ret = -ENOMEM;
    PQclear(res);
    return ret;
}

static void reply_user(vf_req_t *r, const char *id)
{
    json_t *u = NULL;
    int ret = load_user(r, id, &u);
    if (ret == -ENOENT)
        reply_not_found(r);
    else if (ret < 0)
        vf_admin_reply_failure(r, ret, "read the user");
    else {
        vf_reply_header(r, "Cache-Control", "no-store");
        vf_reply_json(r, 200, u);
    }
}

/* What one change needs: the user and what to do. */
typedef struct user_action {
    const char *id;
    int64_t uid;
    const char *active, *staff;           /* PATCH */
    const char *template_name, *action;   /* mail */
} user_action_t;

/* Run fn in a transaction of its own: committed when it returns >= 0,
 * rolled back otherwise.  fn's result, or the commit's failure. */
static int in_transaction(vf_req_t *r, int (*fn)(vf_req_t *r, const user_action_t *a), const user_action_t *a)
{
    int ret = vf_db_begin(r->ctx->db);
    if (ret == 0)
        ret = fn(r, a);
    if (ret >= 0) {
        int c = vf_db_commit(r->ctx->db);
        ret = c < 0 ? c : ret;
    } else {
        vf_db_rollback(r->ctx->db);
    }
    return ret;
}

/* ---------------------------------------------------------------- PATCH */

/* Read {"is_active", "is_staff"}: "t"/"f"/NULL each.  -1 after answering 400. */
static int patch_body(vf_req_t *r, const json_t *body, const char **active, const char **staff)
{
    json_t *errors = json_object();
    const char *key;
    json_t *v;
    *active = *staff = NULL;
    json_object_foreach((json_t *)body, key, v)
    {
        const char **slot = strcmp(key, "is_active") == 0 ? active : strcmp(key, "is_staff") == 0 ? staff : NULL;
        if (!slot)
            json_object_set_new(errors, key, json_pack("[s]", "Only is_active and is_staff can be changed here."));
        else if (!json_is_boolean(v))
            json_object_set_new(errors, key, json_pack("[s]", "Must be a valid boolean."));
        else
            *slot = json_is_true(v) ? "t" : "f";
    }
    if (json_object_size(errors) == 0 && !*active && !*staff)
        json_object_set_new(errors, "detail", json_string("Give is_active or is_staff."));
    if (json_object_size(errors) == 0) {
        json_decref(errors);
        return 0;
    }
    vf_reply_json(r, 400, errors);
    return -1;
}

/* In the open transaction: the change, its audit row, and the revocation
 * of the user's sessions when a right changed.  1 when changed, 0 when
 * nothing changed, or a negative errno (-ENOENT: no such user). */
static int apply_patch(vf_req_t *r, const user_action_t *a)
{
    const char *id = a->id;
    const char *params[] = {id, a->active, a->staff};
    PGresult *res = NULL;
    int ret = vf_db_exec(r->ctx->db, &res,
                         "WITH old AS (SELECT id, is_active, is_staff FROM users WHERE id = $1::bigint FOR UPDATE)"
                         " UPDATE users u SET is_active = COALESCE($2::boolean, old.is_active),"
                         " is_staff = COALESCE($3::boolean, old.is_staff) FROM old WHERE u.id = old.id"
                         " RETURNING old.is_active, old.is_staff, u.is_active, u.is_staff",
                         3, params);
    if (ret == 0 && PQntuples(res) != 1)
        ret = -ENOENT;
    if (ret < 0) {
        PQclear(res);
        return ret;
    }
    int was_active = *PQgetvalue(res, 0, 0) == 't', was_staff = *PQgetvalue(res, 0, 1) == 't';
    int is_active = *PQgetvalue(res, 0, 2) == 't', is_staff = *PQgetvalue(res, 0, 3) == 't';
    PQclear(res);
    if (was_active == is_active && was_staff == is_staff)
        return 0;
    int revoked = vf_session_revoke_user(r->ctx, a->uid, "changed by staff");
    if (revoked < 0)
        return revoked;
    json_t *detail = json_object();
    if (was_active != is_active)
        json_object_set_new(detail, "is_active", json_boolean(is_active));
    if (was_staff != is_staff)
        json_object_set_new(detail, "is_staff", json_boolean(is_staff));
    json_object_set_new(detail, "sessions_revoked", json_integer(revoked));
    ret = vf_audit_record(r, "user.update", "user", id, detail);
    return ret < 0 ? ret : 1;
}

static void user_patch(vf_req_t *r, const char *id, int64_t uid)
{
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    const char *active, *staff;
    int bad = patch_body(r, body, &active, &staff);
    json_decref(body);
    if (bad)
        return;
    if (uid == r->user_id && staff && *staff == 'f') {
        vf_reply_field_error(r, 400, "is_staff", "You cannot remove your own staff status.");
        return;
    }
    if (uid == r->user_id && active && *active == 'f') {
        vf_reply_field_error(r, 400, "is_active", "You cannot deactivate your own account.");
        return;
    }
    user_action_t a = {.id = id, .uid = uid, .active = active, .staff = staff};
    int ret = in_transaction(r, apply_patch, &a);
    if (ret == -ENOENT)
        reply_not_found(r);
    else if (ret < 0)
        vf_admin_reply_failure(r, ret, "change the user");
    else
        reply_user(r, id);
}

/* --------------------------------------------------------------- DELETE */

static int delete_user(vf_req_t *r, const user_action_t *a)
{
    const char *id = a->id;
    /* Revoked first, in memory everywhere, while the rows still exist. */
    int revoked = vf_session_revoke_user(r->ctx, a->uid, "account deleted by staff");
    if (revoked < 0)
        return revoked;
    const char *params[] = {id};
    PGresult *res = NULL;
    int ret = vf_db_exec(r->ctx->db, &res,
                         "WITH fav AS (SELECT count(*) AS n FROM user_favorites WHERE user_id = $1::bigint)"
                         " DELETE FROM users u USING fav WHERE u.id = $1::bigint RETURNING u.email, fav.n",
                         1, params);
    if (ret == 0 && PQntuples(res) != 1)
        ret = -ENOENT;
    json_t *detail = ret == 0 ? json_pack("{s:s, s:I, s:i}", "email", PQgetvalue(res, 0, 0), "favourites",
                                          (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10),
                                          "sessions_revoked", revoked)
                              : NULL;
    PQclear(res);
    if (ret < 0)
        return ret;
    return vf_audit_record(r, "user.delete", "user", id, detail);
}

static void user_delete(vf_req_t *r, const char *id, int64_t uid)
{
    if (uid == r->user_id) {
        vf_reply_msg(r, 400, "detail", "You cannot delete your own account.");
        return;
    }
    user_action_t a = {.id = id, .uid = uid};
    int ret = in_transaction(r, delete_user, &a);
    if (ret == -ENOENT)
        reply_not_found(r);
    else if (ret < 0)
        vf_admin_reply_failure(r, ret, "delete the user");
    else
        vf_reply_buffer(r, 204, NULL, NULL);
}

/* The staff check and the user id of a /admin/api/users/<id>/... route:
 * the id, or NULL after answering. */
static const char *staff_and_user(vf_req_t *r, int64_t *uid)
{
    if (vf_auth_require_staff(r) != 0)
        return NULL;
    const char *id = vf_req_param(r, 0);
    if (vf_parse_id(id, uid) != 0) {
        reply_not_found(r);
        return NULL;
    }
    return id;
}

/* GET, PATCH, DELETE /admin/api/users/<id>/ */
static void users_item(vf_req_t *r)
{
    int64_t uid;
    const char *id = staff_and_user(r, &uid);
    if (!id)
        return;
    if (r->method == VF_PATCH)
        user_patch(r, id, uid);
    else if (r->method == VF_DELETE)
        user_delete(r, id, uid);
    else
        reply_user(r, id);
}

/* ----------------------------------------------------------------- mail */

/* In the open transaction: the mail job for an existing user, and its audit
 * row.  -ENOENT, -EALREADY (a confirmation for a confirmed address). */
static int queue_mail(vf_req_t *r, const user_action_t *a)
{
    const char *params[] = {a->id};
    PGresult *res = NULL;
    int ret = vf_db_exec(r->ctx->db, &res,
                         "SELECT email_confirmed_at IS NOT NULL FROM users WHERE id = $1::bigint FOR SHARE", 1,
                         params);
    if (ret == 0 && PQntuples(res) != 1)
        ret = -ENOENT;
    if (ret == 0 && strcmp(a->template_name, VF_MAIL_CONFIRM) == 0 && *PQgetvalue(res, 0, 0) == 't')
        ret = -EALREADY;
    PQclear(res);
    if (ret == 0)
        ret = vf_mail_enqueue_tx(r->ctx, a->template_name, a->uid);
    if (ret == 0)
        ret = vf_audit_record(r, a->action, "user", a->id, NULL);
    return ret;
}

static void send_mail(vf_req_t *r, const char *template_name, const char *action, const char *done)
{
    int64_t uid;
    const char *id = staff_and_user(r, &uid);
    if (!id)
        return;
    user_action_t a = {.id = id, .uid = uid, .template_name = template_name, .action = action};
    int ret = in_transaction(r, queue_mail, &a);
    if (ret == 0)
        vf_queue_flush(r->ctx);
    if (ret == -ENOENT)
        reply_not_found(r);
    else if (ret == -EALREADY)
        vf_reply_msg(r, 409, "detail", "This address is confirmed already.");
    else if (ret < 0)
        vf_admin_reply_failure(r, ret, "queue the email");
    else
        vf_reply_msg(r, 202, "detail", done);
}

static void resend_confirmation(vf_req_t *r)
{
    send_mail(r, VF_MAIL_CONFIRM, "user.resend_confirmation", "The confirmation email is on its way.");
}

static void send_password_reset(vf_req_t *r)
{
    send_mail(r, VF_MAIL_RESET, "user.send_password_reset", "The password-reset email is on its way.");
}

void vf_admin_users_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, USERS_PATH, users_list);
    vf_router_add(router, VF_GET | VF_PATCH | VF_DELETE, USERS_PATH "{id}/", users_item);
    vf_router_add(router, VF_POST, USERS_PATH "{id}/resend-confirmation/", resend_confirmation);
    vf_router_add(router, VF_POST, USERS_PATH "{id}/send-password-reset/", send_password_reset);
}
