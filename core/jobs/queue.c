/*
 * queue.c - creating jobs: the outbox table, pushing its rows to Redis (on
 * flush after COMMIT, and by the relay thread), and the relay itself.
 *
 * Every job goes through the outbox, even when Redis is up: a job must exist
 * if and only if the change that caused it committed.  Pushing is
 * idempotent (the PUSH script ignores a job id Redis already knows), so a row
 * whose deletion failed after its push is harmless when pushed again.
 */
#include "config.h"
#include "jobs/queue_internal.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The jobs this thread created since its last flush.  When a transaction
 * creates more than fit, flush pushes the whole outbox instead. */
#define PENDING_MAX 64
static __thread struct {
    char ids[PENDING_MAX][32];
    int n;
    int overflow;
} pending;

/* The outbox INSERT runs once per job inside callers' transactions, so it
 * is prepared once per connection.  A failed statement would abort the
 * caller's transaction, so whether the connection has it is asked
 * (pg_prepared_statements), never found out by an error.  A connection is
 * known by its address and server process: a reconnect may reuse the
 * address, not the backend pid. */
#define OUTBOX_INSERT_NAME "vf_queue_outbox_insert"
#define OUTBOX_INSERT "INSERT INTO job_outbox (job_id, type, payload) VALUES ($1, $2, $3::jsonb)"
static __thread struct {
    PGconn *conn;
    int backend_pid;
} prepared_on;

