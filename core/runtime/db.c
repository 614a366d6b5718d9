/*
 * db.c - see db.h.  A lost connection is noticed on the next call (the
 * status is CONNECTION_BAD after a failed statement) and re-established
 * then; a failed reconnect is retried at most once a second so that a dead
 * server costs callers one quick failure, not a connect timeout each.
 */
#include "config.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct vf_db {
    PGconn *conn;
    char *conninfo;
    char *password;
    int connect_timeout;
    int64_t retry_after_us;
    vf_complain_t complain;
    char last_error[512];
};

/* libpq prints notices to stderr by default; route them to our log. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    vf_debug("postgresql: %.*s", (int)strcspn(message, "\n"), message);
}

vf_db_t *vf_db_new_conninfo(const char *conninfo, const char *password, int connect_timeout)
{
    vf_db_t *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->conninfo = strdup(conninfo);
    db->password = password ? strdup(password) : NULL;
    db->connect_timeout = connect_timeout > 0 ? connect_timeout : 5;
    if (!db->conninfo || (password && !db->password))
        vf_db_free(&db);
    return db;
}

vf_db_t *vf_db_new(const vf_config_t *cfg)
{
    return vf_db_new_conninfo(cfg->database.conninfo, cfg->database.password,
                              cfg->database.connect_timeout);
}

void vf_db_free(vf_db_t **pdb)
{
    vf_db_t *db = *pdb;
    if (!db)
        return;
    if (db->conn)
        PQfinish(db->conn);
    free(db->conninfo);
    if (db->password) {
        explicit_bzero(db->password, strlen(db->password));
        free(db->password);
    }
    free(db);
    *pdb = NULL;
}

static int connect_now(vf_db_t *db)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", db->connect_timeout);
    /* expand_dbname lets conninfo be a full connection string or URI while
     * the password and timeout stay out of it (and out of any log line). */
    const char *keys[] = {"dbname", "connect_timeout", "password", "application_name", NULL};
    const char *vals[] = {db->conninfo, timeout, db->password, "videoflix", NULL};
    if (!db->password) {
        keys[2] = "application_name";
        vals[2] = "videoflix";
        keys[3] = NULL;
        vals[3] = NULL;
    }
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(db->last_error, sizeof db->last_error, "%s",
                 c ? PQerrorMessage(c) : "out of memory");
        db->last_error[strcspn(db->last_error, "\n")] = '\0';
        if (vf_complain_should_log(&db->complain, 60))
            vf_error("database: cannot connect: %s", db->last_error);
        if (c)
            PQfinish(c);
        db->retry_after_us = vf_mono_us() + 1000000;
        return -ECONNRESET;
    }
    PQsetNoticeProcessor(c, notice_to_log, NULL);
    if (db->complain.interval > 0)
        vf_info("database: connected again");
    vf_complain_reset(&db->complain);
    db->conn = c;
    return 0;
}

PGconn *vf_db_conn(vf_db_t *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return db->conn;
    if (db->conn) {
        vf_metric_db_reconnect();
        PQfinish(db->conn);
        db->conn = NULL;
    }
    if (vf_mono_us() < db->retry_after_us)
        return NULL;
    return connect_now(db) == 0 ? db->conn : NULL;
}

const char *vf_db_last_error(vf_db_t *db) { return db->last_error; }

/* A read outside a transaction, or the BEGIN of one, has nothing to undo or
 * apply twice, so one that failed on a connection the server dropped (a
 * restart since the last statement: an idle pooled connection learns it
 * only now) is sent again on a fresh one.  A write outside a transaction is
 * not: it may have been applied before the connection broke. */
static int safe_to_resend(const char *sql, PGconn *c)
{
    return (strncasecmp(sql, "SELECT", 6) == 0 || strcmp(sql, "BEGIN") == 0) &&
           PQtransactionStatus(c) == PQTRANS_IDLE;
}

int vf_db_exec(vf_db_t *db, PGresult **res, const char *sql, int nparams, const char *const *params)
{
    *res = NULL;
    PGconn *c = vf_db_conn(db);
    if (!c)
        return -ECONNRESET;
    int retry = safe_to_resend(sql, c);
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    if (retry && PQstatus(c) != CONNECTION_OK) {
        PQclear(r);
        r = NULL;
        if (!(c = vf_db_conn(db)))
            return -ECONNRESET;
        r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    }
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *res = r;
        return 0;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(db->last_error, sizeof db->last_error, "%s", PQerrorMessage(c));
        db->last_error[strcspn(db->last_error, "\n")] = '\0';
        vf_warn("database: connection lost: %s", db->last_error);
        PQclear(r);
        return -ECONNRESET;
    }
    snprintf(db->last_error, sizeof db->last_error, "%s",
             r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    db->last_error[strcspn(db->last_error, "\n")] = '\0';
    const char *state = vf_db_sqlstate(r);
    /* Constraint violations are answers the caller handles, not faults. */
    if (!state || strncmp(state, "23", 2) != 0)
        vf_error("database: %s (SQLSTATE %s)", db->last_error, state ? state : "?");
    *res = r;
    return -EIO;
}

