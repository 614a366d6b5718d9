/*
 * check_accounts.c - the /users/ API end to end: two real `videoflix serve`
 * processes (A trusts 127.0.0.1 as a proxy, B does not) and a real worker
 * sending the emails as .eml files, on a fresh PostgreSQL database and a
 * private Redis.
 *
 * Each test uses its own addresses and its own client address (sent as
 * X-Forwarded-For to A), so the rate limits of one do not reach another.
 */
#include "config.h"
#include "core/runtime/app.h"
#include "core/accounts/auth.h"
#include "core/cli/cli.h"
#include "core/config/conf.h"
#include "core/runtime/db.h"
#include "core/util/log.h"
#include "core/accounts/mail.h"
#include "core/accounts/sessions.h"
#include "vftest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY "e2e-secret-key-0123456789abcdef-0123456789"
#define GRACE 2
#define ORIGIN "http://localhost:4200"

static struct {
    char *tmp;
    char *conninfo;
    vft_redis_t redis;
    int port_a, port_b, port_c;
    int pid_a, pid_b, pid_worker;
    char cfg_a[4096], cfg_b[4096], cfg_c[4096], dir_b[4096];
    char maildir[4096];
    char url_a[64], url_b[64], url_c[64];
} env;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ----------------------------------------------------------------- setup */

static int spawn_server(const char *cfg, const char *log, int port)
{
    const char *bin = getenv("VF_BINARY");
    char *argv[] = {(char *)bin, "--config", (char *)cfg, "serve", NULL};
    int pid = vft_spawn(argv, log);
    if (pid < 0 || vft_wait_port(port, 20000) != 0)
        return -1;
    return pid;
}

/* The worker: `videoflix worker` when the binary has it; until then the same
 * production code (vf_cmd_worker with the mail job registered) in a child. */
static int spawn_worker(const char *cfg, const char *log)
{
    const char *bin = getenv("VF_BINARY");
    char *help = NULL;
    char *hargv[] = {(char *)bin, "--help", NULL};
    vft_run(hargv, &help);
    int has_worker = help && strstr(help, "\n  worker") != NULL;
    free(help);
    if (has_worker) {
        char *argv[] = {(char *)bin, "--config", (char *)cfg, "worker", NULL};
        return vft_spawn(argv, log);
    }
    pid_t pid = fork();
    if (pid != 0)
        return (int)pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    char *errors = NULL;
    vf_app_t app = {0};
    app.cfg = vf_config_load(cfg, &errors);
    if (!app.cfg) {
        fprintf(stderr, "%s", errors ? errors : "config?");
        _exit(1);
    }
    vf_log_set_level(VF_LOG_INFO);
    vf_mail_register_jobs();
    char *argv[] = {"worker", NULL};
    int rc = vf_cmd_worker(&app, 1, argv);
    _exit(rc);
}

static void write_conf(const char *dir, int port, int trusted, char *out, size_t len)
{
    char extra[2048];
    snprintf(extra, sizeof extra,
             "server = { port = %d; threads = 2; public_origin = \"http://127.0.0.1:%d\"; %s };\n"
             "auth = { secret_key = \"" KEY "\"; refresh_grace = %d; hash_threads = 2; };\n"
             "ratelimit = { window = 60; login_limit = 6; register_limit = 6; forgot_limit = 6;"
             " email_exists_limit = 40; };\n"
             "worker = { concurrency = 2; };\n",
             port, port, trusted ? "trusted_proxies = [\"127.0.0.1\"];" : "", GRACE);
    char *path = vft_write_config(dir, env.conninfo, env.redis.port, extra);
    ck_assert_ptr_nonnull(path);
    snprintf(out, len, "%s", path);
    free(path);
}

static void setup(void)
{
    env.conninfo = vft_pg_create("accounts");
    env.tmp = vft_tmpdir("vf-accounts");
    char dir[4096], log[4096];
    snprintf(dir, sizeof dir, "%s/redis", env.tmp);
    mkdir(dir, 0700);
    if (vft_redis_start(&env.redis, dir, 0) != 0)
        ck_abort_msg("cannot start a private redis-server");

    env.port_a = vft_free_port();
    env.port_b = vft_free_port();
    snprintf(dir, sizeof dir, "%s/a", env.tmp);
    mkdir(dir, 0700);
    write_conf(dir, env.port_a, 1, env.cfg_a, sizeof env.cfg_a);
    snprintf(env.maildir, sizeof env.maildir, "%s/a/mail", env.tmp);
    snprintf(env.dir_b, sizeof env.dir_b, "%s/b", env.tmp);
    mkdir(env.dir_b, 0700);
    write_conf(env.dir_b, env.port_b, 0, env.cfg_b, sizeof env.cfg_b);
    env.port_c = vft_free_port();
    snprintf(dir, sizeof dir, "%s/c", env.tmp);
    mkdir(dir, 0700);
    write_conf(dir, env.port_c, 0, env.cfg_c, sizeof env.cfg_c);
    snprintf(env.url_c, sizeof env.url_c, "http://127.0.0.1:%d", env.port_c);
    snprintf(env.url_a, sizeof env.url_a, "http://127.0.0.1:%d", env.port_a);
    snprintf(env.url_b, sizeof env.url_b, "http://127.0.0.1:%d", env.port_b);

    char *out = NULL;
    char *margv[] = {getenv("VF_BINARY"), "--config", env.cfg_a, "migrate", NULL};
    int rc = vft_run(margv, &out);
    ck_assert_msg(rc == 0, "migrate failed: %s", out ? out : "");
    free(out);

    snprintf(log, sizeof log, "%s/a/server.log", env.tmp);
    env.pid_a = spawn_server(env.cfg_a, log, env.port_a);
    snprintf(log, sizeof log, "%s/b/server.log", env.tmp);
    env.pid_b = spawn_server(env.cfg_b, log, env.port_b);
    snprintf(log, sizeof log, "%s/a/worker.log", env.tmp);
    env.pid_worker = spawn_worker(env.cfg_a, log);
    ck_assert_msg(env.pid_a > 0 && env.pid_b > 0 && env.pid_worker > 0, "servers did not start (logs in %s)",
                  env.tmp);
}

static void teardown(void)
{
    vft_stop(env.pid_worker, SIGTERM, 10000);
    vft_stop(env.pid_a, SIGTERM, 10000);
    vft_stop(env.pid_b, SIGTERM, 10000);
    vft_redis_stop(&env.redis);
    vft_pg_drop(env.conninfo);
    free(env.conninfo);
    if (!getenv("VF_TEST_KEEP"))
        vft_rmrf(env.tmp);
    else
        fprintf(stderr, "check_accounts: kept %s\n", env.tmp);
    free(env.tmp);
}

/* ------------------------------------------------------------------ HTTP */

typedef struct resp {
    long status;
    json_t *json;
    vft_response_t raw;
} resp_t;

static void resp_free(resp_t *r)
{
    json_decref(r->json);
    vft_response_free(&r->raw);
    memset(r, 0, sizeof *r);
}

/* One request.  ip: sent as X-Forwarded-For (NULL: none); cookies: the
 * Cookie header value (NULL: none); extra: one more header line or NULL. */
