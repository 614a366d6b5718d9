/*
 * users.c - see users.h: the account endpoints (register, email-exists,
 * confirm, forgot-password, reset-password), the password-pool helper
 * users_login.c shares, and the route table.
 */
#include "config.h"
#include "accounts/users.h"
#include "accounts/auth.h"
#include "accounts/mail.h"
#include "accounts/ratelimit.h"
#include "accounts/sessions.h"
#include "jobs/queue.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* forgot-password answers no sooner than this after the request arrived,
 * whether or not the address has an account (then in steps of the same
 * size): the answer's timing tells nothing. */
#define FORGOT_ANSWER_US 300000

#define MSG_EMAIL_TAKEN "User with this email already exists."
#define MSG_MISMATCH "Passwords must match."
#define MSG_BAD_LINK "Invalid or expired token."

/* --------------------------------------------------------------- helpers */

void vf_users_reply_unavailable(vf_req_t *r)
{
    vf_reply_header(r, "Retry-After", "5");
    vf_reply_msg(r, 503, "detail", "Service temporarily unavailable, please try again.");
}

/* ----------------------------------------------- the password pool, async */

typedef struct pw_call {
    vf_users_after_fn then;
    void *data;
} pw_call_t;

/* Back on the request's loop thread. */
static void pw_resume(vf_offload_job_t *oj)
{
    vf_pw_job_t *job = vf_pw_job_of(oj);
    pw_call_t *call = job->arg;
    call->then(oj->req, job, call->data);
    free(call);
    vf_pw_job_free(job);
}

int vf_users_password_job(vf_req_t *r, vf_pw_op_t op, const char *password, const char *stored,
                          vf_users_after_fn then, void *data)
{
    vf_pw_job_t *job = calloc(1, sizeof *job);
    pw_call_t *call = calloc(1, sizeof *call);
    int rc = -ENOMEM;
    if (!job || !call)
        goto fail;
    job->op = op;
    job->password = strdup(password);
    job->stored = stored ? strdup(stored) : NULL;
    job->arg = call;
    call->then = then;
    call->data = data;
    if (!job->password || (stored && !job->stored))
        goto fail;
    rc = vf_offload_request(vf_password_pool(), r, vf_pw_job_prepare(job), pw_resume);
    if (rc == 0)
        return 0;
fail:
    free(call);
    vf_pw_job_free(job);
    if (rc == -EAGAIN) {
        vf_warn("users: password hashing queue full, answering 503");
        vf_reply_header(r, "Retry-After", "1");
        vf_reply_msg(r, 503, "detail", "The server is busy, please try again.");
    } else {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
    }
    return -1;
}

/* ------------------------------------------------------------- register */

typedef struct reg {
    char email[VF_EMAIL_SIZE];
} reg_t;

static void register_finish(vf_req_t *r, vf_pw_job_t *job, void *data)
{
    reg_t *reg = data;
    vf_thread_ctx_t *ctx = r->ctx;
    PGresult *res = NULL;
    if (job->status < 0) {
        vf_error("users: password hashing failed (%d)", job->status);
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        goto out;
    }
    int rc = vf_db_begin(ctx->db);
    const char *params[] = {reg->email, job->new_hash};
    if (rc == 0)
        rc = vf_db_exec(ctx->db, &res,
                        "INSERT INTO users (email, username, password) VALUES ($1, $1, $2) RETURNING id", 2,
                        params);
    if (rc == -EIO && res && strcmp(vf_db_sqlstate(res) ? vf_db_sqlstate(res) : "", VF_SQLSTATE_UNIQUE_VIOLATION) == 0) {
        /* Another registration of the same address won the race. */
        vf_db_rollback(ctx->db);
        vf_reply_field_error(r, 400, "email", MSG_EMAIL_TAKEN);
        goto out;
    }
    int64_t id = rc == 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    if (rc == 0)
        rc = vf_mail_enqueue_tx(ctx, VF_MAIL_CONFIRM, id);
    if (rc == 0)
        rc = vf_db_commit(ctx->db);
    if (rc < 0) {
        vf_db_rollback(ctx->db);
        vf_users_reply_unavailable(r);
        goto out;
    }
    vf_queue_flush(ctx);
    vf_info("users: user %lld registered, confirmation email queued", (long long)id);
    vf_reply_json(r, 201, json_pack("{s:s}", "email", reg->email));
out:
    PQclear(res);
    free(reg);
}

