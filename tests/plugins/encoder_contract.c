/*
 * encoder_contract.c - see encoder_contract.h.  The clips are made once per
 * run and served over loopback HTTP by python3's http.server (unchecked
 * fixture, in the runner's process); each test loads a fresh instance
 * (checked fixture) and writes into a directory of its own, so "no file
 * left behind" is a count of that directory.  Sources are local paths when
 * the encoder reads them, else URLs: whatever its capabilities declare.
 */
#include "config.h"
#include "tests/plugins/encoder_contract.h"
#include "tests/plugins/encoder_contract_fixture.h"
#include "tests/media.h"
#include "vftest.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <videoflix/encoder.h>

/* The source clips: small, with sound; one second, and a longer one cut
 * into several HLS segments. */
#define CLIP_WIDTH 320
#define CLIP_HEIGHT 180
#define CLIP_FPS 25
#define CLIP_SECONDS 1.0
#define HLS_CLIP_SECONDS 10.5

static const vfc_subject_t *subject;
static char *clips;              /* made by make_clips() */
static char *clip_av, *clip_text, *clip_hls, *clip_twin; /* paths */
static double clip_hls_seconds;  /* as ffprobe reads it */
static char *http_base;          /* "http://127.0.0.1:PORT", serving `clips` */
static char *url_av, *url_text, *url_hls, *url_twin; /* the clips over HTTP */
static int http_pid = -1;

encoder_fixture_t vfc_efx;

/* Serve the clips directory on a free loopback port; 0 or -1. */
static int start_http(void)
{
    int port = vft_free_port();
    char portstr[16], *log = vfc_path(clips, "http.log");
    snprintf(portstr, sizeof portstr, "%d", port);
    char *argv[] = {"python3", "-m", "http.server", portstr, "--bind", "127.0.0.1", "--directory", clips, NULL};
    http_pid = vft_spawn(argv, log);
    free(log);
    if (port <= 0 || http_pid < 0 || vft_wait_port(port, 10000) != 0)
        return -1;
    /* MP4s with the index first: http.server does not answer ranges. */
    if (asprintf(&http_base, "http://127.0.0.1:%d", port) < 0 ||
        asprintf(&url_av, "%s/av-faststart.mp4", http_base) < 0 ||
        asprintf(&url_text, "%s/notes.mp4", http_base) < 0 ||
        asprintf(&url_hls, "%s/hls-faststart.mp4", http_base) < 0 ||
        asprintf(&url_twin, "%s/twin-faststart.mp4", http_base) < 0)
        return -1;
    return 0;
}

static void make_clips(void)
{
    clips = vft_tmpdir("vf-contract-clips");
    if (!clips)
        return; /* setup() fails every test with the reason */
    clip_av = vfc_path(clips, "av.mp4");
    clip_text = vfc_path(clips, "notes.mp4");
    vfm_clip_t av = {.width = CLIP_WIDTH, .height = CLIP_HEIGHT, .fps = CLIP_FPS, .seconds = CLIP_SECONDS, .audio = 1};
    if (vfm_make_clip(clip_av, &av) != 0 ||
        vft_sh(NULL, "ffmpeg -v error -nostdin -y -i '%s' -c copy -movflags +faststart '%s/av-faststart.mp4'",
               clip_av, clips) != 0) {
        free(clip_av);
        clip_av = NULL;
    }
    clip_hls = vfc_path(clips, "hls.mp4");
    vfm_clip_t longer = {.width = CLIP_WIDTH, .height = CLIP_HEIGHT, .fps = CLIP_FPS, .seconds = HLS_CLIP_SECONDS,
                         .audio = 1};
    if (vfm_make_clip(clip_hls, &longer) != 0 ||
        vft_sh(NULL, "ffmpeg -v error -nostdin -y -i '%s' -c copy -movflags +faststart '%s/hls-faststart.mp4'",
               clip_hls, clips) != 0 ||
        !isfinite(clip_hls_seconds = vfm_probe_num(clip_hls, NULL, "duration"))) {
        free(clip_hls);
        clip_hls = NULL;
    }
    clip_twin = vfc_path(clips, "twin.mp4");
    longer.halves = 1;
    if (vfm_make_clip(clip_twin, &longer) != 0 ||
        vft_sh(NULL, "ffmpeg -v error -nostdin -y -i '%s' -c copy -movflags +faststart '%s/twin-faststart.mp4'",
               clip_twin, clips) != 0) {
        free(clip_twin);
        clip_twin = NULL;
    }
    FILE *f = fopen(clip_text, "w");
    if (!f || fputs("Not a video, whatever its name says.\n", f) < 0 || fclose(f) != 0) {
        free(clip_text);
        clip_text = NULL;
    }
    if (clip_av && clip_text && clip_hls && clip_twin && start_http() != 0) {
        free(http_base);
        http_base = NULL;
        free(url_av);
        free(url_text);
        free(url_hls);
        free(url_twin);
        url_av = url_text = url_hls = url_twin = NULL;
    }
}