static void call(resp_t *out, const char *method, const char *base, const char *path, const char *body,
                 const char *ip, const char *cookies, const char *extra)
{
    memset(out, 0, sizeof *out);
    char url[1024], xff[128], cookie[8192];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[8];
    int n = 0;
    headers[n++] = "Content-Type: application/json";
    headers[n++] = "Origin: " ORIGIN;
    if (ip) {
        snprintf(xff, sizeof xff, "X-Forwarded-For: %s", ip);
        headers[n++] = xff;
    }
    if (cookies) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", cookies);
        headers[n++] = cookie;
    }
    if (extra)
        headers[n++] = extra;
    headers[n] = NULL;
    ck_assert_msg(vft_http(method, url, body, headers, &out->raw) == 0, "%s %s: no response", method, url);
    out->status = out->raw.status;
    out->json = json_loadb(out->raw.body, out->raw.body_len, 0, NULL);
}

static void assert_body(const resp_t *r, long status, const char *expected_json)
{
    json_t *want = json_loads(expected_json, 0, NULL);
    ck_assert_msg(want, "bad expectation %s", expected_json);
    ck_assert_msg(r->status == status && r->json && json_equal(r->json, want), "want %ld %s, got %ld %s", status,
                  expected_json, r->status, r->raw.body);
    json_decref(want);
}

/* The value of cookie `name` set by the response (malloc()ed), and its
 * whole Set-Cookie line in *line when not NULL. */
static char *set_cookie(const resp_t *r, const char *name, char **line)
{
    size_t n = strlen(name);
    for (int i = 0;; i++) {
        char *h = vft_header(&r->raw, "Set-Cookie", i);
        if (!h)
            return NULL;
        if (strncmp(h, name, n) == 0 && h[n] == '=') {
            char *v = strndup(h + n + 1, strcspn(h + n + 1, ";"));
            if (line)
                *line = h;
            else
                free(h);
            return v;
        }
        free(h);
    }
}

static void assert_attrs(const char *line, const char *max_age)
{
    char want[64];
    snprintf(want, sizeof want, "; Max-Age=%s;", max_age);
    ck_assert_msg(strstr(line, want) != NULL, "%s: no%s", line, want);
    ck_assert_msg(strstr(line, "; Path=/") && strstr(line, "; HttpOnly") && strstr(line, "; SameSite=Lax"),
                  "cookie attributes: %s", line);
    ck_assert_msg(!strstr(line, "Secure") && !strstr(line, "Domain"), "development cookies: %s", line);
}

