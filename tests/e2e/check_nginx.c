/*
 * check_nginx.c - both shipped Nginx layouts of packaging/nginx, run by
 * Debian's nginx (in the foreground, on free loopback ports, with a
 * self-signed certificate; nginx_site.sh makes its configuration from the
 * shipped files, replacing only their placeholders) in front of
 * `videoflix serve` with local storage, media.accel_redirect and
 * server.trusted_proxies, and one worker.  The client talks from 127.0.0.2,
 * so its address is told apart from Nginx's (127.0.0.1).  For each layout:
 *   - the frontend: a file as it is, any other path answered with
 *     index.html (SPA fallback); /protected-media/ is not reachable;
 *   - HTTP answered with a redirect to HTTPS; HSTS on HTTPS answers;
 *     TLS 1.2 and 1.3 only, no RSA key exchange, CBC or SHA-1 suites;
 *   - login through the proxy (the cookies), the client's address in
 *     Nginx's access log and as the core saw it (the session's client_ip,
 *     its access log), a forged X-Forwarded-For ignored;
 *   - the catalogue, gzip-compressed on request; CORS for the frontend's
 *     origin in the two-name layout;
 *   - a ranged /media/ request: 401 without the cookie; with it 206 and the
 *     right bytes, sent by Nginx through X-Accel-Redirect (the header does
 *     not reach the client); no way out of the storage root;
 *   - a 200 MiB tus upload through Nginx in 16 MiB PATCHes, with the peak
 *     memory of Nginx's worker and of the server bounded;
 *   - the admin event stream delivering the new video's event through
 *     the proxy.
 * A missing nginx, openssl or curl fails the test.
 */
#include "config.h"
#include "uploads_fixture.h"
#include "vftest.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VIEWER_EMAIL "viewer@example.com"
#define VIEWER_PASSWORD "viewer-password-1"
#define CLIENT_IP "127.0.0.2"
#define UPLOAD_MIB 200
#define CHUNK (16u << 20)
/* Peak growth allowed during the upload: Nginx streams bodies
 * (proxy_request_buffering off), so a 16 MiB chunk must not show in its
 * worker; the server's goal is check_memory's. */
#define NGINX_GOAL_MIB 8
#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer pads every allocation with redzones: the small pieces a
 * body arriving through Nginx leaves in libevent's own buffers cost about
 * +30 MiB there (measured), against +17.5 MiB in a normal build. */
#define SERVER_GOAL_MIB 48
#else
#define SERVER_GOAL_MIB 32
#endif
#define MEDIA_KEY "videos/nginx/clip.bin"
#define MEDIA_SIZE (1u << 20)

typedef struct layout {
    const char *name;     /* packaging/nginx/videoflix-<name>.conf */
    const char *api_host; /* where the core is reached */
    const char *prefix;   /* the core's paths below it */
} layout_t;

static const layout_t layouts[] = {
    {"one-origin", "videoflix.example.com", "/api"},
    {"subdomains", "api.videoflix.example.com", ""},
};
#define FRONT_HOST "videoflix.example.com"

static const layout_t *current;
static ufix_t f;
static char *ngx_dir, *dist;
static int nginx_pid, http_port, https_port;
static char cert[4096];
static struct curl_slist *resolve;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Every request of vft_http*: trust the test's certificate, reach both
 * names on loopback, and come from CLIENT_IP. */
static void tls_options(void *curl)
{
    curl_easy_setopt(curl, CURLOPT_CAINFO, cert);
    curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(curl, CURLOPT_INTERFACE, "host!" CLIENT_IP);
}

static long get(const char *url, const char *cookie, const char *header, vft_response_t *r)
{
    const char *headers[] = {header, NULL};
    ck_assert_msg(vft_http_raw("GET", url, NULL, 0, headers, cookie, r) == 0, "GET %s: no answer", url);
    return r->status;
}

static void assert_header(const vft_response_t *r, const char *name, const char *want, const char *what)
{
    char *v = vft_header(r, name, 0);
    ck_assert_msg(v && (want ? strcmp(v, want) == 0 : 1), "%s: %s is '%s', want '%s'", what, name, v ? v : "(none)",
                  want ? want : "(any)");
    free(v);
}

static void assert_no_header(const vft_response_t *r, const char *name, const char *what)
{
    char *v = vft_header(r, name, 0);
    ck_assert_msg(!v, "%s: %s should not be sent, got '%s'", what, name, v);
}

