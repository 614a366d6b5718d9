/*
 * check_hls_files.c - publishing reported HLS files
 * (core/pipeline/hls_publish.c) with real CMAF files from ffmpeg's own
 * segmenter, the real storage_local plugin and a real PostgreSQL, calling
 * the callback as an encoder would (the whole path through an encoder is
 * tests/e2e/check_hls_publish.c):
 *   grow_then_complete  each file stored and removed locally, its rows, the
 *               media playlist growing; no master and hls_state 'none' until
 *               every configured rendition has a segment, then 'live' with
 *               a master; after finish ENDLIST everywhere and 'complete';
 *               the catalogue is notified of each state, not of segments
 *   resume      a second run of the job starts at the fewest stored
 *               segments, leaves stored segments alone, and the finished
 *               playlists list every segment once
 *   fetch_published  a resumed job fetches the stored init and segments
 *               before the resume point for an encoder that continues;
 *               one stored segment missing: nothing handed over, no error
 *   init_changed_replaces  a resumed rendition whose initialisation
 *               segment changed has its stored segments withdrawn from its
 *               playlist at once and replaced as they are reported again;
 *               one whose did not keeps them
 *   master_rewritten_at_finish  a master older than the rows (put by a job
 *               that lost its lock) is put again when a job ends
 *   failed_put_resumes  a put that fails ends the job with the storage's
 *               reason; the retry starts at the first segment not stored
 *   failed_video_has_no_stream  a failed video's hls_state is 'none', and
 *               stays so while a rendition goes on publishing;
 *   stale       a replaced video (a new generation) has hls_state 'none' and
 *               no rows of the old one; its job stops publishing with
 *               -ESTALE and records nothing more
 *   bad_reports a rendition the job does not have, an init segment that is
 *               not one: refused with a reason, nothing recorded
 *   encoder_without_hls  `videoflix worker` and `check-config` refuse an
 *               encoder whose capabilities lack HLS while media.outputs
 *               asks for it (the default), and accept it for ["mp4"]
 */
#include "config.h"
#include "pipeline/hls_db.h"
#include "pipeline/hls_publish.h"
#include "pipeline/pipeline_db.h"
#include "runtime/db.h"
#include "tests/media.h"
#include "vftest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *conninfo, *task_dir, *cmaf[2];
static int nseg[2];
static vf_app_t app;
static vf_db_t *db;
static const char *const qualities[] = {"120p", "240p"};

/* Each quality cut once for the whole suite: ffmpeg is slow here. */
static char *suite_dir;

static void make_cmaf(void)
{
    suite_dir = vft_tmpdir("hls-files-src");
    const int heights[] = {120, 240};
    for (int q = 0; q < 2; q++) {
        char src[1024];
        snprintf(src, sizeof src, "%s/%s.mp4", suite_dir, qualities[q]);
        vfm_clip_t clip = {.width = heights[q] * 4 / 3, .height = heights[q], .fps = 25, .seconds = 3.5, .audio = 1};
        ck_assert_int_eq(vfm_make_clip(src, &clip), 0);
        ck_assert_int_ge(asprintf(&cmaf[q], "%s/%s", suite_dir, qualities[q]), 0);
        ck_assert_int_eq(mkdir(cmaf[q], 0755), 0);
        ck_assert_int_eq(vfm_make_hls_fmp4(src, cmaf[q], 1.0), 0);
        char seg[1100];
        struct stat st;
        for (nseg[q] = 0;; nseg[q]++) {
            snprintf(seg, sizeof seg, "%s/%d.m4s", cmaf[q], nseg[q]);
            if (stat(seg, &st) != 0)
                break;
        }
        ck_assert_int_ge(nseg[q], 3);
    }
}

static void free_cmaf(void)
{
    vft_rmrf(suite_dir);
    free(suite_dir);
    free(cmaf[0]);
    free(cmaf[1]);
}

