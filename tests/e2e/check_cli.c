/*
 * check_cli.c - the videoflix command line as a shell user meets it: help,
 * version, usage errors (exit 2), configuration problems (exit 1 with
 * file:line), check-config loading the plugins, migrate being idempotent.
 */
#include "config.h"
#include "vftest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* fmt's first %s is the binary, the second the argument. */
static const char *nz(const char *s) { return s ? s : ""; }
#define run(out, fmt, arg) vft_sh((out), fmt, vft_env_or_skip("VF_BINARY"), nz(arg))

START_TEST(help_and_version)
{
    char *out = NULL;
    ck_assert_int_eq(run(&out, "%s --version%s", NULL), 0);
    ck_assert_str_eq(out, PACKAGE_STRING "\n");
    free(out);
    ck_assert_int_eq(run(&out, "%s --help%s", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "Usage: videoflix [--config FILE] COMMAND"));
    ck_assert_ptr_nonnull(strstr(out, "migrate"));
    free(out);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    char *out = NULL;
    ck_assert_int_eq(run(&out, "%s%s 2>&1", NULL), 2);
    free(out);
    ck_assert_int_eq(run(&out, "%s frobnicate%s 2>&1", NULL), 2);
    ck_assert_ptr_nonnull(strstr(out, "unknown command 'frobnicate'"));
    free(out);
    ck_assert_int_eq(run(&out, "%s --bogus%s 2>&1", NULL), 2);
    free(out);
}
END_TEST

START_TEST(config_problems_exit_1)
{
    char *dir = vft_tmpdir("cli");
    char path[1024];
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("server = {\n  port = 0;\n};\nstorage = { plugin = 5; };\n", f);
    fclose(f);
    char *out = NULL;
    ck_assert_int_eq(run(&out, "%s --config %s check-config 2>&1", path), 1);
    char want[1100];
    snprintf(want, sizeof want, "%s:2: server.port must be an integer in 1..65535", path);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof want, "%s:4: storage.plugin must be a string", path);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(run(&out, "%s --config /nonexistent.conf migrate%s 2>&1", NULL), 1);
    ck_assert_ptr_nonnull(strstr(out, "/nonexistent.conf: cannot read the file"));
    free(out);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(check_config_loads_plugins)
{
    char *dir = vft_tmpdir("cli");
    char extra[256];
    snprintf(extra, sizeof extra, "auth = { secret_key = \"0123456789abcdef0123456789abcdef\"; };\n");
    char *path = vft_write_config(dir, "host=127.0.0.1", 6379, extra);
    char *out = NULL;
    ck_assert_int_eq(run(&out, "%s --config %s check-config 2>&1", path), 0);
    ck_assert_msg(strstr(out, "configuration OK (storage storage_local, encoder encoder_ffmpeg)") != NULL, "%s", out);
    free(out);
    free(path);
    /* A plugin that does not exist is named with its path. */
    path = vft_write_config(dir, "host=127.0.0.1", 6379, "encoder = { plugin = \"encoder_nonesuch\"; };\n");
    ck_assert_int_eq(run(&out, "%s --config %s check-config 2>&1", path), 1);
    ck_assert_msg(strstr(out, "encoder_nonesuch.so: cannot open encoder plugin") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "auth.secret_key is not set") != NULL, "%s", out);
    free(out);
    free(path);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(migrate_twice)
{
    char *conninfo = vft_pg_create("vf_cli");
    char *dir = vft_tmpdir("cli");
    char *path = vft_write_config(dir, conninfo, 6379, NULL);
    char *out = NULL;
    ck_assert_int_eq(run(&out, "%s --config %s migrate 2>&1", path), 0);
    ck_assert_msg(strstr(out, "applied") || strstr(out, "up to date"), "%s", out);
    free(out);
    ck_assert_int_eq(run(&out, "%s --config %s migrate 2>&1", path), 0);
    ck_assert_msg(strstr(out, "database is up to date") != NULL, "%s", out);
    free(out);
    vft_pg_drop(conninfo);
    free(conninfo);
    free(path);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

/* serve starts its services before listening; when one cannot start, the
 * process says why and exits 1 (no half-started server answering 503). */
START_TEST(serve_startup_failure_exits_1)
{
    char *dir = vft_tmpdir("cli");
    /* Hold a port so that serve cannot bind it. */
    int held = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    ck_assert_int_ge(held, 0);
    ck_assert_int_eq(bind(held, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(held, 1), 0);
    ck_assert_int_eq(getsockname(held, (struct sockaddr *)&sa, &salen), 0);
    char extra[512];
    snprintf(extra, sizeof extra,
             "server = { listen_address = \"127.0.0.1\"; port = %d; };\n"
             "auth = { secret_key = \"0123456789abcdef0123456789abcdef\"; };\n",
             ntohs(sa.sin_port));
    char *path = vft_write_config(dir, "host=127.0.0.1", 6379, extra);
    char *out = NULL;
    ck_assert_int_eq(run(&out, "timeout 20 %s --config %s serve 2>&1", path), 1);
    ck_assert_msg(strstr(out, "cannot listen on 127.0.0.1:") != NULL, "%s", out);
    free(out);
    free(path);
    close(held);

    path = vft_write_config(dir, "host=127.0.0.1", 6379, "auth = { secret_key = \"0123456789abcdef0123456789abcdef\"; };\n");
    ck_assert_int_eq(vft_sh(NULL, "sed -i 's/\"storage_local\"/\"storage_nonesuch\"/' %s", path), 0);
    ck_assert_int_eq(run(&out, "timeout 20 %s --config %s serve 2>&1", path), 1);
    ck_assert_msg(strstr(out, "storage_nonesuch.so: cannot open storage plugin") != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(run(&out, "%s --config %s serve --bogus 2>&1", path), 2);
    free(out);
    free(path);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("commands");
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, config_problems_exit_1);
    tcase_add_test(tc, check_config_loads_plugins);
    tcase_add_test(tc, migrate_twice);
    tcase_add_test(tc, serve_startup_failure_exits_1);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(cli_suite)