int vf_db_run(vf_db_t *db, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = NULL;
    int ret = vf_db_exec(db, &r, sql, nparams, params);
    PQclear(r);
    return ret;
}

const char *vf_db_sqlstate(const PGresult *res)
{
    return res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
}

int vf_db_begin(vf_db_t *db) { return vf_db_run(db, "BEGIN", 0, NULL); }
int vf_db_commit(vf_db_t *db) { return vf_db_run(db, "COMMIT", 0, NULL); }

void vf_db_rollback(vf_db_t *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK &&
        PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        vf_db_run(db, "ROLLBACK", 0, NULL);
}

int vf_db_ping(vf_db_t *db, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt == 1)
            db->retry_after_us = 0; /* a restarted server: try a fresh connection now */
        int ret = vf_db_run(db, "SELECT 1", 0, NULL);
        if (ret == 0)
            return 0;
        if (ret != -ECONNRESET)
            break;
    }
    snprintf(err, errlen, "%s", db->last_error[0] ? db->last_error : "unavailable");
    return -ECONNRESET;
}

/* ---------------------------------------------------------------- migrations */

/* Any fixed number: the lock only has to be the same in every process. */
#define MIGRATION_LOCK_KEY "7412093551"

static int is_migration_name(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
           name[2] >= '0' && name[2] <= '9' && name[3] == '_' && strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char block[8192];
    size_t n;
    int ok = mem != NULL;
    while (ok && (n = fread(block, 1, sizeof block, f)) > 0)
        ok = fwrite(block, 1, n, mem) == n;
    if (ferror(f))
        ok = 0;
    fclose(f);
    if (mem)
        fclose(mem);
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int apply_one(vf_db_t *db, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = read_file(path);
    if (!sql) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -EIO;
    }
    int ret = vf_db_begin(db);
    if (ret == 0) {
        /* A migration file holds several statements: PQexec runs them as one
         * simple-query string.  It is our own file, never user data. */
        PGresult *r = PQexec(vf_db_conn(db), sql);
        if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)) {
            snprintf(err, errlen, "%s: %s", path, r ? PQresultErrorMessage(r) : "out of memory");
            err[strcspn(err, "\n")] = '\0';
            ret = -EIO;
        }
        PQclear(r);
    }
    if (ret == 0) {
        char version[4] = {name[0], name[1], name[2], '\0'};
        const char *params[] = {version, name};
        ret = vf_db_run(db, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", 2, params);
        if (ret < 0)
            snprintf(err, errlen, "%s: cannot record: %s", name, vf_db_last_error(db));
    }
    if (ret == 0)
        ret = vf_db_commit(db);
    if (ret < 0)
        vf_db_rollback(db);
    free(sql);
    return ret;
}

int vf_db_migrate(vf_db_t *db, const char *dir, int *applied, char *err, size_t errlen)
{
    char **names = NULL;
    size_t nnames = 0;
    int ret = -EIO;
    int locked = 0;
    *applied = 0;

    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open migrations folder: %s", dir, strerror(errno));
        return -ENOENT;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_migration_name(de->d_name))
            continue;
        char **nn = realloc(names, (nnames + 1) * sizeof *nn);
        if (!nn || !(nn[nnames] = strdup(de->d_name))) {
            if (nn)
                names = nn;
            closedir(d);
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        names = nn;
        nnames++;
    }
    closedir(d);
    if (nnames > 1)
        qsort(names, nnames, sizeof *names, cmp_names);

    if (!vf_db_conn(db)) {
        snprintf(err, errlen, "cannot connect to the database: %s", vf_db_last_error(db));
        ret = -ECONNRESET;
        goto out;
    }
    if (vf_db_run(db, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", 0, NULL) < 0) {
        snprintf(err, errlen, "cannot take the migration lock: %s", vf_db_last_error(db));
        goto out;
    }
    locked = 1;
    if (vf_db_run(db,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version integer PRIMARY KEY, name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL) < 0) {
        snprintf(err, errlen, "cannot create schema_migrations: %s", vf_db_last_error(db));
        goto out;
    }
    for (size_t i = 0; i < nnames; i++) {
        char version[4] = {names[i][0], names[i][1], names[i][2], '\0'};
        const char *params[] = {version};
        PGresult *r = NULL;
        if (vf_db_exec(db, &r, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, params) < 0) {
            PQclear(r);
            snprintf(err, errlen, "cannot read schema_migrations: %s", vf_db_last_error(db));
            goto out;
        }
        int done = PQntuples(r) > 0;
        PQclear(r);
        if (done)
            continue;
        if (apply_one(db, dir, names[i], err, errlen) < 0)
            goto out;
        vf_info("migrate: applied %s", names[i]);
        (*applied)++;
    }
    ret = 0;
out:
    if (locked)
        vf_db_run(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", 0, NULL);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return ret;
}