static int check_result(PGconn *conn, PGresult *res, ExecStatusType want, const char *what)
{
    if (res && PQresultStatus(res) == want)
        return 0;
    if (PQstatus(conn) != CONNECTION_OK)
        return -ECONNRESET;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    vf_error("queue: %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
    return -EIO;
}

static int prepare_outbox_insert(PGconn *conn)
{
    if (prepared_on.conn == conn && prepared_on.backend_pid == PQbackendPID(conn))
        return 0;
    const char *name[] = {OUTBOX_INSERT_NAME};
    PGresult *res = PQexecParams(conn, "SELECT 1 FROM pg_prepared_statements WHERE name = $1", 1, NULL, name,
                                 NULL, NULL, 0);
    int ret = check_result(conn, res, PGRES_TUPLES_OK, "looking for the outbox statement");
    int have = ret == 0 && PQntuples(res) == 1;
    PQclear(res);
    if (ret == 0 && !have) {
        res = PQprepare(conn, OUTBOX_INSERT_NAME, OUTBOX_INSERT, 3, NULL);
        ret = check_result(conn, res, PGRES_COMMAND_OK, "preparing the outbox insert");
        PQclear(res);
    }
    if (ret == 0) {
        prepared_on.conn = conn;
        prepared_on.backend_pid = PQbackendPID(conn);
    }
    return ret;
}

static int insert_outbox_row(vf_db_t *db, const char *const params[3])
{
    PGconn *conn = vf_db_conn(db);
    if (!conn)
        return -ECONNRESET;
    int ret = prepare_outbox_insert(conn);
    if (ret < 0)
        return ret;
    PGresult *res = PQexecPrepared(conn, OUTBOX_INSERT_NAME, 3, params, NULL, NULL, 0);
    ret = check_result(conn, res, PGRES_COMMAND_OK, "recording a job in the outbox");
    PQclear(res);
    return ret;
}

static int valid_type(const char *type)
{
    size_t n = type ? strlen(type) : 0;
    return n > 0 && n < 64 && strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int vf_queue_enqueue_tx(vf_thread_ctx_t *ctx, const char *type, json_t *payload, char id_out[VF_JOB_ID_SIZE])
{
    if (!valid_type(type))
        return -EINVAL;
    char id[VF_JOB_ID_SIZE];
    int ret = vf_job_new_id(id);
    if (ret < 0)
        return ret;
    json_t *empty = payload ? NULL : json_object();
    char *text = json_dumps(payload ? payload : empty, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(empty);
    if (!text)
        return -ENOMEM;
    const char *params[] = {id, type, text};
    ret = insert_outbox_row(ctx->db, params);
    free(text);
    if (ret < 0)
        return ret;
    if (pending.n < PENDING_MAX)
        snprintf(pending.ids[pending.n++], sizeof pending.ids[0], "%.31s", id);
    else
        pending.overflow = 1;
    if (id_out)
        snprintf(id_out, VF_JOB_ID_SIZE, "%s", id);
    return 0;
}

int vf_queue_enqueue(vf_thread_ctx_t *ctx, const char *type, json_t *payload, char id_out[VF_JOB_ID_SIZE])
{
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    ret = vf_queue_enqueue_tx(ctx, type, payload, id_out);
    if (ret == 0)
        ret = vf_db_commit(ctx->db);
    if (ret < 0) {
        vf_db_rollback(ctx->db);
        return ret;
    }
    vf_queue_flush(ctx);
    return 0;
}

static void push_args(const PGresult *res, int row, const char *args[4])
{
    for (int col = 0; col < 4; col++)
        args[col] = PQgetvalue(res, row, col);
}

/* Push one batch of rows chosen by `where` (deleting them in a transaction
 * that commits only once Redis has them).  Returns the rows pushed. */
static int push_rows(vf_thread_ctx_t *ctx, const char *where, int nparams, const char *const *params,
                     int limit)
{
    char base[VF_QUEUE_BASE_SIZE];
    vf_queue_base(ctx, base);
    char sql[512];
    snprintf(sql, sizeof sql,
             "WITH d AS (DELETE FROM job_outbox WHERE seq IN (SELECT seq FROM job_outbox WHERE %s"
             " ORDER BY seq LIMIT %d FOR UPDATE SKIP LOCKED)"
             " RETURNING seq, job_id, type, payload::text,"
             " (extract(epoch FROM created_at) * 1000)::bigint AS created_ms)"
             " SELECT job_id, type, payload, created_ms FROM d ORDER BY seq",
             where, limit);
    PGresult *res = NULL;
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    ret = vf_db_exec(ctx->db, &res, sql, nparams, params);
    if (ret < 0)
        goto out;
    int rows = PQntuples(res), appended = 0;
    const char *args[4];
    for (int i = 0; i < rows; i++) {
        push_args(res, i, args);
        ret = vf_qscript_append(ctx->redis, base, VF_QS_PUSH, 4, args);
        if (ret < 0)
            break;
        appended++;
    }
    /* Every appended command's reply is read before anything else is sent,
     * so that none is left for the connection's next user. */
    int noscript = 0;
    for (int i = 0; i < appended; i++) {
        redisReply *rep = vf_redis_get_reply(ctx->redis);
        if (!rep) {
            ret = -ECONNRESET;
        } else if (vf_qscript_is_noscript(rep)) {
            noscript = 1;
        } else if (rep->type != REDIS_REPLY_INTEGER && ret == 0) {
            vf_error("queue: cannot push job %s: %s", PQgetvalue(res, i, 0),
                     rep->str ? rep->str : "unexpected reply");
            ret = -EIO;
        }
        if (rep)
            freeReplyObject(rep);
    }
    /* Redis forgot the script (it restarted): push one by one, which loads
     * it; rows already pushed are recognised and skipped. */
    for (int i = 0; noscript && ret == 0 && i < rows; i++) {
        push_args(res, i, args);
        redisReply *rep = vf_qscript_call(ctx->redis, base, VF_QS_PUSH, 4, args);
        if (!rep || rep->type != REDIS_REPLY_INTEGER)
            ret = rep ? -EIO : -ECONNRESET;
        if (rep)
            freeReplyObject(rep);
    }
    if (ret == 0)
        ret = vf_db_commit(ctx->db);
    if (ret == 0)
        ret = rows;
out:
    if (ret < 0)
        vf_db_rollback(ctx->db);
    PQclear(res);
    return ret;
}

int vf_queue_relay_once(vf_thread_ctx_t *ctx, int limit)
{
    if (!vf_redis_context(ctx->redis))
        return -ECONNRESET;
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res, "SELECT EXISTS (SELECT 1 FROM job_outbox)", 0, NULL);
    int any = ret == 0 && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (ret < 0 || !any)
        return ret;
    return push_rows(ctx, "true", 0, NULL, limit);
}

static void flush_pending_ids(vf_thread_ctx_t *ctx)
{
    size_t len = (size_t)pending.n * 33 + 3;
    char *list = malloc(len);
    if (!list)
        return;
    size_t off = 0;
    list[off++] = '{';
    for (int i = 0; i < pending.n; i++)
        off += (size_t)snprintf(list + off, len - off, "%s%s", i ? "," : "", pending.ids[i]);
    snprintf(list + off, len - off, "}");
    const char *params[] = {list};
    push_rows(ctx, "job_id = ANY ($1::text[])", 1, params, PENDING_MAX);
    free(list);
}

void vf_queue_flush(vf_thread_ctx_t *ctx)
{
    if (pending.n == 0 && !pending.overflow)
        return;
    PGconn *conn = vf_db_conn(ctx->db);
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        vf_warn("queue: vf_queue_flush called inside a transaction; the relay will push the jobs");
        return;
    }
    /* Redis down: leave the rows to the relay and answer at once. */
    if (conn && vf_redis_context(ctx->redis)) {
        if (pending.overflow) {
            while (vf_queue_relay_once(ctx, 500) == 500)
                ;
        } else {
            flush_pending_ids(ctx);
        }
    }
    pending.n = 0;
    pending.overflow = 0;
}

/* ----------------------------------------------------------------- relay */

#define RELAY_BATCH 500
#define RELAY_INTERVAL_S 1

struct vf_outbox_relay {
    vf_app_t *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
};

static void *relay_main(void *arg)
{
    vf_outbox_relay_t *relay = arg;
    vf_thread_ctx_t ctx;
    if (vf_thread_ctx_init(&ctx, relay->app, -1) < 0) {
        vf_error("queue: the outbox relay cannot start: out of memory");
        return NULL;
    }
    pthread_mutex_lock(&relay->lock);
    while (!relay->stop) {
        pthread_mutex_unlock(&relay->lock);
        int n, total = 0;
        while ((n = vf_queue_relay_once(&ctx, RELAY_BATCH)) > 0) {
            total += n;
            if (n < RELAY_BATCH)
                break;
        }
        if (total > 0)
            vf_info("queue: pushed %d jobs from the outbox to Redis", total);
        pthread_mutex_lock(&relay->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += RELAY_INTERVAL_S;
        while (!relay->stop && pthread_cond_timedwait(&relay->wake, &relay->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&relay->lock);
    vf_thread_ctx_fini(&ctx);
    return NULL;
}

vf_outbox_relay_t *vf_outbox_relay_start(vf_app_t *app)
{
    vf_outbox_relay_t *relay = calloc(1, sizeof *relay);
    if (!relay)
        return NULL;
    relay->app = app;
    pthread_condattr_t attr;
    int ok = pthread_condattr_init(&attr) == 0;
    ok = ok && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_cond_init(&relay->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok) {
        free(relay);
        return NULL;
    }
    pthread_mutex_init(&relay->lock, NULL);
    if (pthread_create(&relay->thread, NULL, relay_main, relay) != 0) {
        pthread_cond_destroy(&relay->wake);
        pthread_mutex_destroy(&relay->lock);
        free(relay);
        return NULL;
    }
    return relay;
}

void vf_outbox_relay_stop(vf_outbox_relay_t **prelay)
{
    vf_outbox_relay_t *relay = *prelay;
    if (!relay)
        return;
    pthread_mutex_lock(&relay->lock);
    relay->stop = 1;
    pthread_cond_signal(&relay->wake);
    pthread_mutex_unlock(&relay->lock);
    pthread_join(relay->thread, NULL);
    pthread_cond_destroy(&relay->wake);
    pthread_mutex_destroy(&relay->lock);
    free(relay);
    *prelay = NULL;
}
