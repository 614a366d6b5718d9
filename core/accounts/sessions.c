/*
 * sessions.c - see sessions.h.
 *
 * Concurrent refreshes of one family (the frontend sends two or three at
 * once with the same cookie) are serialised by locking the session row
 * (SELECT ... FOR UPDATE), so exactly one of them rotates and the others see
 * a token rotated a moment ago and get the same new head: the family never
 * forks.
 *
 * Times are the application's clock (seconds since the epoch), written with
 * to_timestamp(), so that the grace window and the tokens' exp agree.
 */
#include "config.h"
#include "accounts/sessions.h"
#include "runtime/redis.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Clock difference tolerated between servers (as in auth.c). */
#define CLOCK_SKEW 60
#define RELOAD_INTERVAL_S 10        /* while subscribed */
#define RELOAD_INTERVAL_DOWN_S 1    /* while Redis cannot be reached */
#define PURGE_INTERVAL_S 600
#define CHANNEL "auth:revoked"

/* ------------------------------------------------------------- the set */

typedef struct rev_entry {
    char sid[VF_TOKEN_ID_SIZE];   /* "" = free slot */
    int64_t until;
} rev_entry_t;

struct vf_revset {
    pthread_rwlock_t lock;
    rev_entry_t *slots;
    size_t cap;                   /* a power of two */
    size_t count;
};

static uint64_t sid_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

vf_revset_t *vf_revset_new(void)
{
    vf_revset_t *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->cap = 64;
    set->slots = calloc(set->cap, sizeof *set->slots);
    if (!set->slots || pthread_rwlock_init(&set->lock, NULL) != 0) {
        free(set->slots);
        free(set);
        return NULL;
    }
    return set;
}

void vf_revset_free(vf_revset_t **pset)
{
    vf_revset_t *set = *pset;
    if (!set)
        return;
    pthread_rwlock_destroy(&set->lock);
    free(set->slots);
    free(set);
    *pset = NULL;
}

/* Linear probing: the slot holding sid, or the free slot where it goes. */
static rev_entry_t *find_slot(rev_entry_t *slots, size_t cap, const char *sid)
{
    size_t i = (size_t)sid_hash(sid) & (cap - 1);
    while (slots[i].sid[0] && strcmp(slots[i].sid, sid) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Rebuild into `cap` slots keeping entries alive at `now` (removal in an
 * open-addressed table is a rebuild). */
static int rebuild(vf_revset_t *set, size_t cap, int64_t now)
{
    rev_entry_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    size_t count = 0;
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->slots[i].sid[0] || set->slots[i].until < now)
            continue;
        *find_slot(slots, cap, set->slots[i].sid) = set->slots[i];
        count++;
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    set->count = count;
    return 0;
}

int vf_revset_add(vf_revset_t *set, const char *sid, int64_t until)
{
    if (!sid || !*sid || strlen(sid) >= VF_TOKEN_ID_SIZE)
        return -EINVAL;
    int ret = 0;
    pthread_rwlock_wrlock(&set->lock);
    /* Growing keeps every entry: only vf_revset_prune decides what is old. */
    if ((set->count + 1) * 2 > set->cap && (ret = rebuild(set, set->cap * 2, INT64_MIN)) < 0)
        goto out;
    rev_entry_t *e = find_slot(set->slots, set->cap, sid);
    if (!e->sid[0]) {
        snprintf(e->sid, sizeof e->sid, "%s", sid);
        e->until = until;
        set->count++;
    } else if (until > e->until) {
        e->until = until;
    }
out:
    pthread_rwlock_unlock(&set->lock);
    return ret;
}

int vf_revset_contains(vf_revset_t *set, const char *sid, int64_t now)
{
    if (!sid || strlen(sid) >= VF_TOKEN_ID_SIZE)
        return 0;
    pthread_rwlock_rdlock(&set->lock);
    const rev_entry_t *e = find_slot(set->slots, set->cap, sid);
    int found = e->sid[0] && e->until >= now;
    pthread_rwlock_unlock(&set->lock);
    return found;
}

size_t vf_revset_prune(vf_revset_t *set, int64_t now)
{
    pthread_rwlock_wrlock(&set->lock);
    size_t cap = set->cap;
    /* Shrink when mostly empty, never below the initial size. */
    while (cap > 64 && set->count * 8 < cap)
        cap /= 2;
    rebuild(set, cap, now);
    size_t n = set->count;
    pthread_rwlock_unlock(&set->lock);
    return n;
}

/* ------------------------------------------------------ the sync thread */

static struct {
    pthread_mutex_t lock;
    int started;
    pthread_t tid;
    int wake[2];                  /* a byte here stops the thread */
    const vf_app_t *app;
    vf_revset_t *set;
    int ready;                    /* atomic: loaded from PostgreSQL once */
} sync_state = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}};

