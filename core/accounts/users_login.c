/*
 * users_login.c - the session endpoints: POST /users/login/, /users/refresh/
 * and /users/logout/, and GET /users/me/ (see users.h).  Tokens are signed by auth.c and the
 * families kept by sessions.c; this file turns them into the API's answers
 * and cookies.
 */
#include "config.h"
#include "accounts/auth.h"
#include "accounts/ratelimit.h"
#include "accounts/sessions.h"
#include "accounts/users.h"
#include "runtime/db.h"
#include "util/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MSG_BAD_LOGIN "Invalid credentials or inactive user."

/* Answers that carry or clear tokens must never be stored anywhere. */
static void no_store(vf_req_t *r)
{
    vf_reply_header(r, "Cache-Control", "no-store");
}

/* Sign both tokens of a session head and set them as cookies. */
static int issue_cookies(vf_req_t *r, const vf_session_head_t *head, int64_t now)
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    const char *key = cfg->auth.secret_key;
    vf_token_claims_t access = {.type = VF_TOKEN_ACCESS, .user_id = head->user_id, .iat = now,
                                .exp = now + cfg->auth.access_ttl, .is_staff = head->is_staff};
    vf_token_claims_t refresh = {.type = VF_TOKEN_REFRESH, .user_id = head->user_id, .iat = head->iat,
                                 .exp = head->exp, .remember = head->remember};
    snprintf(access.sid, sizeof access.sid, "%s", head->sid);
    snprintf(refresh.sid, sizeof refresh.sid, "%s", head->sid);
    snprintf(refresh.jti, sizeof refresh.jti, "%s", head->jti);
    vf_token_new_id(access.jti);
    char *a = NULL, *f = NULL;
    int ret = vf_token_issue(key, &access, &a);
    if (ret == 0)
        ret = vf_token_issue(key, &refresh, &f);
    if (ret == 0)
        vf_auth_set_cookies(r, a, f, (int)(head->exp - now));
    if (a) {
        sodium_memzero(a, strlen(a));
        free(a);
    }
    if (f) {
        sodium_memzero(f, strlen(f));
        free(f);
    }
    return ret;
}

/* ------------------------------------------------------------------ login */

typedef struct login {
    int64_t id;
    int found, active, staff, remember;
    char stored[VF_PASSWORD_HASH_SIZE];
    json_t *user;   /* the answer's user object, without favorite_videos */
} login_t;

static void login_free(login_t *l)
{
    if (!l)
        return;
    json_decref(l->user);
    sodium_memzero(l, sizeof *l);
    free(l);
}

static json_t *favorite_ids(vf_thread_ctx_t *ctx, int64_t user_id)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)user_id);
    const char *params[] = {id};
    PGresult *res = NULL;
    json_t *ids = NULL;
    if (vf_db_exec(ctx->db, &res,
                   "SELECT video_id FROM user_favorites WHERE user_id = $1::bigint"
                   " ORDER BY created_at, video_id",
                   1, params) == 0) {
        ids = json_array();
        for (int i = 0; ids && i < PQntuples(res); i++)
            json_array_append_new(ids, json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
    }
    PQclear(res);
    return ids;
}

static void login_finish(vf_req_t *r, vf_pw_job_t *job, void *data)
{
    login_t *l = data;
    vf_thread_ctx_t *ctx = r->ctx;
    if (job->status < 0) {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        goto out;
    }
    if (!l->found || !job->matched || !l->active) {
        vf_reply_json(r, 400, json_pack("{s:[s]}", "non_field_errors", MSG_BAD_LOGIN));
        goto out;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)l->id);
    if (job->upgraded) {
        /* Only over the hash we verified: a reset in the meantime wins. */
        const char *params[] = {id, job->new_hash, l->stored};
        if (vf_db_run(ctx->db, "UPDATE users SET password = $2 WHERE id = $1::bigint AND password = $3", 3,
                      params) == 0)
            vf_info("users: password hash of user %lld upgraded to the current Argon2id parameters",
                    (long long)l->id);
    }
    const char *params[] = {id};
    if (vf_db_run(ctx->db, "UPDATE users SET last_login = now() WHERE id = $1::bigint", 1, params) < 0) {
        vf_users_reply_unavailable(r);
        goto out;
    }
    int64_t now = (int64_t)time(NULL);
    char ip[128];
    vf_session_head_t head;
    if (vf_session_create(ctx, l->id, l->staff, l->remember, vf_req_client_ip(r, ip, sizeof ip),
                          vf_req_header(r, "User-Agent"), now, &head) < 0) {
        vf_users_reply_unavailable(r);
        goto out;
    }
    json_t *favs = favorite_ids(ctx, l->id);
    if (!favs || issue_cookies(r, &head, now) < 0) {
        json_decref(favs);
        vf_users_reply_unavailable(r);
        goto out;
    }
    json_object_set_new(l->user, "favorite_videos", favs);
    vf_info("users: user %lld logged in (session %s)", (long long)l->id, head.sid);
    no_store(r);
    vf_reply_json(r, 200, l->user);
    l->user = NULL;