/* The claims of a JWT (not verified: the test only reads them). */
static json_t *jwt_claims(const char *token)
{
    const char *a = strchr(token, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    ck_assert_ptr_nonnull(b);
    unsigned char buf[2048];
    size_t len = 0;
    ck_assert_int_eq(sodium_base642bin(buf, sizeof buf, a + 1, (size_t)(b - a - 1), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    json_t *j = json_loadb((const char *)buf, len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static char *claim(const char *token, const char *name)
{
    json_t *j = jwt_claims(token);
    char *v = strdup(json_string_value(json_object_get(j, name)) ? json_string_value(json_object_get(j, name)) : "");
    json_decref(j);
    return v;
}

/* ------------------------------------------------------------------ mail */

/* Wait for the email to `to` containing a link starting with prefix; the
 * link (malloc()ed).  The message file is removed. */
static char *wait_mail(const char *to, const char *prefix)
{
    char want_to[512];
    snprintf(want_to, sizeof want_to, "\r\nTo: %s\r\n", to);
    for (int tries = 0; tries < 300; tries++) {
        DIR *d = opendir(env.maildir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.' || !strstr(e->d_name, ".eml"))
                continue;
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", env.maildir, e->d_name);
            char *text = NULL;
            if (vft_sh(&text, "cat '%s'", path) != 0 || !text || !strstr(text, want_to)) {
                free(text);
                continue;
            }
            char *start = strstr(text, prefix);
            ck_assert_msg(start != NULL, "mail to %s has no link %s:\n%s", to, prefix, text);
            char *link = strndup(start, strcspn(start, " \r\n\"<"));
            ck_assert_ptr_nonnull(strstr(text, "Content-Type: text/html"));
            free(text);
            unlink(path);
            closedir(d);
            return link;
        }
        if (d)
            closedir(d);
        sleep_ms(100);
    }
    ck_abort_msg("no email to %s within 30 s (worker log in %s/a/worker.log)", to, env.tmp);
    return NULL;
}

static int mail_waiting_for(const char *to)
{
    char *out = NULL;
    int rc = vft_sh(&out, "grep -l -F -e 'To: %s' '%s'/*.eml 2>/dev/null", to, env.maildir);
    free(out);
    return rc == 0;
}

/* ------------------------------------------------------------- fixtures */

static char *json_body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *json_body(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
    va_end(ap);
    return s;
}

/* Register, read the confirmation email, confirm. */
static void make_user(const char *ip, const char *email, const char *password)
{
    resp_t r;
    char *body = json_body("{\"email\": \"%s\", \"password\": \"%s\", \"confirm_password\": \"%s\"}", email,
                           password, password);
    call(&r, "POST", env.url_a, "/users/register/", body, ip, NULL, NULL);
    free(body);
    ck_assert_msg(r.status == 201, "register %s: %ld %s", email, r.status, r.raw.body);
    resp_free(&r);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s/users/confirm/?uid=", env.url_a);
    char *link = wait_mail(email, prefix);
    call(&r, "GET", link, "", NULL, ip, NULL, NULL);
    ck_assert_msg(r.status == 302, "confirm: %ld %s", r.status, r.raw.body);
    resp_free(&r);
    free(link);
}

typedef struct session {
    char *access, *refresh;
    char *refresh_line;   /* its Set-Cookie line */
    char cookies[8192];
} session_t;

static void session_free(session_t *s)
{
    free(s->access);
    free(s->refresh);
    free(s->refresh_line);
    memset(s, 0, sizeof *s);
}

static void login(session_t *s, const char *ip, const char *email, const char *password, int remember)
{
    resp_t r;
    char *body = json_body("{\"email\": \"%s\", \"password\": \"%s\", \"remember\": %s}", email, password,
                           remember ? "true" : "false");
    call(&r, "POST", env.url_a, "/users/login/", body, ip, NULL, NULL);
    free(body);
    ck_assert_msg(r.status == 200, "login %s: %ld %s", email, r.status, r.raw.body);
    s->access = set_cookie(&r, "vf_access", NULL);
    s->refresh = set_cookie(&r, "vf_refresh", &s->refresh_line);
    ck_assert_msg(s->access && s->refresh, "login set no cookies: %s", r.raw.headers);
    snprintf(s->cookies, sizeof s->cookies, "vf_access=%s; vf_refresh=%s", s->access, s->refresh);
    resp_free(&r);
}

/* GET /users/me/, an endpoint behind vf_auth_require. */
static long get_me(const char *base, const char *cookies, const char *extra)
{
    resp_t r;
    call(&r, "GET", base, "/users/me/", NULL, NULL, cookies, extra);
    long st = r.status;
    resp_free(&r);
    return st;
}

/* /users/me/ with these cookies until it answers something other than 200
 * (another process learning a revocation through Redis), for at most
 * REVOCATION_WAIT_MS: a busy machine may delay the message, never lose it. */
#define REVOCATION_WAIT_MS 10000
static long me_until_refused(const char *base, const char *cookies)
{
    double t0 = now_ms();
    long st;
    while ((st = get_me(base, cookies, NULL)) == 200 && now_ms() - t0 < REVOCATION_WAIT_MS)
        sleep_ms(5);
    return st;
}

static char *cookie_pair(const char *name, const char *value)
{
    return json_body("%s=%s", name, value);
}

static PGconn *db(void)
{
    PGconn *c = PQconnectdb(env.conninfo);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static char *sql_value(const char *sql, const char *param)
{
    PGconn *c = db();
    const char *params[] = {param};
    PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s",
                  sql, PQerrorMessage(c));
    char *v = PQntuples(res) > 0 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    PQfinish(c);
    return v;
}

/* An active, confirmed user with the given stored hash, made in SQL. */
static void insert_user(const char *email, const char *hash)
{
    PGconn *c = db();
    const char *params[] = {email, hash};
    PGresult *res = PQexecParams(c,
                                 "INSERT INTO users (email, username, password, is_active, email_confirmed_at)"
                                 " VALUES ($1, $1, $2, true, now())",
                                 2, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

/* ------------------------------------------------------------------ tests */

typedef struct refresh_call {
    const char *cookie;
    resp_t r;
} refresh_call_t;

static void *refresh_thread(void *arg)
{
    refresh_call_t *rc = arg;
    call(&rc->r, "POST", env.url_a, "/users/refresh/", "{}", "203.0.113.1", rc->cookie, NULL);
    return NULL;
}

START_TEST(register_confirm_login_refresh_reuse)
{
    const char *ip = "203.0.113.1", *email = "alice.flow@example.com";
    resp_t r;
    call(&r, "POST", env.url_a, "/users/register/",
         "{\"email\": \"  Alice.Flow@Example.COM \", \"password\": \"flow-pass-123\","
         " \"confirm_password\": \"flow-pass-123\", \"extra\": 1}",
         ip, NULL, NULL);
    assert_body(&r, 201, "{\"email\": \"alice.flow@example.com\"}");
    resp_free(&r);

    /* Inactive until confirmed: the same answer as a wrong password. */
    call(&r, "POST", env.url_a, "/users/login/", "{\"email\": \"alice.flow@example.com\", \"password\": \"flow-pass-123\"}",
         ip, NULL, NULL);
    assert_body(&r, 400, "{\"non_field_errors\": [\"Invalid credentials or inactive user.\"]}");
    resp_free(&r);

    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s/users/confirm/?uid=", env.url_a);
    char *link = wait_mail(email, prefix);
    ck_assert_ptr_nonnull(strstr(link, "&token="));
    call(&r, "GET", link, "", NULL, ip, NULL, NULL);
    ck_assert_int_eq(r.status, 302);
    char *location = vft_header(&r.raw, "Location", 0);
    ck_assert_str_eq(location, "http://localhost:4200/login");
    free(location);
    resp_free(&r);
    /* The link works once. */
    call(&r, "GET", link, "", NULL, ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Invalid or expired token.\"}");
    resp_free(&r);
    free(link);
    call(&r, "GET", env.url_a, "/users/confirm/?uid=1", NULL, ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Missing uid or token.\"}");
    resp_free(&r);

    /* Login: the user object and both cookies with their attributes. */
    call(&r, "POST", env.url_a, "/users/login/",
         "{\"email\": \"ALICE.FLOW@example.com\", \"password\": \"flow-pass-123\", \"remember\": false}", ip, NULL,
         NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.raw.body);
    ck_assert_int_gt(json_integer_value(json_object_get(r.json, "id")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "username")), email);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "email")), email);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "phone")), "");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "address")), "");
    ck_assert(json_is_array(json_object_get(r.json, "favorite_videos")));
    ck_assert_int_eq(json_object_size(r.json), 6);
    char *line = NULL;
    char *access = set_cookie(&r, "vf_access", &line);
    assert_attrs(line, "300");
    free(line);
    char *refresh = set_cookie(&r, "vf_refresh", &line);
    assert_attrs(line, "3600");
    free(line);
    char *h = vft_header(&r.raw, "Access-Control-Allow-Origin", 0);
    ck_assert_str_eq(h, ORIGIN);
    free(h);
    h = vft_header(&r.raw, "Cache-Control", 0);
    ck_assert_str_eq(h, "no-store");
    free(h);
    resp_free(&r);

    /* An authenticated request, and the same without credentials. */
    char *ca = cookie_pair("vf_access", access);
    call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, ca, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "email")), email);
    h = vft_header(&r.raw, "Cache-Control", 0);
    ck_assert_ptr_nonnull(strstr(h, "private"));
    free(h);
    resp_free(&r);
    call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, NULL, NULL);
    assert_body(&r, 401, "{\"detail\": \"Authentication credentials were not provided.\"}");
    h = vft_header(&r.raw, "WWW-Authenticate", 0);
    ck_assert_str_eq(h, "Bearer realm=\"api\"");
    free(h);
    h = vft_header(&r.raw, "Access-Control-Allow-Origin", 0);
    ck_assert_str_eq(h, ORIGIN);
    free(h);
    resp_free(&r);

    /* Refresh rotates: a new refresh token (new jti), a new access token. */
    char *cr = cookie_pair("vf_refresh", refresh);
    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, cr, NULL);
    assert_body(&r, 200, "{\"detail\": \"Access token refreshed.\"}");
    char *access2 = set_cookie(&r, "vf_access", NULL);
    char *refresh2 = set_cookie(&r, "vf_refresh", &line);
    ck_assert_ptr_nonnull(access2);
    ck_assert_ptr_nonnull(refresh2);
    ck_assert_msg(strstr(line, "Max-Age=3600;") || strstr(line, "Max-Age=3599;"), "%s", line);
    free(line);
    resp_free(&r);
    char *jti1 = claim(refresh, "jti"), *jti2 = claim(refresh2, "jti");
    ck_assert_str_ne(jti1, jti2);
    char *sid = claim(refresh, "sid"), *sid2 = claim(refresh2, "sid");
    ck_assert_str_eq(sid, sid2); /* the same family */
    free(sid2);
    char *ca2 = cookie_pair("vf_access", access2);
    ck_assert_int_eq(get_me(env.url_a, ca2, NULL), 200);

    /* The frontend's burst: three refreshes at once with one cookie, all
     * answered, all handing out the same new head of the family. */
    char *cr2 = cookie_pair("vf_refresh", refresh2);
    refresh_call_t calls[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        calls[i].cookie = cr2;
        pthread_create(&t[i], NULL, refresh_thread, &calls[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    char *head_jti = NULL, *access3 = NULL, *refresh3 = NULL;
    for (int i = 0; i < 3; i++) {
        assert_body(&calls[i].r, 200, "{\"detail\": \"Access token refreshed.\"}");
        char *a = set_cookie(&calls[i].r, "vf_access", NULL), *f = set_cookie(&calls[i].r, "vf_refresh", NULL);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(f);
        char *j = claim(f, "jti");
        ck_assert_str_ne(j, jti2);
        if (!head_jti) {
            head_jti = j;
            access3 = a;
            refresh3 = f;
        } else {
            ck_assert_str_eq(j, head_jti);
            free(j);
            free(a);
            free(f);
        }
        resp_free(&calls[i].r);
    }
    char *ca3 = cookie_pair("vf_access", access3), *cr3 = cookie_pair("vf_refresh", refresh3);
    ck_assert_int_eq(get_me(env.url_a, ca3, NULL), 200);

    /* After the grace window the rotated token is theft: the family goes. */
    sleep_ms((GRACE + 1) * 1000 + 200);
    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, cr2, NULL);
    assert_body(&r, 401, "{\"error\": \"Invalid refresh token.\"}");
    char *cleared = set_cookie(&r, "vf_refresh", &line);
    ck_assert_str_eq(cleared, "");
    ck_assert_ptr_nonnull(strstr(line, "Max-Age=0;"));
    free(cleared);
    free(line);
    cleared = set_cookie(&r, "vf_access", NULL);
    ck_assert_str_eq(cleared, "");
    free(cleared);
    resp_free(&r);
    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, cr3, NULL);
    assert_body(&r, 401, "{\"error\": \"Invalid refresh token.\"}");
    resp_free(&r);
    /* ... and its access tokens stop working at once. */
    call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, ca3, NULL);
    assert_body(&r, 401, "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\"}");
    resp_free(&r);

    char *reason = sql_value("SELECT revoked_reason FROM auth_sessions WHERE id = $1", sid);
    ck_assert_str_eq(reason, "refresh token reuse");
    free(reason);
    free(sid);
    free(head_jti);
    free(jti1);
    free(jti2);
    free(access);
    free(refresh);
    free(access2);
    free(refresh2);
    free(access3);
    free(refresh3);
    free(ca);
    free(cr);
    free(ca2);
    free(cr2);
    free(ca3);
    free(cr3);
}
END_TEST

