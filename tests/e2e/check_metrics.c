/*
 * check_metrics.c - GET /metrics of a real `videoflix serve` and
 * `videoflix worker` (docs/operations.md, "Monitoring"): both pages pass
 * `promtool check metrics` (a missing promtool fails the test: Debian's
 * prometheus package, installed by scripts/lib.sh), the public API does not
 * serve /metrics, and requests, a tus upload and a transcode move the
 * counters by exactly what they did.
 * Must not: look at the module's text rules in detail
 * (tests/core/check_metrics.c does).
 */
#include "config.h"
#include "uploads_fixture.h"

#include <ftw.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the pages */

static char *scrape(int port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    vft_response_t resp = {0};
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    char *type = vft_header(&resp, "Content-Type", 0);
    ck_assert_msg(type && strncmp(type, "text/plain; version=0.0.4", 25) == 0, "Content-Type %s", type);
    free(type);
    char *page = strdup(resp.body);
    vft_response_free(&resp);
    return page;
}

static void promtool_check(ufix_t *f, const char *page, const char *name)
{
    char *out = NULL;
    ck_assert_msg(vft_sh(&out, "command -v promtool") == 0,
                  "promtool is missing: install Debian's prometheus package (scripts/lib.sh lists it)");
    free(out);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.txt", f->dir, name);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(page, fp);
    ck_assert_int_eq(fclose(fp), 0);
    int rc = vft_sh(&out, "promtool check metrics < '%s' 2>&1", path);
    ck_assert_msg(rc == 0, "promtool check metrics: %s page (%d):\n%s\n%s", name, rc, out ? out : "", page);
    free(out);
}

/* The sum of the samples whose line starts with `series` followed by a
 * space or, when series ends with '{', holds every one of the NULL-ended
 * `with` strings in its labels.  An absent series counts 0 (a labelled
 * family shows a label set from its first event on). */