out:
    login_free(l);
}

static void h_login(vf_req_t *r)
{
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    json_t *errors = json_object();
    login_t *l = calloc(1, sizeof *l);
    PGresult *res = NULL;
    if (!errors || !l) {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        goto out;
    }
    vf_login_body_t in;
    vf_users_login_body(body, &in, errors);
    const char *email = in.email, *password = in.password;
    if (vf_ratelimit_request(r, "login", r->ctx->app->cfg->ratelimit.login_limit, in.email_ok ? email : NULL) < 0)
        goto out;
    if (json_object_size(errors) > 0) {
        vf_reply_json(r, 400, errors);
        errors = NULL;
        goto out;
    }
    if (!vf_auth_key(r))
        goto out;
    l->remember = in.remember;
    if (in.email_ok) {
        const char *params[] = {email};
        if (vf_db_exec(r->ctx->db, &res,
                       "SELECT id, password, is_active, is_staff, username, email, phone, address"
                       " FROM users WHERE lower(email) = $1",
                       1, params) < 0) {
            vf_users_reply_unavailable(r);
            goto out;
        }
        if (PQntuples(res) == 1) {
            l->found = 1;
            l->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            snprintf(l->stored, sizeof l->stored, "%s", PQgetvalue(res, 0, 1));
            l->active = PQgetvalue(res, 0, 2)[0] == 't';
            l->staff = PQgetvalue(res, 0, 3)[0] == 't';
            l->user = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)l->id, "username",
                                PQgetvalue(res, 0, 4), "email", PQgetvalue(res, 0, 5), "phone",
                                PQgetvalue(res, 0, 6), "address", PQgetvalue(res, 0, 7));
            if (!l->user) {
                vf_reply_msg(r, 500, "detail", "Internal server error.");
                goto out;
            }
        }
    }
    /* An unknown address is checked against a dummy hash: the same work,
     * the same time, the same answer. */
    if (vf_users_password_job(r, VF_PW_VERIFY, password, l->found ? l->stored : NULL, login_finish, l) == 0)
        l = NULL;
out:
    PQclear(res);
    login_free(l);
    json_decref(errors);
    json_decref(body);
}

/* ---------------------------------------------------------------- refresh */

static void refresh_refused(vf_req_t *r, const char *message)
{
    vf_auth_clear_cookies(r);
    no_store(r);
    vf_reply_header(r, "WWW-Authenticate", "Bearer realm=\"api\"");
    vf_reply_msg(r, 401, "error", message);
}

static void h_refresh(vf_req_t *r)
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    char *cookie = vf_req_cookie(r, cfg->auth.cookie_refresh);
    if (!cookie || !*cookie) {
        free(cookie);
        refresh_refused(r, "Missing refresh cookie.");
        return;
    }
    const char *key = vf_auth_key(r);
    if (!key) {
        sodium_memzero(cookie, strlen(cookie));
        free(cookie);
        return;
    }
    int64_t now = (int64_t)time(NULL);
    vf_token_claims_t presented;
    int rc = vf_token_verify(key, cookie, VF_TOKEN_REFRESH, now, &presented);
    sodium_memzero(cookie, strlen(cookie));
    free(cookie);
    if (rc < 0) {
        refresh_refused(r, "Invalid refresh token.");
        return;
    }
    vf_session_head_t head;
    rc = vf_session_refresh(r->ctx, &presented, now, &head);
    if (rc < 0) {
        vf_users_reply_unavailable(r);
        return;
    }
    if (rc != VF_REFRESH_ROTATED && rc != VF_REFRESH_GRACE) {
        refresh_refused(r, "Invalid refresh token.");
        return;
    }
    if (issue_cookies(r, &head, now) < 0) {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        return;
    }
    no_store(r);
    vf_reply_msg(r, 200, "detail", "Access token refreshed.");
}

