/*
 * check_content.c - the /content/ API through the real binary, a migrated
 * database and a private Redis, with users who log in through
 * /users/login/ and videos inserted with SQL (the upload pipeline is not
 * needed to have a catalogue):
 *   - every endpoint answers 401 without a valid access cookie;
 *   - the list: newest first, every field the frontend reads, absolute
 *     image and video URLs that load, only current-generation renditions,
 *     Cache-Control private, ETag and 304, HEAD;
 *   - one video, favourites (toggle, errors, per user, seen by login, the
 *     Origin check),
 *     video-url (rendition, source, 400 and both 404s);
 *   - the catalogue cache: served without a query while nothing changes,
 *     and a change made by another process (this test's own connection) is
 *     visible within one second, also after the server's listening
 *     connection was killed;
 *   - with media.accel_redirect: /media/ needs the access cookie and then
 *     answers only "X-Accel-Redirect: <prefix><key>" (percent-encoded),
 *     for no key outside the storage root or hidden in it;
 *   - with storage_s3 against the S3 test server (VF_TEST_S3_ENDPOINT):
 *     presigned URLs that the signature-checking proxy accepts, inline
 *     disposition for video-url, and a cached list that is re-signed once
 *     a third of media.url_expires has passed.
 */
#include "config.h"
#include "vftest.h"
#include "core/runtime/db.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD "correct horse battery"

typedef struct server {
    int pid;
    int port;
    char base[64];
    char *config;
} server_t;

static char *dir, *conninfo;
static vft_redis_t redis;
static PGconn *db;
static server_t local_srv;
static char alice_cookie[2048], bob_cookie[2048];

/* ------------------------------------------------------------- helpers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run SQL with text parameters; returns the first value of the first row
 * (malloc()ed) or NULL when there is none. */
static char *sql(const char *query, int n, const char *const *params)
{
    PGresult *res = PQexecParams(db, query, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    ck_assert_msg(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK, "%s: %s", query, PQresultErrorMessage(res));
    char *v = st == PGRES_TUPLES_OK && PQntuples(res) > 0 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return v;
}

static void sql0(const char *query) { free(sql(query, 0, NULL)); }

static int64_t add_video(const char *title, const char *created_at, const char *source_key, const char *thumbnail_key)
{
    const char *p[] = {title, created_at, source_key, thumbnail_key};
    char *id = sql("INSERT INTO videos (title, category, created_at, source_key, thumbnail_key, description,"
                   " processing_state, processing_progress)"
                   " VALUES ($1, 'Drama', $2::timestamptz, $3, $4, 'About ' || $1, 'ready', 100) RETURNING id",
                   4, p);
    int64_t v = strtoll(id, NULL, 10);
    free(id);
    return v;
}

static void add_rendition(int64_t video, const char *quality, const char *key, int generation)
{
    char id[24], gen[16];
    snprintf(id, sizeof id, "%lld", (long long)video);
    snprintf(gen, sizeof gen, "%d", generation);
    const char *p[] = {id, quality, key, gen};
    free(sql("INSERT INTO video_renditions (video_id, quality, storage_key, generation) VALUES ($1, $2, $3, $4)", 4,
             p));
}

static void put_local(const char *key, size_t len, unsigned seed)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/media/%s", dir, key);
    for (char *s = strchr(path + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    ck_assert_int_eq(vft_write_pattern(path, len, seed), 0);
}

/* An active user with PASSWORD, stored the way accounts stores it (Argon2id). */
static void add_user(const char *email)
{
    char hash[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE),
                     0);
    const char *p[] = {email, hash};
    free(sql("INSERT INTO users (email, username, password, is_active) VALUES ($1, $1, $2, true)", 2, p));
}

static long call(const server_t *s, const char *method, const char *path, const char *body, const char *cookie,
                 const char *extra_header, vft_response_t *resp)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    const char *headers[4] = {NULL};
    int n = 0;
    if (cookie)
        headers[n++] = cookie;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (extra_header)
        headers[n++] = extra_header;
    ck_assert_int_eq(vft_http(method, url, body, headers, resp), 0);
    return resp->status;
}

/* Log in through the API; *login gets the answer's user object. */
static void login(const server_t *s, const char *email, char cookie[2048], json_t **login_body)
{
    char body[256];
    snprintf(body, sizeof body, "{\"email\": \"%s\", \"password\": \"%s\"}", email, PASSWORD);
    vft_response_t r;
    ck_assert_int_eq(call(s, "POST", "/users/login/", body, NULL, NULL, &r), 200);
    cookie[0] = '\0';
    for (int i = 0;; i++) {
        char *c = vft_header(&r, "Set-Cookie", i);
        if (!c)
            break;
        if (strncmp(c, "vf_access=", 10) == 0)
            snprintf(cookie, 2048, "Cookie: %.*s", (int)strcspn(c, ";"), c);
        free(c);
    }
    ck_assert_msg(cookie[0], "login set no vf_access cookie");
    if (login_body)
        *login_body = json_loads(r.body, 0, NULL);
    vft_response_free(&r);
}

static json_t *parse(const vft_response_t *r)
{
    json_error_t err;
    json_t *j = json_loads(r->body, JSON_DECODE_ANY, &err);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", err.text, r->body);
    return j;
}

static void assert_body(const vft_response_t *r, const char *want)
{
    json_t *got = parse(r), *exp = json_loads(want, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(exp);
    ck_assert_msg(json_equal(got, exp), "body %s, want %s", r->body, want);
    json_decref(got);
    json_decref(exp);
}

static json_t *get_json(const server_t *s, const char *path, const char *cookie, long want_status)
{
    vft_response_t r;
    ck_assert_int_eq(call(s, "GET", path, NULL, cookie, NULL, &r), want_status);
    json_t *j = parse(&r);
    vft_response_free(&r);
    return j;
}

static json_t *find_video(json_t *list, int64_t id)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (json_integer_value(json_object_get(v, "id")) == id) return v;
    return NULL;
}

/* Poll GET path until pred holds; returns the milliseconds it took, or -1
 * when it did not hold within limit_ms. */
static long wait_until(const server_t *s, const char *path, int (*pred)(json_t *, void *), void *arg, long limit_ms)
{
    int64_t start = now_ms();
    for (;;) {
        vft_response_t r;
        ck_assert_int_eq(call(s, "GET", path, NULL, alice_cookie, NULL, &r), 200);
        json_t *j = parse(&r);
        vft_response_free(&r);
        int ok = pred(j, arg);
        json_decref(j);
        long took = (long)(now_ms() - start);
        if (ok)
            return took;
        if (took > limit_ms)
            return -1;
        usleep(20000);
    }
}