static double sum_of(const char *page, const char *series, ...)
{
    double sum = 0;
    size_t n = strlen(series);
    for (const char *line = page; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (line[0] != '#' && strncmp(line, series, n) == 0 && (series[n - 1] == '{' || line[n] == ' ')) {
            const char *sp = memrchr(line, ' ', len);
            int all = 1;
            va_list ap;
            va_start(ap, series);
            for (const char *w; (w = va_arg(ap, const char *));)
                if (!memmem(line, (size_t)(sp - line), w, strlen(w)))
                    all = 0;
            va_end(ap);
            if (all)
                sum += strtod(sp + 1, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    return sum;
}

#define VALUE(page, ...) sum_of(page, __VA_ARGS__, (const char *)NULL)

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Bytes of the files under a directory (nftw has no user pointer). */
static long long tree_bytes;
static int add_file_bytes(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path);
    /* Playlists are written by the core, not by an encoder. */
    if (type == FTW_F && !(n > 5 && strcmp(path + n - 5, ".m3u8") == 0))
        tree_bytes += st->st_size;
    return 0;
}

static long long bytes_under(const char *dir)
{
    tree_bytes = 0;
    ck_assert_int_eq(nftw(dir, add_file_bytes, 16, FTW_PHYS), 0);
    return tree_bytes;
}

static int wait_port_up(int port)
{
    return vft_wait_port(port, 20000);
}

/* Scrape until `series` reaches at least want (heartbeats, queue
 * counts that other processes write); the last page. */
static char *scrape_until(int port, const char *series, const char *with, double want)
{
    char *page = NULL;
    for (int i = 0; i < 100; i++) {
        free(page);
        page = scrape(port);
        if (sum_of(page, series, with, (const char *)NULL) >= want)
            break;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return page;
}

/* ------------------------------------------------------------------ test */

START_TEST(pages_and_counters)
{
    int server_port = vft_free_port(), worker_port = vft_free_port();
    char extra[256];
    snprintf(extra, sizeof extra,
             "metrics = { listen = \"127.0.0.1:%d\"; worker_listen = \"127.0.0.1:%d\"; };\n", server_port,
             worker_port);
    ufix_t f;
    ufix_opts_t opts = {.extra = extra};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    ck_assert_int_eq(wait_port_up(server_port), 0);

    /* The public listener has no /metrics; the metrics one nothing else. */
    ufix_resp_t resp;
    ck_assert_int_eq(ufix_request(&f, "GET", "/metrics", NULL, NULL, 0, 1, &resp), 0);
    ck_assert_int_eq(resp.status, 404);
    ufix_resp_free(&resp);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health/", server_port);
    vft_response_t other = {0};
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &other), 0);
    ck_assert_int_eq(other.status, 404);
    vft_response_free(&other);

    char *before = scrape(server_port);
    promtool_check(&f, before, "server");
    ck_assert_double_eq(VALUE(before, "videoflix_build_info{", "role=\"server\""), 1);
    ck_assert_double_eq(VALUE(before, "videoflix_http_requests_in_flight"), 0);
    ck_assert_double_eq(VALUE(before, "videoflix_queue_up"), 1);
    ck_assert_double_eq(VALUE(before, "videoflix_workers_live"), 0);

    /* Three answered requests on one route, one on none. */
    for (int i = 0; i < 3; i++) {
        json_t *list = NULL;
        ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/", NULL, &list), 200);
        json_decref(list);
    }
    ck_assert_int_eq(ufix_request(&f, "GET", "/no/such/thing/", NULL, NULL, 0, 1, &resp), 0);
    ck_assert_int_eq(resp.status, 404);
    ufix_resp_free(&resp);
    char *after = scrape(server_port);
    promtool_check(&f, after, "server-after-requests");
    const char *videos[] = {"method=\"GET\"", "route=\"/admin/api/videos/\""};
    ck_assert_double_eq(VALUE(after, "videoflix_http_requests_total{", videos[0], videos[1], "code=\"200\"") -
                            VALUE(before, "videoflix_http_requests_total{", videos[0], videos[1], "code=\"200\""),
                        3);
    ck_assert_double_eq(VALUE(after, "videoflix_http_request_duration_seconds_count{", videos[0], videos[1]) -
                            VALUE(before, "videoflix_http_request_duration_seconds_count{", videos[0], videos[1]),
                        3);
    ck_assert_double_eq(VALUE(after, "videoflix_http_requests_total{", "route=\"unmatched\"", "code=\"404\"") -
                            VALUE(before, "videoflix_http_requests_total{", "route=\"unmatched\"", "code=\"404\""),
                        1);
    ck_assert_msg(!strstr(after, "/no/such/thing/"), "a raw path became a label:\n%s", after);
    free(before);
    before = after;

    /* An upload: its bytes, and each PATCH by its route. */
    char clip[4096];
    snprintf(clip, sizeof clip, "%s/clip.mp4", f.dir);
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 2.0), 0);
    long clip_bytes = file_size(clip);
    ck_assert_int_gt(clip_bytes, 0);
    long chunks = (clip_bytes + 64 * 1024 - 1) / (64 * 1024);
    int64_t vid = ufix_add_video(&f, clip, "Counted");
    ck_assert_int_gt(vid, 0);
    after = scrape(server_port);
    ck_assert_double_eq(VALUE(after, "videoflix_upload_bytes_total") - VALUE(before, "videoflix_upload_bytes_total"),
                        (double)clip_bytes);
    const char *patch[] = {"method=\"PATCH\"", "route=\"/admin/api/uploads/{id}/\"", "code=\"204\""};
    ck_assert_double_eq(VALUE(after, "videoflix_http_requests_total{", patch[0], patch[1], patch[2]) -
                            VALUE(before, "videoflix_http_requests_total{", patch[0], patch[1], patch[2]),
                        (double)chunks);
    free(before);
    free(after);
    /* The video's jobs wait in the stream: no worker runs yet. */
    after = scrape_until(server_port, "videoflix_queue_stream_length", NULL, 1);
    ck_assert_double_ge(VALUE(after, "videoflix_queue_stream_length"), 1);
    ck_assert_double_eq(VALUE(after, "videoflix_queue_stream_pending"), 0);
    free(after);

    /* The worker's own page, and the transcode. */
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    ck_assert_int_eq(wait_port_up(worker_port), 0);
    char *wbefore = scrape_until(worker_port, "videoflix_worker_last_heartbeat_timestamp_seconds", NULL, 1);
    promtool_check(&f, wbefore, "worker");
    ck_assert_double_eq(VALUE(wbefore, "videoflix_build_info{", "role=\"worker\""), 1);
    double beat = VALUE(wbefore, "videoflix_worker_last_heartbeat_timestamp_seconds");
    ck_assert_msg(beat > (double)time(NULL) - 30 && beat <= (double)time(NULL), "heartbeat at %f", beat);
    json_t *video = NULL;
    ck_assert_int_eq(ufix_wait_video(&f, vid, "ready", 120000, &video), 0);
    json_decref(video);
    char *server_page = scrape_until(server_port, "videoflix_queue_stream_length", NULL, 0);
    ck_assert_double_eq(VALUE(server_page, "videoflix_workers_live"), 1);
    ck_assert_double_eq(VALUE(server_page, "videoflix_queue_stream_length"), 0);
    ck_assert_double_eq(VALUE(server_page, "videoflix_queue_stream_pending"), 0);
    double done_in_redis = VALUE(server_page, "videoflix_queue_jobs{", "state=\"done\"");
    char *wafter = scrape(worker_port);
    promtool_check(&f, wafter, "worker-after-transcode");
    /* per_rendition: 120p and 240p transcodes, and the thumbnail. */
    double done = VALUE(wafter, "videoflix_jobs_total{", "state=\"done\"");
    ck_assert_double_eq(done, done_in_redis);
    ck_assert_double_eq(VALUE(wafter, "videoflix_jobs_total{", "type=\"transcode\"", "state=\"done\""), 2);
    ck_assert_double_eq(VALUE(wafter, "videoflix_job_duration_seconds_count{", "type=\"transcode\"",
                              "state=\"done\""),
                        2);
    ck_assert_double_eq(VALUE(wafter, "videoflix_jobs_total{", "state=\"failed\""), 0);
    double runs = VALUE(wafter, "videoflix_transcodes_total{");
    ck_assert_double_eq(runs, VALUE(wafter, "videoflix_jobs_total{", "type=\"transcode\"") +
                                  VALUE(wafter, "videoflix_jobs_total{", "type=\"thumbnail\""));
    /* What the encoders wrote is what storage keeps of the video. */
    char outputs[4096];
    snprintf(outputs, sizeof outputs, "%s/videos/%" PRId64, f.media_root, vid);
    long long stored = bytes_under(outputs);
    ck_assert_int_gt(stored, 0);
    ck_assert_double_eq(VALUE(wafter, "videoflix_transcode_output_bytes_total{"), (double)stored);
    ck_assert_double_gt(VALUE(wafter, "videoflix_transcode_cpu_seconds_total{"), 0);
    /* The worker answers no HTTP API: its page has no request series. */
    ck_assert_msg(!strstr(wafter, "videoflix_http_requests_total{"), "%s", wafter);
    free(server_page);
    free(wbefore);
    free(wafter);
    /* The metrics thread takes no signals: SIGTERM still drains. */
    ck_assert_int_eq(ufix_stop_worker(&f, 0, SIGTERM), 0);
    ufix_teardown(&f);
}
END_TEST