/* How long a revoked id must be remembered after `revoked_at`. */
static int64_t keep_seconds(const vf_config_t *cfg)
{
    return (int64_t)cfg->auth.access_ttl + CLOCK_SKEW;
}

static void add_ids(const char *ids, int64_t until)
{
    const char *p = ids;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n > 0 && n < VF_TOKEN_ID_SIZE) {
            char sid[VF_TOKEN_ID_SIZE];
            memcpy(sid, p, n);
            sid[n] = '\0';
            vf_revset_add(sync_state.set, sid, until);
        }
        p += n;
        while (*p == ' ')
            p++;
    }
}

static int load_revoked(vf_db_t *db, const vf_config_t *cfg)
{
    char keep[32];
    snprintf(keep, sizeof keep, "%lld", (long long)keep_seconds(cfg));
    const char *params[] = {keep};
    PGresult *res = NULL;
    int ret = vf_db_exec(db, &res,
                         "SELECT id, extract(epoch FROM revoked_at)::bigint FROM auth_sessions"
                         " WHERE revoked_at > now() - make_interval(secs => $1::int)",
                         1, params);
    if (ret == 0) {
        for (int i = 0; i < PQntuples(res); i++)
            vf_revset_add(sync_state.set, PQgetvalue(res, i, 0),
                          strtoll(PQgetvalue(res, i, 1), NULL, 10) + keep_seconds(cfg));
        vf_revset_prune(sync_state.set, (int64_t)time(NULL));
    }
    PQclear(res);
    return ret;
}

static void handle_message(const redisReply *rep, const vf_config_t *cfg)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 || rep->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(rep->element[0]->str, "message") != 0 || rep->element[2]->type != REDIS_REPLY_STRING)
        return;
    add_ids(rep->element[2]->str, (int64_t)time(NULL) + keep_seconds(cfg));
}

/* Read every complete message hiredis has buffered.  -1 on a broken
 * connection. */
static int drain_messages(redisContext *c, const vf_config_t *cfg)
{
    for (;;) {
        void *rep = NULL;
        if (redisGetReplyFromReader(c, &rep) != REDIS_OK)
            return -1;
        if (!rep)
            return 0;
        handle_message(rep, cfg);
        freeReplyObject(rep);
    }
}

static int subscribe(vf_redis_t *sub, const char *channel)
{
    redisContext *c = vf_redis_context(sub);
    if (!c)
        return -1;
    redisReply *rep = redisCommand(c, "SUBSCRIBE %s", channel);
    int ok = rep && rep->type == REDIS_REPLY_ARRAY;
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : -1;
}

