/*
 * users.h - the /users/ endpoints of the API (docs: /work/shared/API.md,
 * docs/accounts.md): registration, the email-exists check, confirmation,
 * login, refresh, logout, forgotten and reset passwords.
 * users.c holds the account endpoints, users_login.c the session
 * endpoints (login, refresh, logout), users_body.c the reading of their
 * JSON bodies (pure functions).
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

/* ------------------------------------------ users_body.c: reading bodies */

#define VF_MSG_REQUIRED "This field is required."
#define VF_MSG_BAD_EMAIL "Enter a valid email address."

/* A string member, or NULL when missing, null or not a string. */
const char *vf_users_str(const json_t *body, const char *name);

/* 1 when s holds nothing but white space. */
int vf_users_blank(const char *s);

/* Append message to errors[field] (DRF's {"field": ["..."]} shape). */
void vf_users_add_error(json_t *errors, const char *field, const char *message);

/* Adds {"field": ["This field is required."]} to errors (or "may not be
 * blank") when the member is missing or blank; returns its value or NULL. */
const char *vf_users_required(const json_t *body, const char *name, json_t *errors);

/* "remember": JSON true, 1, or "true"/"1"/"on". */
int vf_users_truthy(const json_t *v);

/* Each endpoint's body as its handler reads it.  Strings point into the
 * body; a field missing or blank leaves NULL and its message in errors. */
typedef struct vf_register_body {
    char email[VF_EMAIL_SIZE];   /* normalised; "" unless email_ok */
    int email_ok;
    const char *password;
    const char *confirm;         /* "confirm_password" */
} vf_register_body_t;
/* POST /users/register/: email (required, valid), password, confirm_password. */
void vf_users_register_body(const json_t *body, vf_register_body_t *out, json_t *errors);

typedef struct vf_login_body {
    char email[VF_EMAIL_SIZE];   /* normalised; "" unless email_ok */
    int email_ok;
    const char *password;
    int remember;
} vf_login_body_t;
/* POST /users/login/: email and password required (an invalid address is
 * not an error here: it simply has no account), remember optional. */
void vf_users_login_body(const json_t *body, vf_login_body_t *out, json_t *errors);

/* POST /users/forgot-password/: 1 with the normalised address in email, 0
 * for an address that is not valid, -ENODATA when missing or blank. */
int vf_users_forgot_body(const json_t *body, char email[VF_EMAIL_SIZE]);

typedef struct vf_reset_body {
    const char *uid;
    const char *token;
    const char *password;        /* "new_password", else "password" */
} vf_reset_body_t;
/* POST /users/reset-password/: 0, or -ENODATA when a field is missing or
 * empty ("All fields are required."). */
int vf_users_reset_body(const json_t *body, vf_reset_body_t *out);

#endif