/* The catalogue as the database has it: "id:renditions,..." newest first. */
static int catalogue_matches(json_t *list, void *want)
{
    char got[4096] = "";
    size_t i, off = 0;
    json_t *v;
    json_array_foreach(list, i, v) {
        off += (size_t)snprintf(got + off, sizeof got - off, "%lld:%zu:%s:%lld:%s,",
                                (long long)json_integer_value(json_object_get(v, "id")),
                                json_object_size(json_object_get(v, "converted_files")),
                                json_string_value(json_object_get(v, "processing_state")),
                                (long long)json_integer_value(json_object_get(v, "processing_progress")),
                                json_string_value(json_object_get(v, "title")));
        if (off >= sizeof got)
            return 0;
    }
    return strcmp(got, want) == 0;
}

/* Changes made straight in SQL reach the server through its listener a few
 * milliseconds later (up to a second under load); tests that read right
 * after a change wait for that first. */
static void settle(const server_t *s)
{
    char *want = sql("SELECT coalesce(string_agg(v.id || ':' || (SELECT count(*) FROM video_renditions r"
                     " WHERE r.video_id = v.id AND r.generation = v.generation) || ':' || v.processing_state"
                     " || ':' || v.processing_progress || ':' || v.title, ',' ORDER BY v.created_at DESC,"
                     " v.id DESC) || ',', '') FROM videos v",
                     0, NULL);
    long took = wait_until(s, "/content/", catalogue_matches, want, 10000);
    ck_assert_msg(took >= 0, "the server's catalogue did not match the database (%s) within 10 s", want);
    free(want);
}

/* The config of vft_write_config with its storage group replaced. */
static char *write_config(const char *storage_group, int port, const char *extra)
{
    char sections[2048];
    snprintf(sections, sizeof sections,
             "server = { port = %d; threads = 2; public_origin = \"http://127.0.0.1:%d\"; };\n"
             "auth = { secret_key = \"content-test-secret-0123456789abcdef\"; };\n"
             "ratelimit = { login_limit = 1000; };\n%s",
             port, port, extra ? extra : "");
    char *path = vft_write_config(dir, conninfo, redis.port, sections);
    ck_assert_ptr_nonnull(path);
    char *text = NULL;
    ck_assert_int_eq(vft_sh(&text, "cat '%s'", path), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(f, "%s\n", strncmp(line, "storage = ", 10) == 0 ? storage_group : line);
    ck_assert_int_eq(fclose(f), 0);
    free(text);
    return path;
}

static void start_server(server_t *s, int port, const char *storage_group, const char *extra, const char *name)
{
    s->port = port;
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    s->config = write_config(storage_group, s->port, extra);
    char log[1024];
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", s->config, "serve", NULL};
    s->pid = vft_spawn(argv, log);
    ck_assert_int_gt(s->pid, 0);
    ck_assert_msg(vft_wait_port(s->port, 15000) == 0, "server did not start; see %s", log);
}

static void stop_server(server_t *s)
{
    if (s->pid > 0)
        vft_stop(s->pid, SIGTERM, 5000);
    s->pid = 0;
    free(s->config);
    s->config = NULL;
}

/* dir, then the server's port. */
#define LOCAL_STORAGE \
    "storage = { plugin = \"storage_local\"; settings = { root = \"%s/media\";" \
    " public_url = \"http://127.0.0.1:%d/media/\"; }; };"

/* Each test (a forked child) has its own connection: "another process". */
static void db_open(void)
{
    db = PQconnectdb(conninfo);
    ck_assert_int_eq(PQstatus(db), CONNECTION_OK);
}

static void db_close(void)
{
    PQfinish(db);
    db = NULL;
}

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    dir = vft_tmpdir("content");
    conninfo = vft_pg_create("vf_content");
    ck_assert_ptr_nonnull(conninfo);
    ck_assert_int_eq(vft_redis_start(&redis, dir, 0), 0);
    db_open();

    char group[1024];
    int port = vft_free_port();
    snprintf(group, sizeof group, LOCAL_STORAGE, dir, port);
    /* Migrated before the server starts, as in production: a server whose
     * revocation set is not loaded yet asks PostgreSQL for every token and
     * refuses it while PostgreSQL is away, which is not what this tests. */
    char *config = write_config(group, port, NULL);
    char *out = NULL;
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", config, "migrate", NULL};
    ck_assert_int_eq(vft_run(argv, &out), 0);
    free(out);
    free(config);
    start_server(&local_srv, port, group, NULL, "server");
    add_user("alice@example.com");
    add_user("bob@example.com");
    db_close();
    login(&local_srv, "alice@example.com", alice_cookie, NULL);
    login(&local_srv, "bob@example.com", bob_cookie, NULL);
}

static void teardown(void)
{
    stop_server(&local_srv);
    vft_redis_stop(&redis);
    vft_pg_drop(conninfo);
    free(conninfo);
    vft_rmrf(dir);
    free(dir);
}

/* Start every test from an empty catalogue. */
static void empty_catalogue(void) { sql0("DELETE FROM videos"); }

/* --------------------------------------------------------------- tests */

START_TEST(everything_needs_authentication)
{
    static const struct {
        const char *method, *path, *body;
    } calls[] = {
        {"GET", "/content/", NULL},
        {"GET", "/content/1/", NULL},
        {"POST", "/content/add-favorite/", "{\"video_id\": 1}"},
        {"GET", "/content/video-url/1/?quality=720p", NULL},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        vft_response_t r;
        ck_assert_int_eq(call(&local_srv, calls[i].method, calls[i].path, calls[i].body, NULL, NULL, &r), 401);
        assert_body(&r, "{\"detail\": \"Authentication credentials were not provided.\"}");
        vft_response_free(&r);
        ck_assert_int_eq(call(&local_srv, calls[i].method, calls[i].path, calls[i].body, "Cookie: vf_access=forged",
                              NULL, &r),
                         401);
        json_t *j = parse(&r);
        ck_assert_ptr_nonnull(json_object_get(j, "detail"));
        json_decref(j);
        vft_response_free(&r);
    }
}
END_TEST