static void remove_clips(void)
{
    if (http_pid > 0)
        vft_stop(http_pid, SIGTERM, 5000);
    http_pid = -1;
    free(http_base);
    free(url_av);
    free(url_text);
    free(url_hls);
    free(url_twin);
    http_base = url_av = url_text = url_hls = url_twin = NULL;
    vft_rmrf(clips);
    free(clips);
    free(clip_av);
    free(clip_text);
    free(clip_hls);
    free(clip_twin);
    clips = clip_av = clip_text = clip_hls = clip_twin = NULL;
}

static void setup(void)
{
    ck_assert_msg(clip_av && clip_text && clip_hls && clip_twin,
                  "cannot make the test clips with the ffmpeg program (is it installed?)");
    ck_assert_msg(url_av && url_text && url_hls && url_twin, "cannot serve the test clips with python3 -m http.server");
    vfc_open(subject, VF_PLUGIN_ENCODER, &vfc_efx.inst);
    vfc_efx.ops = vf_encoder_ops(vfc_efx.inst.plugin);
    vfc_efx.state = vfc_efx.inst.plugin->state;
    vfc_efx.caps = vfc_efx.inst.plugin->encoder_caps;
    bool paths = vfc_efx.caps.sources & VF_ENCODER_SOURCE_PATH;
    vfc_efx.av = paths ? clip_av : url_av;
    vfc_efx.text = paths ? clip_text : url_text;
    vfc_efx.hls_av = paths ? clip_hls : url_hls;
    vfc_efx.hls_av_seconds = clip_hls_seconds;
    vfc_efx.hls_twin = paths ? clip_twin : url_twin;
    vfc_efx.out = vft_tmpdir("vf-contract-out");
    ck_assert_ptr_nonnull(vfc_efx.out);
}

static void teardown(void)
{
    vfc_close(&vfc_efx.inst);
    if (vfc_efx.out) {
        vft_rmrf(vfc_efx.out);
        free(vfc_efx.out);
    }
    memset(&vfc_efx, 0, sizeof vfc_efx);
}

/* ------------------------------------------------------------ helpers */

void vfc_job_init(vfc_job_t *j, const char *dir)
{
    bool x264 = vfc_efx.caps.flags & VF_ENCODER_X264_DEFAULTS;
    memset(j, 0, sizeof *j);
    j->paths[0] = vfc_path(dir, "90p.mp4");
    j->paths[1] = vfc_path(dir, "180p.mp4");
    j->thumb = vfc_path(dir, "thumb.jpg");
    j->renditions[0] = (vf_rendition_t){"90p", 90, j->paths[0]};
    j->renditions[1] = (vf_rendition_t){"180p", 180, j->paths[1]};
    j->params = (vf_transcode_params_t){
        .size = sizeof(vf_transcode_params_t),
        .outputs = VF_OUTPUT_MP4,
        .renditions = j->renditions,
        .nrenditions = 2,
        /* As the core does: libx264 terms only for encoders that take them. */
        .preset = x264 ? "ultrafast" : NULL,
        .crf = x264 ? 30 : -1,
        .audio_bitrate = 96000,
        .allow_upscale = 0,
        .thumbnail_path = j->thumb,
        .thumbnail_at = -1,
        .progress = vfc_record_progress,
        .progress_ud = &j->progress,
    };
}

void vfc_job_free(vfc_job_t *j)
{
    free(j->paths[0]);
    free(j->paths[1]);
    free(j->thumb);
}

static void assert_probe_str(const char *path, const char *select, const char *entry, const char *expected)
{
    char *got = vfm_probe_str(path, select, entry);
    ck_assert_msg(got && strcmp(got, expected) == 0, "%s: %s %s is '%s', expected '%s'", path,
                  select ? select : "format", entry, got ? got : "(none)", expected);
    free(got);
}

