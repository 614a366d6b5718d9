/*
 * check_hls_publish.c - HLS published while the encoder runs, through the
 * real server, `videoflix worker`, the configured encoder and storage:
 *   local_per_rendition  storage_local, one job per rendition: every
 *               rendition's media playlist ends with ENDLIST and lists its
 *               segments 0..n-1 once each, all stored, as many as recorded;
 *               the master lists each rendition with its attributes,
 *               ffprobe reads it; hls_state ends 'complete'; the MP4s are
 *               still made; nothing is left in the work directory
 *   s3_whole_ladder  the same through storage_s3 with one ladder job
 *   live_then_resume  hls_state is 'live' with a master while the video is
 *               still processing and no playlist has ended; the worker is
 *               killed; the next one resumes at the stored segment count
 *               (its log, and the earlier segments are not stored again),
 *               the encoder is handed what was published and continues
 *               from it, the finished playlists list every segment once
 *               and the MP4s hold the whole clip; with encoder_ffmpeg and
 *               with encoder_libav
 */
#include "config.h"
#include "uploads_fixture.h"

#include "core/pipeline/pipeline.h"
#include "core/plugins/storage_calls.h"
#include "tests/media.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const ladder2[] = {"120p", "240p"};
static const char *const ladder3[] = {"120p", "240p", "360p"};

/* Objects are read where the test's storage keeps them. */
typedef struct store {
    ufix_t *f;
    vf_plugin_t *s3;     /* NULL: local storage under f->media_root */
} store_t;

/* The object's bytes (NUL-terminated), or NULL when it is missing. */
static char *object(store_t *s, const char *key, size_t *len)
{
    char path[4096];
    size_t ignored;
    if (!len)
        len = &ignored;
    if (!s->s3) {
        snprintf(path, sizeof path, "%s/%s", s->f->media_root, key);
        return vft_read_file(path, len);
    }
    snprintf(path, sizeof path, "%s/object.tmp", s->f->dir);
    vf_error_t verr = {0};
    if (vf_storage_get(s->s3, key, path, NULL, NULL, &verr) < 0)
        return NULL;
    char *data = vft_read_file(path, len);
    unlink(path);
    return data;
}

static char *hls_key(int64_t vid, int gen, const char *quality, const char *name)
{
    char *key = NULL;
    if (quality)
        ck_assert_int_ge(asprintf(&key, "videos/%" PRId64 "/%d/hls/%s/%s", vid, gen, quality, name), 0);
    else
        ck_assert_int_ge(asprintf(&key, "videos/%" PRId64 "/%d/hls/%s", vid, gen, name), 0);
    return key;
}

static long sql_long(ufix_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long sql_long(ufix_t *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *v = ufix_sql(f, sql);
    long n = v && *v ? atol(v) : -1;
    free(v);
    return n;
}

static char *hls_state(ufix_t *f, int64_t vid)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT hls_state FROM videos WHERE id = %" PRId64, vid);
    char *v = ufix_sql(f, sql);
    ck_assert_ptr_nonnull(v);
    return v;
}

/* A media playlist's segment count after checking its text: the header,
 * the map, "<k>.m4s" for k = 0, 1, ... in order with an EXTINF before
 * each, and ENDLIST at the end exactly when `ended`. */
static int check_media_text(const char *text, int ended, double *total)
{
    const char *head = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:";
    ck_assert_msg(strncmp(text, head, strlen(head)) == 0, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                                       "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n"));
    int n = 0;
    *total = 0;
    for (const char *p = strstr(text, "#EXTINF:"); p; p = strstr(p, "#EXTINF:")) {
        double d = 0;
        int seq = -1;
        ck_assert_msg(sscanf(p, "#EXTINF:%lf,\n%d.m4s\n", &d, &seq) == 2, "at %.40s", p);
        ck_assert_int_eq(seq, n);
        ck_assert(d > 0);
        *total += d;
        n++;
        p += 8;
    }
    size_t len = strlen(text);
    const char *end = "#EXT-X-ENDLIST\n";
    int has_end = len > strlen(end) && strcmp(text + len - strlen(end), end) == 0;
    ck_assert_int_eq(has_end, ended);
    return n;
}