/* ----------------------------------------------------------------- logout */

/* 1 with sid filled when token (wiped and freed here) is a valid token of
 * that type whose session is live. */
static int session_of(vf_req_t *r, const char *key, char *token, vf_token_type_t type,
                      char sid[VF_TOKEN_ID_SIZE])
{
    if (!token)
        return 0;
    vf_token_claims_t c;
    int ok = *token && vf_token_verify(key, token, type, (int64_t)time(NULL), &c) == 0 &&
             (type == VF_TOKEN_REFRESH || !vf_sessions_is_revoked(r->ctx, c.sid));
    sodium_memzero(token, strlen(token));
    free(token);
    if (ok)
        snprintf(sid, VF_TOKEN_ID_SIZE, "%s", c.sid);
    return ok;
}

/* The session named by a valid access token (Bearer, then cookie) or, the
 * frontend's case after its access cookie expired, by the refresh cookie. */
static int logout_session(vf_req_t *r, const char *key, char sid[VF_TOKEN_ID_SIZE])
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    const char *auth = vf_req_header(r, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && session_of(r, key, strdup(auth + 7), VF_TOKEN_ACCESS, sid))
        return 1;
    if (session_of(r, key, vf_req_cookie(r, cfg->auth.cookie_access), VF_TOKEN_ACCESS, sid))
        return 1;
    return session_of(r, key, vf_req_cookie(r, cfg->auth.cookie_refresh), VF_TOKEN_REFRESH, sid);
}

static void h_logout(vf_req_t *r)
{
    const char *key = vf_auth_key(r);
    if (!key)
        return;
    char sid[VF_TOKEN_ID_SIZE];
    int have = logout_session(r, key, sid);
    int revoked = have ? vf_session_revoke(r->ctx, sid, "logout") : 0;
    if (revoked < 0) {
        vf_users_reply_unavailable(r);
        return;
    }
    vf_auth_clear_cookies(r);
    no_store(r);
    if (!revoked) {
        int given = vf_req_header(r, "Authorization") != NULL;
        char *c1 = vf_req_cookie(r, r->ctx->app->cfg->auth.cookie_access);
        char *c2 = vf_req_cookie(r, r->ctx->app->cfg->auth.cookie_refresh);
        given = given || (c1 && *c1) || (c2 && *c2);
        free(c1);
        free(c2);
        vf_auth_reply_401(r, given);
        return;
    }
    vf_info("users: session %s logged out", sid);
    vf_reply_msg(r, 200, "message", "Successfully logged out.");
}

/* ------------------------------------------------------------------- me */

/* GET /users/me/ (our addition): the logged-in user, as login returns it. */
static void h_me(vf_req_t *r)
{
    if (vf_auth_require(r) < 0)
        return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)r->user_id);
    const char *params[] = {id};
    PGresult *res = NULL;
    if (vf_db_exec(r->ctx->db, &res,
                   "SELECT id, username, email, phone, address FROM users WHERE id = $1::bigint AND is_active", 1,
                   params) < 0) {
        PQclear(res);
        vf_users_reply_unavailable(r);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        vf_auth_reply_401(r, 1);
        return;
    }
    json_t *user = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)r->user_id, "username",
                             PQgetvalue(res, 0, 1), "email", PQgetvalue(res, 0, 2), "phone", PQgetvalue(res, 0, 3),
                             "address", PQgetvalue(res, 0, 4));
    PQclear(res);
    json_t *favs = favorite_ids(r->ctx, r->user_id);
    if (!user || !favs) {
        json_decref(user);
        json_decref(favs);
        vf_users_reply_unavailable(r);
        return;
    }
    json_object_set_new(user, "favorite_videos", favs);
    vf_reply_json(r, 200, user);
}

void vf_users_login_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/users/me/", h_me);
    vf_router_add_limited(router, VF_POST, "/users/login/", h_login, VF_USERS_MAX_BODY);
    vf_router_add_limited(router, VF_POST, "/users/refresh/", h_refresh, VF_USERS_MAX_BODY);
    vf_router_add_limited(router, VF_POST, "/users/logout/", h_logout, VF_USERS_MAX_BODY);
}