void vfc_assert_rendition(const char *path, int height, double seconds)
{
    assert_probe_str(path, "v:0", "codec_name", "h264");
    int h = (int)vfm_probe_num(path, "v:0", "height"), w = (int)vfm_probe_num(path, "v:0", "width");
    ck_assert_msg(h == height, "%s is %d lines high, asked %d", path, h, height);
    int shaped = height * CLIP_WIDTH / CLIP_HEIGHT;
    ck_assert_msg(w % 2 == 0 && abs(w - shaped) <= 2, "%s is %d wide, expected about %d and even", path, w, shaped);
    ck_assert_msg(vfm_count_streams(path, "a") == 1, "%s has no audio stream", path);
    assert_probe_str(path, "a:0", "codec_name", "aac");
    ck_assert_msg(vfm_moov_before_mdat(path) == 1, "%s does not have its index (moov) first", path);
    double lasts = vfm_probe_num(path, NULL, "duration");
    ck_assert_msg(fabs(lasts - seconds) <= 0.15, "%s lasts %.3f s, the source %.3f s", path, lasts, seconds);
    ck_assert_msg(vfm_decodes(path), "%s does not decode cleanly", path);
}

void vfc_assert_jpeg(const char *path)
{
    assert_probe_str(path, "v:0", "codec_name", "mjpeg");
    ck_assert_msg(vfm_probe_num(path, "v:0", "width") > 0 && vfm_probe_num(path, "v:0", "height") > 0,
                  "%s has no picture size", path);
    ck_assert_msg(vfm_decodes(path), "%s does not decode", path);
}

/* ---------------------------------------------------- the descriptor */

START_TEST(test_descriptor)
{
    const vf_plugin_desc_t *d = vfc_efx.inst.plugin->desc;
    ck_assert_int_eq(d->kind, VF_PLUGIN_ENCODER);
    ck_assert_msg(d->name && d->name[0], "the descriptor has no name");
    ck_assert_uint_ge(vfc_efx.ops->size, VF_ENCODER_OPS_SIZE_1_0);
    ck_assert_msg(vfc_efx.ops->probe && vfc_efx.ops->transcode && vfc_efx.ops->thumbnail,
                  "probe, transcode and thumbnail are required");
    ck_assert_msg(vfc_efx.ops->accepts_urls == 0 || vfc_efx.ops->accepts_urls == 1, "accepts_urls is %d, not 0 or 1",
                  vfc_efx.ops->accepts_urls);
}
END_TEST

/* ------------------------------------------------------------- probe */

START_TEST(test_probe_clip)
{
    vf_media_info_t info;
    vf_error_t err;
    memset(&info, 0, sizeof info);
    VFC_OK(vfc_efx.ops->probe(vfc_efx.state, vfc_efx.av, &info, &err), err);
    ck_assert_msg(info.has_video && info.has_audio, "has_video %d, has_audio %d", info.has_video, info.has_audio);
    ck_assert_int_eq(info.width, CLIP_WIDTH);
    ck_assert_int_eq(info.height, CLIP_HEIGHT);
    ck_assert_int_eq(info.rotation, 0);
    ck_assert_msg(fabs(info.fps - CLIP_FPS) < 0.5, "fps %.3f, expected %d", info.fps, CLIP_FPS);
    double seconds = vfm_probe_num(clip_av, NULL, "duration");
    ck_assert_msg(fabs(info.duration - seconds) <= 0.1, "duration %.3f s, ffprobe says %.3f s", info.duration,
                  seconds);
    ck_assert_str_eq(info.video_codec, "h264");
    ck_assert_str_eq(info.audio_codec, "aac");
    ck_assert_msg(strstr(info.container, "mp4"), "container '%s' does not name mp4", info.container);
    ck_assert_msg(info.bit_rate >= 0, "negative bit rate %lld", (long long)info.bit_rate);
}
END_TEST