/* HEAD /metrics: the headers of GET, with the length, and no body (read
 * from the socket: libcurl would not read one). */
static void assert_head_has_no_body(int port)
{
    int fd = vft_connect(port, 5000);
    ck_assert_int_ge(fd, 0);
    const char req[] = "HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[8192];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
    const char *end = strstr(buf, "\r\n\r\n");
    ck_assert_msg(end && end[4] == '\0', "a body after the head:\n%s", buf);
    const char *cl = strcasestr(buf, "Content-Length: ");
    ck_assert_msg(cl && atol(cl + 16) > 100, "%s", buf);
}

/* A broken connection is counted once it is opened again. */
START_TEST(reconnects)
{
    int server_port = vft_free_port();
    char extra[128];
    snprintf(extra, sizeof extra, "metrics = { listen = \"127.0.0.1:%d\"; };\n", server_port);
    ufix_t f;
    ufix_opts_t opts = {.extra = extra, .threads = 1};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    ck_assert_int_eq(wait_port_up(server_port), 0);
    assert_head_has_no_body(server_port);
    char *before = scrape(server_port);

    /* PostgreSQL ends every session of the server; Redis every client. */
    free(ufix_sql(&f, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE application_name = 'videoflix' AND pid <> pg_backend_pid()"));
    redisContext *rc = redisConnect("127.0.0.1", f.redis.port);
    ck_assert(rc && !rc->err);
    redisReply *rep = redisCommand(rc, "CLIENT KILL TYPE normal SKIPME yes");
    ck_assert(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer >= 1);
    freeReplyObject(rep);
    redisFree(rc);

    /* The scrape itself uses both (the queue series); so do requests. */
    free(scrape(server_port));
    json_t *list = NULL;
    ufix_json(&f, "GET", "/admin/api/videos/", NULL, &list);
    json_decref(list);
    char *after = scrape(server_port);
    ck_assert_double_ge(VALUE(after, "videoflix_db_reconnects_total") - VALUE(before, "videoflix_db_reconnects_total"),
                        1);
    ck_assert_double_ge(
        VALUE(after, "videoflix_redis_reconnects_total") - VALUE(before, "videoflix_redis_reconnects_total"), 1);
    ck_assert_double_eq(VALUE(after, "videoflix_queue_up"), 1);
    free(before);
    free(after);

    /* A second worker on a host takes its own port from the command line
     * (this configuration sets no worker_listen). */
    int worker_port = vft_free_port();
    char opt[64], log[4096];
    snprintf(opt, sizeof opt, "--metrics-listen=127.0.0.1:%d", worker_port);
    snprintf(log, sizeof log, "%s/worker-option.log", f.dir);
    char *argv[] = {getenv("VF_BINARY"), "--config", f.config, "worker", opt, "--name", "second", NULL};
    int pid = vft_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(wait_port_up(worker_port), 0);
    char *page = scrape(worker_port);
    ck_assert_double_eq(VALUE(page, "videoflix_build_info{", "role=\"worker\""), 1);
    free(page);
    ck_assert_int_eq(vft_stop(pid, SIGTERM, 20000), 0);
    char *missing[] = {getenv("VF_BINARY"), "--config", f.config, "worker", "--metrics-listen", NULL};
    char *out = NULL;
    ck_assert_int_eq(vft_run(missing, &out), 2); /* VF_EXIT_USAGE */
    free(out);
    ufix_teardown(&f);
}
END_TEST

static Suite *metrics_suite(void)
{
    vft_env_or_skip("VF_TEST_PG_DSN");
    Suite *s = suite_create("metrics_e2e");
    TCase *tc = tcase_create("pages");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, pages_and_counters);
    tcase_add_test(tc, reconnects);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(metrics_suite)
