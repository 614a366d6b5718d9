/*
 * check_systemd.c - serve and worker under a service manager, with the
 * manager played by this test: a datagram socket bound here is
 * NOTIFY_SOCKET.  The server says READY=1 only once PostgreSQL answers
 * (not while it is unreachable), pings WATCHDOG=1 at half of WATCHDOG_USEC,
 * says STOPPING=1 on SIGTERM; SIGHUP re-reads the log settings (here: text
 * to JSON) and reopens log.file after it was moved, as logrotate does.
 * The worker does the same.
 */
#include "config.h"
#include "vftest.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *dir;
static int notify_fd = -1;

static void setup(void)
{
    dir = vft_tmpdir("systemd");
    ck_assert_ptr_nonnull(dir);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    ck_assert_int_lt(snprintf(addr.sun_path, sizeof addr.sun_path, "%s/notify", dir), (int)sizeof addr.sun_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(notify_fd, 0);
    ck_assert_int_eq(bind(notify_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    setenv("NOTIFY_SOCKET", addr.sun_path, 1);
    setenv("WATCHDOG_USEC", "400000", 1);
    unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
    if (notify_fd >= 0)
        close(notify_fd);
    vft_rmrf(dir);
    free(dir);
}

/* Wait up to timeout_ms for a datagram holding the line `want`; every
 * datagram seen is appended to `seen` (for messages).  1 when found. */
static int await_state(const char *want, int timeout_ms, char *seen, size_t seenlen)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        struct pollfd p = {.fd = notify_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char buf[1024];
        ssize_t n = recv(notify_fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        size_t used = strlen(seen);
        snprintf(seen + used, seenlen - used, "[%s] ", buf);
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (strcmp(line, want) == 0)
                return 1;
    }
    return 0;
}

static char *read_text(const char *path)
{
    size_t len = 0;
    return vft_read_file(path, &len);
}

static char *write_config(const char *conninfo, const char *logfile, int port)
{
    char extra[1024];
    snprintf(extra, sizeof extra,
             "server = { port = %d; threads = 1; };\n"
             "auth = { secret_key = \"systemd-test-secret-0123456789abcdef\"; };\n",
             port);
    const char *redis = vft_env_or_skip("VF_TEST_REDIS_PORT");
    char *cfg = vft_write_config(dir, conninfo, atoi(redis), extra);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(vft_sh(NULL, "sed -i 's|^log = { level = \"[a-z]*\"; };|log = { level = \"info\"; "
                                  "file = \"%s\"; };|' %s", logfile, cfg), 0);
    return cfg;
}

/* Move the log away, switch the file to JSON, SIGHUP: the new file holds
 * JSON lines from then on, the moved one nothing after the signal. */
static void check_sighup(int pid, const char *cfg, const char *logfile, int port)
{
    char moved[1024], url[256];
    snprintf(moved, sizeof moved, "%s.1", logfile);
    ck_assert_int_eq(rename(logfile, moved), 0);
    ck_assert_int_eq(vft_sh(NULL, "sed -i 's|^log = { level = \"info\";|log = { level = \"info\"; format = \"json\";|' %s",
                            cfg), 0);
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    char *now = NULL;
    for (int i = 0; i < 100; i++) {
        free(now);
        now = read_text(logfile);
        if (now && strstr(now, "log settings re-read"))
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(now && strstr(now, "log settings re-read"), "no reload line in the reopened %s", logfile);
    free(now);
    long status = 0;
    if (port) {
        vft_response_t resp;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/health/", port);
        ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &resp), 0);
        status = resp.status;
        vft_response_free(&resp);
    }
    ck_assert_int_eq(kill(pid, 0), 0); /* SIGHUP did not end it */
    char *old = read_text(moved);
    ck_assert_ptr_nonnull(old);
    ck_assert_msg(strstr(old, "SIGHUP received") != NULL, "%s", old);
    ck_assert_msg(strstr(old, "re-read") == NULL && strstr(old, "/health/") == NULL,
                  "written to the moved file after SIGHUP: %s", old);
    free(old);
    now = read_text(logfile);
    ck_assert_ptr_nonnull(now);
    if (port)
        ck_assert_msg(strstr(now, "\"path\":\"/health/\"") != NULL, "no JSON access line (status %ld): %s", status,
                      now);
    /* strtok_r cuts the text into lines: the search above comes first. */
    for (char *save = NULL, *line = strtok_r(now, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        ck_assert_msg(o != NULL, "after SIGHUP, not JSON: %s", line);
        json_decref(o);
    }
    free(now);
}

/* Two WATCHDOG=1 pings within 3 s (the test sets WATCHDOG_USEC to 0.4 s). */
static void expect_watchdog_pings(void)
{
    char seen[8192] = "";
    for (int i = 0; i < 2; i++)
        ck_assert_msg(await_state("WATCHDOG=1", 1500, seen, sizeof seen), "%d WATCHDOG=1 pings; saw %s", i, seen);
}

/* SIGTERM: STOPPING=1 first, then exit 0 within timeout_ms. */
static void expect_clean_stop(int pid, int timeout_ms)
{
    char seen[8192] = "";
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_msg(await_state("STOPPING=1", 10000, seen, sizeof seen), "no STOPPING=1; saw %s", seen);
    ck_assert_int_eq(vft_stop(pid, 0, timeout_ms), 0);
}

START_TEST(server_ready_watchdog_reload_stop)
{
    const char *dsn = vft_env_or_skip("VF_TEST_PG_DSN");
    char logfile[1024], seen[8192] = "";
    snprintf(logfile, sizeof logfile, "%s/server.log", dir);
    int port = vft_free_port();
    char *cfg = write_config(dsn, logfile, port);
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", cfg, "serve", NULL};
    int pid = vft_spawn(argv, NULL);
    ck_assert_int_gt(pid, 0);
    ck_assert_msg(await_state("READY=1", 20000, seen, sizeof seen), "no READY=1; saw %s", seen);
    /* The listener is open by then. */
    ck_assert_int_eq(vft_wait_port(port, 100), 0);
    expect_watchdog_pings();
    check_sighup(pid, cfg, logfile, port);
    /* The reload is announced, then READY=1 again. */
    seen[0] = '\0';
    ck_assert_msg(await_state("RELOADING=1", 3000, seen, sizeof seen), "no RELOADING=1; saw %s", seen);
    ck_assert_msg(await_state("READY=1", 3000, seen, sizeof seen), "no READY=1 after the reload; saw %s", seen);
    expect_clean_stop(pid, 15000);
    free(cfg);
}
END_TEST

/* PostgreSQL unreachable: the server listens but is not READY. */
START_TEST(server_not_ready_without_database)
{
    char logfile[1024], seen[8192] = "";
    snprintf(logfile, sizeof logfile, "%s/server.log", dir);
    int port = vft_free_port();
    char *cfg = write_config("host=127.0.0.1 port=1 dbname=unused connect_timeout=1", logfile, port);
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", cfg, "serve", NULL};
    int pid = vft_spawn(argv, NULL);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(vft_wait_port(port, 15000), 0);
    ck_assert_msg(!await_state("READY=1", 3000, seen, sizeof seen), "READY=1 without PostgreSQL; saw %s", seen);
    ck_assert_msg(strstr(seen, "waiting for PostgreSQL") != NULL, "no STATUS saying why; saw %s", seen);
    ck_assert_msg(strstr(seen, "WATCHDOG=1") != NULL, "no watchdog pings while waiting; saw %s", seen);
    ck_assert_int_eq(vft_stop(pid, SIGTERM, 15000), 0);
    char *log = read_text(logfile);
    ck_assert_msg(log && strstr(log, "PostgreSQL does not answer"), "%s", log ? log : "(no log)");
    free(log);
    free(cfg);
}
END_TEST

START_TEST(worker_ready_watchdog_reload_stop)
{
    const char *dsn = vft_env_or_skip("VF_TEST_PG_DSN");
    char logfile[1024], seen[8192] = "";
    snprintf(logfile, sizeof logfile, "%s/worker.log", dir);
    char *cfg = write_config(dsn, logfile, vft_free_port());
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", cfg, "worker", "--name", "systemd-test", NULL};
    int pid = vft_spawn(argv, NULL);
    ck_assert_int_gt(pid, 0);
    ck_assert_msg(await_state("READY=1", 20000, seen, sizeof seen), "no READY=1 from the worker; saw %s", seen);
    expect_watchdog_pings();
    check_sighup(pid, cfg, logfile, 0);
    expect_clean_stop(pid, 40000);
    free(cfg);
}
END_TEST

static Suite *systemd_suite(void)
{
    Suite *s = suite_create("systemd");
    TCase *tc = tcase_create("notify");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, server_ready_watchdog_reload_stop);
    tcase_add_test(tc, server_not_ready_without_database);
    tcase_add_test(tc, worker_ready_watchdog_reload_stop);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(systemd_suite)
