/*
 * check_server.c - the HTTP core through the real binary: /health/ against
 * real PostgreSQL and a private Redis that is stopped and restarted; JSON
 * 404/405/413; CORS on every response to an allowed origin and preflight;
 * the trailing slash; graceful shutdown finishing a response in flight, and
 * not waiting for responses whose clients left;
 * the CLI's exit codes and messages.
 */
#include "config.h"
#include "vftest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *conninfo, *config_path;
static vft_redis_t redis;
static int http_port, server_pid;
static char base[64];

static void start_server(void)
{
    char log[1024];
    snprintf(log, sizeof log, "%s/server.log", dir);
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", config_path, "serve", NULL};
    server_pid = vft_spawn(argv, log);
    ck_assert_int_gt(server_pid, 0);
    ck_assert_msg(vft_wait_port(http_port, 15000) == 0, "server did not start; see %s", log);
}

static void setup(void)
{
    dir = vft_tmpdir("server");
    conninfo = vft_pg_create("vf_server");
    ck_assert_ptr_nonnull(conninfo);
    ck_assert_int_eq(vft_redis_start(&redis, dir, 0), 0);
    http_port = vft_free_port();
    char extra[512];
    snprintf(extra, sizeof extra,
             "server = { port = %d; threads = 2; max_body_size = 2048; shutdown_timeout = 30; };\n"
             "auth = { secret_key = \"check-server-secret-key-0123456789abcdef\"; };\n",
             http_port);
    config_path = vft_write_config(dir, conninfo, redis.port, extra);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_port);
    start_server();
}

static void teardown(void)
{
    if (server_pid > 0)
        vft_stop(server_pid, SIGKILL, 1000);
    server_pid = 0;
    vft_redis_stop(&redis);
    vft_pg_drop(conninfo);
    free(conninfo);
    free(config_path);
    vft_rmrf(dir);
    free(dir);
}

static long get(const char *path, const char *const *headers, vft_response_t *resp)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    ck_assert_int_eq(vft_http("GET", url, NULL, headers, resp), 0);
    return resp->status;
}

START_TEST(health_follows_redis)
{
    vft_response_t r;
    ck_assert_int_eq(get("/health/", NULL, &r), 200);
    ck_assert_str_eq(r.body, "{\"status\":\"ok\",\"components\":{\"database\":\"ok\",\"redis\":\"ok\"}}");
    vft_response_free(&r);

    int port = redis.port;
    vft_redis_stop(&redis);
    ck_assert_int_eq(get("/health/", NULL, &r), 503);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"error\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"database\":\"ok\""));
    ck_assert_msg(strstr(r.body, "\"redis\":\"ok\"") == NULL, "%s", r.body);
    /* Anyone may ask: states only, the reason goes to the log. */
    ck_assert_msg(strstr(r.body, "\"redis\":\"unavailable\"") != NULL, "%s", r.body);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    ck_assert_msg(strstr(r.body, portstr) == NULL && strstr(r.body, "127.0.0.1") == NULL, "%s", r.body);
    vft_response_free(&r);

    ck_assert_int_eq(vft_redis_start(&redis, dir, port), 0);
    /* A failed connect is retried after a second at most. */
    long status = 0;
    for (int i = 0; i < 30 && status != 200; i++) {
        status = get("/health/", NULL, &r);
        vft_response_free(&r);
        if (status != 200)
            usleep(100000);
    }
    ck_assert_int_eq(status, 200);
}
END_TEST

