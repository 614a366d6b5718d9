/*
 * check_media.c - GET and HEAD /media/<key> through the real server with
 * storage_local: validators and 304s, single byte ranges and 416, HEAD,
 * percent-encoded traversal attempts and symlinks (404, and the file next to
 * the root is never even opened: inotify watches it), a client that
 * half-closes after its request, server.serve_media = false, and a 2 GiB
 * sparse file streamed while the server's VmRSS stays
 * within 16 MiB of where it started.
 *
 * No database or Redis is needed: /media/ touches neither.
 */
#include "config.h"
#include "vftest.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMALL_SIZE 100000
#define BIG_SIZE ((off_t)2 << 30)
#define RSS_LIMIT_KB (16 * 1024)

static char *dir, *media, *config_path;
static int http_port, server_pid;
static char base[64];

static void write_file(const char *rel, const char *content)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(content, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

static int start_server(const char *extra, const char *log_name, char **cfg_out)
{
    /* serve refuses to start without a secret key. */
    char *with_key = NULL;
    ck_assert_int_ge(asprintf(&with_key, "%sauth = { secret_key = \"media-test-secret-0123456789abcdef\"; };\n", extra), 0);
    char *cfg = vft_write_config(dir, "host=127.0.0.1 port=1 dbname=unused", 1, with_key);
    free(with_key);
    ck_assert_ptr_nonnull(cfg);
    char log[1024];
    snprintf(log, sizeof log, "%s/%s", dir, log_name);
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", cfg, "serve", NULL};
    int pid = vft_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    *cfg_out = cfg;
    return pid;
}

static void setup(void)
{
    dir = vft_tmpdir("media");
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_ne(asprintf(&media, "%s/media", dir), -1);
    char path[1024];
    ck_assert_int_eq(mkdir(media, 0755), 0);
    snprintf(path, sizeof path, "%s/videos", media);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/videos/clip.mp4", media);
    ck_assert_int_eq(vft_write_pattern(path, SMALL_SIZE, 7), 0);
    write_file("media/empty.jpg", "");
    write_file("secret.txt", "TOP-SECRET-CONTENT\n");
    snprintf(path, sizeof path, "%s/.uploads", media);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    write_file("media/.uploads/part", "unfinished");
    /* Links inside the root that lead out of it. */
    snprintf(path, sizeof path, "%s/link.txt", media);
    ck_assert_int_eq(symlink("../secret.txt", path), 0);
    snprintf(path, sizeof path, "%s/outside", media);
    ck_assert_int_eq(symlink("..", path), 0);

    http_port = vft_free_port();
    char extra[256];
    snprintf(extra, sizeof extra, "server = { port = %d; threads = 2; };\n", http_port);
    server_pid = start_server(extra, "server.log", &config_path);
    ck_assert_msg(vft_wait_port(http_port, 15000) == 0, "server did not start; see %s/server.log", dir);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_port);
}

static void teardown(void)
{
    if (server_pid > 0)
        vft_stop(server_pid, SIGTERM, 5000);
    server_pid = 0;
    free(config_path);
    free(media);
    vft_rmrf(dir);
    free(dir);
}

static long request(const char *method, const char *path, const char *const *headers, vft_response_t *resp)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", base, path);
    ck_assert_int_eq(vft_http(method, url, NULL, headers, resp), 0);
    return resp->status;
}

static void assert_header(const vft_response_t *r, const char *name, const char *want)
{
    char *v = vft_header(r, name, 0);
    ck_assert_msg(v != NULL, "no %s header", name);
    ck_assert_str_eq(v, want);
    free(v);
}

static char *small_bytes(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/videos/clip.mp4", media);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(SMALL_SIZE);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, SMALL_SIZE, f), SMALL_SIZE);
    fclose(f);
    return buf;
}