/* A third server process, started now (as a child of this test). */
static int start_c(void)
{
    char log[4200];
    snprintf(log, sizeof log, "%s/c/server.log", env.tmp);
    int pid = spawn_server(env.cfg_c, log, env.port_c);
    ck_assert_int_gt(pid, 0);
    return pid;
}

START_TEST(logout_with_refresh_cookie_only)
{
    const char *ip = "203.0.113.2", *email = "bob.logout@example.com", *pw = "logout-pass-1";
    make_user(ip, email, pw);
    session_t s;
    login(&s, ip, email, pw, 1);
    char *ca = cookie_pair("vf_access", s.access), *cr = cookie_pair("vf_refresh", s.refresh);
    /* "remember": the refresh cookie lives 7 days, and so does its token. */
    assert_attrs(s.refresh_line, "604800");
    json_t *rc = jwt_claims(s.refresh);
    ck_assert_int_eq(json_integer_value(json_object_get(rc, "exp")) - json_integer_value(json_object_get(rc, "iat")),
                     604800);
    json_decref(rc);
    ck_assert_int_eq(get_me(env.url_a, ca, NULL), 200);
    ck_assert_int_eq(get_me(env.url_b, ca, NULL), 200); /* any process */

    /* The frontend calls logout after its access cookie expired. */
    resp_t r;
    call(&r, "POST", env.url_a, "/users/logout/", "{}", ip, cr, NULL);
    assert_body(&r, 200, "{\"message\": \"Successfully logged out.\"}");
    char *line = NULL;
    char *v = set_cookie(&r, "vf_access", &line);
    ck_assert_str_eq(v, "");
    assert_attrs(line, "0");
    free(v);
    free(line);
    v = set_cookie(&r, "vf_refresh", &line);
    ck_assert_str_eq(v, "");
    assert_attrs(line, "0");
    free(v);
    free(line);
    resp_free(&r);

    /* The old access cookie is refused at once, here and by the other
     * process (told through Redis). */
    call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, ca, NULL);
    assert_body(&r, 401, "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\"}");
    resp_free(&r);
    double t0 = now_ms();
    ck_assert_int_eq(me_until_refused(env.url_b, ca), 401);
    fprintf(stderr, "check_accounts: revocation reached the other process after %.0f ms\n", now_ms() - t0);
    /* Through Redis, not the 10-second reload from PostgreSQL (with room
     * for a busy machine). */
    ck_assert_msg(now_ms() - t0 < 5000, "revocation took %.0f ms to reach the other process", now_ms() - t0);

    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, cr, NULL);
    assert_body(&r, 401, "{\"error\": \"Invalid refresh token.\"}");
    resp_free(&r);
    call(&r, "POST", env.url_a, "/users/logout/", "{}", ip, cr, NULL);
    assert_body(&r, 401, "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\"}");
    resp_free(&r);
    call(&r, "POST", env.url_a, "/users/logout/", "{}", ip, NULL, NULL);
    assert_body(&r, 401, "{\"detail\": \"Authentication credentials were not provided.\"}");
    resp_free(&r);

    /* Revocations live in PostgreSQL: a process started later knows them. */
    int pid = start_c();
    ck_assert_int_eq(get_me(env.url_c, ca, NULL), 401);

    /* Logout with the access cookie alone works as well. */
    session_t s2;
    login(&s2, ip, email, pw, 0);
    char *ca2 = cookie_pair("vf_access", s2.access);
    ck_assert_int_eq(get_me(env.url_b, ca2, NULL), 200);
    call(&r, "POST", env.url_a, "/users/logout/", "{}", ip, ca2, NULL);
    assert_body(&r, 200, "{\"message\": \"Successfully logged out.\"}");
    resp_free(&r);
    ck_assert_int_eq(get_me(env.url_a, ca2, NULL), 401);
    ck_assert_int_eq(me_until_refused(env.url_b, ca2), 401);
    ck_assert_int_eq(me_until_refused(env.url_c, ca2), 401);
    vft_stop(pid, SIGTERM, 10000);
    free(ca);
    free(cr);
    free(ca2);
    session_free(&s);
    session_free(&s2);
}
END_TEST