static void *sync_main(void *arg)
{
    (void)arg;
    const vf_config_t *cfg = sync_state.app->cfg;
    vf_redis_t *sub = vf_redis_new(cfg);
    vf_db_t *db = vf_db_new(cfg);
    if (!sub || !db) {
        vf_error("sessions: cannot start the revocation sync (out of memory)");
        goto out;
    }
    char channel[256];
    vf_redis_key(sub, channel, sizeof channel, "%s", CHANNEL);
    int subscribed = 0;
    int64_t last_load = -1, last_purge = -1; /* -1: not yet */
    vf_complain_t complain = {0};
    for (;;) {
        if (!subscribed && subscribe(sub, channel) == 0) {
            subscribed = 1;
            last_load = -1; /* anything published while we were away */
            if (complain.interval > 0)
                vf_info("sessions: revocation channel subscribed again");
            vf_complain_reset(&complain);
        } else if (!subscribed && vf_complain_should_log(&complain, 300)) {
            vf_warn("sessions: cannot subscribe to revocations in Redis; reloading them from PostgreSQL "
                    "every second meanwhile");
        }
        int64_t now = vf_mono_us() / 1000000;
        int interval = subscribed ? RELOAD_INTERVAL_S : RELOAD_INTERVAL_DOWN_S;
        if (last_load < 0 || now - last_load >= interval) {
            if (load_revoked(db, cfg) == 0) {
                last_load = now;
                __atomic_store_n(&sync_state.ready, 1, __ATOMIC_RELEASE);
            }
        }
        if (last_purge < 0 || now - last_purge >= PURGE_INTERVAL_S) {
            int n = vf_sessions_purge(db, cfg->auth.access_ttl);
            if (n >= 0) {
                last_purge = now;
                if (n > 0)
                    vf_debug("sessions: purged %d expired rows", n);
            }
        }

        redisContext *c = subscribed ? vf_redis_context(sub) : NULL;
        if (subscribed && (!c || drain_messages(c, cfg) < 0)) {
            subscribed = 0;
            continue;
        }
        struct pollfd pf[2] = {{.fd = sync_state.wake[0], .events = POLLIN},
                               {.fd = c ? c->fd : -1, .events = POLLIN}};
        int rc = poll(pf, 2, 1000);
        if (rc > 0 && (pf[0].revents & (POLLIN | POLLHUP)))
            break;
        if (rc > 0 && c && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (redisBufferRead(c) != REDIS_OK || drain_messages(c, cfg) < 0)
                subscribed = 0; /* c->err is set: vf_redis_context reconnects */
        }
    }
out:
    vf_redis_free(&sub);
    vf_db_free(&db);
    return NULL;
}

/* Called with sync_state.lock held. */
static int start_locked(const vf_app_t *app)
{
    if (sync_state.started)
        return 0;
    if (!sync_state.set && !(sync_state.set = vf_revset_new()))
        return -ENOMEM;
    sync_state.app = app;
    if (pipe2(sync_state.wake, O_CLOEXEC) != 0)
        return -errno;
    int rc = pthread_create(&sync_state.tid, NULL, sync_main, NULL);
    if (rc != 0) {
        close(sync_state.wake[0]);
        close(sync_state.wake[1]);
        sync_state.wake[0] = sync_state.wake[1] = -1;
        return -rc;
    }
    sync_state.started = 1;
    return 0;
}

int vf_sessions_start(const vf_app_t *app)
{
    pthread_mutex_lock(&sync_state.lock);
    int rc = start_locked(app);
    pthread_mutex_unlock(&sync_state.lock);
    if (rc < 0)
        vf_error("sessions: cannot start the revocation sync thread: %s", strerror(-rc));
    return rc;
}

/* Processes other than the server (commands, tests) start the sync on
 * first use; the server starts it at start-up (vf_sessions_start). */
static vf_revset_t *ensure_started(const vf_app_t *app)
{
    pthread_mutex_lock(&sync_state.lock);
    int rc = start_locked(app);
    vf_revset_t *set = sync_state.set;
    pthread_mutex_unlock(&sync_state.lock);
    if (rc < 0)
        vf_error("sessions: cannot start the revocation sync thread: %s", strerror(-rc));
    return set;
}

void vf_sessions_stop(void)
{
    pthread_mutex_lock(&sync_state.lock);
    if (sync_state.started) {
        if (write(sync_state.wake[1], "x", 1) != 1)
            vf_warn("sessions: cannot wake the sync thread");
        pthread_join(sync_state.tid, NULL);
        close(sync_state.wake[0]);
        close(sync_state.wake[1]);
        sync_state.wake[0] = sync_state.wake[1] = -1;
        sync_state.started = 0;
    }
    __atomic_store_n(&sync_state.ready, 0, __ATOMIC_RELEASE);
    vf_revset_free(&sync_state.set);
    pthread_mutex_unlock(&sync_state.lock);
}