/* The rendition's finished playlist against storage and the rows. */
static int check_rendition(store_t *s, int64_t vid, int gen, const char *quality, double seconds)
{
    char *key = hls_key(vid, gen, quality, "index.m3u8");
    char *text = object(s, key, NULL);
    ck_assert_msg(text != NULL, "%s is missing", key);
    double total = 0;
    int n = check_media_text(text, 1, &total);
    ck_assert_int_gt(n, 0);
    ck_assert_msg(fabs(total - seconds) < 0.5, "%s lasts %.3f s, the clip %.3f s", quality, total, seconds);
    for (int i = -1; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, i < 0 ? "init.mp4" : "%d.m4s", i);
        char *k = hls_key(vid, gen, quality, name);
        size_t len = 0;
        char *data = object(s, k, &len);
        ck_assert_msg(data != NULL && len > 100, "%s is missing", k);
        free(data);
        free(k);
    }
    ck_assert_int_eq(sql_long(s->f,
                              "SELECT count(*) FROM video_hls_segments WHERE video_id = %" PRId64
                              " AND generation = %d AND quality = '%s'",
                              vid, gen, quality),
                     n);
    ck_assert_int_eq(sql_long(s->f,
                              "SELECT segments FROM video_hls_streams WHERE video_id = %" PRId64
                              " AND generation = %d AND quality = '%s' AND ended",
                              vid, gen, quality),
                     n);
    free(text);
    free(key);
    return n;
}

/* The master: one variant per rendition, lowest bandwidth first, each
 * with the attributes a player needs. */
static char *check_master(store_t *s, int64_t vid, int gen, const char *const *qualities, size_t n)
{
    char *key = hls_key(vid, gen, NULL, "master.m3u8");
    char *text = object(s, key, NULL);
    ck_assert_msg(text != NULL, "%s is missing", key);
    ck_assert_msg(strncmp(text, "#EXTM3U\n#EXT-X-VERSION:7\n", 25) == 0, "%s", text);
    long last = 0;
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        p = strstr(p, "#EXT-X-STREAM-INF:BANDWIDTH=");
        ck_assert_msg(p != NULL, "%zu variants in %s", i, text);
        long bw = atol(p + strlen("#EXT-X-STREAM-INF:BANDWIDTH="));
        ck_assert_int_ge(bw, last);
        last = bw;
        const char *eol = strchr(p, '\n');
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(eol - p), p);
        ck_assert_msg(strstr(line, ",AVERAGE-BANDWIDTH=") && strstr(line, ",RESOLUTION=") &&
                          strstr(line, ",CODECS=\"avc1.") && strstr(line, ",mp4a.40.2\"") && strstr(line, ",FRAME-RATE="),
                      "%s", line);
        char uri[64];
        snprintf(uri, sizeof uri, "\n%s/index.m3u8\n", qualities[i]);
        ck_assert_msg(strncmp(eol, uri, strlen(uri)) == 0, "variant %zu is not %s: %s", i, qualities[i], text);
        p = eol;
    }
    ck_assert_ptr_null(strstr(p, "#EXT-X-STREAM-INF"));
    free(key);
    return text;
}

static int64_t add_clip(ufix_t *f, const char *name, int w, int h, double seconds)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.mp4", f->dir, name);
    ck_assert_int_eq(ufix_make_clip(path, w, h, seconds), 0);
    int64_t vid = ufix_add_video(f, path, name);
    ck_assert_int_gt(vid, 0);
    return vid;
}

