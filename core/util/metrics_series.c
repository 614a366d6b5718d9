/*
 * metrics_series.c - see metrics_series.h.  Every family is defined here,
 * once, so that the page's names and help texts are in one place and the
 * modules' hooks stay one line each.
 * Must not: lock or allocate on an update after a label set's first use
 * (metrics.c), or log: a hook runs inside request and job paths.
 */
#include "config.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#define SECONDS_BUCKETS_HTTP 11, {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
#define SECONDS_BUCKETS_JOBS 12, {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200}

static vf_metric_family_t http_requests = {
    .name = "videoflix_http_requests_total",
    .help = "HTTP requests answered, by method, route pattern and status code.",
    .kind = VF_METRIC_COUNTER, .scale = 1, .nlabels = 3, .labels = {"method", "route", "code"},
    VF_METRIC_FAMILY_INIT};
static vf_metric_family_t http_duration = {
    .name = "videoflix_http_request_duration_seconds",
    .help = "Time from a request's arrival to its answer, by method and route pattern.",
    .kind = VF_METRIC_HISTOGRAM, .scale = 1, .nlabels = 2, .labels = {"method", "route"},
    .nbuckets = SECONDS_BUCKETS_HTTP, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t http_inflight = {
    .name = "videoflix_http_requests_in_flight",
    .help = "HTTP requests received and not yet answered.",
    .kind = VF_METRIC_GAUGE, .scale = 1, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t db_reconnects = {
    .name = "videoflix_db_reconnects_total",
    .help = "PostgreSQL connections found broken and opened again.",
    .kind = VF_METRIC_COUNTER, .scale = 1, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t redis_reconnects = {
    .name = "videoflix_redis_reconnects_total",
    .help = "Redis connections found broken and opened again.",
    .kind = VF_METRIC_COUNTER, .scale = 1, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t jobs_settled = {
    .name = "videoflix_jobs_total",
    .help = "Job attempts settled by this worker, by type and the state they left the job in.",
    .kind = VF_METRIC_COUNTER, .scale = 1, .nlabels = 2, .labels = {"type", "state"},
    VF_METRIC_FAMILY_INIT};
static vf_metric_family_t jobs_duration = {
    .name = "videoflix_job_duration_seconds",
    .help = "How long job handlers ran, by type and the state the attempt left the job in.",
    .kind = VF_METRIC_HISTOGRAM, .scale = 1, .nlabels = 2, .labels = {"type", "state"},
    .nbuckets = SECONDS_BUCKETS_JOBS, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t worker_heartbeat = {
    .name = "videoflix_worker_last_heartbeat_timestamp_seconds",
    .help = "When this worker last wrote its heartbeat to Redis (Unix time).",
    .kind = VF_METRIC_GAUGE, .scale = 1, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t upload_bytes = {
    .name = "videoflix_upload_bytes_total",
    .help = "Bytes of tus upload chunks stored.",
    .kind = VF_METRIC_COUNTER, .scale = 1, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t transcode_cpu = {
    .name = "videoflix_transcode_cpu_seconds_total",
    .help = "CPU time of the worker process and its encoder children while an encoder ran, by encoder "
            "(jobs running at the same time each count the whole process).",
    .kind = VF_METRIC_COUNTER, .scale = VF_METRIC_MICRO, .nlabels = 1, .labels = {"encoder"},
    VF_METRIC_FAMILY_INIT};
static vf_metric_family_t transcode_bytes = {
    .name = "videoflix_transcode_output_bytes_total",
    .help = "Bytes of the files encoders wrote (renditions, HLS segments and thumbnails), by encoder.",
    .kind = VF_METRIC_COUNTER, .scale = 1, .nlabels = 1, .labels = {"encoder"}, VF_METRIC_FAMILY_INIT};
static vf_metric_family_t transcodes = {
    .name = "videoflix_transcodes_total",
    .help = "Encoder runs that finished, by encoder.",
    .kind = VF_METRIC_COUNTER, .scale = 1, .nlabels = 1, .labels = {"encoder"}, VF_METRIC_FAMILY_INIT};

/* The page's order. */
static vf_metric_family_t *const all_families[] = {
    &http_requests, &http_duration, &http_inflight, &db_reconnects,   &redis_reconnects, &jobs_settled,
    &jobs_duration, &worker_heartbeat, &upload_bytes, &transcodes, &transcode_cpu, &transcode_bytes,
};

void vf_metric_http_begin(void) { vf_metric_add(&http_inflight, NULL, 1); }

void vf_metric_http_done(const char *method, const char *route, int status, int64_t start_us)
{
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    const char *r = route ? route : "unmatched";
    vf_metric_add(&http_inflight, NULL, -1);
    vf_metric_add(&http_requests, (const char *[]){method, r, code}, 1);
    vf_metric_observe(&http_duration, (const char *[]){method, r}, (double)(vf_mono_us() - start_us) / 1e6);
}

void vf_metric_db_reconnect(void) { vf_metric_add(&db_reconnects, NULL, 1); }
void vf_metric_redis_reconnect(void) { vf_metric_add(&redis_reconnects, NULL, 1); }

void vf_metric_job_settled(const char *type, const char *state, int64_t ran_us)
{
    const char *values[] = {type, state};
    vf_metric_add(&jobs_settled, values, 1);
    vf_metric_observe(&jobs_duration, values, (double)ran_us / 1e6);
}

void vf_metric_worker_heartbeat(void) { vf_metric_set(&worker_heartbeat, NULL, (int64_t)time(NULL)); }

void vf_metric_upload_bytes(int64_t bytes) { vf_metric_add(&upload_bytes, NULL, bytes); }

static int64_t rusage_us(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int64_t vf_metric_cpu_us(void) { return rusage_us(RUSAGE_SELF) + rusage_us(RUSAGE_CHILDREN); }

void vf_metric_transcode(const char *encoder, int64_t cpu_before_us, const char *const *paths, size_t npaths)
{
    const char *values[] = {encoder};
    int64_t bytes = 0;
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        if (paths[i] && stat(paths[i], &st) == 0)
            bytes += st.st_size;
    }
    int64_t cpu = vf_metric_cpu_us() - cpu_before_us;
    vf_metric_add(&transcodes, values, 1);
    vf_metric_add(&transcode_cpu, values, cpu > 0 ? cpu : 0);
    vf_metric_add(&transcode_bytes, values, bytes);
}

void vf_metric_transcode_output(const char *encoder, int64_t bytes)
{
    const char *values[] = {encoder};
    vf_metric_add(&transcode_bytes, values, bytes);
}

void vf_metrics_render_all(vf_metrics_text_t *t, const char *role, void *ctx)
{
    vf_metrics_render_head(t, "videoflix_build_info", "gauge", "The version and role of this process (always 1).");
    vf_metrics_render_sample(t, "videoflix_build_info", 2, (const char *[]){"version", "role"},
                             (const char *[]){PACKAGE_VERSION, role}, 1);
    for (size_t i = 0; i < sizeof all_families / sizeof all_families[0]; i++)
        vf_metrics_render_family(t, all_families[i]);
    vf_metrics_run_collectors(t, ctx);
}