START_TEST(list_newest_first_with_every_field)
{
    empty_catalogue();
    int64_t old = add_video("Old Film", "2024-01-02T03:04:05.000001Z", "videos/old/source.mp4", NULL);
    int64_t mid = add_video("Mid Film", "2025-11-22T10:53:08.123456Z", "videos/mid/source.mp4", "videos/mid/thumb.jpg");
    int64_t pending = add_video("New Upload", "2026-01-01T00:00:00Z", NULL, NULL);
    add_rendition(mid, "720p", "videos/mid/1/720p.mp4", 1);
    add_rendition(mid, "120p", "videos/mid/1/120p.mp4", 1);
    add_rendition(mid, "1080p", "videos/mid/0/1080p.mp4", 0); /* an older generation: not listed */
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)pending);
    const char *p[] = {id};
    free(sql("UPDATE videos SET processing_state = 'failed', processing_progress = 40,"
             " processing_error = 'Decoding failed.' WHERE id = $1",
             1, p));
    settle(&local_srv);
    put_local("videos/mid/thumb.jpg", 3000, 11);

    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "GET", "/content/", NULL, alice_cookie, NULL, &r), 200);
    char *cc = vft_header(&r, "Cache-Control", 0), *ctype = vft_header(&r, "Content-Type", 0);
    ck_assert_ptr_nonnull(cc);
    ck_assert_ptr_nonnull(strstr(cc, "private"));
    ck_assert_str_eq(ctype, "application/json; charset=utf-8");
    free(cc);
    free(ctype);
    json_t *list = parse(&r);
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), pending);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 1), "id")), mid);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 2), "id")), old);

    char want[2048];
    snprintf(want, sizeof want,
             "{\"id\": %lld, \"title\": \"Mid Film\", \"description\": \"About Mid Film\", \"category\": \"Drama\","
             " \"created_at\": \"2025-11-22T10:53:08.123456Z\","
             " \"image_file\": \"%s/media/videos/mid/thumb.jpg\", \"image_url\": \"%s/media/videos/mid/thumb.jpg\","
             " \"video_file\": \"%s/media/videos/mid/source.mp4\","
             " \"converted_files\": {\"120p\": \"videos/mid/1/120p.mp4\", \"720p\": \"videos/mid/1/720p.mp4\"},"
             " \"processing_state\": \"ready\", \"processing_error\": \"\", \"processing_progress\": 100,"
             /* Our additions (docs/content.md): no HLS stream yet. */
             " \"hls_url\": null, \"hls_state\": \"none\"}",
             (long long)mid, local_srv.base, local_srv.base, local_srv.base);
    json_t *exp = json_loads(want, 0, NULL);
    ck_assert_ptr_nonnull(exp);
    ck_assert_msg(json_equal(json_array_get(list, 1), exp), "got %s", r.body);
    json_decref(exp);

    json_t *p0 = json_array_get(list, 0);
    ck_assert(json_is_null(json_object_get(p0, "image_file")));
    ck_assert(json_is_null(json_object_get(p0, "image_url")));
    ck_assert(json_is_null(json_object_get(p0, "video_file")));
    ck_assert_int_eq(json_object_size(json_object_get(p0, "converted_files")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(p0, "processing_state")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(p0, "processing_error")), "Decoding failed.");
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "processing_progress")), 40);
    ck_assert_str_eq(json_string_value(json_object_get(p0, "created_at")), "2026-01-01T00:00:00.000000Z");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "created_at")),
                     "2024-01-02T03:04:05.000001Z");

    /* The image URL loads as it is. */
    vft_response_t img;
    const char *image = json_string_value(json_object_get(json_array_get(list, 1), "image_file"));
    ck_assert_int_eq(vft_http("GET", image, NULL, NULL, &img), 0);
    ck_assert_int_eq(img.status, 200);
    ck_assert_uint_eq(img.body_len, 3000);
    vft_response_free(&img);
    json_decref(list);
    vft_response_free(&r);
}
END_TEST

START_TEST(list_etag_head_and_304)
{
    empty_catalogue();
    add_video("Etag Film", "2025-01-01T00:00:00Z", NULL, NULL);
    settle(&local_srv);
    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "GET", "/content/", NULL, alice_cookie, NULL, &r), 200);
    char *etag = vft_header(&r, "ETag", 0);
    ck_assert_ptr_nonnull(etag);
    size_t len = r.body_len;
    vft_response_free(&r);

    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    ck_assert_int_eq(call(&local_srv, "GET", "/content/", NULL, alice_cookie, inm, &r), 304);
    ck_assert_uint_eq(r.body_len, 0);
    vft_response_free(&r);

    ck_assert_int_eq(call(&local_srv, "HEAD", "/content/", NULL, alice_cookie, NULL, &r), 200);
    ck_assert_uint_eq(r.body_len, 0);
    char *cl = vft_header(&r, "Content-Length", 0);
    ck_assert_uint_eq(strtoul(cl, NULL, 10), len);
    free(cl);
    vft_response_free(&r);

    /* A change makes a new ETag, so the old one gets the whole list. */
    add_video("Etag Film 2", "2025-01-02T00:00:00Z", NULL, NULL);
    settle(&local_srv);
    for (int i = 0; i < 50 && call(&local_srv, "GET", "/content/", NULL, alice_cookie, inm, &r) == 304; i++) {
        vft_response_free(&r);
        usleep(20000);
    }
    ck_assert_int_eq(r.status, 200);
    json_t *j = parse(&r);
    ck_assert_int_eq(json_array_size(j), 2);
    json_decref(j);
    vft_response_free(&r);
    free(etag);
}
END_TEST

/* GET /content/ as each coding the client accepts: decoded, the same bytes
 * as the plain list; an ETag of its own per coding; Vary on every answer;
 * the same encoded bytes for every request of one catalogue. */
static char *coded_list(const char *accept, const char *inm, long want_status, char **coding, char **etag,
                        size_t *wire_len)
{
    char accept_h[128], inm_h[160];
    const char *headers[4] = {alice_cookie, NULL, NULL, NULL};
    int n = 1;
    if (accept) {
        snprintf(accept_h, sizeof accept_h, "Accept-Encoding: %s", accept);
        headers[n++] = accept_h;
    }
    if (inm) {
        snprintf(inm_h, sizeof inm_h, "If-None-Match: %s", inm);
        headers[n++] = inm_h;
    }
    char url[512];
    snprintf(url, sizeof url, "%s/content/", local_srv.base);
    vft_response_t r;
    ck_assert_int_eq(vft_http("GET", url, NULL, headers, &r), 0);
    ck_assert_int_eq(r.status, want_status);
    char *vary = vft_header(&r, "Vary", 0);
    ck_assert_msg(vary && strstr(vary, "Accept-Encoding"), "Vary: %s", vary ? vary : "(none)");
    free(vary);
    *coding = vft_header(&r, "Content-Encoding", 0);
    *etag = vft_header(&r, "ETag", 0);
    ck_assert_ptr_nonnull(*etag);
    *wire_len = r.body_len;
    char *text = NULL;
    size_t len = 0;
    if (want_status == 200 && *coding) {
        ck_assert_int_eq(vft_decode(*coding, r.body, r.body_len, &text, &len), 0);
    } else {
        text = r.body;
        r.body = NULL;
    }
    vft_response_free(&r);
    return text;
}