START_TEST(get_whole_file_with_validators)
{
    vft_response_t r;
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", NULL, &r), 200);
    ck_assert_uint_eq(r.body_len, SMALL_SIZE);
    char *want = small_bytes();
    ck_assert_int_eq(memcmp(r.body, want, SMALL_SIZE), 0);
    free(want);
    assert_header(&r, "Content-Type", "video/mp4");
    assert_header(&r, "Content-Length", "100000");
    assert_header(&r, "Accept-Ranges", "bytes");
    char *etag = vft_header(&r, "ETag", 0), *modified = vft_header(&r, "Last-Modified", 0);
    ck_assert_ptr_nonnull(etag);
    ck_assert_ptr_nonnull(modified);
    ck_assert_int_eq(etag[0], '"');
    ck_assert_int_eq(etag[strlen(etag) - 1], '"');
    ck_assert_ptr_nonnull(strstr(modified, " GMT"));
    free(etag);
    free(modified);
    vft_response_free(&r);

    ck_assert_int_eq(request("GET", "/media/empty.jpg", NULL, &r), 200);
    ck_assert_uint_eq(r.body_len, 0);
    assert_header(&r, "Content-Type", "image/jpeg");
    assert_header(&r, "Content-Length", "0");
    vft_response_free(&r);
}
END_TEST

START_TEST(head_has_headers_only)
{
    vft_response_t r;
    ck_assert_int_eq(request("HEAD", "/media/videos/clip.mp4", NULL, &r), 200);
    ck_assert_uint_eq(r.body_len, 0);
    assert_header(&r, "Content-Length", "100000");
    assert_header(&r, "Content-Type", "video/mp4");
    assert_header(&r, "Accept-Ranges", "bytes");
    vft_response_free(&r);
    const char *range[] = {"Range: bytes=100-199", NULL};
    ck_assert_int_eq(request("HEAD", "/media/videos/clip.mp4", range, &r), 206);
    assert_header(&r, "Content-Length", "100");
    assert_header(&r, "Content-Range", "bytes 100-199/100000");
    vft_response_free(&r);
    ck_assert_int_eq(request("HEAD", "/media/missing.mp4", NULL, &r), 404);
    ck_assert_uint_eq(r.body_len, 0);
    vft_response_free(&r);
}
END_TEST

START_TEST(conditional_requests)
{
    vft_response_t r;
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", NULL, &r), 200);
    char *etag = vft_header(&r, "ETag", 0), *modified = vft_header(&r, "Last-Modified", 0);
    vft_response_free(&r);
    char inm[256], weak[256], ims[128], list[300];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    snprintf(weak, sizeof weak, "If-None-Match: W/%s", etag);
    snprintf(list, sizeof list, "If-None-Match: \"other\", %s", etag);
    snprintf(ims, sizeof ims, "If-Modified-Since: %s", modified);

    const char *h1[] = {inm, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h1, &r), 304);
    ck_assert_uint_eq(r.body_len, 0);
    assert_header(&r, "ETag", etag);
    vft_response_free(&r);
    const char *h2[] = {weak, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h2, &r), 304);
    vft_response_free(&r);
    const char *h3[] = {list, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h3, &r), 304);
    vft_response_free(&r);
    const char *h4[] = {"If-None-Match: *", NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h4, &r), 304);
    vft_response_free(&r);
    const char *h5[] = {"If-None-Match: \"stale\"", NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h5, &r), 200);
    ck_assert_uint_eq(r.body_len, SMALL_SIZE);
    vft_response_free(&r);
    const char *h6[] = {ims, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h6, &r), 304);
    vft_response_free(&r);
    const char *h7[] = {"If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT", NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h7, &r), 200);
    vft_response_free(&r);
    /* If-None-Match wins over If-Modified-Since. */
    const char *h8[] = {"If-None-Match: \"stale\"", ims, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h8, &r), 200);
    vft_response_free(&r);
    free(etag);
    free(modified);
}
END_TEST

