/*
 * check_migrate.c - migrations against a real PostgreSQL: applied in order,
 * once; a second run changes nothing; several processes at once apply each
 * file exactly once; a failing file rolls back whole and stops the run; the
 * project's own migrations apply cleanly twice.
 */
#include "config.h"
#include "vftest.h"
#include "core/runtime/db.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *conninfo;
static char *dir;

static void write_file(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    conninfo = vft_pg_create("vf_migrate");
    ck_assert_ptr_nonnull(conninfo);
    dir = vft_tmpdir("migrations");
    write_file("001_first.sql", "CREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a VALUES (1);\n");
    write_file("002_second.sql", "ALTER TABLE a ADD COLUMN name text;\nINSERT INTO a VALUES (2, 'two');\n");
    write_file("README", "not a migration");
}

static void teardown(void)
{
    vft_pg_drop(conninfo);
    free(conninfo);
    vft_rmrf(dir);
    free(dir);
}

static long count(vf_db_t *db, const char *sql)
{
    PGresult *r = NULL;
    ck_assert_int_eq(vf_db_exec(db, &r, sql, 0, NULL), 0);
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

START_TEST(applies_once_in_order)
{
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    char err[512];
    int applied = -1;
    ck_assert_msg(vf_db_migrate(db, dir, &applied, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(applied, 2);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 2);
    ck_assert_int_eq(vf_db_migrate(db, dir, &applied, err, sizeof err), 0);
    ck_assert_int_eq(applied, 0);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 2);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM schema_migrations"), 2);
    vf_db_free(&db);
}
END_TEST

START_TEST(concurrent_runs_apply_each_once)
{
    enum { N = 4 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
            char err[512];
            int applied;
            int rc = vf_db_migrate(db, dir, &applied, err, sizeof err);
            if (rc != 0)
                fprintf(stderr, "child: %s\n", err);
            vf_db_free(&db);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < N; i++) {
        int status;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 2);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM schema_migrations"), 2);
    vf_db_free(&db);
}
END_TEST

START_TEST(failing_file_rolls_back)
{
    write_file("003_broken.sql", "INSERT INTO a VALUES (3, 'three');\nSELECT no_such_column FROM a;\n");
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    char err[512] = "";
    int applied = 0;
    ck_assert_int_lt(vf_db_migrate(db, dir, &applied, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "003_broken.sql") && strstr(err, "no_such_column"), "%s", err);
    ck_assert_int_eq(applied, 2);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 2);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM schema_migrations"), 2);
    vf_db_free(&db);
}
END_TEST

START_TEST(project_migrations_apply_twice)
{
    const char *src = vft_env_or_skip("VF_SRCDIR");
    char sqldir[1024];
    snprintf(sqldir, sizeof sqldir, "%s/sql", src);
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    char err[512];
    int applied = 0;
    ck_assert_msg(vf_db_migrate(db, sqldir, &applied, err, sizeof err) == 0, "%s", err);
    long first = count(db, "SELECT count(*) FROM schema_migrations");
    ck_assert_int_eq(first, applied);
    ck_assert_int_eq(vf_db_migrate(db, sqldir, &applied, err, sizeof err), 0);
    ck_assert_int_eq(applied, 0);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM schema_migrations"), first);
    vf_db_free(&db);
}
END_TEST

START_TEST(unreachable_server_is_an_error)
{
    int port = vft_free_port();
    char ci[128];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=x user=x", port);
    vf_db_t *db = vf_db_new_conninfo(ci, NULL, 2);
    char err[512] = "";
    int applied = 0;
    ck_assert_int_lt(vf_db_migrate(db, dir, &applied, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "cannot connect") != NULL, "%s", err);
    ck_assert_int_lt(vf_db_ping(db, err, sizeof err), 0);
    vf_db_free(&db);
}
END_TEST

static Suite *migrate_suite(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("postgresql");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, applies_once_in_order);
    tcase_add_test(tc, concurrent_runs_apply_each_once);
    tcase_add_test(tc, failing_file_rolls_back);
    tcase_add_test(tc, project_migrations_apply_twice);
    tcase_add_test(tc, unreachable_server_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(migrate_suite)