START_TEST(errors_are_json_with_cors)
{
    const char *allowed[] = {"Origin: http://localhost:4200", NULL};
    const char *other[] = {"Origin: http://evil.example", NULL};
    vft_response_t r;
    ck_assert_int_eq(get("/no/such/path/", allowed, &r), 404);
    ck_assert_str_eq(r.body, "{\"detail\":\"Not found.\"}");
    char *ct = vft_header(&r, "Content-Type", 0), *acao = vft_header(&r, "Access-Control-Allow-Origin", 0);
    char *acac = vft_header(&r, "Access-Control-Allow-Credentials", 0), *vary = vft_header(&r, "Vary", 0);
    ck_assert_str_eq(ct, "application/json; charset=utf-8");
    ck_assert_str_eq(acao, "http://localhost:4200");
    ck_assert_str_eq(acac, "true");
    ck_assert_str_eq(vary, "Origin");
    free(ct), free(acao), free(acac), free(vary);
    vft_response_free(&r);

    ck_assert_int_eq(get("/no/such/path/", other, &r), 404);
    ck_assert_ptr_null(vft_header(&r, "Access-Control-Allow-Origin", 0));
    vft_response_free(&r);

    char url[256];
    snprintf(url, sizeof url, "%s/health/", base);
    ck_assert_int_eq(vft_http("DELETE", url, NULL, allowed, &r), 0);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.body, "{\"detail\":\"Method \\\"DELETE\\\" not allowed.\"}");
    char *allow = vft_header(&r, "Allow", 0);
    ck_assert_str_eq(allow, "GET, HEAD, OPTIONS");
    free(allow);
    acao = vft_header(&r, "Access-Control-Allow-Origin", 0);
    ck_assert_str_eq(acao, "http://localhost:4200");
    free(acao);
    vft_response_free(&r);
}
END_TEST