static void setup(void)
{
    dir = vft_tmpdir("hls-files");
    conninfo = vft_pg_create("vf_hls_files");
    char *config = vft_write_config(dir, conninfo, 1,
                                    "media = { renditions = ( { name = \"120p\"; height = 120; }, "
                                    "{ name = \"240p\"; height = 240; } ); hls_segment_seconds = 1; };");
    ck_assert_ptr_nonnull(config);
    char *errors = NULL, err[512];
    app.cfg = vf_config_load(config, &errors);
    ck_assert_msg(app.cfg != NULL, "%s", errors);
    free(config);
    ck_assert_msg(vf_app_load_plugins(&app, 1, 0, err, sizeof err) == 0, "%s", err);
    db = vf_db_new_conninfo(conninfo, NULL, 5);
    int applied = 0;
    ck_assert_msg(vf_db_migrate(db, app.cfg->database.migrations_dir, &applied, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(vf_db_run(db, "INSERT INTO videos (id, title, category) VALUES (5, 'A', 'Drama')", 0, NULL), 0);
    ck_assert_int_ge(asprintf(&task_dir, "%s/task", dir), 0);
    ck_assert_int_eq(mkdir(task_dir, 0755), 0);
}

static void teardown(void)
{
    vf_db_free(&db);
    vf_app_fini(&app);
    vft_pg_drop(conninfo);
    free(conninfo);
    vft_rmrf(dir);
    free(dir);
    free(task_dir);
}

static vf_hls_publish_t *begin(void)
{
    vf_hls_job_t job = {.app = &app, .video_id = 5, .generation = 1, .qualities = qualities, .nqualities = 2,
                        .frame_rate = 25.0, .task_dir = task_dir};
    vf_hls_publish_t *p = NULL;
    char err[256];
    ck_assert_msg(vf_hls_publish_begin(&p, &job, err, sizeof err) == 0, "%s", err);
    struct stat st;
    ck_assert_int_eq(stat(vf_hls_publish_dir(p), &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    return p;
}

/* Report file `seq` of quality q, made from the CMAF files of quality
 * src, as the encoder does: a copy in hls_dir, which the callee takes. */
static int report_from(vf_hls_publish_t *p, int q, int src, int64_t seq)
{
    char from[1200], to[1200];
    if (seq == VF_HLS_INIT)
        snprintf(from, sizeof from, "%s/init.mp4", cmaf[src]);
    else
        snprintf(from, sizeof from, "%s/%d.m4s", cmaf[src], (int)seq);
    snprintf(to, sizeof to, "%s/enc-%d-%d", vf_hls_publish_dir(p), q, (int)seq);
    ck_assert_int_eq(vft_sh(NULL, "cp '%s' '%s'", from, to), 0);
    /* ffmpeg's playlist says each segment's length; 1 s here but the last. */
    double duration = seq == VF_HLS_INIT ? 0 : seq == nseg[q] - 1 ? 0.5 : 1.0;
    vf_hls_file_t file = {.size = sizeof file, .rendition = (size_t)q, .sequence = seq, .path = to,
                          .duration = duration};
    int ret = vf_hls_publish_file(p, &file);
    ck_assert_msg(access(to, F_OK) != 0, "the reported file %s was left behind", to);
    return ret;
}

static int report(vf_hls_publish_t *p, int q, int64_t seq) { return report_from(p, q, q, seq); }

static char *object(const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/media/videos/5/1/hls/%s", dir, name);
    size_t len = 0;
    return vft_read_file(path, &len);
}

static int exists(const char *name)
{
    char *data = object(name);
    free(data);
    return data != NULL;
}

static char *sql1(const char *sql)
{
    PGresult *res = NULL;
    ck_assert_int_eq(vf_db_exec(db, &res, sql, 0, NULL), 0);
    char *v = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return v;
}

static void expect_sql(const char *sql, const char *want)
{
    char *v = sql1(sql);
    ck_assert_msg(strcmp(v, want) == 0, "%s: %s, not %s", sql, v, want);
    free(v);
}

/* The media playlist lists 0..n-1 once each, ENDLIST exactly when ended. */
static void expect_playlist(const char *quality, int n, int ended)
{
    char name[64];
    snprintf(name, sizeof name, "%s/index.m3u8", quality);
    char *text = object(name);
    ck_assert_msg(text != NULL, "%s is missing", name);
    ck_assert_ptr_nonnull(strstr(text, "#EXT-X-MAP:URI=\"init.mp4\"\n"));
    int seen = 0;
    for (const char *p = strstr(text, "#EXTINF:"); p; p = strstr(p + 1, "#EXTINF:")) {
        double d;
        int seq;
        ck_assert_int_eq(sscanf(p, "#EXTINF:%lf,\n%d.m4s\n", &d, &seq), 2);
        ck_assert_int_eq(seq, seen);
        snprintf(name, sizeof name, "%s/%d.m4s", quality, seq);
        ck_assert_msg(exists(name), "%s is listed, not stored", name);
        seen++;
    }
    ck_assert_int_eq(seen, n);
    ck_assert_int_eq(strstr(text, "#EXT-X-ENDLIST\n") != NULL, ended);
    free(text);
}

/* Catalogue notifications (003_videos.sql) received since the last call. */
static int catalog_notifications(PGconn *listener)
{
    usleep(100000);
    ck_assert_int_eq(PQconsumeInput(listener), 1);
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(listener)) != NULL) {
        n += strcmp(note->relname, "vf_catalog") == 0;
        PQfreemem(note);
    }
    return n;
}

START_TEST(grow_then_complete)
{
    PGconn *listener = PQconnectdb(conninfo);
    ck_assert_int_eq(PQstatus(listener), CONNECTION_OK);
    PGresult *res = PQexec(listener, "LISTEN vf_catalog");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    vf_hls_publish_t *p = begin();
    ck_assert_int_eq(vf_hls_publish_first_segment(p), 0);
    ck_assert_int_eq(report(p, 0, VF_HLS_INIT), 0);
    ck_assert(exists("120p/init.mp4"));
    expect_playlist("120p", 0, 0);
    expect_sql("SELECT width || 'x' || height || ' ' || (codecs ~ '^avc1\\.[0-9a-f]{6},mp4a\\.40\\.2$') || ' ' || "
               "frame_rate || ' ' || segments FROM video_hls_streams WHERE quality = '120p'",
               "160x120 true 25 0");
    ck_assert_int_eq(report(p, 0, 0), 0);
    expect_playlist("120p", 1, 0);
    /* 240p has nothing yet: no master, not live, and the catalogue is
     * not told about segments. */
    ck_assert(!exists("master.m3u8"));
    expect_sql("SELECT hls_state FROM videos", "none");
    ck_assert_int_eq(report(p, 1, VF_HLS_INIT), 0);
    ck_assert_int_eq(catalog_notifications(listener), 0);
    ck_assert_int_eq(report(p, 1, 0), 0);
    expect_sql("SELECT hls_state FROM videos", "live");
    ck_assert_int_eq(catalog_notifications(listener), 1);
    char *master = object("master.m3u8");
    ck_assert_ptr_nonnull(master);
    char *a = strstr(master, "\n120p/index.m3u8\n"), *b = strstr(master, "\n240p/index.m3u8\n");
    ck_assert_msg(a && b && a < b, "%s", master);
    ck_assert_ptr_nonnull(strstr(master, ",RESOLUTION=320x240,CODECS=\"avc1."));
    free(master);
    for (int q = 0; q < 2; q++)
        for (int s = 1; s < nseg[q]; s++)
            ck_assert_int_eq(report(p, q, s), 0);
    expect_playlist("120p", nseg[0], 0);
    expect_sql("SELECT hls_state FROM videos", "live");
    ck_assert_int_eq(catalog_notifications(listener), 0);
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    ck_assert_int_eq(catalog_notifications(listener), 1);
    PQfinish(listener);
    expect_playlist("120p", nseg[0], 1);
    expect_playlist("240p", nseg[1], 1);
    expect_sql("SELECT hls_state FROM videos", "complete");
    expect_sql("SELECT count(*) FROM video_hls_streams WHERE ended", "2");
    /* Nothing local is left: segments and playlists went to storage. */
    vf_hls_publish_free(&p);
    ck_assert_int_eq(vft_sh(NULL, "test -z \"$(find '%s' -type f)\"", task_dir), 0);
    /* The stored rows render what is stored. */
    vf_hls_stream_t *streams = NULL;
    size_t n = 0;
    ck_assert_int_eq(vf_hls_db_load(db, 5, 1, NULL, &streams, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(streams[1].nsegments, (size_t)nseg[1]);
    vf_hls_streams_free(streams, n);
}
END_TEST

static long mtime_ns(const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/media/videos/5/1/hls/%s", dir, name);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mtim.tv_sec * 1000000000L + st.st_mtim.tv_nsec;
}

START_TEST(resume)
{
    vf_hls_publish_t *p = begin();
    ck_assert_int_eq(report(p, 0, VF_HLS_INIT), 0);
    ck_assert_int_eq(report(p, 1, VF_HLS_INIT), 0);
    for (int s = 0; s < 3; s++)
        ck_assert_int_eq(report(p, 0, s), 0);
    ck_assert_int_eq(report(p, 1, 0), 0);
    ck_assert_int_eq(report(p, 1, 1), 0);
    /* The job stops here (a killed worker): nothing ends. */
    vf_hls_publish_free(&p);
    long stored = mtime_ns("120p/2.m4s");
    usleep(20000);

    p = begin();
    ck_assert_int_eq(vf_hls_publish_first_segment(p), 2);
    /* The encoder reports from segment 2 on, each init again. */
    ck_assert_int_eq(report(p, 0, VF_HLS_INIT), 0);
    ck_assert_int_eq(report(p, 1, VF_HLS_INIT), 0);
    for (int q = 0; q < 2; q++)
        for (int s = 2; s < nseg[q]; s++)
            ck_assert_int_eq(report(p, q, s), 0);
    ck_assert_int_eq(mtime_ns("120p/2.m4s"), stored);
    ck_assert_int_gt(mtime_ns("240p/2.m4s"), stored);
    /* The encoder, if it continues, was handed segments 0 and 1 of both as
     * stored (asserted in fetch_published). */
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    vf_hls_publish_free(&p);
    expect_playlist("120p", nseg[0], 1);
    expect_playlist("240p", nseg[1], 1);
    char want[64];
    snprintf(want, sizeof want, "120p:%d 240p:%d", nseg[0], nseg[1]);
    expect_sql("SELECT string_agg(quality || ':' || n, ' ' ORDER BY quality) FROM (SELECT quality, count(*) n "
               "FROM video_hls_segments GROUP BY quality) c",
               want);
    expect_sql("SELECT hls_state FROM videos", "complete");
}
END_TEST

/* A job whose two renditions each published an init and a segment: the
 * video is live. */
static vf_hls_publish_t *begin_live(void)
{
    vf_hls_publish_t *p = begin();
    ck_assert_int_eq(report(p, 0, VF_HLS_INIT), 0);
    ck_assert_int_eq(report(p, 0, 0), 0);
    ck_assert_int_eq(report(p, 1, VF_HLS_INIT), 0);
    ck_assert_int_eq(report(p, 1, 0), 0);
    expect_sql("SELECT hls_state FROM videos", "live");
    return p;
}

/* The same bytes as the stored object `name`. */
static void expect_same_as_stored(const char *local, const char *name)
{
    char stored[1200];
    snprintf(stored, sizeof stored, "%s/media/videos/5/1/hls/%s", dir, name);
    size_t got_len = 0, want_len = 0;
    char *got = vft_read_file(local, &got_len), *want = vft_read_file(stored, &want_len);
    ck_assert_msg(got && want && got_len == want_len && memcmp(got, want, got_len) == 0,
                  "%s differs from the stored %s", local, name);
    free(got);
    free(want);
}

/* A resumed job hands an encoder that continues what it published:
 * <task>/published/<quality>/init.mp4 and the segments before the resume
 * point, as stored.  One that cannot be fetched leaves the encoder to
 * start again (no directory, no failure). */
START_TEST(fetch_published)
{
    vf_hls_publish_t *p = begin();
    const char *none = "unset";
    ck_assert_int_eq(vf_hls_publish_fetch(p, &none), 0);
    ck_assert_ptr_null(none);
    for (int q = 0; q < 2; q++) {
        ck_assert_int_eq(report(p, q, VF_HLS_INIT), 0);
        for (int s = 0; s < 2; s++)
            ck_assert_int_eq(report(p, q, s), 0);
    }
    ck_assert_int_eq(report(p, 0, 2), 0);
    vf_hls_publish_free(&p);

    p = begin();
    ck_assert_int_eq(vf_hls_publish_first_segment(p), 2);
    const char *published = NULL;
    ck_assert_int_eq(vf_hls_publish_fetch(p, &published), 0);
    ck_assert_ptr_nonnull(published);
    char want[1200];
    snprintf(want, sizeof want, "%s/published", task_dir);
    ck_assert_str_eq(published, want);
    for (int q = 0; q < 2; q++) {
        const char *names[] = {"init.mp4", "0.m4s", "1.m4s"};
        for (int i = 0; i < 3; i++) {
            char local[1400], stored[64];
            snprintf(local, sizeof local, "%s/%s/%s", published, qualities[q], names[i]);
            snprintf(stored, sizeof stored, "%s/%s", qualities[q], names[i]);
            expect_same_as_stored(local, stored);
        }
        char beyond[1400];
        snprintf(beyond, sizeof beyond, "%s/%s/2.m4s", published, qualities[q]);
        ck_assert_msg(access(beyond, F_OK) != 0, "%s was fetched: it comes after the resume point", beyond);
    }
    vf_hls_publish_free(&p);

    /* A stored segment gone: the encoder gets nothing to continue from. */
    char gone[1200];
    snprintf(gone, sizeof gone, "%s/media/videos/5/1/hls/240p/1.m4s", dir);
    ck_assert_int_eq(unlink(gone), 0);
    p = begin();
    published = "unset";
    ck_assert_int_eq(vf_hls_publish_fetch(p, &published), 0);
    ck_assert_ptr_null(published);
    vf_hls_publish_free(&p);
}
END_TEST

/* A job that lost the master lock (its connection broke during the put)
 * may have put an older master over a newer one after another job made
 * the video complete: the master is put again when a job ends, from the
 * rows, even though the state stays. */
START_TEST(master_rewritten_at_finish)
{
    vf_hls_publish_t *p = begin_live();
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    vf_hls_publish_free(&p);
    expect_sql("SELECT hls_state FROM videos", "complete");
    char path[1200];
    snprintf(path, sizeof path, "%s/media/videos/5/1/hls/master.m3u8", dir);
    ck_assert_int_eq(vft_sh(NULL, "printf '#EXTM3U\\n' > '%s'", path), 0);
    /* The retry of the job that put it. */
    p = begin();
    ck_assert_int_eq(report(p, 0, VF_HLS_INIT), 0);
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    vf_hls_publish_free(&p);
    expect_sql("SELECT hls_state FROM videos", "complete");
    char *master = object("master.m3u8");
    ck_assert_msg(master && strstr(master, "\n120p/index.m3u8\n") && strstr(master, "\n240p/index.m3u8\n"),
                  "the master was not put again: %s", master ? master : "(missing)");
    free(master);
}
END_TEST

/* A resumed rendition whose initialisation segment changed (an upgrade
 * between the attempts): the stored segments, which the new one cannot
 * play, are replaced as the encoder reports them again; a rendition whose
 * initialisation segment is the same keeps what it stored. */
START_TEST(init_changed_replaces)
{
    vf_hls_publish_t *p = begin();
    for (int q = 0; q < 2; q++) {
        ck_assert_int_eq(report(p, q, VF_HLS_INIT), 0);
        for (int s = 0; s < 2; s++)
            ck_assert_int_eq(report(p, q, s), 0);
    }
    vf_hls_publish_free(&p);
    long stored120 = mtime_ns("120p/0.m4s"), stored240 = mtime_ns("240p/0.m4s");
    usleep(20000);

    p = begin();
    ck_assert_int_eq(vf_hls_publish_first_segment(p), 2);
    /* 120p now comes out as 240p's files would: another setup.  Its
     * stored segments are withdrawn before the new init is stored. */
    ck_assert_int_eq(report_from(p, 0, 1, VF_HLS_INIT), 0);
    expect_playlist("120p", 0, 0);
    expect_playlist("240p", 2, 0);
    ck_assert_int_eq(report(p, 1, VF_HLS_INIT), 0);
    for (int s = 0; s < nseg[1]; s++) {
        ck_assert_int_eq(report_from(p, 0, 1, s), 0);
        ck_assert_int_eq(report(p, 1, s), 0);
    }
    ck_assert_int_gt(mtime_ns("120p/0.m4s"), stored120);
    ck_assert_int_eq(mtime_ns("240p/0.m4s"), stored240);
    char local[1200];
    snprintf(local, sizeof local, "%s/0.m4s", cmaf[1]);
    expect_same_as_stored(local, "120p/0.m4s");
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    vf_hls_publish_free(&p);
    expect_playlist("120p", nseg[1], 1);
    expect_sql("SELECT width || 'x' || height FROM video_hls_streams WHERE quality = '120p'", "320x240");
}
END_TEST

/* A put that fails once (a directory where segment 1 would go): the job
 * fails with the storage's reason, and its retry starts at segment 1. */
START_TEST(failed_put_resumes)
{
    vf_hls_publish_t *p = begin();
    for (int q = 0; q < 2; q++) {
        ck_assert_int_eq(report(p, q, VF_HLS_INIT), 0);
        ck_assert_int_eq(report(p, q, 0), 0);
    }
    char blocker[1200];
    snprintf(blocker, sizeof blocker, "%s/media/videos/5/1/hls/240p/1.m4s", dir);
    ck_assert_int_eq(mkdir(blocker, 0755), 0);
    ck_assert_int_eq(report(p, 0, 1), 0);
    ck_assert_int_lt(report(p, 1, 1), 0);
    ck_assert_msg(strncmp(vf_hls_publish_error(p), "storage: ", 9) == 0, "%s", vf_hls_publish_error(p));
    ck_assert_int_eq(vf_hls_publish_stale(p), 0);
    vf_hls_publish_free(&p);
    expect_playlist("240p", 1, 0);
    ck_assert_int_eq(rmdir(blocker), 0);

    p = begin();
    ck_assert_int_eq(vf_hls_publish_first_segment(p), 1);
    for (int q = 0; q < 2; q++) {
        ck_assert_int_eq(report(p, q, VF_HLS_INIT), 0);
        for (int s = 1; s < nseg[q]; s++)
            ck_assert_int_eq(report(p, q, s), 0);
    }
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    vf_hls_publish_free(&p);
    expect_playlist("120p", nseg[0], 1);
    expect_playlist("240p", nseg[1], 1);
    expect_sql("SELECT hls_state FROM videos", "complete");
}
END_TEST

START_TEST(stale)
{
    vf_hls_publish_t *p = begin_live();
    /* The source is replaced: the new generation starts with nothing. */
    ck_assert_int_eq(vf_db_run(db, "UPDATE videos SET generation = 2", 0, NULL), 0);
    expect_sql("SELECT hls_state || ' ' || (SELECT count(*) FROM video_hls_streams) FROM videos", "none 0");
    ck_assert_int_eq(report(p, 0, 1), -ESTALE);
    ck_assert_int_eq(vf_hls_publish_stale(p), 1);
    ck_assert_ptr_nonnull(strstr(vf_hls_publish_error(p), "replaced"));
    expect_sql("SELECT count(*) FROM video_hls_segments", "0");
    ck_assert_int_eq(vf_hls_publish_finish(p), -ESTALE);
    expect_sql("SELECT count(*) FROM video_hls_streams WHERE ended", "0");
    vf_hls_publish_free(&p);
    char *prefix = vf_hls_prefix(5, 1);
    ck_assert_str_eq(prefix, "videos/5/1/hls/");
    free(prefix);
}
END_TEST

/* A failed video offers no stream (players would poll a playlist that
 * never ends), and a rendition still publishing does not bring it back. */
START_TEST(failed_video_has_no_stream)
{
    vf_hls_publish_t *p = begin_live();
    vf_thread_ctx_t ctx = {.app = &app, .db = db};
    ck_assert_int_eq(vf_pipeline_db_fail(&ctx, 5, 1, "rendition/120p", "The source is broken."), 0);
    expect_sql("SELECT processing_state || ' ' || hls_state FROM videos", "failed none");
    ck_assert_int_eq(report(p, 1, 1), 0);
    ck_assert_int_eq(vf_hls_publish_finish(p), 0);
    expect_sql("SELECT hls_state FROM videos", "none");
    vf_hls_publish_free(&p);
}
END_TEST

START_TEST(bad_reports)
{
    vf_hls_publish_t *p = begin();
    char path[1200];
    snprintf(path, sizeof path, "%s/x", vf_hls_publish_dir(p));
    ck_assert_int_eq(vft_sh(NULL, "echo x > '%s'", path), 0);
    vf_hls_file_t file = {.size = sizeof file, .rendition = 2, .sequence = 0, .path = path, .duration = 1};
    ck_assert_int_eq(vf_hls_publish_file(p, &file), -EPROTO);
    ck_assert_ptr_nonnull(strstr(vf_hls_publish_error(p), "rendition 2"));
    ck_assert_int_eq(vf_hls_publish_stale(p), 0);
    /* A media segment reported as the init segment. */
    char seg[1200];
    snprintf(seg, sizeof seg, "%s/0.m4s", cmaf[0]);
    ck_assert_int_eq(vft_sh(NULL, "cp '%s' '%s'", seg, path), 0);
    file = (vf_hls_file_t){.size = sizeof file, .rendition = 0, .sequence = VF_HLS_INIT, .path = path};
    ck_assert_int_eq(vf_hls_publish_file(p, &file), -EINVAL);
    ck_assert_ptr_nonnull(strstr(vf_hls_publish_error(p), "initialisation segment of 120p"));
    ck_assert(access(path, F_OK) != 0);
    expect_sql("SELECT count(*) FROM video_hls_streams", "0");
    ck_assert(!exists("120p/init.mp4"));
    vf_hls_publish_free(&p);
}
END_TEST

/* A config whose plugin folder holds copies (the loader takes no links) of
 * storage_local and the 1.1 fixture encoder (MP4 only); `media` is the
 * body of the media group. */
static char *fixture_config(const char *media)
{
    char *plugins = NULL, *path = NULL;
    ck_assert_int_ge(asprintf(&plugins, "%s/plugins", dir), 0);
    ck_assert_int_eq(vft_sh(NULL, "mkdir -p '%s' && cp '%s/storage_local.so' '%s/fixture_encoder_mp4.so' '%s'",
                            plugins, vft_env_or_skip("VF_PLUGIN_DIR"), vft_env_or_skip("VF_TEST_PLUGIN_DIR"),
                            plugins),
                     0);
    ck_assert_int_ge(asprintf(&path, "%s/fixture.conf", dir), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "database = { conninfo = \"%s\"; };\nplugins = { dir = \"%s\"; };\n"
            "storage = { plugin = \"storage_local\"; settings = { root = \"%s/media\"; }; };\n"
            "encoder = { plugin = \"fixture_encoder_mp4\"; };\n"
            "auth = { secret_key = \"hls-files-test-secret-key-0123456789abcdef\"; };\nmedia = { %s };\n",
            conninfo, plugins, dir, media);
    ck_assert_int_eq(fclose(f), 0);
    free(plugins);
    return path;
}

START_TEST(encoder_without_hls)
{
    const char *bin = vft_env_or_skip("VF_BINARY");
    const char *refusal = "media.outputs asks for \"hls\", which the encoder fixture_encoder_mp4 cannot make";
    char *config = fixture_config("");
    char *out = NULL;
    int status = vft_sh(&out, "'%s' --config '%s' worker --concurrency 1 2>&1", bin, config);
    ck_assert_int_ne(status, 0);
    ck_assert_msg(strstr(out, refusal) != NULL, "%s", out);
    free(out);
    status = vft_sh(&out, "'%s' --config '%s' check-config 2>&1", bin, config);
    ck_assert_int_ne(status, 0);
    ck_assert_msg(strstr(out, refusal) != NULL, "%s", out);
    free(out);
    free(config);
    config = fixture_config("outputs = [\"mp4\"];");
    status = vft_sh(&out, "'%s' --config '%s' check-config 2>&1", bin, config);
    ck_assert_msg(status == 0 && strstr(out, "configuration OK (storage storage_local, encoder fixture_encoder_mp4)"),
                  "%s", out);
    free(out);
    free(config);
}
END_TEST

static Suite *hls_files_suite(void)
{
    Suite *s = suite_create("hls_files");
    TCase *tc = tcase_create("publish");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, make_cmaf, free_cmaf);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, grow_then_complete);
    tcase_add_test(tc, resume);
    tcase_add_test(tc, fetch_published);
    tcase_add_test(tc, master_rewritten_at_finish);
    tcase_add_test(tc, init_changed_replaces);
    tcase_add_test(tc, failed_put_resumes);
    tcase_add_test(tc, stale);
    tcase_add_test(tc, failed_video_has_no_stream);
    tcase_add_test(tc, bad_reports);
    tcase_add_test(tc, encoder_without_hls);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(hls_files_suite)
