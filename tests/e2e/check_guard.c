/*
 * check_guard.c - request bodies and framing judged before they are read,
 * through the real server with a logged-in staff user (uploads_fixture):
 *   memory     200 connections announcing 16 MiB logins, half of them
 *              sending 2 MiB of it: each refused with a JSON 413, the
 *              server's VmRSS under 64 MiB
 *   uploads    a staff tus PATCH of upload.chunk_max (cookie and Bearer)
 *              and a staff chunked PATCH still work; without a staff token
 *              (none, forged, expired, not staff) a large body is refused
 *              before a byte of it is sent
 *   chunked    a chunked body is refused as soon as its chunks pass the
 *              limit; malformed chunks and trailers are refused; a small
 *              one reaches its route and the connection goes on
 *   framing    two Content-Lengths, Content-Length with chunked, other
 *              codings, bad numbers, folded or spaced headers, a body on
 *              HEAD, the guard's own header, unknown methods: 400/501, and
 *              the connection closes
 *   pipeline   pipelined requests answered in order, a refusal among them,
 *              a head sent a byte at a time, a head over 64 KiB (431)
 */
#include "config.h"
#include "uploads_fixture.h"

#include "core/accounts/auth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SECRET "uploads-test-secret-key-0123456789abcdef"
#define CHUNK_MAX (16 * 1024 * 1024)
#define TOO_LARGE_SERVER "{\"detail\":\"Request body too large: the limit is 1048576 bytes.\"}"
/* The account routes' own limit (VF_USERS_MAX_BODY). */
#define LOGIN_MAX 16384
#define TOO_LARGE_LOGIN "{\"detail\":\"Request body too large: the limit is 16384 bytes.\"}"
#define RSS_LIMIT_KB (64 * 1024)
#define IO_TIMEOUT_MS 10000

static ufix_t f;

static void setup(void) { ck_assert_int_eq(ufix_setup(&f, NULL), 0); }

static void teardown(void) { ufix_teardown(&f); }

/* ----------------------------------------------------------- raw HTTP */

typedef struct conn {
    int fd;
    char *buf;
    size_t len;
} conn_t;

typedef struct resp {
    int status;
    char *head; /* status line and header fields */
    char *body;
    size_t body_len;
} resp_t;