START_TEST(forgot_and_reset_password)
{
    const char *ip = "203.0.113.3", *email = "carol.reset@example.com";
    make_user(ip, email, "before-reset-1");
    session_t old;
    login(&old, ip, email, "before-reset-1", 0);
    char *ca_old = cookie_pair("vf_access", old.access);

    resp_t r;
    call(&r, "POST", env.url_a, "/users/forgot-password/", "{\"email\": \"Carol.Reset@Example.com\"}", ip, NULL,
         NULL);
    assert_body(&r, 200, "{\"message\": \"If this email exists, a reset link has been sent.\"}");
    resp_free(&r);
    char *link = wait_mail(email, "http://localhost:4200/reset-password?uid=");
    char uid[32], token[128];
    ck_assert_int_eq(sscanf(strchr(link, '?'), "?uid=%31[^&]&token=%127s", uid, token), 2);

    char *body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"1234\"}", uid, token);
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 400,
                "{\"password\": [\"This password is too short. It must contain at least 8 characters.\","
                " \"This password is entirely numeric.\"]}");
    resp_free(&r);
    free(body);
    body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"carol.reset@example.com\"}", uid,
                     token);
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 400, "{\"password\": [\"The password is too similar to the email address.\"]}");
    resp_free(&r);
    free(body);

    body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"after-reset-2\"}", uid, token);
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 200, "{\"message\": \"Password has been reset successfully.\"}");
    resp_free(&r);
    /* The link is spent. */
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Invalid or expired token.\"}");
    resp_free(&r);
    free(body);

    call(&r, "POST", env.url_a, "/users/login/", "{\"email\": \"carol.reset@example.com\", \"password\": \"before-reset-1\"}",
         ip, NULL, NULL);
    assert_body(&r, 400, "{\"non_field_errors\": [\"Invalid credentials or inactive user.\"]}");
    resp_free(&r);
    session_t s;
    login(&s, ip, email, "after-reset-2", 0);
    /* Sessions opened with the old password are over. */
    ck_assert_int_eq(get_me(env.url_a, ca_old, NULL), 401);

    /* "password" is accepted for "new_password". */
    call(&r, "POST", env.url_a, "/users/forgot-password/", "{\"email\": \"carol.reset@example.com\"}", ip, NULL,
         NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    free(link);
    link = wait_mail(email, "http://localhost:4200/reset-password?uid=");
    ck_assert_int_eq(sscanf(strchr(link, '?'), "?uid=%31[^&]&token=%127s", uid, token), 2);
    body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"password\": \"third-pass-3\"}", uid, token);
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 200, "{\"message\": \"Password has been reset successfully.\"}");
    resp_free(&r);
    free(body);
    session_free(&s);
    login(&s, ip, email, "third-pass-3", 0);

    /* The documented errors. */
    call(&r, "POST", env.url_a, "/users/reset-password/", "{\"uid\": \"1\", \"token\": \"x\"}", ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"All fields are required.\"}");
    resp_free(&r);
    call(&r, "POST", env.url_a, "/users/reset-password/",
         "{\"uid\": \"zzzzzz\", \"token\": \"x-y\", \"new_password\": \"good-pass-9\"}", ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Invalid user.\"}");
    resp_free(&r);
    body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"good-pass-9\"}", uid, "1-AAAA");
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Invalid or expired token.\"}");
    resp_free(&r);
    free(body);
    call(&r, "POST", env.url_a, "/users/forgot-password/", "{}", ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Email is required.\"}");
    resp_free(&r);

    /* An expired link (made with the server's key, 2 hours old). */
    char *id = sql_value("SELECT id FROM users WHERE email = $1", email);
    char *hash = sql_value("SELECT password FROM users WHERE email = $1", email);
    vf_link_state_t st = {strtoll(id, NULL, 10), email, hash, 1};
    char tok[VF_LINK_TOKEN_SIZE], id36[16];
    ck_assert_int_eq(vf_link_token_make(KEY, VF_LINK_RESET, &st, (int64_t)time(NULL) - 7200, tok), 0);
    vf_base36_encode(st.user_id, id36);
    body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"good-pass-9\"}", id36, tok);
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Invalid or expired token.\"}");
    resp_free(&r);
    free(body);
    /* ... while a fresh one made the same way works: the test's token is
     * the server's format. */
    ck_assert_int_eq(vf_link_token_make(KEY, VF_LINK_RESET, &st, (int64_t)time(NULL), tok), 0);
    body = json_body("{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"good-pass-9\"}", id36, tok);
    call(&r, "POST", env.url_a, "/users/reset-password/", body, ip, NULL, NULL);
    assert_body(&r, 200, "{\"message\": \"Password has been reset successfully.\"}");
    resp_free(&r);
    free(body);
    /* An expired confirmation link gives 400 too. */
    ck_assert_int_eq(vf_link_token_make(KEY, VF_LINK_CONFIRM, &st, (int64_t)time(NULL) - 4 * 86400, tok), 0);
    char path[512];
    snprintf(path, sizeof path, "/users/confirm/?uid=%s&token=%s", id36, tok);
    call(&r, "GET", env.url_a, path, NULL, ip, NULL, NULL);
    assert_body(&r, 400, "{\"error\": \"Invalid or expired token.\"}");
    resp_free(&r);
    free(id);
    free(hash);
    free(link);
    free(ca_old);
    session_free(&old);
    session_free(&s);
}
END_TEST

static double timed_forgot(const char *ip, const char *email)
{
    char *body = json_body("{\"email\": \"%s\"}", email);
    resp_t r;
    double t0 = now_ms();
    call(&r, "POST", env.url_a, "/users/forgot-password/", body, ip, NULL, NULL);
    double t = now_ms() - t0;
    assert_body(&r, 200, "{\"message\": \"If this email exists, a reset link has been sent.\"}");
    resp_free(&r);
    free(body);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(forgot_password_reveals_nothing)
{
    const char *email = "dave.timing@example.com";
    make_user("203.0.113.4", email, "timing-pass-1");
    enum { N = 5 };
    double known[N], unknown[N];
    char ip[32];
    for (int i = 0; i < N; i++) {
        snprintf(ip, sizeof ip, "203.0.114.%d", i);
        known[i] = timed_forgot(ip, email);
        snprintf(ip, sizeof ip, "203.0.115.%d", i);
        unknown[i] = timed_forgot(ip, "nobody.here@example.com");
    }
    qsort(known, N, sizeof *known, cmp_double);
    qsort(unknown, N, sizeof *unknown, cmp_double);
    double k = known[N / 2], u = unknown[N / 2];
    fprintf(stderr, "check_accounts: forgot-password median %.1f ms (account) vs %.1f ms (no account)\n", k, u);
    ck_assert_msg(known[0] >= 295 && unknown[0] >= 295, "answers not padded: %.1f / %.1f ms", known[0], unknown[0]);
    ck_assert_msg(k - u < 50 && u - k < 50, "timing differs: %.1f vs %.1f ms", k, u);
    /* Mails went to the account only. */
    for (int i = 0; i < N; i++) {
        char *link = wait_mail(email, "http://localhost:4200/reset-password?uid=");
        free(link);
    }
    sleep_ms(300);
    ck_assert_int_eq(mail_waiting_for("nobody.here@example.com"), 0);
}
END_TEST

START_TEST(bad_tokens_are_refused)
{
    const char *ip = "203.0.113.5", *email = "erin.tokens@example.com", *pw = "tokens-pass-1";
    make_user(ip, email, pw);
    session_t s;
    login(&s, ip, email, pw, 0);
    json_t *c = jwt_claims(s.access);
    vf_token_claims_t base = {.type = VF_TOKEN_ACCESS, .user_id = json_integer_value(json_object_get(c, "user_id"))};
    snprintf(base.sid, sizeof base.sid, "%s", json_string_value(json_object_get(c, "sid")));
    json_decref(c);
    const char *invalid = "{\"detail\": \"Given token not valid for any token type\", \"code\": \"token_not_valid\"}";
    int64_t now = time(NULL);

    /* The genuine one works, by cookie and as a Bearer token. */
    char *ca = cookie_pair("vf_access", s.access);
    ck_assert_int_eq(get_me(env.url_a, ca, NULL), 200);
    char *bearer = json_body("Authorization: Bearer %s", s.access);
    ck_assert_int_eq(get_me(env.url_a, NULL, bearer), 200);

    const char *why[] = {"expired", "tampered", "refresh as access", "alg none", "HS512", "other key", "no jti"};
    for (int i = 0; i < 7; i++) {
        char *t = NULL;
        vf_token_claims_t cl = base;
        vf_token_new_id(cl.jti);
        cl.iat = now;
        cl.exp = now + 300;
        if (i == 0) {
            cl.iat = now - 400;
            cl.exp = now - 100;
            ck_assert_int_eq(vf_token_issue(KEY, &cl, &t), 0);
        } else if (i == 1) {
            t = strdup(s.access);
            char *p = strchr(t, '.') + 10;
            *p = *p == 'A' ? 'B' : 'A';
        } else if (i == 2) {
            t = strdup(s.refresh);
        } else {
            jwt_t *j = NULL;
            ck_assert_int_eq(jwt_new(&j), 0);
            jwt_add_grant(j, "token_type", "access");
            jwt_add_grant_int(j, "exp", (long)cl.exp);
            jwt_add_grant_int(j, "iat", (long)cl.iat);
            if (i != 6)
                jwt_add_grant(j, "jti", cl.jti);
            jwt_add_grant_int(j, "user_id", (long)cl.user_id);
            jwt_add_grant(j, "sid", cl.sid);
            jwt_add_grant_bool(j, "is_staff", 1);
            const char *k = i == 5 ? "another-secret-key-0123456789abcdef-xyz" : KEY;
            jwt_alg_t alg = i == 3 ? JWT_ALG_NONE : i == 4 ? JWT_ALG_HS512 : JWT_ALG_HS256;
            ck_assert_int_eq(jwt_set_alg(j, alg, alg == JWT_ALG_NONE ? NULL : (const unsigned char *)k,
                                         alg == JWT_ALG_NONE ? 0 : (int)strlen(k)),
                             0);
            t = jwt_encode_str(j);
            jwt_free(j);
        }
        char *cookie = cookie_pair("vf_access", t), *auth = json_body("Authorization: Bearer %s", t);
        resp_t r;
        call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, cookie, NULL);
        ck_assert_msg(r.status == 401, "%s token by cookie: %ld", why[i], r.status);
        assert_body(&r, 401, invalid);
        resp_free(&r);
        call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, NULL, auth);
        ck_assert_msg(r.status == 401, "%s token by header: %ld", why[i], r.status);
        resp_free(&r);
        free(cookie);
        free(auth);
        free(t);
    }
    /* An access token is no refresh token. */
    resp_t r;
    char *wrong = cookie_pair("vf_refresh", s.access);
    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, wrong, NULL);
    assert_body(&r, 401, "{\"error\": \"Invalid refresh token.\"}");
    resp_free(&r);
    free(wrong);
    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, "vf_refresh=garbage", NULL);
    assert_body(&r, 401, "{\"error\": \"Invalid refresh token.\"}");
    resp_free(&r);
    call(&r, "POST", env.url_a, "/users/refresh/", "{}", ip, NULL, NULL);
    assert_body(&r, 401, "{\"error\": \"Missing refresh cookie.\"}");
    resp_free(&r);
    /* Another scheme is no credential at all. */
    call(&r, "GET", env.url_a, "/users/me/", NULL, NULL, NULL, "Authorization: Basic dXNlcjpwYXNz");
    assert_body(&r, 401, "{\"detail\": \"Authentication credentials were not provided.\"}");
    resp_free(&r);
    free(ca);
    free(bearer);
    session_free(&s);
}
END_TEST

