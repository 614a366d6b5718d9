/*
 * users.h - the /users/ endpoints of the API (docs: /work/shared/API.md,
 * docs/accounts.md): registration, the email-exists check, confirmation,
 * login, refresh, logout, forgotten and reset passwords.
 * users.c holds the account endpoints and the shared helpers, users_login.c
 * the session endpoints (login, refresh, logout).
 * Owns: the users table's rows and the endpoints' exact answers.
 * Must not: sign tokens (auth.c), keep sessions (sessions.c), hash
 * passwords on a loop thread (password.c's pool does).
 */
#ifndef VF_USERS_H
#define VF_USERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts/password.h"
#include "http/http.h"
#include "http/router.h"

void vf_users_routes(vf_router_t *router);

#define VF_EMAIL_SIZE 255   /* 254 characters at most, as in RFC 5321 */

/* Trim and lower-case an email address into out, checking its form.
 * 0, or -EINVAL when it is not a valid address. */
int vf_email_normalize(const char *in, char out[VF_EMAIL_SIZE]);

/* ------------------------------------- shared by users.c and users_login.c */

/* The routes of users_login.c (called by vf_users_routes). */
void vf_users_login_routes(vf_router_t *router);

/* Every body of these endpoints is small. */
#define VF_USERS_MAX_BODY (16 * 1024)

/* Hands the password work to the pool; `then` runs on r's loop thread with
 * the finished job (freed after it returns) and `data`.  0 when queued;
 * -1 after answering 503 (pool full): the caller still owns data. */
typedef void (*vf_users_after_fn)(vf_req_t *r, vf_pw_job_t *job, void *data);
int vf_users_password_job(vf_req_t *r, vf_pw_op_t op, const char *password, const char *stored,
                          vf_users_after_fn then, void *data);

/* 503 when PostgreSQL or Redis failed us. */
void vf_users_reply_unavailable(vf_req_t *r);

/* A string member, or NULL when missing, null or not a string. */
const char *vf_users_str(const json_t *body, const char *name);

/* Adds {"field": ["This field is required."]} to errors (or "may not be
 * blank") when the member is missing or blank; returns its value or NULL. */
const char *vf_users_required(const json_t *body, const char *name, json_t *errors);

/* "remember": JSON true, 1, or "true"/"1"/"on". */
int vf_users_truthy(const json_t *v);

#endif
