/*
 * auth.h - who is calling: the access and refresh tokens (JWT, HS256 with the
 * auth.secret_key, through libjwt), the signed single-use tokens of the
 * confirmation and reset links, the session cookies, and the check every
 * protected handler starts with.
 * Owns: token formats and their verification, cookie attributes, the 401/403
 * answers of authentication.
 * Must not: store sessions (sessions.c) or know any endpoint but its own
 * answers.
 */
#ifndef VF_AUTH_H
#define VF_AUTH_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "config/conf.h"
#include "http/http.h"

/* ------------------------------------------------ protecting handlers */

/* 0 when the request carries a valid access token (cookie or
 * "Authorization: Bearer"), with r->user_id, r->user_is_staff and
 * r->session_id filled.  Otherwise replies 401 (with WWW-Authenticate) and
 * returns -1: the handler must return without touching r. */
int vf_auth_require(vf_req_t *r);
/* The same, and 403 for a user who is not staff. */
int vf_auth_require_staff(vf_req_t *r);
/* 1 when the raw Authorization and Cookie header values (either may be
 * NULL) carry a valid, unexpired access token of a staff user: enough to let
 * a large upload body in before it is read (the handler still runs
 * vf_auth_require_staff, revocation included).  Replies nothing. */
int vf_auth_staff_token(const vf_config_t *cfg, const char *authorization, const char *cookie_header);
/* When the request's access token expires (seconds since the epoch), for
 * what outlives the request (an event stream); 0 when it carries no valid
 * one.  Replies nothing. */
int64_t vf_auth_access_expires(vf_req_t *r);

/* --------------------------------------------------------------- JWT */

typedef enum { VF_TOKEN_ACCESS, VF_TOKEN_REFRESH } vf_token_type_t;

#define VF_TOKEN_ID_SIZE 33   /* 32 hex digits */

typedef struct vf_token_claims {
    vf_token_type_t type;
    int64_t user_id;
    char sid[VF_TOKEN_ID_SIZE];   /* the session (refresh family) */
    char jti[VF_TOKEN_ID_SIZE];
    int64_t iat, exp;             /* seconds since the epoch */
    int is_staff;                 /* access tokens */
    int remember;                 /* refresh tokens */
} vf_token_claims_t;

/* Reasons a token is refused (all answered the same way to the client). */
#define VF_TOKEN_MALFORMED (-EINVAL)
#define VF_TOKEN_BAD_SIGNATURE (-EBADMSG)
#define VF_TOKEN_EXPIRED (-ETIMEDOUT)
#define VF_TOKEN_WRONG_TYPE (-EPROTOTYPE)

/* A new random id (session ids, jti): 32 hex digits. */
void vf_token_new_id(char out[VF_TOKEN_ID_SIZE]);
/* Sign claims with the key; *out is malloc()ed.  0 or a negative errno. */
int vf_token_issue(const char *key, const vf_token_claims_t *c, char **out);
/* Verify a token: HS256 only (the header's "alg" is pinned before anything
 * else is read), the signature (constant time), the type, exp, iat and jti.
 * 0 with *out filled, or one of the VF_TOKEN_* codes. */
int vf_token_verify(const char *key, const char *token, vf_token_type_t want, int64_t now,
                    vf_token_claims_t *out);

/* ------------------------------------------- confirmation/reset links */

typedef enum { VF_LINK_CONFIRM, VF_LINK_RESET } vf_link_purpose_t;

/* What a link token is bound to: when any of it changes (the password is
 * reset, the address is confirmed), every token made before stops working. */
typedef struct vf_link_state {
    int64_t user_id;
    const char *email;
    const char *password_hash;
    int confirmed;
} vf_link_state_t;

#define VF_LINK_TOKEN_SIZE 96

/* "<base36 time>-<base64url HMAC-SHA256>".  0 or a negative errno. */
int vf_link_token_make(const char *key, vf_link_purpose_t purpose, const vf_link_state_t *st, int64_t now,
                       char out[VF_LINK_TOKEN_SIZE]);
/* 0 when valid for st at `now` within ttl seconds; VF_TOKEN_EXPIRED or
 * VF_TOKEN_BAD_SIGNATURE / VF_TOKEN_MALFORMED otherwise. */
int vf_link_token_check(const char *key, vf_link_purpose_t purpose, const vf_link_state_t *st,
                        const char *token, int64_t now, int ttl);

/* User ids in links are base36 (Django's int_to_base36). */
void vf_base36_encode(int64_t v, char out[16]);
/* 0, or -EINVAL for anything but 1..13 digits [0-9a-z] of a positive id. */
int vf_base36_decode(const char *s, int64_t *out);

/* ----------------------------------------------------------- cookies */

/* "name=value; Max-Age=N; Expires=...; Path=/; HttpOnly; SameSite=X
 *  [; Secure][; Domain=D]" into buf, with the auth.cookie_* settings.
 * An empty value with max_age 0 deletes the cookie. */
int vf_cookie_format(char *buf, size_t len, const vf_config_t *cfg, const char *name, const char *value,
                     int max_age, int64_t now);
/* Set-Cookie for both tokens of a session. */
void vf_auth_set_cookies(vf_req_t *r, const char *access, const char *refresh, int refresh_max_age);
/* Set-Cookie deleting both (logout, failed refresh). */
void vf_auth_clear_cookies(vf_req_t *r);

/* The HS256 key (auth.secret_key), or NULL after replying 500 when the
 * server has none configured. */
const char *vf_auth_key(vf_req_t *r);

/* 401 {"detail": ...} with WWW-Authenticate.  `invalid`: a token was
 * given but refused (SimpleJWT's token_not_valid answer). */
void vf_auth_reply_401(vf_req_t *r, int invalid);

#endif