START_TEST(registration_errors_and_email_exists)
{
    const char *email = "frank.reg@example.com";
    make_user("203.0.113.6", email, "register-pass-1");
    struct {
        const char *body, *status_body;
    } cases[] = {
        {"{\"email\": \"FRANK.Reg@Example.com\", \"password\": \"another-pass-1\", \"confirm_password\": \"another-pass-1\"}",
         "{\"email\": [\"User with this email already exists.\"]}"},
        {"{\"email\": \"new1@example.com\", \"password\": \"another-pass-1\", \"confirm_password\": \"another-pass-2\"}",
         "{\"password\": [\"Passwords must match.\"]}"},
        {"{\"email\": \"new2@example.com\", \"password\": \"short1\", \"confirm_password\": \"short1\"}",
         "{\"password\": [\"This password is too short. It must contain at least 8 characters.\"]}"},
        {"{\"email\": \"new3@example.com\", \"password\": \"12345678901\", \"confirm_password\": \"12345678901\"}",
         "{\"password\": [\"This password is entirely numeric.\"]}"},
        {"{\"email\": \"new4@example.com\", \"password\": \"NEW4@example.com\", \"confirm_password\": \"NEW4@example.com\"}",
         "{\"password\": [\"The password is too similar to the email address.\"]}"},
        {"{}", "{\"email\": [\"This field is required.\"], \"password\": [\"This field is required.\"],"
               " \"confirm_password\": [\"This field is required.\"]}"},
        {"{\"email\": \"not-an-email\", \"password\": \"another-pass-1\", \"confirm_password\": \"another-pass-1\"}",
         "{\"email\": [\"Enter a valid email address.\"]}"},
    };
    char ip[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        snprintf(ip, sizeof ip, "203.0.116.%zu", i);
        call(&r, "POST", env.url_a, "/users/register/", cases[i].body, ip, NULL, NULL);
        assert_body(&r, 400, cases[i].status_body);
        resp_free(&r);
    }
    resp_t r;
    call(&r, "POST", env.url_a, "/users/register/", "{\"email\": ", "203.0.116.99", NULL, NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(strncmp(json_string_value(json_object_get(r.json, "detail")), "JSON parse error - ", 19) == 0, "%s",
                  r.raw.body);
    resp_free(&r);
    /* Nothing was created by the refused ones. */
    char *n = sql_value("SELECT count(*) FROM users WHERE email LIKE 'new%@example.com'", NULL);
    ck_assert_str_eq(n, "0");
    free(n);

    /* email-exists tells the truth, whatever the letter case; no slash too. */
    call(&r, "GET", env.url_a, "/users/email-exists/?email=Frank.REG%40example.com", NULL, "203.0.116.50", NULL, NULL);
    assert_body(&r, 200, "{\"exists\": true}");
    resp_free(&r);
    call(&r, "GET", env.url_a, "/users/email-exists?email=nobody%40example.com", NULL, "203.0.116.50", NULL, NULL);
    assert_body(&r, 200, "{\"exists\": false}");
    resp_free(&r);
    call(&r, "GET", env.url_a, "/users/email-exists/?email=broken", NULL, "203.0.116.50", NULL, NULL);
    assert_body(&r, 400, "{\"email\": [\"Enter a valid email address.\"]}");
    resp_free(&r);
    call(&r, "GET", env.url_a, "/users/email-exists/", NULL, "203.0.116.50", NULL, NULL);
    assert_body(&r, 400, "{\"email\": [\"This field is required.\"]}");
    resp_free(&r);
}
END_TEST

static long login_status(const char *base, const char *ip, const char *email, resp_t *keep)
{
    char *body = json_body("{\"email\": \"%s\", \"password\": \"wrong-pass-1\"}", email);
    resp_t r;
    call(&r, "POST", base, "/users/login/", body, ip, NULL, NULL);
    free(body);
    long st = r.status;
    if (keep)
        *keep = r;
    else
        resp_free(&r);
    return st;
}

START_TEST(rate_limits)
{
    /* Per client address (login_limit = 6 in a 60 s window). */
    char email[64];
    for (int i = 0; i < 6; i++) {
        snprintf(email, sizeof email, "rl-ip-%d@example.com", i);
        ck_assert_int_eq(login_status(env.url_a, "198.51.100.7", email, NULL), 400);
    }
    resp_t r;
    ck_assert_int_eq(login_status(env.url_a, "198.51.100.7", "rl-ip-x@example.com", &r), 429);
    char *retry = vft_header(&r.raw, "Retry-After", 0);
    ck_assert_ptr_nonnull(retry);
    int seconds = atoi(retry);
    ck_assert_msg(seconds >= 1 && seconds <= 120, "Retry-After: %s", retry);
    char want[128];
    snprintf(want, sizeof want, "{\"detail\": \"Request was throttled. Expected available in %d seconds.\"}", seconds);
    assert_body(&r, 429, want);
    char *cors = vft_header(&r.raw, "Access-Control-Allow-Origin", 0);
    ck_assert_str_eq(cors, ORIGIN);
    free(cors);
    free(retry);
    resp_free(&r);
    /* Another address (a trusted proxy's X-Forwarded-For) is not limited. */
    ck_assert_int_eq(login_status(env.url_a, "198.51.100.8", "rl-ip-x@example.com", NULL), 400);

    /* Per email, whatever the address. */
    char ip[32];
    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof ip, "198.51.101.%d", i);
        ck_assert_int_eq(login_status(env.url_a, ip, "Victim@Example.com", NULL), 400);
    }
    ck_assert_int_eq(login_status(env.url_a, "198.51.101.200", "victim@example.com", NULL), 429);

    /* register, forgot-password and email-exists have their own limits. */
    for (int i = 0; i < 7; i++) {
        char *body = json_body("{\"email\": \"rl-reg-%d@example.com\", \"password\": \"x\", \"confirm_password\": \"y\"}", i);
        call(&r, "POST", env.url_a, "/users/register/", body, "198.51.100.20", NULL, NULL);
        ck_assert_int_eq(r.status, i < 6 ? 400 : 429);
        resp_free(&r);
        free(body);
        body = json_body("{\"email\": \"rl-forgot-%d@example.com\"}", i);
        call(&r, "POST", env.url_a, "/users/forgot-password/", body, "198.51.100.21", NULL, NULL);
        ck_assert_int_eq(r.status, i < 6 ? 200 : 429);
        resp_free(&r);
        free(body);
    }
    for (int i = 0; i < 41; i++) {
        char path[128];
        snprintf(path, sizeof path, "/users/email-exists/?email=rl-ee-%d%%40example.com", i);
        call(&r, "GET", env.url_a, path, NULL, "198.51.100.22", NULL, NULL);
        ck_assert_int_eq(r.status, i < 40 ? 200 : 429);
        resp_free(&r);
    }

    /* Server B trusts no proxy: X-Forwarded-For is ignored and every
     * request counts for the peer, 127.0.0.1. */
    for (int i = 0; i < 7; i++) {
        snprintf(ip, sizeof ip, "192.0.2.%d", i);
        snprintf(email, sizeof email, "rl-b-%d@example.com", i);
        ck_assert_int_eq(login_status(env.url_b, ip, email, NULL), i < 6 ? 400 : 429);
    }
}
END_TEST