static char *file_text(const char *path)
{
    size_t len = 0;
    char *text = vft_read_file(path, &len);
    return text ? text : strdup("");
}

/* The pid of nginx's (only) worker. */
static int nginx_worker(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", nginx_pid, nginx_pid);
    /* Read as a stream: /proc files have no size. */
    for (int waited = 0; waited < 5000; waited += 100) {
        FILE *fp = fopen(path, "r");
        int pid = 0;
        if (fp) {
            if (fscanf(fp, "%d", &pid) != 1)
                pid = 0;
            fclose(fp);
        }
        if (pid > 0)
            return pid;
        sleep_ms(100);
    }
    return -1;
}

/* ---------------------------------------------------------------- set-up */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
}

static void start(const layout_t *L)
{
    const char *tools[] = {"nginx", "openssl", "curl"};
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++)
        ck_assert_msg(vft_sh(NULL, "command -v %s >/dev/null || test -x /usr/sbin/%s", tools[i], tools[i]) == 0,
                      "%s is not installed (scripts/lib.sh installs it)", tools[i]);
    http_port = vft_free_port();
    https_port = vft_free_port();
    char server[512], media[256];
    snprintf(server, sizeof server, "trusted_proxies = [ \"127.0.0.1\" ]; cors_origins = [ \"https://%s:%d\" ];",
             FRONT_HOST, https_port);
    snprintf(media, sizeof media,
             "renditions = ( { name = \"120p\"; height = 120; } ); accel_redirect = \"/protected-media/\";");
    ufix_opts_t o = {.media = media, .server = server, .extra = "upload = { chunk_max = 16777216; };"};
    vft_servers_without_asan_quarantine(); /* the upload's memory is measured */
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);

    /* The frontend's dist folder. */
    ck_assert_int_eq(asprintf(&dist, "%s/dist", f.dir), (int)strlen(f.dir) + 5);
    ck_assert_int_eq(mkdir(dist, 0755), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", dist);
    write_text(path, "<!doctype html><title>Videoflix SPA</title><app-root></app-root>\n");
    snprintf(path, sizeof path, "%s/main.js", dist);
    write_text(path, "console.log('main');\n");

    ck_assert_int_eq(asprintf(&ngx_dir, "%s/nginx-%s", f.dir, L->name), (int)(strlen(f.dir) + 7 + strlen(L->name)));
    char *out = NULL;
    int rc = vft_sh(&out, "sh '%s/tests/e2e/nginx_site.sh' '%s' '%s' '%s' %d %d %d '%s' '%s' 2>&1",
                    vft_env_or_skip("VF_SRCDIR"), vft_env_or_skip("VF_SRCDIR"), L->name, ngx_dir, http_port,
                    https_port, f.port, f.media_root, dist);
    ck_assert_msg(rc == 0, "the nginx configuration of %s: %s", L->name, out ? out : "");
    free(out);
    snprintf(cert, sizeof cert, "%s/cert.pem", ngx_dir);
    char conf[4096], log[4096];
    snprintf(conf, sizeof conf, "%s/nginx.conf", ngx_dir);
    snprintf(log, sizeof log, "%s/nginx.out", ngx_dir);
    char *argv[] = {"/usr/sbin/nginx", "-p", ngx_dir, "-c", conf, NULL};
    nginx_pid = vft_spawn(argv, log);
    ck_assert_int_gt(nginx_pid, 0);
    ck_assert_msg(vft_wait_port(https_port, 10000) == 0 && vft_wait_port(http_port, 10000) == 0,
                  "nginx did not start; see %s", log);

    char entry[128];
    const char *names[] = {FRONT_HOST, "api." FRONT_HOST};
    const int ports[] = {http_port, https_port};
    for (size_t n = 0; n < 2; n++)
        for (size_t p = 0; p < 2; p++) {
            snprintf(entry, sizeof entry, "%s:%d:127.0.0.1", names[n], ports[p]);
            resolve = curl_slist_append(resolve, entry);
        }
    vft_http_options = tls_options;
    /* From here on the fixture's requests go through Nginx. */
    snprintf(f.base, sizeof f.base, "https://%s:%d%s", L->api_host, https_port, L->prefix);
}