static void wait_ready(ufix_t *f, int64_t vid, int timeout_ms)
{
    json_t *v = NULL;
    ck_assert_msg(ufix_wait_video(f, vid, NULL, timeout_ms, &v) == 0, "video %" PRId64 " did not finish", vid);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    /* The MP4s, as before. */
    json_t *files = json_object_get(v, "converted_files");
    ck_assert_ptr_nonnull(json_object_get(files, "120p"));
    json_decref(v);
}

static void finished_stream(store_t *s, int64_t vid, const char *const *qualities, size_t n, double seconds)
{
    for (size_t i = 0; i < n; i++)
        check_rendition(s, vid, 1, qualities[i], seconds);
    free(check_master(s, vid, 1, qualities, n));
    char *state = hls_state(s->f, vid);
    ck_assert_str_eq(state, "complete");
    free(state);
}

START_TEST(local_per_rendition)
{
    ufix_t f;
    ufix_opts_t o = {.media = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; } ); "
                              "hls_segment_seconds = 1;"};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);
    int64_t vid = add_clip(&f, "local", 320, 240, 4.0);
    wait_ready(&f, vid, 120000);
    store_t s = {&f, NULL};
    finished_stream(&s, vid, ladder2, 2, 4.0);
    /* ffprobe follows the master to a rendition and its segments. */
    char master[4096];
    snprintf(master, sizeof master, "%s/videos/%" PRId64 "/1/hls/master.m3u8", f.media_root, vid);
    double duration = vfm_probe_num(master, NULL, "duration");
    ck_assert_msg(fabs(duration - 4.0) < 0.5, "ffprobe: %f s", duration);
    ck_assert_int_eq(ufix_count_files(f.work_dir), 0);
    ufix_teardown(&f);
}
END_TEST

START_TEST(s3_whole_ladder)
{
    ufix_t f;
    ufix_opts_t o = {.s3 = 1, .job_split = "whole_ladder",
                     .media = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; } ); "
                              "hls_segment_seconds = 1;"};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    char err[512];
    vf_plugin_t *s3 = ufix_s3_plugin(err, sizeof err);
    ck_assert_msg(s3 != NULL, "%s", err);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    int64_t vid = add_clip(&f, "s3", 320, 240, 3.0);
    wait_ready(&f, vid, 120000);
    store_t s = {&f, s3};
    finished_stream(&s, vid, ladder2, 2, 3.0);
    vft_plugin_free(s3);
    ufix_teardown(&f);
}
END_TEST

static int worker_log_has(ufix_t *f, int worker, const char *needle)
{
    char *log = ufix_worker_log(f, worker);
    int found = log && strstr(log, needle) != NULL;
    free(log);
    return found;
}

static struct timespec mtime_of(ufix_t *f, int64_t vid, const char *quality, long seq)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/videos/%" PRId64 "/1/hls/%s/%ld.m4s", f->media_root, vid, quality, seq);
    ck_assert_msg(stat(path, &st) == 0, "%s is missing", path);
    return st.st_mtim;
}

static int before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* The resumed job's MP4s hold the whole clip and decode cleanly: made from
 * the segments published before the kill followed by the new ones. */
static void check_whole_mp4s(ufix_t *f, int64_t vid, const char *const *qualities, size_t n, double seconds)
{
    for (size_t i = 0; i < n; i++) {
        char *key = vf_pipeline_rendition_key(vid, 1, qualities[i]), path[4096];
        ck_assert_ptr_nonnull(key);
        snprintf(path, sizeof path, "%s/%s", f->media_root, key);
        double duration = vfm_probe_num(path, NULL, "duration");
        ck_assert_msg(fabs(duration - seconds) < 0.2, "%s lasts %.3f s, the clip %.1f s", key, duration, seconds);
        ck_assert_msg(vfm_decodes(path) == 1, "%s does not decode cleanly", key);
        free(key);
    }
}

/* Both encoders continue a killed job: encoder_ffmpeg (the default) and
 * encoder_libav. */
static const char *const resume_encoders[] = {NULL, "encoder = { plugin = \"encoder_libav\"; };\n"};

