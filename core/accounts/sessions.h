/*
 * sessions.h - login sessions: each login starts a refresh-token family
 * (a row of auth_sessions); refresh rotates its token, a rotated token shown
 * again inside the grace window is answered like its first use, and shown
 * later revokes the family (reuse detection).
 *
 * Revocation reaches access tokens at once without a database round trip
 * per request: every process keeps the ids of recently revoked sessions in
 * memory, learns new ones through Redis pub/sub, and reloads them from
 * PostgreSQL (the record) at start, after a Redis outage and every few
 * seconds as a safety net.  Entries are kept only while an access token of
 * the session could still be valid (auth.access_ttl after the revocation).
 *
 * Owns: auth_sessions and auth_refresh_tokens, the revoked-session set and
 * its sync thread, purging expired rows.
 * Must not: sign tokens or set cookies (auth.c does).
 */
#ifndef VF_SESSIONS_H
#define VF_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "accounts/auth.h"
#include "runtime/app.h"
#include "runtime/db.h"

/* The family's current refresh token and what the tokens carry. */
typedef struct vf_session_head {
    char sid[VF_TOKEN_ID_SIZE];
    char jti[VF_TOKEN_ID_SIZE];
    int64_t iat, exp;
    int64_t user_id;
    int remember;
    int is_staff;
} vf_session_head_t;

/* A new session for a user who just logged in; its first refresh token
 * lives auth.remember_ttl or auth.refresh_ttl seconds.  0 or a negative
 * errno. */
int vf_session_create(vf_thread_ctx_t *ctx, int64_t user_id, int is_staff, int remember, const char *client_ip,
                      const char *user_agent, int64_t now, vf_session_head_t *out);

typedef enum {
    VF_REFRESH_ROTATED,   /* first use: *out is the new head */
    VF_REFRESH_GRACE,     /* a rotated token again, inside the window: *out is the current head */
    VF_REFRESH_INVALID,   /* unknown, revoked or expired family; inactive user */
    VF_REFRESH_REUSED,    /* a rotated token after the window: the family is now revoked */
} vf_refresh_result_t;

/* One refresh with a verified refresh token.  A vf_refresh_result_t, or a
 * negative errno when the database failed. */
int vf_session_refresh(vf_thread_ctx_t *ctx, const vf_token_claims_t *presented, int64_t now,
                       vf_session_head_t *out);

/* Revoke one session (logout).  1 when revoked now, 0 when it was revoked
 * already or does not exist, or a negative errno. */
int vf_session_revoke(vf_thread_ctx_t *ctx, const char *sid, const char *reason);
/* Revoke every live session of a user (password reset, deactivation, a
 * change of staff rights).  The number revoked, or a negative errno. */
int vf_session_revoke_user(vf_thread_ctx_t *ctx, int64_t user_id, const char *reason);

/* 1 when the session's access tokens must be refused.  Reads memory once
 * the set is loaded; before that (the first moments of a process) asks
 * PostgreSQL, refusing when it cannot tell. */
int vf_sessions_is_revoked(vf_thread_ctx_t *ctx, const char *sid);

/* Delete sessions and refresh-token rows that can no longer matter.  The
 * number of rows deleted, or a negative errno.  Run by the sync thread. */
int vf_sessions_purge(vf_db_t *db, int access_ttl);

/* Stop the sync thread and forget the set (tests; process shutdown). */
/* Start the thread that keeps this process's set of revoked sessions in
 * step with Redis and PostgreSQL (the server does it at start-up; other
 * processes on first use).  0 or a negative errno, logged. */
int vf_sessions_start(const vf_app_t *app);
void vf_sessions_stop(void);
/* 1 once the sync thread has loaded the set from PostgreSQL. */
int vf_sessions_ready(void);

/* ----------------------------------------- the set (exposed for tests) */

typedef struct vf_revset vf_revset_t;
vf_revset_t *vf_revset_new(void);
void vf_revset_free(vf_revset_t **set);
/* Remember sid until `until` (seconds); a later `until` extends it. */
int vf_revset_add(vf_revset_t *set, const char *sid, int64_t until);
int vf_revset_contains(vf_revset_t *set, const char *sid, int64_t now);
/* Drop entries whose time has passed; returns how many remain. */
size_t vf_revset_prune(vf_revset_t *set, int64_t now);

#endif