START_TEST(preflight)
{
    char url[256];
    snprintf(url, sizeof url, "%s/users/login/", base);
    const char *h[] = {"Origin: http://127.0.0.1:4200", "Access-Control-Request-Method: POST",
                       "Access-Control-Request-Headers: content-type", NULL};
    vft_response_t r;
    ck_assert_int_eq(vft_http("OPTIONS", url, NULL, h, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *m = vft_header(&r, "Access-Control-Allow-Methods", 0);
    char *hd = vft_header(&r, "Access-Control-Allow-Headers", 0);
    char *age = vft_header(&r, "Access-Control-Max-Age", 0);
    char *acao = vft_header(&r, "Access-Control-Allow-Origin", 0);
    ck_assert_str_eq(m, "DELETE, GET, OPTIONS, PATCH, POST, PUT");
    ck_assert_str_eq(hd, "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, x-retry");
    ck_assert_str_eq(age, "86400");
    ck_assert_str_eq(acao, "http://127.0.0.1:4200");
    free(m), free(hd), free(age), free(acao);
    vft_response_free(&r);
}
END_TEST

/* Text from clients cannot forge log lines: control bytes are escaped. */
START_TEST(log_lines_cannot_be_forged)
{
    vft_response_t r;
    ck_assert_int_eq(get("/x%0d%0a2026-01-01T00:00:00Z%20error%20forged-by-client", NULL, &r), 404);
    vft_response_free(&r);
    char logpath[1024], *log = NULL;
    snprintf(logpath, sizeof logpath, "%s/server.log", dir);
    /* The access line is written before the answer leaves. */
    ck_assert_int_eq(vft_sh(&log, "cat %s", logpath), 0);
    const char *hit = strstr(log, "forged-by-client");
    ck_assert_msg(hit != NULL, "no access line in %s", log);
    const char *line = hit;
    while (line > log && line[-1] != '\n')
        line--;
    ck_assert_msg(strncmp(line, "2026-01-01", 10) != 0, "a forged line: %.200s", line);
    ck_assert_ptr_nonnull(strstr(log, "/x\\x0d\\x0a2026"));
    free(log);
}
END_TEST

/* Cache-busting query items without '=' are ignored, not refused. */
START_TEST(query_items_without_value_ignored)
{
    vft_response_t r;
    ck_assert_int_eq(get("/health/?123", NULL, &r), 200);
    vft_response_free(&r);
    ck_assert_int_eq(get("/health/?x&y=1&=z&&", NULL, &r), 200);
    vft_response_free(&r);
}
END_TEST

/* A route's own CORS extras (tus) reach only that route's answers. */
START_TEST(preflight_route_headers)
{
    char url[256];
    const char *h[] = {"Origin: http://127.0.0.1:4200", "Access-Control-Request-Method: PATCH",
                       "Access-Control-Request-Headers: tus-resumable, upload-offset", NULL};
    vft_response_t r;
    snprintf(url, sizeof url, "%s/admin/api/uploads/0123456789abcdef0123456789abcdef/", base);
    ck_assert_int_eq(vft_http("OPTIONS", url, NULL, h, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *hd = vft_header(&r, "Access-Control-Allow-Headers", 0);
    ck_assert_ptr_nonnull(strstr(hd, "tus-resumable"));
    ck_assert_ptr_nonnull(strstr(hd, "upload-offset"));
    ck_assert_ptr_nonnull(strstr(hd, "content-type"));
    free(hd);
    vft_response_free(&r);

    snprintf(url, sizeof url, "%s/content/", base);
    ck_assert_int_eq(vft_http("OPTIONS", url, NULL, h, &r), 0);
    hd = vft_header(&r, "Access-Control-Allow-Headers", 0);
    ck_assert_ptr_null(strstr(hd, "tus-resumable"));
    free(hd);
    vft_response_free(&r);

    /* Scripts may read tus headers on upload answers, not elsewhere. */
    const char *origin[] = {"Origin: http://127.0.0.1:4200", "Tus-Resumable: 1.0.0", NULL};
    snprintf(url, sizeof url, "%s/admin/api/uploads/", base);
    ck_assert_int_eq(vft_http("POST", url, NULL, origin, &r), 0);
    ck_assert_int_eq(r.status, 401);
    char *expose = vft_header(&r, "Access-Control-Expose-Headers", 0);
    ck_assert_ptr_nonnull(strstr(expose, "Upload-Offset"));
    ck_assert_ptr_nonnull(strstr(expose, "X-Request-Id"));
    free(expose);
    vft_response_free(&r);
    ck_assert_int_eq(get("/no/such/path/", origin, &r), 404);
    expose = vft_header(&r, "Access-Control-Expose-Headers", 0);
    ck_assert_ptr_null(strstr(expose, "Upload-Offset"));
    ck_assert_ptr_nonnull(strstr(expose, "ETag"));
    free(expose);
    vft_response_free(&r);
}
END_TEST

/* Every state-changing route refuses other sites' pages, before its own
 * checks; safe methods and requests without Origin/Referer pass. */
START_TEST(cross_site_state_changes_refused)
{
    static const char *const routes[][2] = {
        {"POST", "/admin/api/videos/"}, {"POST", "/admin/api/uploads/"}, {"DELETE", "/admin/api/videos/1/"},
        {"POST", "/content/add-favorite/"}, {"POST", "/users/logout/"},
    };
    const char *evil[] = {"Origin: http://evil.example", NULL};
    const char *evil_referer[] = {"Referer: http://evil.example/page", NULL};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s%s", base, routes[i][1]);
        vft_response_t r;
        ck_assert_int_eq(vft_http(routes[i][0], url, "{}", evil, &r), 0);
        ck_assert_msg(r.status == 403, "%s %s: %ld", routes[i][0], routes[i][1], r.status);
        ck_assert_ptr_nonnull(strstr(r.body, "CSRF Failed"));
        vft_response_free(&r);
        ck_assert_int_eq(vft_http(routes[i][0], url, "{}", evil_referer, &r), 0);
        ck_assert_int_eq(r.status, 403);
        vft_response_free(&r);
        /* Without either header (curl), the route's own answer: not logged in. */
        ck_assert_int_eq(vft_http(routes[i][0], url, "{}", NULL, &r), 0);
        ck_assert_msg(r.status == 401, "%s %s: %ld", routes[i][0], routes[i][1], r.status);
        vft_response_free(&r);
    }
    vft_response_t r;
    ck_assert_int_eq(get("/health/", evil, &r), 200);
    vft_response_free(&r);
}
END_TEST

START_TEST(trailing_slash_optional)
{
    vft_response_t r;
    ck_assert_int_eq(get("/health", NULL, &r), 200);
    ck_assert_ptr_null(vft_header(&r, "Location", 0));
    vft_response_free(&r);
}
END_TEST

START_TEST(body_limit_is_json_413)
{
    char body[4096];
    memset(body, 'a', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    char url[256];
    snprintf(url, sizeof url, "%s/health/", base);
    vft_response_t r;
    ck_assert_int_eq(vft_http("POST", url, body, NULL, &r), 0);
    ck_assert_int_eq(r.status, 413);
    ck_assert_str_eq(r.body, "{\"detail\":\"Request body too large: the limit is 2048 bytes.\"}");
    vft_response_free(&r);
    /* The server is still there. */
    ck_assert_int_eq(get("/health/", NULL, &r), 200);
    vft_response_free(&r);
}
END_TEST

START_TEST(request_ids)
{
    vft_response_t r;
    const char *h[] = {"X-Request-Id: from-nginx-1234", NULL};
    ck_assert_int_eq(get("/health/", h, &r), 200);
    char *id = vft_header(&r, "X-Request-Id", 0);
    ck_assert_str_eq(id, "from-nginx-1234");
    free(id);
    vft_response_free(&r);
    ck_assert_int_eq(get("/health/", NULL, &r), 200);
    id = vft_header(&r, "X-Request-Id", 0);
    ck_assert_uint_eq(strlen(id), 16);
    free(id);
    vft_response_free(&r);
}
END_TEST

#define BIG_SIZE ((off_t)32 << 20)

/* A 32 MiB file under the media root, for responses that take a while. */
static void make_big_file(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/media/big.bin", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, BIG_SIZE), 0);
    close(fd);
}

/* A client with a small receive buffer that asked for the big file and has
 * read its first bytes: the response is still being written. */
static int slow_big_download(const char *connection, size_t *got)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    snprintf(req, sizeof req, "GET /media/big.bin HTTP/1.1\r\nHost: x\r\nConnection: %s\r\n\r\n", connection);
    ck_assert_int_eq(write(s, req, strlen(req)), (ssize_t)strlen(req));
    char buf[1024];
    ssize_t n = read(s, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%.*s", (int)n, buf);
    *got = (size_t)n;
    return s;
}

/* Clients that leave while their responses are being written count as
 * finished: SIGTERM afterwards exits at once, not after the 30 s of
 * server.shutdown_timeout, and nothing is reported still open. */
START_TEST(clients_gone_mid_response_do_not_hold_shutdown)
{
    make_big_file();
    size_t got;
    for (int i = 0; i < 10; i++)
        close(slow_big_download(i % 2 ? "close" : "keep-alive", &got)); /* unread bytes: a reset */
    usleep(500000);
    int status = vft_stop(server_pid, SIGTERM, 10000);
    server_pid = 0;
    ck_assert_msg(status == 0, "the server did not exit within 10 s of SIGTERM (status %d)", status);
    char logpath[1024], *log = NULL;
    snprintf(logpath, sizeof logpath, "%s/server.log", dir);
    ck_assert_int_eq(vft_sh(&log, "cat %s", logpath), 0);
    ck_assert_msg(strstr(log, "still open") == NULL, "%s", log);
    free(log);
}
END_TEST

/* A large media file read slowly keeps its response in flight across
 * SIGTERM: the whole body still arrives, then the server exits 0. */
START_TEST(graceful_shutdown_finishes_in_flight)
{
    make_big_file();
    const off_t size = BIG_SIZE;
    size_t total = 0;
    int s = slow_big_download("close", &total);
    char buf[65536];
    ssize_t n;

    kill(server_pid, SIGTERM);
    usleep(300000);
    /* New connections are refused once the listener is closed. */
    ck_assert_int_ne(vft_wait_port(http_port, 0), 0);
    while ((n = read(s, buf, sizeof buf)) > 0)
        total += (size_t)n;
    close(s);
    /* headers + the whole body */
    ck_assert_uint_gt(total, (size_t)size);
    int status = vft_stop(server_pid, 0, 20000);
    server_pid = 0;
    ck_assert_int_eq(status, 0);
}
END_TEST

START_TEST(sigterm_exits_zero)
{
    int status = vft_stop(server_pid, SIGTERM, 10000);
    server_pid = 0;
    ck_assert_int_eq(status, 0);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, health_follows_redis);
    tcase_add_test(tc, errors_are_json_with_cors);
    tcase_add_test(tc, preflight);
    tcase_add_test(tc, preflight_route_headers);
    tcase_add_test(tc, log_lines_cannot_be_forged);
    tcase_add_test(tc, query_items_without_value_ignored);
    tcase_add_test(tc, cross_site_state_changes_refused);
    tcase_add_test(tc, trailing_slash_optional);
    tcase_add_test(tc, body_limit_is_json_413);
    tcase_add_test(tc, request_ids);
    tcase_add_test(tc, graceful_shutdown_finishes_in_flight);
    tcase_add_test(tc, clients_gone_mid_response_do_not_hold_shutdown);
    tcase_add_test(tc, sigterm_exits_zero);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(server_suite)
