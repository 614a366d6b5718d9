/*
 * db.h - one PostgreSQL connection (libpq) with reconnection, parameterised
 * queries and transactions.  One vf_db_t per thread; never shared.
 * Owns: connecting, reconnecting after a server restart, turning libpq
 * failures into log lines and error codes.
 * Must not: build SQL from user data (every value goes through params).
 */
#ifndef VF_DB_H
#define VF_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "config/conf.h"

typedef struct vf_db vf_db_t;

/* Connects lazily: creating never fails because the server is down. */
vf_db_t *vf_db_new(const vf_config_t *cfg);
/* With an explicit conninfo (tests, migrations to another database). */
vf_db_t *vf_db_new_conninfo(const char *conninfo, const char *password, int connect_timeout);
void vf_db_free(vf_db_t **db);

/* The live connection, reconnecting if it was lost; NULL when the server
 * cannot be reached (then *err explains, if err is not NULL). */
PGconn *vf_db_conn(vf_db_t *db);
const char *vf_db_last_error(vf_db_t *db);

/* Run one statement with text parameters (NULL = SQL NULL).
 * Returns 0 and the result in *res (PGRES_TUPLES_OK or COMMAND_OK);
 * -ECONNRESET when the server is unreachable (*res = NULL);
 * -EIO on an SQL error, with the failed result in *res so that the caller
 * can read its SQLSTATE (vf_db_sqlstate).  The caller PQclear()s *res. */
int vf_db_exec(vf_db_t *db, PGresult **res, const char *sql, int nparams, const char *const *params);
/* The same without a result to read. */
int vf_db_run(vf_db_t *db, const char *sql, int nparams, const char *const *params);
const char *vf_db_sqlstate(const PGresult *res);
#define VF_SQLSTATE_UNIQUE_VIOLATION "23505"
#define VF_SQLSTATE_SERIALIZATION_FAILURE "40001"

int vf_db_begin(vf_db_t *db);
int vf_db_commit(vf_db_t *db);
void vf_db_rollback(vf_db_t *db);

/* SELECT 1, reconnecting once if needed.  0, or -ECONNRESET with err. */
int vf_db_ping(vf_db_t *db, char *err, size_t errlen);

/* Apply every migration in dir not yet recorded in schema_migrations, each
 * in its own transaction, under an advisory lock so that several hosts can
 * run it at once.  *applied counts the files applied. */
int vf_db_migrate(vf_db_t *db, const char *dir, int *applied, char *err, size_t errlen);

#endif