static void expect_range(const char *range, long status, const char *content_range, size_t first, size_t len)
{
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Range: %s", range);
    const char *h[] = {hdr, NULL};
    vft_response_t r;
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h, &r), status);
    if (content_range)
        assert_header(&r, "Content-Range", content_range);
    else
        ck_assert_ptr_null(vft_header(&r, "Content-Range", 0));
    if (status != 416) {
        char *want = small_bytes();
        ck_assert_uint_eq(r.body_len, len);
        ck_assert_int_eq(memcmp(r.body, want + first, len), 0);
        free(want);
    }
    vft_response_free(&r);
}

START_TEST(single_byte_ranges)
{
    expect_range("bytes=10-19", 206, "bytes 10-19/100000", 10, 10);
    expect_range("bytes=0-0", 206, "bytes 0-0/100000", 0, 1);
    expect_range("bytes=99990-", 206, "bytes 99990-99999/100000", 99990, 10);
    expect_range("bytes=-5", 206, "bytes 99995-99999/100000", 99995, 5);
    expect_range("bytes=-200000", 206, "bytes 0-99999/100000", 0, SMALL_SIZE);
    expect_range("bytes=50000-999999999", 206, "bytes 50000-99999/100000", 50000, 50000);
    expect_range("bytes=100000-", 416, "bytes */100000", 0, 0);
    expect_range("bytes=200000-200010", 416, "bytes */100000", 0, 0);
    expect_range("bytes=-0", 416, "bytes */100000", 0, 0);
    /* Not one satisfiable single range: the whole file, as RFC 9110 allows. */
    expect_range("bytes=0-1,5-6", 200, NULL, 0, SMALL_SIZE);
    expect_range("bytes=9-3", 200, NULL, 0, SMALL_SIZE);
    expect_range("items=0-1", 200, NULL, 0, SMALL_SIZE);
    expect_range("bytes=abc", 200, NULL, 0, SMALL_SIZE);

    /* An empty file has no satisfiable range. */
    const char *h[] = {"Range: bytes=0-", NULL};
    vft_response_t r;
    ck_assert_int_eq(request("GET", "/media/empty.jpg", h, &r), 416);
    assert_header(&r, "Content-Range", "bytes */0");
    vft_response_free(&r);
}
END_TEST

START_TEST(if_range)
{
    vft_response_t r;
    ck_assert_int_eq(request("HEAD", "/media/videos/clip.mp4", NULL, &r), 200);
    char *etag = vft_header(&r, "ETag", 0), *modified = vft_header(&r, "Last-Modified", 0);
    vft_response_free(&r);
    char ir[256];
    snprintf(ir, sizeof ir, "If-Range: %s", etag);
    const char *h1[] = {"Range: bytes=0-9", ir, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h1, &r), 206);
    ck_assert_uint_eq(r.body_len, 10);
    vft_response_free(&r);
    snprintf(ir, sizeof ir, "If-Range: %s", modified);
    const char *h2[] = {"Range: bytes=0-9", ir, NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h2, &r), 206);
    vft_response_free(&r);
    const char *h3[] = {"Range: bytes=0-9", "If-Range: \"changed\"", NULL};
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", h3, &r), 200);
    ck_assert_uint_eq(r.body_len, SMALL_SIZE);
    vft_response_free(&r);
    free(etag);
    free(modified);
}
END_TEST

/* One request written by hand, so that no client normalises the path.
 * Returns the status; the whole response is copied into out. */