START_TEST(list_compressed_once_per_catalogue)
{
    empty_catalogue();
    for (int i = 0; i < 40; i++) {
        char title[64], at[32];
        snprintf(title, sizeof title, "Compressed Film %d", i);
        snprintf(at, sizeof at, "2025-02-%02dT00:00:00Z", 1 + i % 28);
        add_video(title, at, NULL, NULL);
    }
    settle(&local_srv);
    char *coding, *plain_etag, *etag;
    size_t plain_len, wire;
    char *plain = coded_list(NULL, NULL, 200, &coding, &plain_etag, &plain_len);
    ck_assert_ptr_null(coding);
    static const struct {
        const char *accept, *coding;
    } cases[] = {
        {"gzip, deflate, br", "br"}, {"gzip", "gzip"}, {"br;q=0, gzip", "gzip"}, {"identity", NULL}, {"zstd", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = coded_list(cases[i].accept, NULL, 200, &coding, &etag, &wire);
        ck_assert_str_eq(text, plain);
        if (cases[i].coding) {
            ck_assert_msg(coding && strcmp(coding, cases[i].coding) == 0, "%s gave %s", cases[i].accept,
                          coding ? coding : "no coding");
            ck_assert_str_ne(etag, plain_etag);
            ck_assert_uint_lt(wire, plain_len / 5); /* the goal: at most 0.2 of the bytes */
        } else {
            ck_assert_ptr_null(coding);
            ck_assert_str_eq(etag, plain_etag);
        }
        free(text);
        free(coding);
        free(etag);
    }
    /* Revalidation: the br ETag is current for a br request only. */
    char *br_etag;
    free(coded_list("br", NULL, 200, &coding, &br_etag, &wire));
    free(coding);
    free(coded_list("br", br_etag, 304, &coding, &etag, &wire));
    ck_assert_str_eq(etag, br_etag);
    free(coding);
    free(etag);
    char *text = coded_list(NULL, br_etag, 200, &coding, &etag, &wire);
    ck_assert_str_eq(text, plain);
    free(text);
    free(coding);
    free(etag);
    /* A change makes new encoded bodies too. */
    add_video("Compressed Film new", "2025-03-01T00:00:00Z", NULL, NULL);
    settle(&local_srv);
    char *fresh = NULL;
    for (int i = 0; i < 50; i++) {
        free(fresh);
        fresh = coded_list("br", NULL, 200, &coding, &etag, &wire);
        free(coding);
        int changed = strcmp(etag, br_etag) != 0;
        free(etag);
        if (changed)
            break;
        usleep(20000);
    }
    ck_assert_ptr_nonnull(strstr(fresh, "Compressed Film new"));
    free(fresh);
    free(br_etag);
    free(plain);
    free(plain_etag);
}
END_TEST

START_TEST(one_video)
{
    empty_catalogue();
    int64_t id = add_video("Single", "2025-03-03T03:03:03.3Z", "videos/single/source.mp4", NULL);
    settle(&local_srv);
    json_t *list = get_json(&local_srv, "/content/", alice_cookie, 200);
    char path[64];
    snprintf(path, sizeof path, "/content/%lld/", (long long)id);
    json_t *one = get_json(&local_srv, path, alice_cookie, 200);
    ck_assert(json_equal(one, json_array_get(list, 0)));
    json_decref(one);
    json_decref(list);
    snprintf(path, sizeof path, "/content/%lld", (long long)id); /* no trailing slash */
    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "GET", path, NULL, alice_cookie, NULL, &r), 200);
    char *etag = vft_header(&r, "ETag", 0), inm[128];
    ck_assert_ptr_nonnull(etag);
    vft_response_free(&r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    ck_assert_int_eq(call(&local_srv, "GET", path, NULL, alice_cookie, inm, &r), 304);
    vft_response_free(&r);
    free(etag);

    static const char *const missing[] = {"/content/999999/", "/content/abc/", "/content/0/", "/content/-1/",
                                          "/content/99999999999999999999999/"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        ck_assert_int_eq(call(&local_srv, "GET", missing[i], NULL, alice_cookie, NULL, &r), 404);
        assert_body(&r, "{\"detail\": \"Not found.\"}");
        vft_response_free(&r);
    }
}
END_TEST

/* hls_state and hls_url (docs/content.md) follow the row; the playlist
 * routes answer as GET /content/<id>/ does before they look for a stream. */
START_TEST(hls_fields)
{
    empty_catalogue();
    int64_t id = add_video("Streamed", "2025-04-04T04:04:04Z", "videos/hls/source.mp4", NULL);
    settle(&local_srv);
    char path[96], master[96], media[96];
    snprintf(path, sizeof path, "/content/%lld/", (long long)id);
    snprintf(master, sizeof master, "/content/%lld/hls/master.m3u8", (long long)id);
    snprintf(media, sizeof media, "/content/%lld/hls/720p/index.m3u8", (long long)id);
    json_t *one = get_json(&local_srv, path, alice_cookie, 200);
    ck_assert_str_eq(json_string_value(json_object_get(one, "hls_state")), "none");
    ck_assert(json_is_null(json_object_get(one, "hls_url")));
    json_decref(one);

    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "GET", master, NULL, NULL, NULL, &r), 401);
    assert_body(&r, "{\"detail\": \"Authentication credentials were not provided.\"}");
    vft_response_free(&r);
    ck_assert_int_eq(call(&local_srv, "GET", "/content/abc/hls/master.m3u8", NULL, alice_cookie, NULL, &r), 404);
    assert_body(&r, "{\"detail\": \"Not found.\"}");
    vft_response_free(&r);
    ck_assert_int_eq(call(&local_srv, "GET", master, NULL, alice_cookie, NULL, &r), 404);
    assert_body(&r, "{\"detail\": \"This video has no HLS stream yet.\"}");
    vft_response_free(&r);

    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    const char *params[] = {idtext};
    free(sql("UPDATE videos SET hls_state = 'complete' WHERE id = $1::int8", 1, params));
    char want[256];
    snprintf(want, sizeof want, "%s/content/%lld/hls/master.m3u8", local_srv.base, (long long)id);
    int seen = 0;
    for (int waited = 0; waited < 5000 && !seen; waited += 50) {
        one = get_json(&local_srv, path, alice_cookie, 200);
        const char *url = json_string_value(json_object_get(one, "hls_url"));
        seen = url && strcmp(url, want) == 0 &&
               strcmp(json_string_value(json_object_get(one, "hls_state")), "complete") == 0;
        json_decref(one);
        if (!seen)
            usleep(50000);
    }
    ck_assert_msg(seen, "hls_url did not become %s", want);
    /* A state without stream rows: nothing to list. */
    ck_assert_int_eq(call(&local_srv, "GET", media, NULL, alice_cookie, NULL, &r), 404);
    assert_body(&r, "{\"detail\": \"Requested quality not available\"}");
    vft_response_free(&r);
    ck_assert_int_eq(call(&local_srv, "GET", master, NULL, alice_cookie, NULL, &r), 404);
    vft_response_free(&r);
}
END_TEST

static void favorite(const char *cookie, const char *body, long status, const char *want)
{
    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "POST", "/content/add-favorite/", body, cookie, NULL, &r), status);
    assert_body(&r, want);
    vft_response_free(&r);
}