int vf_sessions_ready(void)
{
    return __atomic_load_n(&sync_state.ready, __ATOMIC_ACQUIRE);
}

int vf_sessions_is_revoked(vf_thread_ctx_t *ctx, const char *sid)
{
    vf_revset_t *set = ensure_started(ctx->app);
    int64_t now = (int64_t)time(NULL);
    if (set && vf_revset_contains(set, sid, now))
        return 1;
    if (set && vf_sessions_ready())
        return 0;
    /* Not loaded yet: PostgreSQL decides; when it cannot, refuse. */
    const char *params[] = {sid};
    PGresult *res = NULL;
    int revoked = 1;
    if (vf_db_exec(ctx->db, &res, "SELECT revoked_at IS NOT NULL FROM auth_sessions WHERE id = $1", 1,
                   params) == 0 &&
        PQntuples(res) == 1)
        revoked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return revoked;
}

/* After COMMIT: this process refuses the sessions at once, the others when
 * the message arrives (or at their next reload if it is lost). */
static void announce_revoked(vf_thread_ctx_t *ctx, const char *ids)
{
    vf_revset_t *set = ensure_started(ctx->app);
    int64_t until = (int64_t)time(NULL) + keep_seconds(ctx->app->cfg);
    if (set)
        add_ids(ids, until);
    char channel[256];
    vf_redis_key(ctx->redis, channel, sizeof channel, "%s", CHANNEL);
    redisReply *rep = vf_redis_cmd(ctx->redis, "PUBLISH %s %s", channel, ids);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        vf_warn("sessions: cannot publish a revocation (%s); other processes learn it from PostgreSQL "
                "within %d s",
                rep && rep->str ? rep->str : vf_redis_last_error(ctx->redis), RELOAD_INTERVAL_S);
    if (rep)
        freeReplyObject(rep);
}

/* --------------------------------------------------------- database rows */

static int ttl_for(const vf_config_t *cfg, int remember)
{
    return remember ? cfg->auth.remember_ttl : cfg->auth.refresh_ttl;
}

/* Text for a column from a request header: printable ASCII only, bounded
 * (PostgreSQL refuses invalid UTF-8, and these are only for display). */
static void sanitize(char *out, size_t len, const char *in)
{
    size_t j = 0;
    for (size_t i = 0; in && in[i] && j + 1 < len; i++)
        out[j++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    out[j] = '\0';
}

static void fmt_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
}

int vf_session_create(vf_thread_ctx_t *ctx, int64_t user_id, int is_staff, int remember, const char *client_ip,
                      const char *user_agent, int64_t now, vf_session_head_t *out)
{
    memset(out, 0, sizeof *out);
    vf_token_new_id(out->sid);
    vf_token_new_id(out->jti);
    out->user_id = user_id;
    out->is_staff = is_staff;
    out->remember = remember;
    out->iat = now;
    out->exp = now + ttl_for(ctx->app->cfg, remember);

    char uid[24], iat[24], exp[24], ip[64], ua[256];
    fmt_i64(uid, user_id);
    fmt_i64(iat, out->iat);
    fmt_i64(exp, out->exp);
    sanitize(ip, sizeof ip, client_ip);
    sanitize(ua, sizeof ua, user_agent);
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    const char *sp[] = {out->sid, uid, remember ? "t" : "f", exp, out->jti, ip, ua};
    ret = vf_db_run(ctx->db,
                    "INSERT INTO auth_sessions (id, user_id, remember, expires_at, head_jti, client_ip, user_agent)"
                    " VALUES ($1, $2::bigint, $3::boolean, to_timestamp($4::bigint), $5, $6, $7)",
                    7, sp);
    if (ret == 0) {
        const char *tp[] = {out->jti, out->sid, iat, exp};
        ret = vf_db_run(ctx->db,
                        "INSERT INTO auth_refresh_tokens (jti, session_id, issued_at, expires_at)"
                        " VALUES ($1, $2, to_timestamp($3::bigint), to_timestamp($4::bigint))",
                        4, tp);
    }
    if (ret == 0)
        ret = vf_db_commit(ctx->db);
    if (ret < 0)
        vf_db_rollback(ctx->db);
    return ret;
}