/* -1 on a database failure (answered), else 0/1. */
static int email_taken(vf_req_t *r, const char *email)
{
    const char *params[] = {email};
    PGresult *res = NULL;
    int rc = vf_db_exec(r->ctx->db, &res, "SELECT 1 FROM users WHERE lower(email) = $1", 1, params);
    int taken = rc == 0 ? PQntuples(res) > 0 : -1;
    PQclear(res);
    if (taken < 0)
        vf_users_reply_unavailable(r);
    return taken;
}

static void h_register(vf_req_t *r)
{
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    json_t *errors = json_object();
    reg_t *reg = calloc(1, sizeof *reg);
    if (!errors || !reg) {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        goto out;
    }
    vf_register_body_t in;
    vf_users_register_body(body, &in, errors);
    snprintf(reg->email, sizeof reg->email, "%s", in.email);
    if (vf_ratelimit_request(r, "register", r->ctx->app->cfg->ratelimit.register_limit,
                             in.email_ok ? reg->email : NULL) < 0)
        goto out;
    const char *password = in.password, *confirm = in.confirm;
    if (in.email_ok) {
        int taken = email_taken(r, reg->email);
        if (taken < 0)
            goto out;
        if (taken)
            vf_users_add_error(errors, "email", MSG_EMAIL_TAKEN);
    }
    if (json_object_size(errors) > 0) {
        vf_reply_json(r, 400, errors);
        errors = NULL;
        goto out;
    }
    if (strcmp(password, confirm) != 0) {
        vf_reply_field_error(r, 400, "password", MSG_MISMATCH);
        goto out;
    }
    json_t *rules = vf_password_rule_errors(password, reg->email, r->ctx->app->cfg->auth.password_min_length);
    if (rules) {
        vf_reply_json(r, 400, json_pack("{s:o}", "password", rules));
        goto out;
    }
    if (vf_users_password_job(r, VF_PW_HASH, password, NULL, register_finish, reg) == 0)
        reg = NULL;
out:
    free(reg);
    json_decref(errors);
    json_decref(body);
}

/* --------------------------------------------------------- email-exists */

static void h_email_exists(vf_req_t *r)
{
    const char *in = vf_req_query(r, "email");
    char email[VF_EMAIL_SIZE];
    int ok = vf_email_normalize(in, email) == 0;
    if (vf_ratelimit_request(r, "email-exists", r->ctx->app->cfg->ratelimit.email_exists_limit,
                             ok ? email : NULL) < 0)
        return;
    if (!in || vf_users_blank(in)) {
        vf_reply_field_error(r, 400, "email", VF_MSG_REQUIRED);
        return;
    }
    if (!ok) {
        vf_reply_field_error(r, 400, "email", VF_MSG_BAD_EMAIL);
        return;
    }
    const char *params[] = {email};
    PGresult *res = NULL;
    int rc = vf_db_exec(r->ctx->db, &res, "SELECT 1 FROM users WHERE lower(email) = $1", 1, params);
    if (rc < 0)
        vf_users_reply_unavailable(r);
    else
        vf_reply_json(r, 200, json_pack("{s:b}", "exists", PQntuples(res) > 0));
    PQclear(res);
}

/* -------------------------------------------------------------- links */

typedef struct link_user {
    int64_t id;
    char email[VF_EMAIL_SIZE];
    char password[VF_PASSWORD_HASH_SIZE];
    int confirmed;
} link_user_t;

/* 1 found, 0 no such user, -1 database failure. */
static int load_link_user(vf_thread_ctx_t *ctx, const char *uid36, link_user_t *u)
{
    memset(u, 0, sizeof *u);
    if (vf_base36_decode(uid36, &u->id) < 0)
        return 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)u->id);
    const char *params[] = {id};
    PGresult *res = NULL;
    int rc = vf_db_exec(ctx->db, &res,
                        "SELECT email, password, email_confirmed_at IS NOT NULL FROM users WHERE id = $1::bigint",
                        1, params);
    int found = rc < 0 ? -1 : PQntuples(res) == 1;
    if (found == 1) {
        snprintf(u->email, sizeof u->email, "%s", PQgetvalue(res, 0, 0));
        snprintf(u->password, sizeof u->password, "%s", PQgetvalue(res, 0, 1));
        u->confirmed = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    return found;
}