static int raw_get(const char *target, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[2048];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    size_t len = 0;
    ssize_t got;
    while (len + 1 < outlen && (got = read(fd, out + len, outlen - len - 1)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(fd);
    int status = 0;
    ck_assert_int_eq(sscanf(out, "HTTP/1.1 %d", &status), 1);
    return status;
}

START_TEST(traversal_is_refused_without_touching_outside_files)
{
    char secret[1024];
    snprintf(secret, sizeof secret, "%s/secret.txt", dir);
    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ck_assert_int_ge(ino, 0);
    ck_assert_int_ge(inotify_add_watch(ino, secret, IN_OPEN | IN_ACCESS), 0);

    static const char *const attempts[] = {
        "/media/%2e%2e/secret.txt",
        "/media/%2E%2E/secret.txt",
        "/media/videos/%2e%2e/%2e%2e/secret.txt",
        "/media/..%2fsecret.txt",
        "/media/..%2Fsecret.txt",
        "/media/videos%2f..%2f..%2fsecret.txt",
        "/media/%2e%2e%2fsecret.txt",
        "/media/../secret.txt",
        "/media/videos/../../secret.txt",
        "/media/./videos/clip.mp4",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        "/media/%00",
        "/media/videos/clip.mp4%00.jpg",
        "/media/link.txt",
        "/media/outside/secret.txt",
        "/media/..%5csecret.txt",
        "/media/.uploads/part",
        "/media/videos",
        "/media/videos/",
        "/media/",
        "/media/missing.mp4",
    };
    char resp[8192];
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        int status = raw_get(attempts[i], resp, sizeof resp);
        ck_assert_msg(status == 404, "%s answered %d", attempts[i], status);
        ck_assert_msg(!strstr(resp, "TOP-SECRET"), "%s leaked the secret", attempts[i]);
        ck_assert_msg(strstr(resp, "{\"detail\":\"Not found.\"}"), "%s: no JSON body", attempts[i]);
    }
    /* The same key written plainly is served: the refusals above are about
     * the encoding, not the file. */
    ck_assert_int_eq(raw_get("/media/videos/clip.mp4", resp, sizeof resp), 200);
    ck_assert_int_eq(raw_get("/media/videos/clip%2emp4", resp, sizeof resp), 200);

    char events[4096];
    ssize_t n = read(ino, events, sizeof events);
    ck_assert_msg(n < 0, "the file outside the media root was opened or read");
    close(ino);
}
END_TEST

/* A client may shut down its sending side once the request is sent (HTTP
 * allows it): the whole file still arrives, every time. */
START_TEST(half_closed_client_gets_the_whole_file)
{
    char *want = small_bytes();
    static char resp[SMALL_SIZE + 8192];
    for (int i = 0; i < 20; i++) {
        int fd = vft_connect(http_port, 10000);
        ck_assert_int_ge(fd, 0);
        const char *req = "GET /media/videos/clip.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        size_t len = 0;
        ssize_t got;
        while (len < sizeof resp - 1 && (got = read(fd, resp + len, sizeof resp - 1 - len)) > 0)
            len += (size_t)got;
        close(fd);
        resp[len] = '\0';
        ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "try %d: %.200s", i, resp);
        ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 100000\r\n"));
        const char *body = strstr(resp, "\r\n\r\n");
        ck_assert_ptr_nonnull(body);
        body += 4;
        size_t body_len = len - (size_t)(body - resp);
        ck_assert_msg(body_len == SMALL_SIZE, "try %d: %zu of %d bytes", i, body_len, SMALL_SIZE);
        ck_assert_int_eq(memcmp(body, want, SMALL_SIZE), 0);
    }
    free(want);
}
END_TEST

START_TEST(serve_media_off_means_404)
{
    int port = vft_free_port();
    char extra[256], *cfg = NULL;
    snprintf(extra, sizeof extra, "server = { port = %d; threads = 1; serve_media = false; };\n", port);
    int pid = start_server(extra, "server-nomedia.log", &cfg);
    ck_assert_msg(vft_wait_port(port, 15000) == 0, "server did not start; see %s/server-nomedia.log", dir);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/media/videos/clip.mp4", port);
    vft_response_t r;
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 404);
    vft_response_free(&r);
    vft_stop(pid, SIGTERM, 5000);
    free(cfg);
}
END_TEST

/* ------------------------------------------------------------ big file */

static long vm_rss_kb(int pid)
{
    long kb = vft_vm_rss_kb(pid);
    ck_assert_int_gt(kb, 0);
    return kb;
}