/* The rest of vf_session_refresh, inside its transaction with the session
 * row locked.  Returns a vf_refresh_result_t or a negative errno. */
static int refresh_locked(vf_thread_ctx_t *ctx, const vf_token_claims_t *presented, int64_t now,
                          vf_session_head_t *out)
{
    const vf_config_t *cfg = ctx->app->cfg;
    PGresult *res = NULL;
    int ret;
    const char *sp[] = {presented->sid};
    ret = vf_db_exec(ctx->db, &res,
                     "SELECT s.user_id, s.remember, s.revoked_at IS NOT NULL, s.head_jti, u.is_active, u.is_staff"
                     " FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 FOR UPDATE OF s",
                     1, sp);
    if (ret < 0)
        goto out;
    if (PQntuples(res) != 1 || strtoll(PQgetvalue(res, 0, 0), NULL, 10) != presented->user_id ||
        PQgetvalue(res, 0, 2)[0] == 't') {
        ret = VF_REFRESH_INVALID;
        goto out;
    }
    snprintf(out->sid, sizeof out->sid, "%s", presented->sid);
    out->user_id = presented->user_id;
    out->remember = PQgetvalue(res, 0, 1)[0] == 't';
    out->is_staff = PQgetvalue(res, 0, 5)[0] == 't';
    int active = PQgetvalue(res, 0, 4)[0] == 't';
    char head[VF_TOKEN_ID_SIZE];
    snprintf(head, sizeof head, "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    res = NULL;
    if (!active) {
        const char *rp[] = {presented->sid};
        ret = vf_db_run(ctx->db,
                        "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'user inactive'"
                        " WHERE id = $1",
                        1, rp);
        if (ret == 0)
            ret = VF_REFRESH_INVALID;
        goto out;
    }

    const char *tp[] = {presented->jti, presented->sid};
    ret = vf_db_exec(ctx->db, &res,
                     "SELECT used_at IS NOT NULL, COALESCE(extract(epoch FROM used_at), 0)::bigint"
                     " FROM auth_refresh_tokens WHERE jti = $1 AND session_id = $2",
                     2, tp);
    if (ret < 0)
        goto out;
    if (PQntuples(res) != 1) {
        ret = VF_REFRESH_INVALID;
        goto out;
    }
    int used = PQgetvalue(res, 0, 0)[0] == 't';
    int64_t used_at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    res = NULL;

    char nowbuf[24], expbuf[24];
    fmt_i64(nowbuf, now);
    if (!used) {
        vf_token_new_id(out->jti);
        out->iat = now;
        out->exp = now + ttl_for(cfg, out->remember);
        fmt_i64(expbuf, out->exp);
        const char *up[] = {presented->jti, out->jti, nowbuf};
        ret = vf_db_run(ctx->db,
                        "UPDATE auth_refresh_tokens SET used_at = to_timestamp($3::bigint), replaced_by = $2"
                        " WHERE jti = $1",
                        3, up);
        const char *ip[] = {out->jti, out->sid, nowbuf, expbuf};
        if (ret == 0)
            ret = vf_db_run(ctx->db,
                            "INSERT INTO auth_refresh_tokens (jti, session_id, issued_at, expires_at)"
                            " VALUES ($1, $2, to_timestamp($3::bigint), to_timestamp($4::bigint))",
                            4, ip);
        const char *hp[] = {out->sid, out->jti, expbuf};
        if (ret == 0)
            ret = vf_db_run(ctx->db,
                            "UPDATE auth_sessions SET head_jti = $2, expires_at = to_timestamp($3::bigint)"
                            " WHERE id = $1",
                            3, hp);
        if (ret == 0)
            ret = VF_REFRESH_ROTATED;
        goto out;
    }
    if (now - used_at <= cfg->auth.refresh_grace) {
        const char *hp[] = {head};
        ret = vf_db_exec(ctx->db, &res,
                         "SELECT extract(epoch FROM issued_at)::bigint, extract(epoch FROM expires_at)::bigint"
                         " FROM auth_refresh_tokens WHERE jti = $1",
                         1, hp);
        if (ret < 0)
            goto out;
        if (PQntuples(res) != 1) {
            ret = VF_REFRESH_INVALID;
            goto out;
        }
        snprintf(out->jti, sizeof out->jti, "%s", head);
        out->iat = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->exp = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        ret = out->exp > now ? VF_REFRESH_GRACE : VF_REFRESH_INVALID;
        goto out;
    }
    const char *rp[] = {presented->sid};
    ret = vf_db_run(ctx->db,
                    "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'refresh token reuse'"
                    " WHERE id = $1",
                    1, rp);
    if (ret == 0)
        ret = VF_REFRESH_REUSED;
out:
    PQclear(res);
    return ret;
}

int vf_session_refresh(vf_thread_ctx_t *ctx, const vf_token_claims_t *presented, int64_t now,
                       vf_session_head_t *out)
{
    memset(out, 0, sizeof *out);
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    ret = refresh_locked(ctx, presented, now, out);
    if (ret >= 0) {
        int c = vf_db_commit(ctx->db);
        if (c < 0)
            ret = c;
    }
    if (ret < 0) {
        vf_db_rollback(ctx->db);
        return ret;
    }
    if (ret == VF_REFRESH_REUSED) {
        vf_warn("sessions: a rotated refresh token of session %s (user %lld) was presented again after the "
                "grace window: the session is revoked",
                presented->sid, (long long)presented->user_id);
        announce_revoked(ctx, presented->sid);
    }
    return ret;
}

int vf_session_revoke(vf_thread_ctx_t *ctx, const char *sid, const char *reason)
{
    const char *params[] = {sid, reason};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res,
                         "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2"
                         " WHERE id = $1 AND revoked_at IS NULL",
                         2, params);
    if (ret == 0)
        ret = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    if (ret == 1)
        announce_revoked(ctx, sid);
    return ret;
}