static int link_valid(vf_req_t *r, vf_link_purpose_t purpose, const link_user_t *u, const char *token, int ttl)
{
    vf_link_state_t st = {u->id, u->email, u->password, u->confirmed};
    return vf_link_token_check(r->ctx->app->cfg->auth.secret_key, purpose, &st, token, (int64_t)time(NULL), ttl) ==
           0;
}

static void h_confirm(vf_req_t *r)
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    const char *uid = vf_req_query(r, "uid"), *token = vf_req_query(r, "token");
    if (!uid || !*uid || !token || !*token) {
        vf_reply_msg(r, 400, "error", "Missing uid or token.");
        return;
    }
    if (!vf_auth_key(r))
        return;
    link_user_t u;
    int found = load_link_user(r->ctx, uid, &u);
    if (found < 0) {
        vf_users_reply_unavailable(r);
        goto out;
    }
    if (!found || !link_valid(r, VF_LINK_CONFIRM, &u, token, cfg->auth.confirm_ttl)) {
        vf_reply_msg(r, 400, "error", MSG_BAD_LINK);
        goto out;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)u.id);
    const char *params[] = {id};
    PGresult *res = NULL;
    int rc = vf_db_exec(r->ctx->db, &res,
                        "UPDATE users SET is_active = true, email_confirmed_at = now()"
                        " WHERE id = $1::bigint AND email_confirmed_at IS NULL",
                        1, params);
    int updated = rc == 0 ? atoi(PQcmdTuples(res)) : -1;
    PQclear(res);
    if (updated < 0) {
        vf_users_reply_unavailable(r);
    } else if (updated == 0) {
        vf_reply_msg(r, 400, "error", MSG_BAD_LINK); /* used a moment ago */
    } else {
        vf_info("users: user %lld confirmed their email address", (long long)u.id);
        vf_reply_header(r, "Location", cfg->auth.login_url);
        vf_reply_header(r, "Cache-Control", "no-store");
        vf_reply_buffer(r, 302, NULL, NULL);
    }
out:
    sodium_memzero(&u, sizeof u);
}

/* ------------------------------------------------------- forgot-password */

typedef struct delayed {
    vf_req_t *r;
} delayed_t;

static void forgot_answer(vf_req_t *r)
{
    vf_reply_msg(r, 200, "message", "If this email exists, a reset link has been sent.");
}

static void forgot_answer_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    delayed_t *d = arg;
    forgot_answer(d->r);
    free(d);
}

/* Answer at the next multiple of FORGOT_ANSWER_US after the request came
 * in, on the request's loop (a timer: the thread serves others meanwhile). */
static void forgot_answer_padded(vf_req_t *r)
{
    int64_t elapsed = vf_mono_us() - r->start_us;
    int64_t target = (elapsed / FORGOT_ANSWER_US + 1) * FORGOT_ANSWER_US;
    struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
    struct event_base *base = conn ? evhttp_connection_get_base(conn) : NULL;
    delayed_t *d = base ? malloc(sizeof *d) : NULL;
    if (!d) {
        forgot_answer(r);
        return;
    }
    d->r = r;
    int64_t wait = target - elapsed;
    struct timeval tv = {(time_t)(wait / 1000000), (suseconds_t)(wait % 1000000)};
    if (event_base_once(base, -1, EV_TIMEOUT, forgot_answer_later, d, &tv) != 0) {
        free(d);
        forgot_answer(r);
    }
}

static void h_forgot(vf_req_t *r)
{
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    char email[VF_EMAIL_SIZE];
    int given = vf_users_forgot_body(body, email);
    int ok = given == 1;
    if (vf_ratelimit_request(r, "forgot-password", r->ctx->app->cfg->ratelimit.forgot_limit, ok ? email : NULL) <
        0)
        goto out;
    if (given < 0) {
        vf_reply_msg(r, 400, "error", "Email is required.");
        goto out;
    }
    if (ok) {
        const char *params[] = {email};
        PGresult *res = NULL;
        int rc = vf_db_exec(r->ctx->db, &res, "SELECT id FROM users WHERE lower(email) = $1 AND is_active", 1,
                            params);
        int64_t id = rc == 0 && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        if (id > 0) {
            rc = vf_db_begin(r->ctx->db);
            if (rc == 0)
                rc = vf_mail_enqueue_tx(r->ctx, VF_MAIL_RESET, id);
            if (rc == 0)
                rc = vf_db_commit(r->ctx->db);
            if (rc < 0)
                vf_db_rollback(r->ctx->db);
            else
                vf_queue_flush(r->ctx);
        }
        /* A failure is logged by the database layer; the answer stays the
         * same so that it reveals nothing. */
        if (rc < 0)
            vf_warn("users: could not queue a password reset email");
    }
    forgot_answer_padded(r);
out:
    json_decref(body);
}