START_TEST(favorites_toggle)
{
    empty_catalogue();
    int64_t a = add_video("Fav A", "2025-01-01T00:00:00Z", NULL, NULL);
    int64_t b = add_video("Fav B", "2025-01-02T00:00:00Z", NULL, NULL);
    settle(&local_srv);
    char body[64], want[64];

    snprintf(body, sizeof body, "{\"video_id\": %lld}", (long long)a);
    snprintf(want, sizeof want, "[%lld]", (long long)a);
    favorite(alice_cookie, body, 200, want);
    snprintf(body, sizeof body, "{\"video_id\": \"%lld\"}", (long long)b); /* the id as a string works too */
    snprintf(want, sizeof want, "[%lld, %lld]", (long long)a, (long long)b);
    favorite(alice_cookie, body, 200, want);
    snprintf(body, sizeof body, "{\"video_id\": %lld}", (long long)a);
    snprintf(want, sizeof want, "[%lld]", (long long)b);
    favorite(alice_cookie, body, 200, want);
    /* Bob's list is his own. */
    snprintf(want, sizeof want, "[%lld]", (long long)a);
    favorite(bob_cookie, body, 200, want);

    /* The login answer reads the same favourites. */
    json_t *user = NULL;
    char cookie[2048];
    login(&local_srv, "alice@example.com", cookie, &user);
    json_t *favs = json_object_get(user, "favorite_videos");
    ck_assert_int_eq(json_array_size(favs), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(favs, 0)), b);
    json_decref(user);

    favorite(alice_cookie, "{}", 400, "{\"message\": \"Video ID is required.\"}");
    favorite(alice_cookie, "{\"video_id\": null}", 400, "{\"message\": \"Video ID is required.\"}");
    favorite(alice_cookie, "{\"video_id\": \"\"}", 400, "{\"message\": \"Video ID is required.\"}");
    favorite(alice_cookie, "{\"video_id\": \"abc\"}", 400, "{\"video_id\": [\"A valid integer is required.\"]}");
    favorite(alice_cookie, "{\"video_id\": 987654321}", 404, "{\"message\": \"Video not found\"}");
    vft_response_t r;
    /* A page of another site cannot toggle with the user's cookie. */
    ck_assert_int_eq(call(&local_srv, "POST", "/content/add-favorite/", body, alice_cookie,
                          "Origin: http://evil.example", &r),
                     403);
    vft_response_free(&r);
    ck_assert_int_eq(call(&local_srv, "POST", "/content/add-favorite/", "{oops", alice_cookie, NULL, &r), 400);
    json_t *j = parse(&r);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "detail")), "JSON parse error"));
    json_decref(j);
    vft_response_free(&r);

    /* A deleted video leaves the lists. */
    snprintf(body, sizeof body, "%lld", (long long)b);
    const char *p[] = {body};
    free(sql("DELETE FROM videos WHERE id = $1", 1, p));
    snprintf(body, sizeof body, "{\"video_id\": %lld}", (long long)a);
    favorite(alice_cookie, body, 200, want);
}
END_TEST

static void video_url(const char *path, long status, const char *want)
{
    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "GET", path, NULL, alice_cookie, NULL, &r), status);
    assert_body(&r, want);
    vft_response_free(&r);
}

START_TEST(video_urls)
{
    empty_catalogue();
    int64_t id = add_video("Playable", "2025-01-01T00:00:00Z", "videos/play/source.mp4", NULL);
    int64_t bare = add_video("No Source", "2025-01-01T00:00:01Z", NULL, NULL);
    add_rendition(id, "720p", "videos/play/1/720p.mp4", 1);
    add_rendition(id, "360p", "videos/play/0/360p.mp4", 0); /* an old generation */
    settle(&local_srv);
    put_local("videos/play/1/720p.mp4", 50000, 3);

    char path[128], want[512];
    snprintf(path, sizeof path, "/content/video-url/%lld/?quality=720p", (long long)id);
    snprintf(want, sizeof want, "{\"url\": \"%s/media/videos/play/1/720p.mp4\"}", local_srv.base);
    video_url(path, 200, want);
    /* The URL plays: the file, with ranges. */
    json_t *j = get_json(&local_srv, path, alice_cookie, 200);
    vft_response_t r;
    const char *range[] = {"Range: bytes=1000-1999", NULL};
    ck_assert_int_eq(vft_http("GET", json_string_value(json_object_get(j, "url")), NULL, range, &r), 0);
    ck_assert_int_eq(r.status, 206);
    ck_assert_uint_eq(r.body_len, 1000);
    vft_response_free(&r);
    json_decref(j);

    snprintf(path, sizeof path, "/content/video-url/%lld/", (long long)id);
    snprintf(want, sizeof want, "{\"url\": \"%s/media/videos/play/source.mp4\"}", local_srv.base);
    video_url(path, 200, want);

    snprintf(path, sizeof path, "/content/video-url/%lld/?quality=360p", (long long)id);
    video_url(path, 404, "{\"detail\": \"Requested quality not available\"}");
    snprintf(path, sizeof path, "/content/video-url/%lld/?quality=1080p", (long long)id);
    video_url(path, 404, "{\"detail\": \"Requested quality not available\"}");
    snprintf(path, sizeof path, "/content/video-url/%lld/", (long long)bare);
    video_url(path, 404, "{\"detail\": \"Requested quality not available\"}");
    video_url("/content/video-url/987654321/?quality=720p", 404, "{\"detail\": \"Video not found\"}");
    video_url("/content/video-url/xyz/?quality=720p", 404, "{\"detail\": \"Video not found\"}");
    snprintf(path, sizeof path, "/content/video-url/%lld/?quality=999p", (long long)id);
    video_url(path, 400, "{\"quality\": [\"\\\"999p\\\" is not a valid choice.\"]}");
}
END_TEST

START_TEST(list_is_served_from_the_cache)
{
    empty_catalogue();
    add_video("Cached", "2025-01-01T00:00:00Z", NULL, NULL);
    settle(&local_srv);
    usleep(200000);
    json_t *before = get_json(&local_srv, "/content/", alice_cookie, 200);
    /* Renaming the table fires no trigger; a query would now fail. */
    sql0("ALTER TABLE videos RENAME TO videos_hidden");
    vft_response_t r;
    long status = call(&local_srv, "GET", "/content/", NULL, alice_cookie, NULL, &r);
    json_t *during = status == 200 ? parse(&r) : NULL;
    vft_response_free(&r);
    sql0("ALTER TABLE videos_hidden RENAME TO videos");
    ck_assert_int_eq(status, 200);
    ck_assert(json_equal(before, during));
    json_decref(before);
    json_decref(during);
}
END_TEST

static int has_title(json_t *list, void *title)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(json_object_get(v, "title")), title) == 0) return 1;
    return 0;
}

static int lacks_title(json_t *list, void *title) { return !has_title(list, title); }