static void conn_open(conn_t *c)
{
    c->fd = vft_connect(f.port, IO_TIMEOUT_MS);
    ck_assert_int_ge(c->fd, 0);
    c->buf = NULL;
    c->len = 0;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

static void send_all(conn_t *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static void send_str(conn_t *c, const char *s) { send_all(c, s, strlen(s)); }

/* Read more bytes; 0 at the end of the stream. */
static ssize_t fill(conn_t *c)
{
    char tmp[65536];
    ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
    ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
    if (n > 0) {
        c->buf = realloc(c->buf, c->len + (size_t)n + 1);
        ck_assert_ptr_nonnull(c->buf);
        memcpy(c->buf + c->len, tmp, (size_t)n);
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
    }
    return n;
}

static char *header_of(const resp_t *r, const char *name)
{
    vft_response_t v = {.headers = r->head};
    return vft_header(&v, name, 0);
}

/* The next whole response (Content-Length framed, as every answer is; no
 * body after a HEAD request). */
static void read_resp_to(conn_t *c, resp_t *r, int head_request)
{
    char *end;
    while (!c->buf || !(end = strstr(c->buf, "\r\n\r\n")))
        ck_assert_msg(fill(c) > 0, "the connection ended before a response: %.200s", c->buf ? c->buf : "");
    size_t head_len = (size_t)(end - c->buf) + 4;
    r->head = strndup(c->buf, head_len);
    ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    char *cl = header_of(r, "Content-Length"); /* none on 204 */
    r->body_len = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
    free(cl);
    if (head_request)
        r->body_len = 0;
    while (c->len < head_len + r->body_len)
        ck_assert_msg(fill(c) > 0, "the connection ended inside a response");
    r->body = strndup(c->buf + head_len, r->body_len);
    memmove(c->buf, c->buf + head_len + r->body_len, c->len - head_len - r->body_len + 1);
    c->len -= head_len + r->body_len;
}

static void read_resp(conn_t *c, resp_t *r) { read_resp_to(c, r, 0); }

static void resp_free(resp_t *r)
{
    free(r->head);
    free(r->body);
}

/* The server closes the connection (after lingering) with nothing more. */
static void expect_closed(conn_t *c)
{
    ck_assert_msg(fill(c) == 0, "more bytes after the last response: %.200s", c->buf);
    ck_assert_uint_eq(c->len, 0);
}

/* The next answer on c is a refusal: JSON, Connection: close. */
static void read_refusal(conn_t *c, int head_request, int status, const char *body, const char *what)
{
    resp_t r;
    read_resp_to(c, &r, head_request);
    ck_assert_msg(r.status == status, "%s\n-> %d %s", what, r.status, r.body);
    ck_assert_str_eq(r.body, body);
    char *conn = header_of(&r, "Connection"), *ct = header_of(&r, "Content-Type");
    ck_assert_str_eq(conn, "close");
    ck_assert_str_eq(ct, "application/json; charset=utf-8");
    free(conn);
    free(ct);
    resp_free(&r);
}

/* One request on a fresh connection: the refusal it gets, and the close. */
static void expect_refusal(const char *request, int status, const char *body)
{
    conn_t c;
    conn_open(&c);
    send_str(&c, request);
    read_refusal(&c, strncmp(request, "HEAD ", 5) == 0, status, body, request);
    expect_closed(&c);
    conn_close(&c);
}

/* Send `requests` on a fresh connection: their answers have the statuses
 * given (a list ending in 0), in order; with `closed`, the connection ends
 * after them. */
static void expect_answers(const char *requests, int closed, ...)
{
    conn_t c;
    conn_open(&c);
    send_str(&c, requests);
    va_list ap;
    va_start(ap, closed);
    for (int status; (status = va_arg(ap, int)) != 0;) {
        resp_t r;
        read_resp(&c, &r);
        ck_assert_msg(r.status == status, "%s\n-> %d, not %d", requests, r.status, status);
        resp_free(&r);
    }
    va_end(ap);
    if (closed)
        expect_closed(&c);
    conn_close(&c);
}

/* The access token of the fixture's staff session. */
static char *staff_access_token(void)
{
    const char *p = strstr(f.cookie, "vf_access=");
    ck_assert_ptr_nonnull(p);
    p += strlen("vf_access=");
    return strndup(p, strcspn(p, ";"));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *mint_token(int is_staff, int64_t iat, int64_t exp)
{
    vf_token_claims_t c = {.type = VF_TOKEN_ACCESS, .user_id = f.user_id, .iat = iat, .exp = exp,
                           .is_staff = is_staff};
    vf_token_new_id(c.sid);
    vf_token_new_id(c.jti);
    char *token = NULL;
    ck_assert_int_eq(vf_token_issue(SECRET, &c, &token), 0);
    return token;
}

static char *new_upload(int64_t length)
{
    char *path = malloc(256);
    ck_assert_ptr_nonnull(path);
    ck_assert_int_eq(ufix_tus_create(&f, length, "guard.bin", path, 256), 201);
    ck_assert_ptr_nonnull(strstr(path, "/admin/api/uploads/"));
    /* The Location is absolute. */
    char *rel = strstr(path, "/admin/api/uploads/");
    memmove(path, rel, strlen(rel) + 1);
    return path;
}

/* -------------------------------------------------------------- memory */

#define CONNS 200
#define SENT_BODY (2 * 1024 * 1024)
#define SENDING_MS 3000

START_TEST(refused_before_the_body_in_constant_memory)
{
    static const char head[] = "POST /users/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\nContent-Length: 16837216\r\n\r\n";
    long before = vft_vm_rss_kb(f.server_pid);
    ck_assert_int_gt(before, 0);
    conn_t c[CONNS];
    size_t sent[CONNS] = {0};
    for (int i = 0; i < CONNS; i++) {
        conn_open(&c[i]);
        send_str(&c[i], head);
    }
    /* Half of them push body bytes (2 MiB each) for three seconds, as fast
     * as the server takes them, while the server's memory is sampled. */
    static char body[65536];
    memset(body, '{', sizeof body);
    long peak = before;
    size_t total = 0;
    int64_t start = now_ms(), next_sample = start;
    /* The whole time, also after the last byte is sent: the server may still
     * be reading what the kernel holds. */
    while (now_ms() - start < SENDING_MS) {
        int progressed = 0;
        for (int i = 1; i < CONNS; i += 2) {
            if (sent[i] >= SENT_BODY)
                continue;
            size_t want = SENT_BODY - sent[i] < sizeof body ? SENT_BODY - sent[i] : sizeof body;
            ssize_t n = send(c[i].fd, body, want, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent[i] += (size_t)n;
                total += (size_t)n;
                progressed = 1;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                total += SENT_BODY - sent[i];
                sent[i] = SENT_BODY; /* the server is done with it */
            }
        }
        if (now_ms() >= next_sample) {
            long rss = vft_vm_rss_kb(f.server_pid);
            if (rss > peak)
                peak = rss;
            next_sample = now_ms() + 10;
        }
        if (!progressed)
            usleep(total < (size_t)CONNS / 2 * SENT_BODY ? 1000 : 10000);
    }
    long rss = vft_vm_rss_kb(f.server_pid);
    if (rss > peak)
        peak = rss;
    fprintf(stderr, "memory: %d connections announcing 16 MiB: server VmRSS %ld kB before, at most %ld kB\n",
            CONNS, before, peak);
    ck_assert_msg(peak < RSS_LIMIT_KB, "VmRSS reached %ld kB (from %ld kB)", peak, before);

    for (int i = 0; i < CONNS; i++) {
        read_refusal(&c[i], 0, 413, TOO_LARGE_LOGIN, head);
        conn_close(&c[i]);
    }
    /* And the server answers as before. */
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(&f, "GET", "/health/", NULL, NULL, 0, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ufix_resp_free(&r);
}
END_TEST

/* ------------------------------------------------------------- uploads */

static void *pattern(size_t len)
{
    unsigned char *p = malloc(len);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 7 + i / 4096);
    return p;
}

START_TEST(staff_uploads_large_chunks)
{
    char *path = new_upload(2 * (int64_t)CHUNK_MAX + 3 * 1024 * 1024);
    void *data = pattern(CHUNK_MAX);
    int64_t offset = -1;
    /* The staff cookie. */
    ck_assert_int_eq(ufix_tus_patch(&f, path, 0, data, CHUNK_MAX, &offset), 204);
    ck_assert_int_eq(offset, CHUNK_MAX);

    /* A Bearer token, no cookie. */
    char *token = staff_access_token(), bearer[2048], off[64];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    snprintf(off, sizeof off, "Upload-Offset: %d", CHUNK_MAX);
    const char *h[] = {"Tus-Resumable: 1.0.0", off, "Content-Type: application/offset+octet-stream", bearer, NULL};
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(&f, "PATCH", path, h, data, CHUNK_MAX, 0, &r), 0);
    ck_assert_msg(r.status == 204, "%ld %s", r.status, r.body);
    ufix_resp_free(&r);

    /* A chunked body of 3 MiB in 64 KiB chunks. */
    conn_t c;
    conn_open(&c);
    char head[4096];
    snprintf(head, sizeof head,
             "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: %d\r\n"
             "Content-Type: application/offset+octet-stream\r\nAuthorization: Bearer %s\r\n"
             "Transfer-Encoding: chunked\r\n\r\n",
             path, 2 * CHUNK_MAX, token);
    send_str(&c, head);
    for (int i = 0; i < 48; i++) {
        send_str(&c, "10000\r\n");
        send_all(&c, (char *)data + (size_t)i * 65536, 65536);
        send_str(&c, "\r\n");
    }
    send_str(&c, "0\r\n\r\n");
    resp_t rr;
    read_resp(&c, &rr);
    ck_assert_msg(rr.status == 204, "%d %s", rr.status, rr.body);
    char *o = header_of(&rr, "Upload-Offset");
    ck_assert_int_eq(strtoll(o, NULL, 10), 2 * (int64_t)CHUNK_MAX + 3 * 1024 * 1024);
    free(o);
    resp_free(&rr);
    conn_close(&c);
    free(token);
    free(data);
    free(path);
}
END_TEST

/* Sends only the head of a chunk_max PATCH: the answer must come without
 * the body. */
static void expect_large_patch_refused(const char *path, const char *auth_line)
{
    char req[4096];
    snprintf(req, sizeof req,
             "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
             "Content-Type: application/offset+octet-stream\r\n%sContent-Length: %d\r\n\r\n",
             path, auth_line, CHUNK_MAX);
    expect_refusal(req, 413, TOO_LARGE_SERVER);
}

START_TEST(large_bodies_need_a_staff_token)
{
    char *path = new_upload(CHUNK_MAX);
    char line[2048];
    expect_large_patch_refused(path, "");

    char *staff = staff_access_token();
    staff[strlen(staff) - 2] = staff[strlen(staff) - 2] == 'A' ? 'B' : 'A'; /* a forged signature */
    snprintf(line, sizeof line, "Authorization: Bearer %s\r\n", staff);
    expect_large_patch_refused(path, line);
    snprintf(line, sizeof line, "Cookie: vf_access=%s\r\n", staff);
    expect_large_patch_refused(path, line);
    free(staff);

    int64_t now = (int64_t)time(NULL);
    char *user = mint_token(0, now, now + 300);
    snprintf(line, sizeof line, "Authorization: Bearer %s\r\n", user);
    expect_large_patch_refused(path, line);
    free(user);
    char *expired = mint_token(1, now - 600, now - 300);
    snprintf(line, sizeof line, "Cookie: vf_access=%s\r\n", expired);
    expect_large_patch_refused(path, line);
    free(expired);

    /* Creation with an upload attached, anonymous. */
    char req[1024];
    snprintf(req, sizeof req,
             "POST /admin/api/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
             "Upload-Length: 99999999\r\nContent-Type: application/offset+octet-stream\r\n"
             "Content-Length: 5000000\r\n\r\n");
    expect_refusal(req, 413, TOO_LARGE_SERVER);

    /* A small body without a token passes the guard; the handler says no. */
    const char *h[] = {"Tus-Resumable: 1.0.0", "Upload-Offset: 0", "Content-Type: application/offset+octet-stream",
                       NULL};
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(&f, "PATCH", path, h, "0123456789", 10, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ufix_resp_free(&r);
    free(path);
}
END_TEST

/* ------------------------------------------------------------- chunked */

START_TEST(chunked_bodies)
{
    /* Past the limit: refused while the client is still sending. */
    conn_t c;
    conn_open(&c);
    send_str(&c, "POST /users/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    static char chunk[65536];
    memset(chunk, ' ', sizeof chunk);
    for (int i = 0; i < LOGIN_MAX / 1024; i++) {
        send_str(&c, "400\r\n");
        send_all(&c, chunk, 1024);
        send_str(&c, "\r\n");
    }
    send_str(&c, "1\r\n");
    read_refusal(&c, 0, 413, TOO_LARGE_LOGIN, "a chunked login");
    expect_closed(&c);
    conn_close(&c);

    /* A small one reaches its route (405: /health/ is GET only), and the
     * next request on the connection is read where it starts. */
    expect_answers("POST /health/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                   "GET /health/ HTTP/1.1\r\nHost: x\r\n\r\n",
                   0, 405, 200, 0);

    static const char *const bad[] = {
        "zz\r\nhello\r\n0\r\n\r\n",         /* not a size */
        "5;ext=1\r\nhello\r\n0\r\n\r\n",    /* extensions evhttp cannot read */
        "5\r\nhelloXX0\r\n\r\n",            /* no line end after the data */
        "0x5\r\nhello\r\n0\r\n\r\n",        /* a C prefix */
        "\r\n5\r\nhello\r\n0\r\n\r\n",      /* an empty size line */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[512];
        snprintf(req, sizeof req, "POST /health/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s",
                 bad[i]);
        expect_refusal(req, 400, "{\"detail\":\"Malformed chunked body.\"}");
    }
    expect_refusal("POST /health/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n",
                   400, "{\"detail\":\"Trailer fields are not accepted.\"}");
}
END_TEST

/* ------------------------------------------------------------- framing */

#define POST_HEALTH "POST /health/ HTTP/1.1\r\nHost: x\r\n"

START_TEST(ambiguous_framing_refused)
{
    expect_refusal(POST_HEALTH "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
                   "{\"detail\":\"Content-Length is given twice with different values.\"}");
    expect_refusal(POST_HEALTH "Content-Length: 11\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                   400, "{\"detail\":\"Content-Length and Transfer-Encoding cannot both be given.\"}");
    expect_refusal(POST_HEALTH "Transfer-Encoding: chunked\r\nContent-Length: 11\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                   400, "{\"detail\":\"Content-Length and Transfer-Encoding cannot both be given.\"}");
    expect_refusal(POST_HEALTH "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
                   "{\"detail\":\"Transfer codings other than chunked are not supported.\"}");
    expect_refusal(POST_HEALTH "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400,
                   "{\"detail\":\"Transfer-Encoding must be chunked.\"}");
    expect_refusal(POST_HEALTH "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                   "{\"detail\":\"Transfer-Encoding must be chunked.\"}");
    static const char *const lengths[] = {"abc", "-1", "+5", "5 5", "5,5", "0x5", ""};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, POST_HEALTH "Content-Length: %s\r\n\r\nhello", lengths[i]);
        expect_refusal(req, 400, "{\"detail\":\"Content-Length must be a number of bytes.\"}");
    }
    expect_refusal("HEAD /health/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400, "");
    static const char *const malformed[] = {
        POST_HEALTH "Content-Length : 5\r\n\r\nhello",           /* a blank before the colon */
        POST_HEALTH "X-A: 1\r\n Content-Length: 5\r\n\r\nhello", /* a folded line */
        "GET /health/ HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",  /* a bare CR */
        "GET /health/ HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET  /health/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health/\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        expect_refusal(malformed[i], 400, "{\"detail\":\"Malformed request.\"}");
    expect_refusal("BREW /health/ HTTP/1.1\r\nHost: x\r\n\r\n", 501, "{\"detail\":\"Method not implemented.\"}");
    expect_refusal("TRACE /health/ HTTP/1.1\r\nHost: x\r\n\r\n", 501, "{\"detail\":\"Method not implemented.\"}");

    /* The same length twice is one length; the connection goes on. */
    expect_answers(POST_HEALTH "Content-Length: 5\r\ncontent-length: 5\r\n\r\nhello"
                               "GET /health/ HTTP/1.1\r\nHost: x\r\n\r\n",
                   0, 405, 200, 0);

    /* A refusal keeps CORS for an allowed origin and the proxy's id. */
    conn_t c;
    resp_t r;
    conn_open(&c);
    send_str(&c, "POST /users/login/ HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:4200\r\n"
                 "X-Request-Id: guard-test-0001\r\nContent-Length: 99999999\r\n\r\n");
    read_resp(&c, &r);
    ck_assert_int_eq(r.status, 413);
    char *acao = header_of(&r, "Access-Control-Allow-Origin"), *id = header_of(&r, "X-Request-Id");
    ck_assert_str_eq(acao, "http://localhost:4200");
    ck_assert_str_eq(id, "guard-test-0001");
    free(acao);
    free(id);
    resp_free(&r);
    conn_close(&c);
}
END_TEST

/* ------------------------------------------------------------ pipeline */

START_TEST(pipelined_and_slow_requests)
{
    enum { N = 100 };
    char *many = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&many, &len);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < N; i++)
        fprintf(m, "GET /health/ HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipelined-%04d\r\n\r\n", i);
    fclose(m);
    conn_t c;
    conn_open(&c);
    send_all(&c, many, len);
    free(many);
    for (int i = 0; i < N; i++) {
        resp_t r;
        read_resp(&c, &r);
        ck_assert_int_eq(r.status, 200);
        char want[32], *id = header_of(&r, "X-Request-Id");
        snprintf(want, sizeof want, "pipelined-%04d", i);
        ck_assert_str_eq(id, want);
        free(id);
        resp_free(&r);
    }
    conn_close(&c);

    /* A refusal after an accepted request: both answered, then the close. */
    expect_answers("GET /health/ HTTP/1.1\r\nHost: x\r\n\r\n"
                   "POST /users/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 16837216\r\n\r\n{\"email\":",
                   1, 200, 413, 0);
    resp_t r;

    /* A head a byte at a time, with empty lines before it (ignored). */
    conn_open(&c);
    const char *slow = "\r\n\r\nGET /health/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (const char *p = slow; *p; p++) {
        send_all(&c, p, 1);
        usleep(2000);
    }
    read_resp(&c, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    expect_closed(&c);
    conn_close(&c);

    /* A head larger than 64 KiB. */
    size_t big = 70 * 1024;
    char *huge = malloc(big + 128);
    ck_assert_ptr_nonnull(huge);
    int n = snprintf(huge, 128, "GET /health/ HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(huge + n, 'a', big);
    strcpy(huge + n + big, "\r\n\r\n");
    conn_open(&c);
    send_str(&c, huge);
    free(huge);
    read_refusal(&c, 0, 431, "{\"detail\":\"Request header fields too large.\"}", "a 70 KiB head");
    conn_close(&c);
}
END_TEST

static Suite *guard_suite(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, refused_before_the_body_in_constant_memory);
    tcase_add_test(tc, staff_uploads_large_chunks);
    tcase_add_test(tc, large_bodies_need_a_staff_token);
    tcase_add_test(tc, chunked_bodies);
    tcase_add_test(tc, ambiguous_framing_refused);
    tcase_add_test(tc, pipelined_and_slow_requests);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(guard_suite)