START_TEST(test_probe_refuses_non_media)
{
    vf_media_info_t info;
    vf_error_t err;
    VFC_FAILS(-EINVAL, vfc_efx.ops->probe(vfc_efx.state, vfc_efx.text, &info, &err), err);
    char *missing = vfc_efx.av == clip_av ? vfc_path(clips, "no-such-clip.mp4") : vfc_path(http_base, "no-such-clip.mp4");
    memset(&err, 0, sizeof err);
    int ret = vfc_efx.ops->probe(vfc_efx.state, missing, &info, &err);
    ck_assert_msg(ret == -EINVAL || ret == -ENOENT, "probe of a missing file returned %d (%s)", ret, err.message);
    ck_assert_msg(err.message[0], "probe of a missing file failed without a message");
    free(missing);
}
END_TEST

/* --------------------------------------------------------- transcode */

START_TEST(test_transcode_two_renditions)
{
    vfc_job_t j;
    vfc_job_init(&j, vfc_efx.out);
    vf_error_t err;
    VFC_OK(vfc_efx.ops->transcode(vfc_efx.state, vfc_efx.av, &j.params, &err), err);
    vfc_assert_rendition(j.paths[0], 90, CLIP_SECONDS);
    vfc_assert_rendition(j.paths[1], 180, CLIP_SECONDS);
    vfc_assert_jpeg(j.thumb);
    ck_assert_msg(vfc_entries(vfc_efx.out) == 3, "%d files in the output directory, expected the 3 asked for",
                  vfc_entries(vfc_efx.out));
    vfc_assert_progress_sane(&j.progress, "transcode");
    ck_assert_msg(j.progress.last == 100, "the last progress report was %.1f, not 100", j.progress.last);
    vfc_job_free(&j);
}
END_TEST

START_TEST(test_transcode_refuses_non_media)
{
    vfc_job_t j;
    vfc_job_init(&j, vfc_efx.out);
    vf_error_t err;
    VFC_FAILS(-EINVAL, vfc_efx.ops->transcode(vfc_efx.state, vfc_efx.text, &j.params, &err), err);
    ck_assert_msg(vfc_entries(vfc_efx.out) == 0, "a refused transcode left files behind");
    vfc_job_free(&j);
}
END_TEST

/* Cancelled at the first report, and at the first report past 0 %. */
START_TEST(test_transcode_cancelled)
{
    for (int at_start = 1; at_start >= 0; at_start--) {
        vfc_job_t j;
        vfc_job_init(&j, vfc_efx.out);
        j.progress.cancel_at_call = at_start;
        j.progress.cancel_above_zero = !at_start;
        vf_error_t err;
        VFC_FAILS(-ECANCELED, vfc_efx.ops->transcode(vfc_efx.state, vfc_efx.av, &j.params, &err), err);
        ck_assert_msg(j.progress.cancelled, "the job ended without being cancelled");
        ck_assert_msg(vfc_entries(vfc_efx.out) == 0, "a cancelled transcode (%s) left %d files behind",
                      at_start ? "at its first report" : "past 0 %", vfc_entries(vfc_efx.out));
        vfc_job_free(&j);
    }
}
END_TEST

typedef struct concurrent {
    char *dir;
    vfc_job_t job;
} concurrent_t;

static void *concurrent_run(void *arg)
{
    concurrent_t *c = arg;
    c->job.ret = vfc_efx.ops->transcode(vfc_efx.state, vfc_efx.av, &c->job.params, &c->job.err);
    return NULL;
}

/* Two jobs at once on one state, or as many as max_jobs allows. */
START_TEST(test_transcode_concurrent)
{
    concurrent_t jobs[2];
    pthread_t threads[2];
    int n = vfc_efx.caps.max_jobs == 1 ? 1 : 2;
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "job%d", i);
        jobs[i].dir = vfc_path(vfc_efx.out, name);
        ck_assert_int_eq(mkdir(jobs[i].dir, 0755), 0);
        vfc_job_init(&jobs[i].job, jobs[i].dir);
    }
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, concurrent_run, &jobs[i]), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(jobs[i].job.ret == 0, "job %d returned %d: %s", i, jobs[i].job.ret, jobs[i].job.err.message);
        vfc_assert_rendition(jobs[i].job.paths[1], 180, CLIP_SECONDS);
        vfc_assert_jpeg(jobs[i].job.thumb);
        vfc_job_free(&jobs[i].job);
        free(jobs[i].dir);
    }
}
END_TEST

/* --------------------------------------------------------- thumbnail */

