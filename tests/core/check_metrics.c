/*
 * check_metrics.c - the metrics module (core/util/metrics.c): histogram
 * buckets and their boundaries, label and help escaping, the text of each
 * kind of family, the bound on label sets, exact counts from many threads,
 * the listen setting's grammar, and the page passing `promtool check
 * metrics` (a missing promtool fails: Debian's prometheus package,
 * installed by scripts/lib.sh).
 * Must not: start servers (tests/e2e/check_metrics.c does).
 */
#include "config.h"
#include "vftest.h"
#include "core/config/conf.h"
#include "core/util/metrics.h"
#include "core/util/metrics_series.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(vf_metric_family_t *f)
{
    vf_metrics_text_t t = {0};
    vf_metrics_render_family(&t, f);
    ck_assert(!t.failed);
    char *s = strndup(t.data ? t.data : "", t.len);
    vf_metrics_text_free(&t);
    return s;
}

static void assert_has(const char *text, const char *line)
{
    ck_assert_msg(strstr(text, line), "no \"%s\" in:\n%s", line, text);
}

START_TEST(histogram_buckets)
{
    static vf_metric_family_t h = {.name = "t_seconds", .help = "A histogram.", .kind = VF_METRIC_HISTOGRAM,
                                   .scale = 1, .nlabels = 1, .labels = {"route"}, .nbuckets = 3,
                                   .buckets = {0.01, 0.1, 1}, VF_METRIC_FAMILY_INIT};
    const char *v[] = {"/a/"};
    vf_metric_observe(&h, v, 0.005);
    vf_metric_observe(&h, v, 0.01); /* a bound belongs to its bucket (le) */
    vf_metric_observe(&h, v, 0.5);
    vf_metric_observe(&h, v, 7);
    char *s = render(&h);
    assert_has(s, "# HELP t_seconds A histogram.\n# TYPE t_seconds histogram\n");
    assert_has(s, "t_seconds_bucket{route=\"/a/\",le=\"0.01\"} 2\n");
    assert_has(s, "t_seconds_bucket{route=\"/a/\",le=\"0.1\"} 2\n");
    assert_has(s, "t_seconds_bucket{route=\"/a/\",le=\"1\"} 3\n");
    assert_has(s, "t_seconds_bucket{route=\"/a/\",le=\"+Inf\"} 4\n");
    assert_has(s, "t_seconds_sum{route=\"/a/\"} 7.515000\n");
    assert_has(s, "t_seconds_count{route=\"/a/\"} 4\n");
    free(s);
}
END_TEST

START_TEST(label_and_help_escaping)
{
    static vf_metric_family_t c = {.name = "t_total", .help = "Back\\slash and\nnewline \"kept\".",
                                   .kind = VF_METRIC_COUNTER, .scale = 1, .nlabels = 2, .labels = {"a", "b"},
                                   VF_METRIC_FAMILY_INIT};
    vf_metric_add(&c, (const char *[]){"q\"uote", "back\\slash\nline"}, 3);
    char *s = render(&c);
    /* HELP escapes \ and newline only; label values " as well. */
    assert_has(s, "# HELP t_total Back\\\\slash and\\nnewline \"kept\".\n");
    assert_has(s, "t_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nline\"} 3\n");
    free(s);
}
END_TEST