/* A change shows within milliseconds through the listener and within
 * 0.5 s without it (the printed figure); the bound leaves room for a busy
 * machine while still failing a server that never re-reads. */
#define CHANGE_WAIT_MS 5000

START_TEST(changes_by_another_process_show_within_a_second)
{
    empty_catalogue();
    json_decref(get_json(&local_srv, "/content/", alice_cookie, 200));
    add_video("Fresh", "2025-05-05T00:00:00Z", NULL, NULL);
    long took = wait_until(&local_srv, "/content/", has_title, "Fresh", CHANGE_WAIT_MS);
    ck_assert_msg(took >= 0, "an insert was not visible within %d ms", CHANGE_WAIT_MS);
    fprintf(stderr, "insert visible after %ld ms\n", took);

    sql0("UPDATE videos SET title = 'Renamed' WHERE title = 'Fresh'");
    ck_assert_msg(wait_until(&local_srv, "/content/", has_title, "Renamed", CHANGE_WAIT_MS) >= 0, "an update was not visible");

    char *id = sql("SELECT id FROM videos WHERE title = 'Renamed'", 0, NULL);
    char path[128];
    snprintf(path, sizeof path, "/content/video-url/%s/?quality=720p", id);
    json_decref(get_json(&local_srv, path, alice_cookie, 404));
    add_rendition(strtoll(id, NULL, 10), "720p", "videos/x/720p.mp4", 1);
    vft_response_t r;
    int64_t start = now_ms();
    long status = 0;
    while (now_ms() - start < CHANGE_WAIT_MS && status != 200) {
        status = call(&local_srv, "GET", path, NULL, alice_cookie, NULL, &r);
        vft_response_free(&r);
        if (status != 200)
            usleep(20000);
    }
    ck_assert_msg(status == 200, "a new rendition was not visible within %d ms", CHANGE_WAIT_MS);

    sql0("DELETE FROM videos WHERE title = 'Renamed'");
    ck_assert_msg(wait_until(&local_srv, "/content/", lacks_title, "Renamed", CHANGE_WAIT_MS) >= 0, "a delete was not visible");
    free(id);
}
END_TEST

START_TEST(changes_show_while_the_listener_is_down)
{
    empty_catalogue();
    json_decref(get_json(&local_srv, "/content/", alice_cookie, 200));
    char *killed = sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND query = 'LISTEN vf_catalog'",
                       0, NULL);
    ck_assert_str_eq(killed, "1");
    free(killed);
    add_video("While Down", "2025-06-06T00:00:00Z", NULL, NULL);
    ck_assert_msg(wait_until(&local_srv, "/content/", has_title, "While Down", CHANGE_WAIT_MS) >= 0,
                  "a change was not visible within %d ms without the listener", CHANGE_WAIT_MS);
    /* The listener comes back. */
    int back = 0;
    for (int i = 0; i < 100 && !back; i++) {
        char *n = sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND query = 'LISTEN vf_catalog'",
                      0, NULL);
        back = strcmp(n, "1") == 0;
        free(n);
        if (!back)
            usleep(50000);
    }
    ck_assert_msg(back, "the catalogue listener did not reconnect");
    sql0("UPDATE videos SET title = 'After Return' WHERE title = 'While Down'");
    ck_assert(wait_until(&local_srv, "/content/", has_title, "After Return", CHANGE_WAIT_MS) >= 0);
}
END_TEST

/* ----------------------------------------------------------- storage_s3 */

/* ------------------------------------------- a PostgreSQL restart */

/* A private cluster, so that restarting it disturbs no other test. */
static char pg_dir[1024];
static int private_pg_port;

static int pg_shell(const char *action)
{
    return vft_sh(NULL, "set -e; . %s/scripts/lib.sh; %s >/dev/null 2>&1", vft_env_or_skip("VF_SRCDIR"), action);
}

static void private_pg_setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    dir = vft_tmpdir("content-pg");
    ck_assert_int_eq(chmod(dir, 0755), 0);
    snprintf(pg_dir, sizeof pg_dir, "%s/pg", dir);
    private_pg_port = vft_free_port();
    char action[2048];
    snprintf(action, sizeof action, "VF_PG_FSYNC=off vf_pg_start %s %d", pg_dir, private_pg_port);
    ck_assert_int_eq(pg_shell(action), 0);
    ck_assert_int_ne(
        asprintf(&conninfo, "host=127.0.0.1 port=%d user=videoflix dbname=videoflix", private_pg_port), -1);
    ck_assert_int_eq(vft_redis_start(&redis, dir, 0), 0);
    db_open();
    char group[1024];
    int port = vft_free_port();
    snprintf(group, sizeof group, LOCAL_STORAGE, dir, port);
    /* Migrated before the server starts, as in production: a server whose
     * revocation set is not loaded yet asks PostgreSQL for every token and
     * refuses it while PostgreSQL is away, which is not what this tests. */
    char *config = write_config(group, port, NULL);
    char *out = NULL;
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", config, "migrate", NULL};
    ck_assert_int_eq(vft_run(argv, &out), 0);
    free(out);
    free(config);
    start_server(&local_srv, port, group, NULL, "server");
    add_user("alice@example.com");
    db_close();
    login(&local_srv, "alice@example.com", alice_cookie, NULL);
}

static void private_pg_teardown(void)
{
    stop_server(&local_srv);
    vft_redis_stop(&redis);
    char action[2048];
    snprintf(action, sizeof action, "vf_pg_stop %s", pg_dir);
    pg_shell(action);
    free(conninfo);
    vft_rmrf(dir);
    free(dir);
}

/* The catalogue is in memory: while PostgreSQL restarts, /content/ keeps
 * answering from it (server.catalog_max_stale), and reads work again at
 * once afterwards. */
START_TEST(reads_survive_a_database_restart)
{
    db_open();
    add_video("Before the restart", "2026-01-01 10:00:00+00", "sources/a.mp4", NULL);
    db_close();
    vft_response_t r;
    ck_assert_int_eq(call(&local_srv, "GET", "/content/", NULL, alice_cookie, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "Before the restart"));
    vft_response_free(&r);

    char action[2048];
    snprintf(action, sizeof action, "vf_as_pg \"$(vf_pg_bindir)/pg_ctl\" -D %s/data -m fast -w restart", pg_dir);
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "(%s) &", action);
    ck_assert_int_eq(pg_shell(cmd), 0);
    int answered = 0, failed = 0;
    char first_failure[256] = "";
    int64_t start = now_ms(), until = start + 4000;
    while (now_ms() < until) {
        long st = call(&local_srv, "GET", "/content/", NULL, alice_cookie, NULL, &r);
        if (st == 200 && strstr(r.body, "Before the restart")) {
            answered++;
        } else {
            if (!failed++)
                snprintf(first_failure, sizeof first_failure, "after %lld ms: %ld %.160s",
                         (long long)(now_ms() - start), st, r.body ? r.body : "");
        }
        vft_response_free(&r);
        usleep(5000);
    }
    if (failed)
        vft_sh(NULL, "tail -n 40 %s/server.log >&2", dir);
    ck_assert_msg(failed == 0, "%d of %d catalogue reads failed during the restart, the first %s", failed,
                  answered + failed, first_failure);
    ck_assert_int_gt(answered, 50);
    /* Up again: a read that needs the database works on the first try. */
    snprintf(action, sizeof action,
             "for i in $(seq 1 300); do \"$(vf_pg_bindir)/pg_isready\" -q -h 127.0.0.1 -p %d && exit 0; "
             "sleep 0.1; done; exit 1", private_pg_port);
    ck_assert_int_eq(pg_shell(action), 0);
    ck_assert_int_eq(call(&local_srv, "GET", "/users/me/", NULL, alice_cookie, NULL, &r), 200);
    vft_response_free(&r);
}
END_TEST