START_TEST(origin_check)
{
    const char *body = "{\"email\": \"origin@example.com\", \"password\": \"whatever-1\"}";
    struct {
        const char *header;
        long status;
    } cases[] = {
        {"Origin: https://evil.example", 403},
        {"Origin: null", 403},
        {"Referer: https://evil.example/page", 403},
        {"Referer: http://localhost:4200/login", 400},
        {NULL, 400},
    };
    char ip[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s/users/login/", env.url_a);
        snprintf(ip, sizeof ip, "X-Forwarded-For: 198.51.102.%zu", i);
        const char *headers[] = {"Content-Type: application/json", ip, cases[i].header, NULL};
        vft_response_t r;
        ck_assert_int_eq(vft_http("POST", url, body, headers, &r), 0);
        ck_assert_msg(r.status == cases[i].status, "%s: %ld %s", cases[i].header ? cases[i].header : "no header",
                      r.status, r.body);
        if (r.status == 403)
            ck_assert_msg(strstr(r.body, "\"detail\":\"CSRF Failed: Origin checking failed"), "%s", r.body);
        vft_response_free(&r);
    }
    /* The server's own origin is trusted; the other endpoints are guarded. */
    char own[128];
    snprintf(own, sizeof own, "Origin: %s", env.url_a);
    resp_t r;
    call(&r, "POST", env.url_a, "/users/login/", body, "198.51.102.50", NULL, own);
    ck_assert_int_eq(r.status, 400);
    resp_free(&r);
    const char *paths[] = {"/users/register/", "/users/refresh/", "/users/logout/", "/users/forgot-password/",
                           "/users/reset-password/"};
    for (int i = 0; i < 5; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s%s", env.url_a, paths[i]);
        const char *headers[] = {"Content-Type: application/json", "Origin: https://evil.example",
                                 "Cookie: vf_refresh=x", NULL};
        vft_response_t raw;
        ck_assert_int_eq(vft_http("POST", url, "{}", headers, &raw), 0);
        ck_assert_msg(raw.status == 403, "%s: %ld", paths[i], raw.status);
        vft_response_free(&raw);
    }
}
END_TEST

static char *django_hash(const char *password)
{
    char *out = NULL;
    int rc = vft_sh(&out,
                    "/usr/bin/python3 -c \"from django.conf import settings; settings.configure(); "
                    "from django.contrib.auth.hashers import make_password; print(make_password('%s'))\"",
                    password);
    ck_assert_msg(rc == 0 && out, "python3-django could not make a hash");
    out[strcspn(out, "\n")] = '\0';
    return out;
}