typedef struct stream_stats {
    unsigned long long bytes;
    unsigned long long next_sample;
    long max_rss_kb;
    int nonzero;
} stream_stats_t;

/* Discard the body, noting its size and sampling the server's memory. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    stream_stats_t *s = ud;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n && !s->nonzero; i += 4096)
        s->nonzero = ptr[i] != 0;
    s->bytes += n;
    if (s->bytes >= s->next_sample) {
        long rss = vm_rss_kb(server_pid);
        if (rss > s->max_rss_kb)
            s->max_rss_kb = rss;
        s->next_sample += 64u << 20;
    }
    return n;
}

static long stream(const char *path, const char *range, stream_stats_t *s, char *content_range, size_t crlen)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    struct curl_slist *hl = NULL;
    char hdr[128];
    if (range) {
        snprintf(hdr, sizeof hdr, "Range: %s", range);
        hl = curl_slist_append(hl, hdr);
    }
    ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_WRITEDATA, s), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_TIMEOUT, 90L), CURLE_OK);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    struct curl_header *h = NULL;
    content_range[0] = '\0';
    if (curl_easy_header(c, "Content-Range", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
        snprintf(content_range, crlen, "%s", h->value);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return status;
}

START_TEST(two_gib_file_streams_in_constant_memory)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/big.mp4", media);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, BIG_SIZE), 0);
    /* A marker in the middle, to see that a range reads from its offset. */
    ck_assert_int_eq(pwrite(fd, "MIDDLE", 6, BIG_SIZE / 2), 6);
    ck_assert_int_eq(close(fd), 0);

    /* Warm the server's paths with a small request before measuring. */
    vft_response_t r;
    ck_assert_int_eq(request("GET", "/media/videos/clip.mp4", NULL, &r), 200);
    vft_response_free(&r);
    long before = vm_rss_kb(server_pid);

    stream_stats_t s = {0};
    char cr[128];
    ck_assert_int_eq(stream("/media/big.mp4", NULL, &s, cr, sizeof cr), 200);
    ck_assert_uint_eq(s.bytes, (unsigned long long)BIG_SIZE);
    long after = vm_rss_kb(server_pid);
    if (after > s.max_rss_kb)
        s.max_rss_kb = after;
    fprintf(stderr, "2 GiB streamed: server VmRSS %ld kB before, at most %ld kB during\n", before, s.max_rss_kb);
    ck_assert_msg(s.max_rss_kb - before < RSS_LIMIT_KB, "VmRSS grew from %ld kB to %ld kB", before, s.max_rss_kb);

    stream_stats_t mid = {0};
    char want[128];
    snprintf(want, sizeof want, "bytes %lld-%lld/%lld", (long long)BIG_SIZE / 2, (long long)BIG_SIZE / 2 + 1023,
             (long long)BIG_SIZE);
    ck_assert_int_eq(stream("/media/big.mp4", "bytes=1073741824-1073742847", &mid, cr, sizeof cr), 206);
    ck_assert_str_eq(cr, want);
    ck_assert_uint_eq(mid.bytes, 1024);
    ck_assert_int_eq(mid.nonzero, 1);
    ck_assert_int_eq(unlink(path), 0);
}
END_TEST

static Suite *media_suite(void)
{
    Suite *s = suite_create("media");
    TCase *tc = tcase_create("media");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, get_whole_file_with_validators);
    tcase_add_test(tc, head_has_headers_only);
    tcase_add_test(tc, conditional_requests);
    tcase_add_test(tc, single_byte_ranges);
    tcase_add_test(tc, if_range);
    tcase_add_test(tc, traversal_is_refused_without_touching_outside_files);
    tcase_add_test(tc, half_closed_client_gets_the_whole_file);
    tcase_add_test(tc, serve_media_off_means_404);
    tcase_add_test(tc, two_gib_file_streams_in_constant_memory);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(media_suite)