static void stop(void)
{
    vft_http_options = NULL;
    if (nginx_pid > 0)
        vft_stop(nginx_pid, SIGTERM, 5000);
    nginx_pid = 0;
    curl_slist_free_all(resolve);
    resolve = NULL;
    ufix_teardown(&f);
    free(ngx_dir);
    free(dist);
    ngx_dir = dist = NULL;
}

/* ----------------------------------------------------------------- checks */

static void check_frontend(void)
{
    char url[512];
    vft_response_t r;
    snprintf(url, sizeof url, "https://%s:%d/some/deep/route", FRONT_HOST, https_port);
    ck_assert_int_eq(get(url, NULL, NULL, &r), 200);
    ck_assert_msg(strstr(r.body, "Videoflix SPA"), "SPA fallback: got '%.200s'", r.body);
    assert_header(&r, "Strict-Transport-Security", "max-age=63072000", "the frontend");
    vft_response_free(&r);
    snprintf(url, sizeof url, "https://%s:%d/main.js", FRONT_HOST, https_port);
    ck_assert_int_eq(get(url, NULL, NULL, &r), 200);
    ck_assert_str_eq(r.body, "console.log('main');\n");
    vft_response_free(&r);

    /* HTTP: every name of the layout is sent to HTTPS. */
    const char *hosts[] = {FRONT_HOST, "api." FRONT_HOST};
    for (size_t i = 0; i < 2; i++) {
        snprintf(url, sizeof url, "http://%s:%d/users/login/?next=1", hosts[i], http_port);
        ck_assert_int_eq(get(url, NULL, NULL, &r), 301);
        char want[256];
        snprintf(want, sizeof want, "https://%s/users/login/?next=1", hosts[i]);
        assert_header(&r, "Location", want, "the HTTP redirect");
        vft_response_free(&r);
    }
}

/* The TLS handshake's result with the client held to these versions and
 * TLS 1.2 suites (SECLEVEL 0: the client itself would try anything). */
static CURLcode handshake(long versions, const char *ciphers)
{
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    char url[256];
    snprintf(url, sizeof url, "https://%s:%d/", FRONT_HOST, https_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, versions);
    if (ciphers)
        curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, ciphers);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    return rc;
}

static void check_tls(void)
{
    ck_assert_int_eq(handshake(CURL_SSLVERSION_TLSv1_3, NULL), CURLE_OK);
    ck_assert_int_eq(handshake(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2,
                               "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"),
                     CURLE_OK);
    /* No TLS 1.0/1.1; no RSA key exchange, CBC or SHA-1 suites. */
    ck_assert_int_ne(handshake(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1, "DEFAULT:@SECLEVEL=0"),
                     CURLE_OK);
    ck_assert_int_ne(handshake(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2,
                               "AES128-SHA:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:"
                               "DES-CBC3-SHA:@SECLEVEL=0"),
                     CURLE_OK);
}

static void check_login_and_address(char *cookie, size_t len)
{
    int64_t viewer = 0;
    ck_assert_int_eq(ufix_user(&f, VIEWER_EMAIL, VIEWER_PASSWORD, 0, NULL, 0, &viewer), 0);
    /* A forged X-Forwarded-For is replaced by Nginx, never believed. */
    char body[256], url[512];
    snprintf(body, sizeof body, "{\"email\": \"%s\", \"password\": \"%s\", \"remember\": false}", VIEWER_EMAIL,
             VIEWER_PASSWORD);
    snprintf(url, sizeof url, "%s/users/login/", f.base);
    const char *headers[] = {"Content-Type: application/json", "X-Forwarded-For: 203.0.113.9", NULL};
    vft_response_t r;
    ck_assert_int_eq(vft_http_raw("POST", url, body, strlen(body), headers, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "login through nginx: %ld %s", r.status, r.body);
    assert_header(&r, "Strict-Transport-Security", "max-age=63072000", "the API");
    cookie[0] = '\0';
    for (int i = 0;; i++) {
        char *c = vft_header(&r, "Set-Cookie", i);
        if (!c)
            break;
        ck_assert_msg(strstr(c, "HttpOnly"), "cookie without HttpOnly: %s", c);
        c[strcspn(c, ";")] = '\0';
        size_t used = strlen(cookie);
        snprintf(cookie + used, len - used, "%s%s", used ? "; " : "", c);
        free(c);
    }
    vft_response_free(&r);
    ck_assert_msg(strstr(cookie, "vf_access=") && strstr(cookie, "vf_refresh="), "login cookies: '%s'", cookie);

    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT client_ip FROM auth_sessions WHERE user_id = %" PRId64 " ORDER BY created_at DESC LIMIT 1",
             viewer);
    char *ip = ufix_sql(&f, sql);
    ck_assert_msg(ip && strcmp(ip, CLIENT_IP) == 0, "the core saw the login from '%s', not %s", ip ? ip : "",
                  CLIENT_IP);
    free(ip);
    char path[4096];
    snprintf(path, sizeof path, "%s/logs/access.log", ngx_dir);
    char *log = file_text(path);
    ck_assert_msg(strstr(log, CLIENT_IP " - - ") && strstr(log, "POST ") && strstr(log, "/users/login/"),
                  "nginx's access log lacks the client's login: %.500s", log);
    free(log);
    snprintf(path, sizeof path, "%s/server.log", f.dir);
    log = file_text(path);
    /* The text format's access line: "POST /users/login/ 200 ... client=ADDR". */
    int seen = 0;
    for (char *line = strtok(log, "\n"); line && !seen; line = strtok(NULL, "\n"))
        seen = strstr(line, "POST /users/login/ 200") && strstr(line, "client=" CLIENT_IP);
    ck_assert_msg(seen, "the core's access log has no login from %s", CLIENT_IP);
    free(log);
    log = file_text(path);
    ck_assert_msg(!strstr(log, "203.0.113.9"), "the core believed a forged X-Forwarded-For");
    free(log);
}