/* An idle pooled connection learns of a restart only when next used: a
 * transaction begun on it then must not fail (a tus PATCH answered 503 after
 * PostgreSQL was back, in bench/faults), since nothing was sent yet. */
START_TEST(a_transaction_begins_on_a_connection_a_restart_dropped)
{
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    ck_assert_ptr_nonnull(db);
    ck_assert_int_eq(vf_db_run(db, "SELECT 1", 0, NULL), 0);
    char action[2048];
    snprintf(action, sizeof action, "vf_as_pg \"$(vf_pg_bindir)/pg_ctl\" -D %s/data -m fast -w restart", pg_dir);
    ck_assert_int_eq(pg_shell(action), 0);
    ck_assert_int_eq(vf_db_begin(db), 0);
    ck_assert_int_eq(vf_db_run(db, "SELECT 1", 0, NULL), 0);
    ck_assert_int_eq(vf_db_commit(db), 0);
    /* A write outside a transaction is not sent twice: it fails. */
    ck_assert_int_eq(pg_shell(action), 0);
    ck_assert_int_eq(vf_db_run(db, "UPDATE videos SET title = title WHERE false", 0, NULL), -ECONNRESET);
    vf_db_free(&db);
}
END_TEST

static server_t s3_srv;
static vf_plugin_t *s3_plugin;

#define S3_SETTINGS                                                                                      \
    "bucket = \"%s\"; region = \"%s\"; endpoint = \"%s\"; access_key_id = \"%s\";"                       \
    " secret_access_key = \"%s\";"

static void s3_setup(void)
{
    setup();
    /* Without the S3 test server the program skips, and the test command
     * fails on any skipped program. */
    const char *endpoint = vft_env_or_skip("VF_TEST_S3_ENDPOINT"), *bucket = vft_env_or_skip("VF_TEST_S3_BUCKET"),
               *key = vft_env_or_skip("VF_TEST_S3_ACCESS_KEY"), *secret = vft_env_or_skip("VF_TEST_S3_SECRET_KEY");
    const char *region = getenv("VF_TEST_S3_REGION") ? getenv("VF_TEST_S3_REGION") : "us-east-1";
    char settings[1024], group[1400];
    snprintf(settings, sizeof settings, S3_SETTINGS, bucket, region, endpoint, key, secret);
    char err[1024];
    s3_plugin = vft_plugin_load("storage_s3", VF_PLUGIN_STORAGE, settings, err, sizeof err);
    ck_assert_msg(s3_plugin != NULL, "%s", err);
    snprintf(group, sizeof group, "storage = { plugin = \"storage_s3\"; settings = { %s }; };", settings);
    start_server(&s3_srv, vft_free_port(), group, "media = { url_expires = 6; };\n", "server-s3");
}

static void s3_teardown(void)
{
    stop_server(&s3_srv);
    vft_plugin_free(s3_plugin);
    teardown();
}

static void s3_put(const char *key, size_t len, unsigned seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/upload.bin", dir);
    ck_assert_int_eq(vft_write_pattern(path, len, seed), 0);
    vf_error_t err = {0};
    ck_assert_msg(vf_storage_ops(s3_plugin)->put_file(s3_plugin->state, key, path, &err) == 0, "%s", err.message);
}

static void fetch_exactly(const char *url, size_t len)
{
    vft_response_t r;
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "%s answered %ld: %s", url, r.status, r.body);
    ck_assert_uint_eq(r.body_len, len);
    vft_response_free(&r);
}

START_TEST(s3_presigned_urls)
{
    char cookie[2048];
    login(&s3_srv, "alice@example.com", cookie, NULL);
    empty_catalogue();
    int64_t id = add_video("On S3", "2025-01-01T00:00:00Z", "videos/s3/source.mp4", "videos/s3/thumb.jpg");
    add_rendition(id, "720p", "videos/s3/1/720p.mp4", 1);
    settle(&s3_srv);
    s3_put("videos/s3/thumb.jpg", 2000, 5);
    s3_put("videos/s3/1/720p.mp4", 70000, 6);

    json_t *list = get_json(&s3_srv, "/content/", cookie, 200);
    json_t *v = find_video(list, id);
    ck_assert_ptr_nonnull(v);
    const char *image = json_string_value(json_object_get(v, "image_file"));
    ck_assert_ptr_nonnull(image);
    ck_assert_ptr_nonnull(strstr(image, "X-Amz-Signature="));
    ck_assert_ptr_nonnull(strstr(image, "X-Amz-Expires=6&"));
    ck_assert_str_eq(image, json_string_value(json_object_get(v, "image_url")));
    fetch_exactly(image, 2000);

    char path[128];
    snprintf(path, sizeof path, "/content/video-url/%lld/?quality=720p", (long long)id);
    json_t *u = get_json(&s3_srv, path, cookie, 200);
    const char *url = json_string_value(json_object_get(u, "url"));
    ck_assert_ptr_nonnull(strstr(url, "response-content-disposition=inline"));
    ck_assert_ptr_nonnull(strstr(url, "X-Amz-Signature="));
    fetch_exactly(url, 70000);
    json_decref(u);
    json_decref(list);
}
END_TEST

START_TEST(s3_cached_list_is_resigned_before_urls_expire)
{
    char cookie[2048];
    login(&s3_srv, "alice@example.com", cookie, NULL);
    empty_catalogue();
    add_video("Expiring", "2025-01-01T00:00:00Z", NULL, "videos/exp/thumb.jpg");
    settle(&s3_srv);
    s3_put("videos/exp/thumb.jpg", 1000, 9);
    json_t *first = get_json(&s3_srv, "/content/", cookie, 200);
    char *url1 = strdup(json_string_value(json_object_get(json_array_get(first, 0), "image_file")));
    json_decref(first);
    /* url_expires = 6: the list may be served for two seconds, then it is
     * signed again. */
    json_t *again = get_json(&s3_srv, "/content/", cookie, 200);
    ck_assert_str_eq(url1, json_string_value(json_object_get(json_array_get(again, 0), "image_file")));
    json_decref(again);
    usleep(2300000);
    json_t *second = get_json(&s3_srv, "/content/", cookie, 200);
    const char *url2 = json_string_value(json_object_get(json_array_get(second, 0), "image_file"));
    ck_assert_str_ne(url1, url2);
    fetch_exactly(url2, 1000);
    json_decref(second);
    free(url1);
}
END_TEST