START_TEST(kinds_render)
{
    static vf_metric_family_t plain = {.name = "t_plain_total", .help = "No labels.", .kind = VF_METRIC_COUNTER,
                                       .scale = 1, VF_METRIC_FAMILY_INIT};
    static vf_metric_family_t seconds = {.name = "t_cpu_seconds_total", .help = "Scaled.", .kind = VF_METRIC_COUNTER,
                                         .scale = VF_METRIC_MICRO, .nlabels = 1, .labels = {"encoder"},
                                         VF_METRIC_FAMILY_INIT};
    static vf_metric_family_t gauge = {.name = "t_in_flight", .help = "A gauge.", .kind = VF_METRIC_GAUGE,
                                       .scale = 1, VF_METRIC_FAMILY_INIT};
    static vf_metric_family_t unused = {.name = "t_unused_total", .help = "Labels, never used.",
                                        .kind = VF_METRIC_COUNTER, .scale = 1, .nlabels = 1, .labels = {"x"},
                                        VF_METRIC_FAMILY_INIT};
    /* A family without labels shows 0 before its first event. */
    char *s = render(&plain);
    ck_assert_str_eq(s, "# HELP t_plain_total No labels.\n# TYPE t_plain_total counter\nt_plain_total 0\n");
    free(s);
    vf_metric_add(&seconds, (const char *[]){"encoder_ffmpeg"}, 1500000);
    vf_metric_add(&seconds, (const char *[]){"encoder_libav"}, 250);
    s = render(&seconds);
    assert_has(s, "# TYPE t_cpu_seconds_total counter\n");
    assert_has(s, "t_cpu_seconds_total{encoder=\"encoder_ffmpeg\"} 1.500000\n");
    assert_has(s, "t_cpu_seconds_total{encoder=\"encoder_libav\"} 0.000250\n");
    free(s);
    vf_metric_add(&gauge, NULL, 2);
    vf_metric_add(&gauge, NULL, -3);
    s = render(&gauge);
    assert_has(s, "# TYPE t_in_flight gauge\nt_in_flight -1\n");
    free(s);
    vf_metric_set(&gauge, NULL, 42);
    s = render(&gauge);
    assert_has(s, "t_in_flight 42\n");
    free(s);
    /* No series, no lines: a labelled family appears with its first use. */
    s = render(&unused);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(label_sets_are_bounded)
{
    static vf_metric_family_t c = {.name = "t_many_total", .help = "Many.", .kind = VF_METRIC_COUNTER, .scale = 1,
                                   .nlabels = 1, .labels = {"v"}, VF_METRIC_FAMILY_INIT};
    int extra = 40;
    for (int i = 0; i < VF_METRIC_MAX_SERIES + extra; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        vf_metric_add(&c, (const char *[]){v}, 1);
    }
    /* Sets seen before the limit keep counting in their own series. */
    vf_metric_add(&c, (const char *[]){"v0"}, 1);
    ck_assert_uint_eq(atomic_load(&c.nseries), VF_METRIC_MAX_SERIES);
    char *s = render(&c);
    assert_has(s, "t_many_total{v=\"v0\"} 2\n");
    char line[64];
    snprintf(line, sizeof line, "t_many_total{v=\"other\"} %d\n", extra + 1);
    assert_has(s, line);
    snprintf(line, sizeof line, "{v=\"v%d\"}", VF_METRIC_MAX_SERIES - 1);
    ck_assert_msg(!strstr(s, line), "a set past the limit has a series of its own");
    free(s);
}
END_TEST

static vf_metric_family_t shared = {.name = "t_threads_total", .help = "From threads.", .kind = VF_METRIC_COUNTER,
                                    .scale = 1, .nlabels = 1, .labels = {"k"}, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t shared_h = {.name = "t_threads_seconds", .help = "From threads.",
                                      .kind = VF_METRIC_HISTOGRAM, .scale = 1, .nlabels = 1, .labels = {"k"},
                                      .nbuckets = 2, .buckets = {0.5, 1}, VF_METRIC_FAMILY_INIT};
#define PER_THREAD 50000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i % 5); /* first sights race too */
        vf_metric_add(&shared, (const char *[]){k}, 1);
        vf_metric_observe(&shared_h, (const char *[]){k}, 0.25);
    }
    return NULL;
}

START_TEST(threads_count_exactly)
{
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(atomic_load(&shared.nseries), 5);
    char *s = render(&shared);
    char line[64];
    for (int k = 0; k < 5; k++) {
        snprintf(line, sizeof line, "t_threads_total{k=\"k%d\"} %d\n", k, 6 * PER_THREAD / 5);
        assert_has(s, line);
    }
    free(s);
    s = render(&shared_h);
    snprintf(line, sizeof line, "t_threads_seconds_count{k=\"k3\"} %d\n", 6 * PER_THREAD / 5);
    assert_has(s, line);
    snprintf(line, sizeof line, "t_threads_seconds_sum{k=\"k3\"} %d\n", 6 * PER_THREAD / 5 / 4);
    assert_has(s, line);
    free(s);
}
END_TEST