static void check_catalogue(const char *cookie)
{
    /* Long enough for gzip (gzip_min_length 1024). */
    char sql[2048], desc[1500];
    memset(desc, 'x', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    snprintf(sql, sizeof sql,
             "INSERT INTO videos (title, category, source_key, thumbnail_key, description, processing_state,"
             " processing_progress) VALUES ('Behind Nginx', 'Drama', '" MEDIA_KEY "', NULL, '%s', 'ready', 100)"
             " RETURNING id",
             desc);
    free(ufix_sql(&f, sql));
    char url[512];
    snprintf(url, sizeof url, "%s/content/", f.base);
    vft_response_t r = {0};
    int found = 0;
    for (int waited = 0; !found && waited < 10000; waited += 200) {
        vft_response_free(&r);
        ck_assert_int_eq(get(url, cookie, NULL, &r), 200);
        found = strstr(r.body, "Behind Nginx") != NULL;
        if (!found)
            sleep_ms(200);
    }
    ck_assert_msg(found, "the catalogue through nginx lacks the video: %.300s", r.body);
    vft_response_free(&r);
    ck_assert_int_eq(get(url, cookie, "Accept-Encoding: gzip", &r), 200);
    assert_header(&r, "Content-Encoding", "gzip", "the catalogue");
    vft_response_free(&r);
    ck_assert_int_eq(get(url, NULL, NULL, &r), 401);
    vft_response_free(&r);
}

static void check_cors(void)
{
    char url[512], origin[256];
    snprintf(url, sizeof url, "%s/users/login/", f.base);
    snprintf(origin, sizeof origin, "Origin: https://%s:%d", FRONT_HOST, https_port);
    const char *headers[] = {origin, "Access-Control-Request-Method: POST",
                             "Access-Control-Request-Headers: content-type", NULL};
    vft_response_t r;
    ck_assert_int_eq(vft_http_raw("OPTIONS", url, NULL, 0, headers, NULL, &r), 0);
    ck_assert_msg(r.status == 200 || r.status == 204, "CORS preflight: %ld", r.status);
    assert_header(&r, "Access-Control-Allow-Origin", origin + strlen("Origin: "), "CORS preflight");
    assert_header(&r, "Access-Control-Allow-Credentials", "true", "CORS preflight");
    vft_response_free(&r);
}

static void check_media(const char *cookie)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/videos", f.media_root);
    mkdir(f.media_root, 0755);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/videos/nginx", f.media_root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/" MEDIA_KEY, f.media_root);
    ck_assert_int_eq(vft_write_pattern(path, MEDIA_SIZE, 7), 0);
    size_t len = 0;
    char *want = vft_read_file(path, &len);
    ck_assert_int_eq(len, MEDIA_SIZE);

    char url[512];
    snprintf(url, sizeof url, "%s/media/" MEDIA_KEY, f.base);
    vft_response_t r;
    ck_assert_int_eq(get(url, NULL, "Range: bytes=1000-1999", &r), 401);
    vft_response_free(&r);
    ck_assert_int_eq(get(url, "vf_access=forged", "Range: bytes=1000-1999", &r), 401);
    vft_response_free(&r);

    ck_assert_int_eq(get(url, cookie, "Range: bytes=1000-1999", &r), 206);
    ck_assert_uint_eq(r.body_len, 1000);
    ck_assert_msg(memcmp(r.body, want + 1000, 1000) == 0, "the ranged bytes differ from the file's");
    char cr[64];
    snprintf(cr, sizeof cr, "bytes 1000-1999/%u", MEDIA_SIZE);
    assert_header(&r, "Content-Range", cr, "ranged media");
    assert_header(&r, "Cache-Control", "private", "media");
    assert_header(&r, "Strict-Transport-Security", "max-age=63072000", "media");
    assert_no_header(&r, "X-Accel-Redirect", "media");
    vft_response_free(&r);
    ck_assert_int_eq(get(url, cookie, NULL, &r), 200);
    ck_assert_uint_eq(r.body_len, MEDIA_SIZE);
    ck_assert_msg(memcmp(r.body, want, MEDIA_SIZE) == 0, "the whole file differs");
    vft_response_free(&r);
    free(want);
    /* A key with a space: the core percent-encodes it, Nginx decodes it. */
    snprintf(path, sizeof path, "%s/videos/nginx/a b.bin", f.media_root);
    ck_assert_int_eq(vft_write_pattern(path, 3000, 8), 0);
    snprintf(url, sizeof url, "%s/media/videos/nginx/a%%20b.bin", f.base);
    ck_assert_int_eq(get(url, cookie, "Range: bytes=-100", &r), 206);
    ck_assert_uint_eq(r.body_len, 100);
    vft_response_free(&r);
    /* The internal location is no URL of the site, with a cookie or not. */
    snprintf(url, sizeof url, "https://%s:%d/protected-media/" MEDIA_KEY, current->api_host, https_port);
    ck_assert_int_eq(get(url, cookie, NULL, &r), 404);
    vft_response_free(&r);

    /* Nothing outside the root or hidden in it, however it is spelled. */
    const char *bad[] = {"/media/..%2f..%2fetc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd",
                         "/media/videos/..%2f..%2f..%2fetc%2fpasswd", "/media/.uploads/x",
                         "/media/videos/nginx/missing.bin"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(url, sizeof url, "%s%s", f.base, bad[i]);
        long status = get(url, cookie, NULL, &r);
        /* Nginx merges a decoded "../" itself: the path can then leave
         * /api/ and land on the frontend's index.html. */
        int spa = status == 200 && strstr(r.body, "Videoflix SPA");
        ck_assert_msg(status == 404 || status == 400 || spa, "%s answered %ld", bad[i], status);
        ck_assert_msg(!strstr(r.body, "root:") && !vft_header(&r, "Content-Range", 0), "%s leaked a file", bad[i]);
        vft_response_free(&r);
    }
}