int vf_session_revoke_user(vf_thread_ctx_t *ctx, int64_t user_id, const char *reason)
{
    char uid[24], keep[24];
    fmt_i64(uid, user_id);
    fmt_i64(keep, keep_seconds(ctx->app->cfg));
    const char *params[] = {uid, reason, keep};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res,
                         "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2"
                         " WHERE user_id = $1::bigint AND revoked_at IS NULL"
                         " AND expires_at > now() - make_interval(secs => $3::int) RETURNING id",
                         3, params);
    if (ret < 0) {
        PQclear(res);
        return ret;
    }
    int n = PQntuples(res);
    /* One message for all of them: "sid sid sid". */
    char *ids = NULL;
    size_t len = 0;
    FILE *f = n > 0 ? open_memstream(&ids, &len) : NULL;
    for (int i = 0; f && i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", PQgetvalue(res, i, 0));
    PQclear(res);
    if (f && fclose(f) == 0 && ids)
        announce_revoked(ctx, ids);
    else if (n > 0)
        ret = -ENOMEM;
    free(ids);
    return ret < 0 ? ret : n;
}

int vf_sessions_purge(vf_db_t *db, int access_ttl)
{
    char keep[24];
    fmt_i64(keep, (int64_t)access_ttl + CLOCK_SKEW);
    const char *params[] = {keep};
    PGresult *res = NULL;
    int total = 0;
    /* A session row must outlive both its refresh tokens and, once revoked,
     * every access token issued before the revocation. */
    int ret = vf_db_exec(db, &res,
                         "DELETE FROM auth_sessions WHERE expires_at < now() - make_interval(secs => $1::int)"
                         " AND (revoked_at IS NULL OR revoked_at < now() - make_interval(secs => $1::int))",
                         1, params);
    if (ret == 0)
        total += atoi(PQcmdTuples(res));
    PQclear(res);
    res = NULL;
    if (ret < 0)
        return ret;
    /* Rotated tokens past their exp are refused before the database is
     * asked, so their rows no longer tell anything. */
    ret = vf_db_exec(db, &res,
                     "DELETE FROM auth_refresh_tokens WHERE expires_at < now() - make_interval(secs => $1::int)",
                     1, params);
    if (ret == 0)
        total += atoi(PQcmdTuples(res));
    PQclear(res);
    return ret < 0 ? ret : total;
}