/* ------------------------------------------- media.accel_redirect */

static server_t accel_srv;

static void accel_setup(void)
{
    setup();
    char group[1024];
    int port = vft_free_port();
    snprintf(group, sizeof group, LOCAL_STORAGE, dir, port);
    start_server(&accel_srv, port, group, "media = { accel_redirect = \"/protected-media/\"; };\n", "server-accel");
}

static void accel_teardown(void)
{
    stop_server(&accel_srv);
    teardown();
}

/* GET (or HEAD) of /media/<path> on the accel server. */
static long media(const char *method, const char *path, const char *cookie, vft_response_t *r)
{
    char full[512];
    snprintf(full, sizeof full, "/media/%s", path);
    return call(&accel_srv, method, full, NULL, cookie, "Range: bytes=0-9", r);
}

START_TEST(accel_redirect_needs_the_cookie)
{
    put_local("videos/accel/720p.mp4", 5000, 3);
    vft_response_t r;
    ck_assert_int_eq(media("GET", "videos/accel/720p.mp4", NULL, &r), 401);
    ck_assert_ptr_null(vft_header(&r, "X-Accel-Redirect", 0));
    vft_response_free(&r);
    ck_assert_int_eq(media("GET", "videos/accel/720p.mp4", "Cookie: vf_access=forged", &r), 401);
    ck_assert_ptr_null(vft_header(&r, "X-Accel-Redirect", 0));
    vft_response_free(&r);
    /* A refused key is refused the same way without a login: nothing is
     * said about keys to strangers. */
    ck_assert_int_eq(media("GET", "..%2f..%2fetc/passwd", NULL, &r), 401);
    vft_response_free(&r);
}
END_TEST

START_TEST(accel_redirect_names_the_file_for_nginx)
{
    put_local("videos/accel/720p.mp4", 5000, 3);
    put_local("videos/accel/odd name?%.mp4", 10, 4);
    const char *methods[] = {"GET", "HEAD"};
    for (size_t i = 0; i < 2; i++) {
        vft_response_t r;
        ck_assert_int_eq(media(methods[i], "videos/accel/720p.mp4", alice_cookie, &r), 200);
        char *h = vft_header(&r, "X-Accel-Redirect", 0);
        ck_assert_ptr_nonnull(h);
        ck_assert_str_eq(h, "/protected-media/videos/accel/720p.mp4");
        free(h);
        /* Nginx sends the bytes (and answers the Range): none from here. */
        ck_assert_uint_eq(r.body_len, 0);
        ck_assert_ptr_null(vft_header(&r, "Content-Range", 0));
        h = vft_header(&r, "Cache-Control", 0);
        ck_assert_str_eq(h ? h : "", "private");
        free(h);
        vft_response_free(&r);
    }
    /* A key with characters Nginx would read as a query or an escape. */
    vft_response_t r;
    ck_assert_int_eq(media("GET", "videos/accel/odd%20name%3F%25.mp4", alice_cookie, &r), 200);
    char *h = vft_header(&r, "X-Accel-Redirect", 0);
    ck_assert_str_eq(h ? h : "", "/protected-media/videos/accel/odd%20name%3F%25.mp4");
    free(h);
    vft_response_free(&r);
}
END_TEST

START_TEST(accel_redirect_refuses_paths_out_of_the_root)
{
    put_local("videos/accel/720p.mp4", 5000, 3);
    put_local(".uploads/secret.bin", 10, 5);
    const char *bad[] = {"..%2f..%2fetc/passwd", "%2e%2e/%2e%2e/etc/passwd", "videos/..%2f..%2f.uploads/secret.bin",
                         "videos%2faccel%2f720p.mp4", "videos%5caccel%5c720p.mp4", ".uploads/secret.bin",
                         "videos//accel/720p.mp4", "videos/%2e/accel/720p.mp4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vft_response_t r;
        long status = media("GET", bad[i], alice_cookie, &r);
        char *h = vft_header(&r, "X-Accel-Redirect", 0);
        ck_assert_msg(status == 404 || status == 400, "/media/%s answered %ld", bad[i], status);
        ck_assert_msg(!h, "/media/%s was sent to nginx as %s", bad[i], h);
        vft_response_free(&r);
    }
}
END_TEST

static Suite *content_suite(void)
{
    Suite *s = suite_create("content");
    TCase *tc = tcase_create("local");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tc, db_open, db_close);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, everything_needs_authentication);
    tcase_add_test(tc, list_newest_first_with_every_field);
    tcase_add_test(tc, list_etag_head_and_304);
    tcase_add_test(tc, list_compressed_once_per_catalogue);
    tcase_add_test(tc, one_video);
    tcase_add_test(tc, hls_fields);
    tcase_add_test(tc, favorites_toggle);
    tcase_add_test(tc, video_urls);
    tcase_add_test(tc, list_is_served_from_the_cache);
    tcase_add_test(tc, changes_by_another_process_show_within_a_second);
    tcase_add_test(tc, changes_show_while_the_listener_is_down);
    suite_add_tcase(s, tc);

    TCase *accel = tcase_create("accel_redirect");
    tcase_add_unchecked_fixture(accel, accel_setup, accel_teardown);
    tcase_set_timeout(accel, 60);
    tcase_add_test(accel, accel_redirect_needs_the_cookie);
    tcase_add_test(accel, accel_redirect_names_the_file_for_nginx);
    tcase_add_test(accel, accel_redirect_refuses_paths_out_of_the_root);
    suite_add_tcase(s, accel);

    TCase *restart = tcase_create("db_restart");
    tcase_add_unchecked_fixture(restart, private_pg_setup, private_pg_teardown);
    tcase_set_timeout(restart, 90);
    tcase_add_test(restart, reads_survive_a_database_restart);
    tcase_add_test(restart, a_transaction_begins_on_a_connection_a_restart_dropped);
    suite_add_tcase(s, restart);

    TCase *s3 = tcase_create("s3");
    tcase_add_unchecked_fixture(s3, s3_setup, s3_teardown);
    tcase_add_checked_fixture(s3, db_open, db_close);
    tcase_set_timeout(s3, 60);
    tcase_add_test(s3, s3_presigned_urls);
    tcase_add_test(s3, s3_cached_list_is_resigned_before_urls_expire);
    suite_add_tcase(s, s3);
    return s;
}

VFT_MAIN(content_suite)