/* -------------------------------------------------------- reset-password */

typedef struct reset {
    int64_t user_id;
    char old_hash[VF_PASSWORD_HASH_SIZE];
} reset_t;

static void reset_finish(vf_req_t *r, vf_pw_job_t *job, void *data)
{
    reset_t *rs = data;
    if (job->status < 0) {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        goto out;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)rs->user_id);
    /* Only if the hash the token was checked against is still there: of two
     * resets with one link, one wins. */
    const char *params[] = {id, job->new_hash, rs->old_hash};
    PGresult *res = NULL;
    int rc = vf_db_exec(r->ctx->db, &res,
                        "UPDATE users SET password = $2 WHERE id = $1::bigint AND password = $3", 3, params);
    int updated = rc == 0 ? atoi(PQcmdTuples(res)) : -1;
    PQclear(res);
    if (updated < 0) {
        vf_users_reply_unavailable(r);
        goto out;
    }
    if (updated == 0) {
        vf_reply_msg(r, 400, "error", MSG_BAD_LINK);
        goto out;
    }
    /* Whoever knew the old password is logged out everywhere. */
    int n = vf_session_revoke_user(r->ctx, rs->user_id, "password reset");
    if (n < 0)
        vf_warn("users: password of user %lld reset, but its sessions could not be revoked",
                (long long)rs->user_id);
    vf_info("users: password of user %lld reset (%d sessions revoked)", (long long)rs->user_id, n < 0 ? 0 : n);
    vf_reply_msg(r, 200, "message", "Password has been reset successfully.");
out:
    sodium_memzero(rs, sizeof *rs);
    free(rs);
}

static void h_reset(vf_req_t *r)
{
    json_t *body = vf_req_json(r);
    if (!body)
        return;
    reset_t *rs = NULL;
    link_user_t u;
    memset(&u, 0, sizeof u);
    vf_reset_body_t in;
    if (vf_users_reset_body(body, &in) < 0) {
        vf_reply_msg(r, 400, "error", "All fields are required.");
        goto out;
    }
    const char *uid = in.uid, *token = in.token, *password = in.password;
    if (!vf_auth_key(r))
        goto out;
    int found = load_link_user(r->ctx, uid, &u);
    if (found < 0) {
        vf_users_reply_unavailable(r);
        goto out;
    }
    if (!found) {
        vf_reply_msg(r, 400, "error", "Invalid user.");
        goto out;
    }
    if (!link_valid(r, VF_LINK_RESET, &u, token, r->ctx->app->cfg->auth.reset_ttl)) {
        vf_reply_msg(r, 400, "error", MSG_BAD_LINK);
        goto out;
    }
    json_t *rules = vf_password_rule_errors(password, u.email, r->ctx->app->cfg->auth.password_min_length);
    if (rules) {
        vf_reply_json(r, 400, json_pack("{s:o}", "password", rules));
        goto out;
    }
    rs = calloc(1, sizeof *rs);
    if (!rs) {
        vf_reply_msg(r, 500, "detail", "Internal server error.");
        goto out;
    }
    rs->user_id = u.id;
    snprintf(rs->old_hash, sizeof rs->old_hash, "%s", u.password);
    if (vf_users_password_job(r, VF_PW_HASH, password, NULL, reset_finish, rs) == 0)
        rs = NULL;
out:
    sodium_memzero(&u, sizeof u);
    free(rs);
    json_decref(body);
}

/* ---------------------------------------------------------------- routes */

void vf_users_routes(vf_router_t *router)
{
    vf_router_add_limited(router, VF_POST, "/users/register/", h_register, VF_USERS_MAX_BODY);
    vf_router_add(router, VF_GET, "/users/email-exists/", h_email_exists);
    vf_router_add(router, VF_GET, "/users/confirm/", h_confirm);
    vf_router_add_limited(router, VF_POST, "/users/forgot-password/", h_forgot, VF_USERS_MAX_BODY);
    vf_router_add_limited(router, VF_POST, "/users/reset-password/", h_reset, VF_USERS_MAX_BODY);
    vf_users_login_routes(router);
}