START_TEST(live_then_resume)
{
    ufix_t f;
    ufix_opts_t o = {.job_split = "whole_ladder",
                     .media = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; }, "
                              "{ name = \"360p\"; height = 360; } ); preset = \"medium\"; hls_segment_seconds = 1;",
                     .extra = resume_encoders[_i]};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    int a = ufix_start_worker(&f, 1);
    ck_assert_int_ge(a, 0);
    const double seconds = 16.0;
    int64_t vid = add_clip(&f, "resumed", 640, 360, seconds);
    store_t s = {&f, NULL};

    /* Live: a master naming every rendition while processing goes on. */
    char *state = NULL;
    for (int waited = 0; waited < 120000; waited += 50) {
        free(state);
        state = hls_state(&f, vid);
        if (strcmp(state, "none") != 0)
            break;
        usleep(50000);
    }
    ck_assert_str_eq(state, "live");
    free(state);
    char *master = check_master(&s, vid, 1, ladder3, 3);
    free(master);
    char *processing = ufix_sql(&f, "SELECT string_agg(processing_state, ',') FROM videos");
    ck_assert_str_eq(processing, "processing");
    free(processing);
    for (size_t i = 0; i < 3; i++) {
        char *key = hls_key(vid, 1, ladder3[i], "index.m3u8");
        char *text = object(&s, key, NULL);
        ck_assert_ptr_nonnull(text);
        double total;
        ck_assert_int_ge(check_media_text(text, 0, &total), 1);
        free(text);
        free(key);
    }

    /* Killed with a few segments of every rendition stored. */
    char where[256];
    snprintf(where, sizeof where, "FROM video_hls_streams WHERE video_id = %" PRId64, vid);
    long least = 0;
    for (int waited = 0; waited < 120000 && least < 3; waited += 50) {
        least = sql_long(&f, "SELECT min(segments) %s", where);
        usleep(50000);
    }
    ck_assert_int_ge(least, 3);
    ufix_stop_worker(&f, a, SIGKILL);
    struct timespec killed;
    clock_gettime(CLOCK_REALTIME, &killed);
    least = sql_long(&f, "SELECT min(segments) %s", where);
    ck_assert_int_eq(sql_long(&f, "SELECT count(*) %s AND ended", where), 0);
    char *stored_quality = NULL;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT quality %s ORDER BY segments, quality LIMIT 1", where);
    stored_quality = ufix_sql(&f, sql);
    ck_assert_ptr_nonnull(stored_quality);

    int b = ufix_start_worker(&f, 1);
    ck_assert_int_ge(b, 0);
    wait_ready(&f, vid, 180000);
    char expect[160];
    snprintf(expect, sizeof expect, "hls: video %" PRId64 " generation 1 resumes at segment %ld", vid, least);
    ck_assert_msg(worker_log_has(&f, b, expect), "the second worker's log lacks \"%s\"", expect);
    /* The encoder was handed what was published, to continue from it. */
    snprintf(expect, sizeof expect, "hls: video %" PRId64 " generation 1 continues from segment %ld", vid, least);
    ck_assert_msg(worker_log_has(&f, b, expect), "the second worker's log lacks \"%s\"", expect);
    check_whole_mp4s(&f, vid, ladder3, 3, seconds);
    /* What the first worker stored stays; the second stored from there. */
    ck_assert(before(mtime_of(&f, vid, stored_quality, least - 1), killed));
    ck_assert(!before(mtime_of(&f, vid, stored_quality, least), killed));
    finished_stream(&s, vid, ladder3, 3, seconds);
    free(stored_quality);
    ufix_teardown(&f);
}
END_TEST

static Suite *hls_publish_suite(void)
{
    Suite *s = suite_create("hls_publish");
    TCase *tc = tcase_create("publish");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, local_per_rendition);
    tcase_add_test(tc, s3_whole_ladder);
    tcase_add_loop_test(tc, live_then_resume, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(hls_publish_suite)