/* The admin event stream, read by the curl program into events.txt. */
static int start_events(char *file, size_t len)
{
    snprintf(file, len, "%s/events.txt", ngx_dir);
    char url[512], cookie[4200], res[2][128], cacert[4200];
    snprintf(url, sizeof url, "%s/admin/api/events/", f.base);
    snprintf(cookie, sizeof cookie, "Cookie: %s", f.cookie);
    snprintf(cacert, sizeof cacert, "%s", cert);
    snprintf(res[0], sizeof res[0], "%s:%d:127.0.0.1", FRONT_HOST, https_port);
    snprintf(res[1], sizeof res[1], "api.%s:%d:127.0.0.1", FRONT_HOST, https_port);
    char *argv[] = {"curl", "-sSN", "--max-time", "120", "--cacert", cacert, "--resolve", res[0], "--resolve",
                    res[1], "-H", cookie, "-o", file, url, NULL};
    int pid = vft_spawn(argv, NULL);
    ck_assert_int_gt(pid, 0);
    return pid;
}

static int wait_for_text(const char *file, const char *text, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        char *got = file_text(file);
        int found = strstr(got, text) != NULL;
        free(got);
        if (found)
            return 0;
        sleep_ms(100);
    }
    return -1;
}

static void check_upload_and_events(void)
{
    char events[4096];
    int curl_pid = start_events(events, sizeof events);
    ck_assert_msg(wait_for_text(events, "event: hello", 10000) == 0, "the event stream did not open through nginx");

    char file[4096];
    snprintf(file, sizeof file, "%s/upload.bin", f.dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    /* Sparse: quick to make; a marker at each end shows the bytes arrive. */
    ck_assert_int_eq(pwrite(fd, "head", 4, 0), 4);
    ck_assert_int_eq(pwrite(fd, "tail", 4, ((off_t)UPLOAD_MIB << 20) - 4), 4);
    ck_assert_int_eq(close(fd), 0);

    int worker = nginx_worker();
    ck_assert_int_gt(worker, 0);
    ck_assert_int_eq(ufix_reset_peak(worker), 0);
    ck_assert_int_eq(ufix_reset_peak(f.server_pid), 0);
    long ngx_before = ufix_proc_kb(worker, "VmRSS:"), srv_before = ufix_proc_kb(f.server_pid, "VmRSS:");
    char *buf = malloc(CHUNK);
    ck_assert_ptr_nonnull(buf);
    char path[512];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = ufix_tus_upload_chunks(&f, file, (size_t)UPLOAD_MIB << 20, CHUNK, buf, path, sizeof path);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(buf);
    ck_assert_msg(rc == 0, "the %d MiB tus upload through nginx failed", UPLOAD_MIB);
    long ngx_peak = ufix_proc_kb(worker, "VmHWM:"), srv_peak = ufix_proc_kb(f.server_pid, "VmHWM:");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr,
            "check_nginx: %d MiB tus upload in %.1f s; nginx worker RSS %.1f MiB, peak %+.1f MiB; "
            "server RSS %.1f MiB, peak %+.1f MiB\n",
            UPLOAD_MIB, secs, ngx_before / 1024.0, (ngx_peak - ngx_before) / 1024.0, srv_before / 1024.0,
            (srv_peak - srv_before) / 1024.0);
    ck_assert_msg(ngx_peak - ngx_before < NGINX_GOAL_MIB * 1024, "nginx's worker grew by %ld kB during the upload",
                  ngx_peak - ngx_before);
    ck_assert_msg(srv_peak - srv_before < SERVER_GOAL_MIB * 1024, "the server grew by %ld kB during the upload",
                  srv_peak - srv_before);
    /* Streamed, not spooled: with request buffering Nginx would have
     * written each chunk to a temporary file first, and said so. */
    char log_path[4096];
    snprintf(log_path, sizeof log_path, "%s/logs/error.log", ngx_dir);
    char *errors = file_text(log_path);
    ck_assert_msg(!strstr(errors, "buffered to a temporary file"), "nginx spooled a request body; see %s", log_path);
    free(errors);
    int64_t offset = -1;
    ck_assert_int_eq(ufix_tus_head(&f, path, &offset), 200);
    ck_assert_int_eq(offset, (int64_t)UPLOAD_MIB << 20);

    char id[33];
    int64_t video = ufix_create_video(&f, "Uploaded through Nginx", "Drama", ufix_upload_id(path, id));
    ck_assert_int_gt(video, 0);
    int got = wait_for_text(events, "event: video", 15000);
    char *text = file_text(events);
    ck_assert_msg(got == 0, "no video event came through nginx; the stream had: %.500s", text);
    free(text);
    vft_stop(curl_pid, SIGTERM, 5000);
}

/* Each layout is a test case whose fixture runs in the test runner's own
 * process, so that nginx, the server and the worker are stopped even when
 * a check fails (a failed check ends only the forked test). */

static void one_origin_up(void)
{
    current = &layouts[0];
    start(current);
}

static void subdomains_up(void)
{
    current = &layouts[1];
    start(current);
}

START_TEST(layout_works_end_to_end)
{
    check_frontend();
    check_tls();
    char cookie[4096];
    check_login_and_address(cookie, sizeof cookie);
    check_catalogue(cookie);
    if (strcmp(current->prefix, "") == 0)
        check_cors();
    check_media(cookie);
    check_upload_and_events();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nginx");
    void (*ups[])(void) = {one_origin_up, subdomains_up};
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        TCase *tc = tcase_create(layouts[i].name);
        tcase_add_unchecked_fixture(tc, ups[i], stop);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, layout_works_end_to_end);
        suite_add_tcase(s, tc);
    }
    return s;
}

VFT_MAIN(suite)