START_TEST(test_thumbnail)
{
    char *thumb = vfc_path(vfc_efx.out, "at-half.jpg");
    vfc_progress_t progress = {0};
    vf_error_t err;
    VFC_OK(vfc_efx.ops->thumbnail(vfc_efx.state, vfc_efx.av, 0.5, thumb, vfc_record_progress, &progress, &err), err);
    vfc_assert_jpeg(thumb);
    ck_assert_int_eq(vfc_entries(vfc_efx.out), 1);
    ck_assert_msg(!progress.backwards && !progress.out_of_range, "thumbnail progress went backwards or left 0..100");
    free(thumb);
    thumb = vfc_path(vfc_efx.out, "refused.jpg");
    VFC_FAILS(-EINVAL, vfc_efx.ops->thumbnail(vfc_efx.state, vfc_efx.text, -1, thumb, NULL, NULL, &err), err);
    ck_assert_int_eq(vfc_entries(vfc_efx.out), 1);
    free(thumb);
}
END_TEST

/* ------------------------------------------------------ capabilities */

START_TEST(test_declared_capabilities)
{
    if (!(VF_HAS_FIELD(vf_encoder_ops_t, vfc_efx.ops, capabilities) && vfc_efx.ops->capabilities)) {
        fprintf(stderr, "%s: no capabilities operation (a 1.0 encoder); the core assumes 1.0 behaviour\n",
                vfc_efx.inst.plugin->desc->name);
        return;
    }
    const uint32_t kinds = VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP;
    ck_assert_msg(vfc_efx.caps.sources && !(vfc_efx.caps.sources & ~kinds), "sources %#x", vfc_efx.caps.sources);
    ck_assert_msg(!(vfc_efx.caps.flags & ~VF_ENCODER_X264_DEFAULTS), "unknown flags %#x", vfc_efx.caps.flags);
    ck_assert_msg(vfc_efx.ops->accepts_urls == !!(vfc_efx.caps.sources & VF_ENCODER_SOURCE_HTTP),
                  "accepts_urls is %d but the capabilities say URLs are %s", vfc_efx.ops->accepts_urls,
                  vfc_efx.caps.sources & VF_ENCODER_SOURCE_HTTP ? "read" : "not read");
}
END_TEST

/* Each kind of source is read exactly when declared; one not declared is
 * refused with a message. */
START_TEST(test_source_kinds)
{
    const struct {
        uint32_t kind;
        const char *source, *name;
    } kinds[] = {{VF_ENCODER_SOURCE_PATH, clip_av, "a local path"}, {VF_ENCODER_SOURCE_HTTP, url_av, "an http URL"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        vf_media_info_t info;
        vf_error_t err = {0};
        memset(&info, 0, sizeof info);
        int ret = vfc_efx.ops->probe(vfc_efx.state, kinds[i].source, &info, &err);
        if (vfc_efx.caps.sources & kinds[i].kind) {
            ck_assert_msg(ret == 0, "probe of %s (declared) returned %d: %s", kinds[i].name, ret, err.message);
            ck_assert_int_eq(info.height, CLIP_HEIGHT);
        } else {
            ck_assert_msg(ret < 0, "probe of %s worked, but the capabilities do not declare it", kinds[i].name);
            ck_assert_msg(err.message[0], "probe of %s (not declared) failed without a message", kinds[i].name);
        }
    }
}
END_TEST

/* ------------------------------------------------------------- suite */

Suite *vfc_encoder_suite(const vfc_subject_t *s)
{
    subject = s;
    static char name[200]; /* Check keeps the pointer */
    snprintf(name, sizeof name, "encoder contract: %s", s->label);
    Suite *suite = suite_create(name);
    TCase *tc = tcase_create("encoder");
    tcase_set_timeout(tc, VFC_TIMEOUT);
    tcase_add_unchecked_fixture(tc, make_clips, remove_clips);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_probe_clip);
    tcase_add_test(tc, test_probe_refuses_non_media);
    tcase_add_test(tc, test_transcode_two_renditions);
    tcase_add_test(tc, test_transcode_refuses_non_media);
    tcase_add_test(tc, test_transcode_cancelled);
    tcase_add_test(tc, test_transcode_concurrent);
    tcase_add_test(tc, test_thumbnail);
    tcase_add_test(tc, test_declared_capabilities);
    tcase_add_test(tc, test_source_kinds);
    vfc_encoder_add_hls(tc);
    vfc_encoder_add_resume(tc);
    suite_add_tcase(suite, tc);
    return suite;
}