START_TEST(imported_hashes_are_upgraded)
{
    char *hash = django_hash("Django-Pass-42");
    insert_user("grace.django@example.com", hash);
    resp_t r;
    call(&r, "POST", env.url_a, "/users/login/", "{\"email\": \"grace.django@example.com\", \"password\": \"Django-Pass-4\"}",
         "203.0.113.9", NULL, NULL);
    ck_assert_int_eq(r.status, 400);
    resp_free(&r);
    session_t s;
    login(&s, "203.0.113.9", "grace.django@example.com", "Django-Pass-42", 0);
    char *now_stored = sql_value("SELECT password FROM users WHERE email = $1", "grace.django@example.com");
    ck_assert_msg(strncmp(now_stored, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0, "not upgraded: %s", now_stored);
    session_free(&s);
    login(&s, "203.0.113.9", "grace.django@example.com", "Django-Pass-42", 0);
    session_free(&s);
    free(now_stored);
    free(hash);

    /* Argon2id with weaker parameters than those in force. */
    ck_assert_int_ge(sodium_init(), 0);
    char weak[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(weak, "weak-params-1", 13, crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    insert_user("heidi.weak@example.com", weak);
    login(&s, "203.0.113.9", "heidi.weak@example.com", "weak-params-1", 0);
    now_stored = sql_value("SELECT password FROM users WHERE email = $1", "heidi.weak@example.com");
    ck_assert_msg(strncmp(now_stored, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0, "not upgraded: %s", now_stored);
    free(now_stored);
    session_free(&s);
}
END_TEST

typedef struct login_call {
    const char *base;
    char email[64], ip[32];
    long status;
    double done_at;
} login_call_t;

static pthread_mutex_t burst_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t burst_cond = PTHREAD_COND_INITIALIZER;
static int burst_done;

static void *login_thread(void *arg)
{
    login_call_t *lc = arg;
    char *body = json_body("{\"email\": \"%s\", \"password\": \"burst-pass-1\"}", lc->email);
    resp_t r;
    call(&r, "POST", lc->base, "/users/login/", body, lc->ip, NULL, NULL);
    lc->status = r.status;
    resp_free(&r);
    free(body);
    pthread_mutex_lock(&burst_lock);
    lc->done_at = now_ms();
    burst_done++;
    pthread_cond_broadcast(&burst_cond);
    pthread_mutex_unlock(&burst_lock);
    return NULL;
}

/* A server with one loop thread and one hashing thread.  Six logins are
 * sent at once; once the first is answered, the other five are queued in
 * that server.  A cheap request sent then must be answered while most of
 * them still wait for the hashing thread: were hashes computed on the loop
 * thread, it would queue behind all five.  Measured by order, not by
 * milliseconds, so that a loaded machine cannot make it fail. */
START_TEST(login_burst_does_not_stall_the_server)
{
    char dir[4096], cfg[4096], log[4200], base[64];
    snprintf(dir, sizeof dir, "%s/d", env.tmp);
    mkdir(dir, 0700);
    int port = vft_free_port();
    char extra[1024];
    snprintf(extra, sizeof extra,
             "server = { port = %d; threads = 1; trusted_proxies = [\"127.0.0.1\"]; };\n"
             "auth = { secret_key = \"" KEY "\"; hash_threads = 1; };\n",
             port);
    char *path = vft_write_config(dir, env.conninfo, env.redis.port, extra);
    snprintf(cfg, sizeof cfg, "%s", path);
    free(path);
    snprintf(log, sizeof log, "%s/server.log", dir);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    int pid = spawn_server(cfg, log, port);
    ck_assert_int_gt(pid, 0);

    char hash[crypto_pwhash_STRBYTES];
    ck_assert_int_ge(sodium_init(), 0);
    ck_assert_int_eq(crypto_pwhash_str(hash, "burst-pass-1", 12, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE),
                     0);
    enum { N = 6 };
    login_call_t calls[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        calls[i].base = base;
        snprintf(calls[i].email, sizeof calls[i].email, "burst-%d@example.com", i);
        snprintf(calls[i].ip, sizeof calls[i].ip, "203.0.117.%d", i);
        insert_user(calls[i].email, hash);
    }
    double t0 = now_ms();
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, login_thread, &calls[i]);
    pthread_mutex_lock(&burst_lock);
    while (burst_done < 1)
        pthread_cond_wait(&burst_cond, &burst_lock);
    pthread_mutex_unlock(&burst_lock);

    double s = now_ms();
    resp_t r;
    call(&r, "GET", base, "/users/email-exists/?email=burst-0%40example.com", NULL, "203.0.117.100", NULL, NULL);
    double answered = now_ms();
    assert_body(&r, 200, "{\"exists\": true}");
    resp_free(&r);
    pthread_mutex_lock(&burst_lock);
    int pending = N - burst_done;
    pthread_mutex_unlock(&burst_lock);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    double last = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(calls[i].status, 200);
        if (calls[i].done_at > last)
            last = calls[i].done_at;
    }
    fprintf(stderr,
            "check_accounts: %d logins on one loop thread took %.0f ms; a request in between was answered in "
            "%.1f ms with %d logins still hashing\n",
            N, last - t0, answered - s, pending);
    ck_assert_msg(pending >= 2, "only %d logins were still waiting: the request queued behind the hashing", pending);
    vft_stop(pid, SIGTERM, 10000);
}
END_TEST

START_TEST(createsuperuser)
{
    const char *bin = getenv("VF_BINARY");
    setenv("VF_ACCOUNTS_ADMIN_PW", "admin-pass-789", 1);
    char *out = NULL;
    char *argv1[] = {(char *)bin, "--config", env.cfg_a, "createsuperuser", "--email", "Admin@Example.com",
                     "--password-env", "VF_ACCOUNTS_ADMIN_PW", NULL};
    ck_assert_int_eq(vft_run(argv1, &out), 0);
    ck_assert_msg(strstr(out, "Superuser admin@example.com created"), "%s", out);
    free(out);
    /* Twice: refused, with a reason. */
    ck_assert_int_eq(vft_sh(&out, "'%s' --config '%s' createsuperuser --email admin@example.com "
                                  "--password-env VF_ACCOUNTS_ADMIN_PW 2>&1", bin, env.cfg_a), 1);
    ck_assert_msg(strstr(out, "already exists"), "%s", out);
    free(out);
    ck_assert_int_eq(vft_sh(&out, "'%s' --config '%s' createsuperuser --email x@example.com --password 123 2>&1",
                            bin, env.cfg_a), 1);
    ck_assert_msg(strstr(out, "too short"), "%s", out);
    free(out);
    ck_assert_int_eq(vft_sh(&out, "'%s' --config '%s' createsuperuser --email nope --password long-enough-1 2>&1",
                            bin, env.cfg_a), 1);
    ck_assert_msg(strstr(out, "not a valid email address"), "%s", out);
    free(out);
    ck_assert_int_eq(vft_sh(&out, "'%s' --config '%s' createsuperuser --email y@example.com "
                                  "--password-env VF_ACCOUNTS_UNSET_VAR 2>&1", bin, env.cfg_a), 1);
    ck_assert_msg(strstr(out, "VF_ACCOUNTS_UNSET_VAR is not set"), "%s", out);
    free(out);
    /* Asked on the terminal; without one (setsid), on standard input. */
    ck_assert_int_eq(vft_sh(&out, "printf 'Typed@Example.com\\ntyped-pass-1\\ntyped-pass-1\\n' | setsid -w '%s' "
                                  "--config '%s' createsuperuser 2>&1", bin, env.cfg_a), 0);
    ck_assert_msg(strstr(out, "Superuser typed@example.com created"), "%s", out);
    free(out);

    session_t s;
    login(&s, "203.0.113.10", "admin@example.com", "admin-pass-789", 0);
    json_t *c = jwt_claims(s.access);
    ck_assert(json_is_true(json_object_get(c, "is_staff")));
    json_decref(c);
    char *flags = sql_value("SELECT is_active::text || is_staff::text || is_superuser::text FROM users"
                            " WHERE email = $1", "admin@example.com");
    ck_assert_str_eq(flags, "truetruetrue");
    free(flags);
    session_free(&s);
}
END_TEST

START_TEST(expired_rows_are_purged)
{
    insert_user("ivan.purge@example.com", "!");
    PGconn *c = db();
    PGresult *res = PQexec(c,
                           "INSERT INTO auth_sessions (id, user_id, expires_at, head_jti)"
                           " SELECT 'old-session', id, now() - interval '2 hours', 'old-head' FROM users"
                           " WHERE email = 'ivan.purge@example.com';"
                           "INSERT INTO auth_refresh_tokens (jti, session_id, issued_at, expires_at)"
                           " VALUES ('old-head', 'old-session', now() - interval '3 hours', now() - interval '2 hours');"
                           "INSERT INTO auth_sessions (id, user_id, expires_at, head_jti, revoked_at)"
                           " SELECT 'revoked-recently', id, now() - interval '2 hours', 'x', now() - interval '10 seconds'"
                           " FROM users WHERE email = 'ivan.purge@example.com';"
                           "INSERT INTO auth_sessions (id, user_id, expires_at, head_jti)"
                           " SELECT 'live-session', id, now() + interval '1 hour', 'live-head' FROM users"
                           " WHERE email = 'ivan.purge@example.com';");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    vf_db_t *d = vf_db_new_conninfo(env.conninfo, NULL, 5);
    int n = vf_sessions_purge(d, 300);
    ck_assert_int_ge(n, 1); /* the old session (its token goes with it) */
    vf_db_free(&d);
    char *left = sql_value("SELECT string_agg(id, ',' ORDER BY id) FROM auth_sessions WHERE id IN"
                           " ('old-session', 'revoked-recently', 'live-session')", NULL);
    /* A recent revocation is kept while access tokens of it may live. */
    ck_assert_str_eq(left, "live-session,revoked-recently");
    free(left);
    char *tok = sql_value("SELECT count(*) FROM auth_refresh_tokens WHERE jti = 'old-head'", NULL);
    ck_assert_str_eq(tok, "0");
    free(tok);
}
END_TEST

static Suite *accounts_suite(void)
{
    Suite *s = suite_create("accounts");
    TCase *tc = tcase_create("api");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, register_confirm_login_refresh_reuse);
    tcase_add_test(tc, logout_with_refresh_cookie_only);
    tcase_add_test(tc, forgot_and_reset_password);
    tcase_add_test(tc, forgot_password_reveals_nothing);
    tcase_add_test(tc, bad_tokens_are_refused);
    tcase_add_test(tc, registration_errors_and_email_exists);
    tcase_add_test(tc, rate_limits);
    tcase_add_test(tc, origin_check);
    tcase_add_test(tc, imported_hashes_are_upgraded);
    tcase_add_test(tc, login_burst_does_not_stall_the_server);
    tcase_add_test(tc, createsuperuser);
    tcase_add_test(tc, expired_rows_are_purged);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(accounts_suite)