START_TEST(listen_setting)
{
    char host[64];
    int port = 0;
    ck_assert_int_eq(vf_metrics_listen_parse("127.0.0.1:9464", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 9464);
    ck_assert_int_eq(vf_metrics_listen_parse("[::1]:9465", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 9465);
    ck_assert_int_eq(vf_metrics_listen_parse("localhost:1", host, sizeof host, &port), 0);
    const char *bad[] = {"9464", ":9464", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:94x",
                         "::1:9464", "[::1:9464", "[]:9464"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(vf_metrics_listen_parse(bad[i], host, sizeof host, &port) == -EINVAL, "%s accepted", bad[i]);
}
END_TEST

/* The settings: off by default, checked with their line when set. */
START_TEST(settings)
{
    char *errors = NULL;
    vf_config_t *cfg = vf_config_load_string("", "test.conf", &errors);
    ck_assert_msg(cfg != NULL, "errors: %s", errors);
    ck_assert_str_eq(cfg->metrics.listen, "");
    ck_assert_str_eq(cfg->metrics.worker_listen, "");
    vf_config_free(&cfg);
    cfg = vf_config_load_string("metrics = { listen = \"127.0.0.1:9464\"; worker_listen = \"[::1]:9465\"; };\n",
                                "test.conf", &errors);
    ck_assert_msg(cfg != NULL, "errors: %s", errors);
    ck_assert_str_eq(cfg->metrics.listen, "127.0.0.1:9464");
    ck_assert_str_eq(cfg->metrics.worker_listen, "[::1]:9465");
    vf_config_free(&cfg);
    cfg = vf_config_load_string("metrics = {\n  listen = \"9464\";\n  worker_listen = \"::1:9465\";\n  port = 1;\n};\n",
                                "test.conf", &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(errors);
    ck_assert_msg(strstr(errors, "test.conf:2: metrics.listen must be \"host:port\""), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:3: metrics.worker_listen must be \"host:port\""), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:4:") && strstr(errors, "port"), "%s", errors);
    free(errors);
}
END_TEST

static void collector(vf_metrics_text_t *t, void *ctx)
{
    ck_assert_ptr_eq(ctx, (void *)&shared);
    vf_metrics_render_head(t, "t_collected", "gauge", "From a collector.");
    vf_metrics_render_sample(t, "t_collected", 1, (const char *[]){"state"}, (const char *[]){"queued"}, 3);
}

/* The whole page of a process with some of everything, through promtool. */
START_TEST(page_passes_promtool)
{
    char *dir = vft_tmpdir("metrics");
    char *out = NULL;
    ck_assert_msg(vft_sh(&out, "command -v promtool") == 0,
                  "promtool is missing: install Debian's prometheus package (scripts/lib.sh lists it)");
    free(out);
    vf_metric_http_begin();
    vf_metric_http_begin();
    vf_metric_http_done("GET", "/content/{id}/", 200, 0);
    vf_metric_http_done("GET", NULL, 404, 0);
    vf_metric_db_reconnect();
    vf_metric_job_settled("transcode", "done", 1500000);
    vf_metric_job_settled("mail", "retrying", 20000);
    vf_metric_worker_heartbeat();
    vf_metric_upload_bytes(1234);
    vf_metric_transcode("encoder_ffmpeg", vf_metric_cpu_us(), (const char *[]){dir}, 1);
    ck_assert_int_eq(vf_metrics_add_collector(collector), 0);
    ck_assert_int_eq(vf_metrics_add_collector(collector), 0); /* once only */
    vf_metrics_text_t t = {0};
    vf_metrics_render_all(&t, "server", &shared);
    ck_assert(!t.failed);
    char *page = strndup(t.data, t.len);
    vf_metrics_text_free(&t);
    assert_has(page, "videoflix_build_info{version=\"" PACKAGE_VERSION "\",role=\"server\"} 1\n");
    assert_has(page, "videoflix_http_requests_total{method=\"GET\",route=\"/content/{id}/\",code=\"200\"} 1\n");
    assert_has(page, "videoflix_http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1\n");
    assert_has(page, "videoflix_http_requests_in_flight 0\n");
    assert_has(page, "videoflix_db_reconnects_total 1\n");
    assert_has(page, "videoflix_redis_reconnects_total 0\n");
    assert_has(page, "videoflix_jobs_total{type=\"transcode\",state=\"done\"} 1\n");
    assert_has(page, "videoflix_job_duration_seconds_bucket{type=\"transcode\",state=\"done\",le=\"5\"} 1\n");
    assert_has(page, "videoflix_job_duration_seconds_bucket{type=\"transcode\",state=\"done\",le=\"1\"} 0\n");
    assert_has(page, "videoflix_upload_bytes_total 1234\n");
    assert_has(page, "videoflix_transcodes_total{encoder=\"encoder_ffmpeg\"} 1\n");
    const char *c = strstr(page, "t_collected{state=\"queued\"} 3\n");
    ck_assert_msg(c && !strstr(c + 1, "t_collected{"), "the collector ran other than once:\n%s", page);
    char path[4096];
    snprintf(path, sizeof path, "%s/page.txt", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(page, fp);
    ck_assert_int_eq(fclose(fp), 0);
    int rc = vft_sh(&out, "promtool check metrics < '%s' 2>&1", path);
    ck_assert_msg(rc == 0, "promtool check metrics failed (%d):\n%s\n%s", rc, out ? out : "", page);
    free(out);
    free(page);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("module");
    tcase_add_test(tc, histogram_buckets);
    tcase_add_test(tc, label_and_help_escaping);
    tcase_add_test(tc, kinds_render);
    tcase_add_test(tc, label_sets_are_bounded);
    tcase_add_test(tc, threads_count_exactly);
    tcase_add_test(tc, listen_setting);
    tcase_add_test(tc, settings);
    tcase_add_test(tc, page_passes_promtool);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(metrics_suite)
