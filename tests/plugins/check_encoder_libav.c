/*
 * check_encoder_libav.c - the encoder_libav plugin, loaded through the
 * core's loader, run on clips made by the real ffmpeg program and checked
 * with the real ffprobe: config checks, probe of good and bad inputs,
 * transcodes (audio or not, odd sizes, rotation, NTSC and variable frame
 * rates, upscaling), HLS segments (a video-only NTSC source, refused HLS
 * settings, a caller refusing the first file), thumbnails, progress and
 * cancellation, http sources
 * from a loopback server, time limits, and a loop of many small jobs for
 * leak checkers.
 */
#include "config.h"
#include "tests/media.h"
#include "tests/plugins/encoder_contract.h"
#include "vftest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *clips; /* made once per test case by make_clips() */

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* A clip of the shared set (the returned string is the caller's). */
static char *clip(const char *name)
{
    return path_in(clips, name);
}

static void make(const char *name, vfm_clip_t c)
{
    char *p = clip(name);
    if (vfm_make_clip(p, &c) != 0) {
        fprintf(stderr, "cannot make the test clip %s\n", p);
        exit(EXIT_FAILURE);
    }
    free(p);
}

static void make_clips(void)
{
    clips = vft_tmpdir("lav-clips");
    if (!clips)
        exit(EXIT_FAILURE);
    make("av322.mp4", (vfm_clip_t){.width = 322, .height = 182, .fps = 25, .seconds = 2, .audio = 1});
    make("odd321.mkv", (vfm_clip_t){.width = 321, .height = 181, .fps = 25, .seconds = 1,
                                    .video_codec = "ffv1"});
    make("ntsc.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 29.97, .seconds = 2});
    make("rot90.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 30, .seconds = 1,
                                   .halves = 1, .rotate = 90});
    make("long.mp4", (vfm_clip_t){.width = 1280, .height = 720, .fps = 25, .seconds = 3, .audio = 1});
    make("tiny.mp4", (vfm_clip_t){.width = 160, .height = 90, .fps = 25, .seconds = 0.5, .audio = 1});
    /* A resumed job's source and the one its published segments came from. */
    make("resume.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 25, .seconds = 4.5, .audio = 1});
    make("resume-twin.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 25, .seconds = 4.5, .audio = 1,
                                         .halves = 1});
    int rc = vft_sh(NULL,
                    "cd '%s' && ffmpeg -hide_banner -nostdin -v error -y "
                    "-f lavfi -i sine=duration=1 -c:a aac audio.m4a && "
                    /* Variable frame rate: 25 frames at 25/s, then 25 at 12.5/s. */
                    "ffmpeg -hide_banner -nostdin -v error -y -f lavfi "
                    "-i testsrc2=size=320x180:rate=25:duration=2 "
                    "-vf \"setpts='if(lt(N,25),N,25+(N-25)*2)/25/TB'\" -fps_mode passthrough "
                    "-c:v libx264 -preset ultrafast -pix_fmt yuv420p vfr.mkv && "
                    "ffmpeg -hide_banner -nostdin -v error -y -f lavfi "
                    "-i \"testsrc2=size=320x180:rate=25:duration=4.4,negate=enable='lt(mod(t,0.7),0.35)'\" "
                    "-c:v libx264 -preset ultrafast -pix_fmt yuv420p cuts.mp4 && "
                    /* Its sound goes on 0.3 s after its last picture. */
                    "ffmpeg -hide_banner -nostdin -v error -y -f lavfi -i testsrc2=size=320x180:rate=25:duration=3 "
                    "-f lavfi -i sine=duration=3.3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "
                    "long-sound.mp4 && "
                    ": > empty.mp4 && printf 'ffconcat version 1.0\\nfile av322.mp4\\n' > list.ffconcat && "
                    "printf '#EXTM3U\\n#EXT-X-TARGETDURATION:2\\n#EXTINF:2,\\nav322.mp4\\n"
                    "#EXT-X-ENDLIST\\n' > list.m3u8",
                    clips);
    if (rc != 0)
        exit(EXIT_FAILURE);
    char *junk = clip("junk.mp4"), *full = clip("av322.mp4"), *cut = clip("trunc.mp4");
    struct stat st;
    if (vft_write_pattern(junk, 100000, 7) != 0 || stat(full, &st) != 0 ||
        vfm_copy_prefix(full, cut, (size_t)st.st_size / 2) != 0)
        exit(EXIT_FAILURE);
    free(junk);
    free(full);
    free(cut);
}

static void remove_clips(void)
{
    vft_rmrf(clips);
    free(clips);
    clips = NULL;
}

/* ---- plugin and job helpers ---- */

static vf_plugin_t *load(const char *config_text)
{
    char err[512] = "";
    vf_plugin_t *p = vft_plugin_load("encoder_libav", VF_PLUGIN_ENCODER, config_text, err, sizeof err);
    ck_assert_msg(p != NULL, "load failed: %s", err);
    return p;
}

typedef struct progress_log {
    int calls;
    double first, last;
    int backwards;
    int cancel_at_call;     /* > 0: return 1 on this call */
    double cancel_from;     /* > 0: return 1 once percent reaches this */
    double cancelled_at;
} progress_log_t;

static int record_progress(void *ud, double percent)
{
    progress_log_t *log = ud;
    if (log->calls == 0)
        log->first = percent;
    else if (percent < log->last)
        log->backwards = 1;
    log->last = percent;
    log->calls++;
    if ((log->cancel_at_call && log->calls == log->cancel_at_call) ||
        (log->cancel_from > 0 && percent >= log->cancel_from && percent < 100)) {
        log->cancelled_at = percent;
        return 1;
    }
    return 0;
}

typedef struct job {
    vf_rendition_t r[4];
    char names[4][16];
    char *paths[4];
    char *thumb;
    vf_transcode_params_t params;
    progress_log_t progress;
} job_t;

/* A job writing renditions `heights` (0-terminated) and a thumbnail into dir. */
static void job_init(job_t *j, const char *dir, const int *heights)
{
    memset(j, 0, sizeof *j);
    size_t n = 0;
    for (; heights[n]; n++) {
        char file[32];
        snprintf(j->names[n], sizeof j->names[n], "%dp", heights[n]);
        snprintf(file, sizeof file, "%s.mp4", j->names[n]);
        j->paths[n] = path_in(dir, file);
        j->r[n] = (vf_rendition_t){j->names[n], heights[n], j->paths[n]};
    }
    j->thumb = path_in(dir, "thumb.jpg");
    j->params = (vf_transcode_params_t){
        .size = sizeof(vf_transcode_params_t), .renditions = j->r, .nrenditions = n,
        .preset = "veryfast", .crf = 28, .audio_bitrate = 128000, .thumbnail_path = j->thumb,
        .thumbnail_at = -1, .progress = record_progress, .progress_ud = &j->progress};
}

static void job_free(job_t *j)
{
    for (int i = 0; i < 4; i++)
        free(j->paths[i]);
    free(j->thumb);
}

/* What a test case made: its job, the local clip's path, the output
 * directory (removed) and the plugin. */
static void case_free(job_t *j, char *local, char *dir, vf_plugin_t *p)
{
    job_free(j);
    free(local);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static double source_duration(const char *path)
{
    double d = vfm_probe_num(path, NULL, "duration");
    ck_assert_msg(!isnan(d), "no duration for %s", path);
    return d;
}

static void check_str(const char *path, const char *select, const char *entry, const char *want)
{
    char *got = vfm_probe_str(path, select, entry);
    ck_assert_msg(got && strcmp(got, want) == 0, "%s %s: got %s, want %s", path, entry,
                  got ? got : "(nothing)", want);
    free(got);
}

/* An MP4 rendition as the contract wants it. */
static void check_rendition(const char *path, int width, int height, int audio, double duration)
{
    check_str(path, "v:0", "codec_name", "h264");
    check_str(path, "v:0", "profile", "High");
    check_str(path, "v:0", "pix_fmt", "yuv420p");
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "height"), height);
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "width"), width);
    ck_assert_int_eq(width % 2, 0);
    ck_assert_int_eq(vfm_count_streams(path, "a"), audio ? 1 : 0);
    if (audio) {
        check_str(path, "a:0", "codec_name", "aac");
        ck_assert_int_eq((int)vfm_probe_num(path, "a:0", "channels"), 2);
    }
    double got = vfm_probe_num(path, NULL, "duration");
    ck_assert_msg(fabs(got - duration) <= 0.1, "%s lasts %.3f s, the source %.3f s", path, got,
                  duration);
    ck_assert_int_eq(vfm_moov_before_mdat(path), 1);
    ck_assert_msg(vfm_decodes(path), "%s does not decode cleanly", path);
}

static void check_jpeg(const char *path, int width, int height)
{
    check_str(path, "v:0", "codec_name", "mjpeg");
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "width"), width);
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "height"), height);
    ck_assert_msg(vfm_decodes(path), "%s does not decode", path);
}

/* Mean brightness of a rectangle of a gray picture. */
static double mean(const unsigned char *px, int stride, int x0, int y0, int w, int h)
{
    double sum = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            sum += px[y * stride + x];
    return sum / (w * h);
}

/* ---- config ---- */

START_TEST(test_config)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    ck_assert_int_eq(ops->accepts_urls, 1);
    /* Capabilities (ABI 1.1): both source kinds, the core's x264 defaults, resuming (1.3), no job limit
     * unless set. */
    ck_assert_uint_eq(p->encoder_caps.sources, VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP);
    ck_assert_uint_eq(p->encoder_caps.flags, VF_ENCODER_X264_DEFAULTS | VF_ENCODER_HLS_RESUME);
    ck_assert_uint_eq(p->encoder_caps.max_jobs, 0);
    ck_assert_uint_eq(p->encoder_caps.outputs, VF_OUTPUT_MP4 | VF_OUTPUT_HLS);
    vf_plugin_t *limited = load("max_jobs = 2;\npreset = \"fast\";\ncrf = 20;");
    ck_assert_uint_eq(limited->encoder_caps.max_jobs, 2);
    vft_plugin_free(limited);
    ck_assert_ptr_nonnull(ops->probe);
    ck_assert_ptr_nonnull(ops->transcode);
    ck_assert_ptr_nonnull(ops->thumbnail);
    vft_plugin_free(p);
    vft_plugin_free(load("threads = 2;\norder = [\"360p\", \"120p\"];\ntimeout = 60;\n"
                         "io_timeout = 2.5;"));

    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"threads = 1;\nbogus = 3;", "line 3: encoder_libav: unknown setting 'bogus'"},
        {"threads = \"two\";", "line 2: encoder_libav: 'threads' must be an integer"},
        {"threads = 65;", "'threads' must be between 0 and 64"},
        {"order = [1, 2];", "line 2: encoder_libav: 'order' must be a list of strings"},
        {"order = \"720p\";", "'order' must be a list of strings"},
        {"order = [\"720p\", \"720p\"];", "twice"},
        {"timeout = -1;", "line 2: encoder_libav: 'timeout' must be between 0 and 604800"},
        {"timeout = \"1m\";", "'timeout' must be a number"},
        {"io_timeout = 0;", "'io_timeout' must be more than 0"},
        {"crf = 60;", "line 2: encoder_libav: 'crf' must be between 0 and 51"},
        {"preset = \"\";", "'preset' is empty"},
        {"max_jobs = -1;", "'max_jobs' must be between 0 and 1024"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[512] = "";
        vf_plugin_t *q = vft_plugin_load("encoder_libav", VF_PLUGIN_ENCODER, bad[i].text, err,
                                         sizeof err);
        ck_assert_msg(q == NULL, "config accepted: %s", bad[i].text);
        ck_assert_msg(strstr(err, bad[i].needle), "for %s: message '%s' lacks '%s'", bad[i].text,
                      err, bad[i].needle);
    }
}
END_TEST

/* ---- probe ---- */

START_TEST(test_probe_good)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    vf_media_info_t info;
    vf_error_t err = {0};
    char *src = clip("av322.mp4");
    ck_assert_int_eq(ops->probe(p->state, src, &info, &err), 0);
    ck_assert_msg(strstr(info.container, "mp4") != NULL, "container %s", info.container);
    ck_assert_double_eq_tol(info.duration, source_duration(src), 0.01);
    ck_assert_int_eq(info.has_video, 1);
    ck_assert_int_eq(info.has_audio, 1);
    ck_assert_int_eq(info.width, 322);
    ck_assert_int_eq(info.height, 182);
    ck_assert_int_eq(info.rotation, 0);
    ck_assert_double_eq_tol(info.fps, 25, 0.001);
    ck_assert_str_eq(info.video_codec, "h264");
    ck_assert_str_eq(info.audio_codec, "aac");
    ck_assert_int_gt(info.bit_rate, 0);
    free(src);

    /* FFmpeg 5.1 writes rotate=90 as a matrix that turns the picture a
     * quarter counter-clockwise (ffprobe: rotation=90, counter-clockwise),
     * i.e. 270 degrees clockwise, which is how the ffmpeg CLI shows it. */
    src = clip("rot90.mp4");
    ck_assert_int_eq(ops->probe(p->state, src, &info, &err), 0);
    ck_assert_int_eq(info.rotation, 270);
    ck_assert_int_eq(info.width, 320);
    ck_assert_int_eq(info.height, 180);
    ck_assert_int_eq(info.has_audio, 0);
    ck_assert_str_eq(info.audio_codec, "");
    free(src);

    src = clip("ntsc.mp4");
    ck_assert_int_eq(ops->probe(p->state, src, &info, &err), 0);
    ck_assert_double_eq_tol(info.fps, 30000.0 / 1001, 0.001);
    free(src);

    src = clip("odd321.mkv");
    ck_assert_int_eq(ops->probe(p->state, src, &info, &err), 0);
    ck_assert_msg(strstr(info.container, "matroska") != NULL, "container %s", info.container);
    ck_assert_str_eq(info.video_codec, "ffv1");
    ck_assert_int_eq(info.width, 321);
    ck_assert_int_eq(info.height, 181);
    free(src);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_probe_bad)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    static const struct {
        const char *file, *message;
    } bad[] = {
        /* The index of an MP4 written without faststart is at the end. */
        {"trunc.mp4", "opening input: Invalid data found when processing input"},
        {"audio.m4a", "has no video stream"},
        {"empty.mp4", "opening input: the file is empty"},
        {"junk.mp4", "opening input: Invalid data found when processing input"},
        {"missing.mp4", "opening input: No such file or directory"},
        /* Playlists would make libavformat open files the upload names. */
        {"list.m3u8", "opening input: the container format 'hls' is not accepted"},
        {"list.ffconcat", "opening input: the container format 'concat' is not accepted"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *src = clip(bad[i].file);
        vf_media_info_t info;
        vf_error_t err = {0};
        ck_assert_int_eq(ops->probe(p->state, src, &info, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, bad[i].message), "%s: '%s' lacks '%s'", bad[i].file,
                      err.message, bad[i].message);
        free(src);
    }
    vft_plugin_free(p);
}
END_TEST

/* Uploads naming files outside the upload (absolute paths, file: URLs)
 * through a playlist, a concat script or an ffconcat list are refused
 * before anything is opened, also under a media file's extension. */
START_TEST(test_sources_naming_other_files_refused)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *dir = vft_tmpdir("lav-tricks"), *secret = clip("av322.mp4");
    static const struct {
        const char *name, *before, *after; /* the file: before, the secret's path, after */
    } tricks[] = {
        {"playlist.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:", "\n#EXT-X-ENDLIST\n"},
        {"script.mp4", "file '", "'\n"},
        {"list.ffconcat", "ffconcat version 1.0\nfile '", "'\n"},
    };
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++) {
        char *src = path_in(dir, tricks[i].name), *thumb = path_in(dir, "thumb.jpg");
        FILE *f = fopen(src, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "%s%s%s", tricks[i].before, secret, tricks[i].after);
        ck_assert_int_eq(fclose(f), 0);
        vf_media_info_t info;
        vf_error_t err = {0};
        int ret = ops->probe(p->state, src, &info, &err);
        ck_assert_msg(ret == -EINVAL, "%s probed: %d %s", tricks[i].name, ret, err.message);
        memset(&err, 0, sizeof err);
        ck_assert_int_lt(ops->thumbnail(p->state, src, -1, thumb, NULL, NULL, &err), 0);
        ck_assert_int_ne(access(thumb, F_OK), 0);
        free(src);
        free(thumb);
    }
    vft_rmrf(dir);
    free(dir);
    free(secret);
    vft_plugin_free(p);
}
END_TEST

/* ---- transcode ---- */

START_TEST(test_transcode_audio_and_thumbnail)
{
    vf_plugin_t *p = load("order = [\"360p\"];");
    char *dir = vft_tmpdir("lav-out"), *src = clip("av322.mp4");
    job_t j;
    /* 360 is above the source's 182 lines: it stays at 182. */
    job_init(&j, dir, (const int[]){120, 180, 360, 0});
    vf_error_t err = {0};
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err) == 0, "%s",
                  err.message);
    double duration = source_duration(src);
    check_rendition(j.paths[0], 212, 120, 1, duration);
    check_rendition(j.paths[1], 318, 180, 1, duration);
    check_rendition(j.paths[2], 322, 182, 1, duration);
    check_jpeg(j.thumb, 322, 182);
    ck_assert_int_eq(count_files(dir), 4);
    ck_assert_double_eq(j.progress.first, 0);
    ck_assert_double_eq(j.progress.last, 100);
    ck_assert_int_eq(j.progress.backwards, 0);

    /* The thumbnail is the frame at 1 s, as `ffmpeg -ss 1 ... -q:v 2` takes it. */
    char *reference = path_in(dir, "reference.jpg");
    ck_assert_int_eq(vft_sh(NULL, "ffmpeg -hide_banner -nostdin -v error -y -ss 1 -i '%s' "
                                  "-frames:v 1 -q:v 2 '%s'", src, reference), 0);
    int w1, h1, w2, h2;
    unsigned char *mine = vfm_first_frame_gray(j.thumb, &w1, &h1);
    unsigned char *theirs = vfm_first_frame_gray(reference, &w2, &h2);
    ck_assert_ptr_nonnull(mine);
    ck_assert_ptr_nonnull(theirs);
    ck_assert_int_eq(w1, w2);
    ck_assert_int_eq(h1, h2);
    int differing = 0;
    for (int i = 0; i < w1 * h1; i++)
        differing += abs(mine[i] - theirs[i]) > 24;
    ck_assert_msg(differing < w1 * h1 / 1000, "%d pixels differ from ffmpeg's thumbnail", differing);
    free(mine);
    free(theirs);
    free(reference);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_video_only_and_odd_sizes)
{
    vf_plugin_t *p = load("threads = 1;");
    char *dir = vft_tmpdir("lav-out");
    vf_error_t err = {0};

    /* 29.97 fps, no audio. */
    char *src = clip("ntsc.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){120, 180, 0});
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err) == 0, "%s",
                  err.message);
    double duration = source_duration(src);
    check_rendition(j.paths[0], 214, 120, 0, duration);
    check_rendition(j.paths[1], 320, 180, 0, duration);
    ck_assert_int_eq((int)vfm_probe_num(j.paths[0], "v:0", "nb_frames"),
                     (int)vfm_probe_num(src, "v:0", "nb_frames"));
    job_free(&j);
    free(src);
    vft_rmrf(dir);

    /* 321x181 (odd both ways, FFV1 in Matroska): heights round down to even. */
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    src = clip("odd321.mkv");
    job_init(&j, dir, (const int[]){120, 360, 0});
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err) == 0, "%s",
                  err.message);
    duration = source_duration(src);
    check_rendition(j.paths[0], 212, 120, 0, duration);
    check_rendition(j.paths[1], 320, 180, 0, duration);
    check_jpeg(j.thumb, 321, 181);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_variable_frame_rate)
{
    vf_plugin_t *p = load("");
    char *dir = vft_tmpdir("lav-out"), *src = clip("vfr.mkv");
    job_t j;
    job_init(&j, dir, (const int[]){120, 0});
    vf_error_t err = {0};
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err) == 0, "%s",
                  err.message);
    /* 50 frames over 3 s: a constant rate would have stretched or padded. */
    check_rendition(j.paths[0], 214, 120, 0, source_duration(src));
    char *count = NULL;
    ck_assert_int_eq(vft_sh(&count, "ffprobe -v error -count_frames -select_streams v:0 "
                                    "-show_entries stream=nb_read_frames -of csv=p=0 '%s'",
                            j.paths[0]), 0);
    ck_assert_int_eq(atoi(count), 50);
    free(count);
    /* The gap between the last frames is the slow half's 80 ms. */
    char *times = NULL;
    ck_assert_int_eq(vft_sh(&times, "ffprobe -v error -select_streams v:0 -show_entries "
                                    "frame=pts_time -of csv=p=0 '%s' | sort -g | tail -2",
                            j.paths[0]), 0);
    double a = 0, b = 0;
    ck_assert_int_eq(sscanf(times, "%lf %lf", &a, &b), 2);
    ck_assert_double_eq_tol(b - a, 0.08, 0.002);
    free(times);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_rotated)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *dir = vft_tmpdir("lav-out"), *src = clip("rot90.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){120, 360, 0});
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, src, &j.params, &err) == 0, "%s", err.message);
    double duration = source_duration(src);
    /* Upright: 180x320 on display, so 120 lines are 68 wide. */
    check_rendition(j.paths[0], 68, 120, 0, duration);
    check_rendition(j.paths[1], 180, 320, 0, duration);
    check_jpeg(j.thumb, 180, 320);

    /* The ffmpeg CLI (autorotate, scale=-2:120) gives the same size. */
    char *cli = path_in(dir, "cli.mp4");
    ck_assert_int_eq(vft_sh(NULL, "ffmpeg -hide_banner -nostdin -v error -y -i '%s' "
                                  "-vf scale=-2:120 -c:v libx264 -preset ultrafast '%s'", src, cli), 0);
    ck_assert_int_eq((int)vfm_probe_num(cli, "v:0", "width"), 68);
    ck_assert_int_eq((int)vfm_probe_num(cli, "v:0", "height"), 120);

    /* No rotation left in the outputs, and the picture as players show the
     * source: the white half at the bottom. */
    vf_media_info_t info;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ops->probe(p->state, j.paths[i], &info, &err), 0);
        ck_assert_int_eq(info.rotation, 0);
    }
    for (int i = 0; i < 2; i++) {
        char *side = NULL;
        ck_assert_int_eq(vft_sh(&side, "ffprobe -v error -show_streams '%s' | grep -ci rotat",
                                j.paths[i]), 1);
        ck_assert_str_eq(side, "0\n");
        free(side);
    }
    const char *pictures[] = {src, j.paths[1], j.thumb, cli};
    for (int i = 0; i < 4; i++) {
        int w, h;
        unsigned char *px = vfm_first_frame_gray(pictures[i], &w, &h);
        ck_assert_ptr_nonnull(px);
        ck_assert_msg(h > w, "%s is %dx%d", pictures[i], w, h);
        double top = mean(px, w, 0, 0, w, h / 2 - 4), bottom = mean(px, w, 0, h / 2 + 4, w, h / 2 - 4);
        ck_assert_msg(top < 40 && bottom > 200, "%s: top %.0f, bottom %.0f", pictures[i], top,
                      bottom);
        free(px);
    }
    free(cli);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_upscale)
{
    vf_plugin_t *p = load("");
    char *dir = vft_tmpdir("lav-out"), *src = clip("av322.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){360, 0});
    j.params.allow_upscale = 1;
    j.params.thumbnail_path = NULL;
    vf_error_t err = {0};
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err) == 0, "%s",
                  err.message);
    check_rendition(j.paths[0], 636, 360, 1, source_duration(src));
    ck_assert_int_eq(count_files(dir), 1);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_bad_requests)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *dir = vft_tmpdir("lav-out"), *src = clip("av322.mp4");
    vf_error_t err = {0};
    job_t j;

    /* An output directory that does not exist: nothing may be left elsewhere. */
    char *missing = path_in(dir, "no/such");
    job_init(&j, missing, (const int[]){120, 180, 0});
    ck_assert_int_eq(ops->transcode(p->state, src, &j.params, &err), -ENOENT);
    ck_assert_msg(strstr(err.message, "rendition 120p: creating the output file: No such file"),
                  "%s", err.message);
    job_free(&j);
    free(missing);

    job_init(&j, dir, (const int[]){120, 180, 0});
    j.r[1].output_path = j.r[0].output_path;
    ck_assert_int_eq(ops->transcode(p->state, src, &j.params, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "same output path"), "%s", err.message);
    j.r[1].output_path = j.paths[1];
    j.params.size = 8;
    ck_assert_int_eq(ops->transcode(p->state, src, &j.params, &err), -EINVAL);
    job_free(&j);

    job_init(&j, dir, (const int[]){120, 0});
    char *audio = clip("audio.m4a");
    ck_assert_int_eq(ops->transcode(p->state, audio, &j.params, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "no video stream"), "%s", err.message);
    free(audio);
    job_free(&j);
    ck_assert_int_eq(count_files(dir), 0);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* ---- HLS (the contract checks the rest) ---- */

/* Each rendition's reported files appended to one stream file (init
 * first) and left where they are (the plugin must not remove them), or the
 * answer `refuse` at call `refuse_at`. */
typedef struct hls_log {
    char *joined[2];        /* per rendition: init + every segment, in order */
    int calls, segments[2];
    double durations[2][8];
    double seconds;         /* sum of the reported durations */
    int refuse_at, refuse;
} hls_log_t;

static int hls_append(void *ud, const vf_hls_file_t *file)
{
    hls_log_t *log = ud;
    if (++log->calls == log->refuse_at)
        return log->refuse;
    if (file->rendition >= 2)
        return -EINVAL;
    if (file->sequence != VF_HLS_INIT) {
        if (log->segments[file->rendition] < 8)
            log->durations[file->rendition][log->segments[file->rendition]] = file->duration;
        log->segments[file->rendition]++;
        log->seconds += file->duration;
    }
    int rc = vft_sh(NULL, "cat '%s' >> '%s'", file->path, log->joined[file->rendition]);
    return rc == 0 ? 0 : -EIO;
}

static void hls_job_init(job_t *j, const char *dir, const int *heights, hls_log_t *log)
{
    job_init(j, dir, heights);
    for (size_t i = 0; i < j->params.nrenditions; i++)
        j->r[i].output_path = NULL;
    j->params.thumbnail_path = NULL;
    j->params.outputs = VF_OUTPUT_HLS;
    j->params.hls_dir = dir;
    j->params.hls_segment_seconds = 1;
    j->params.hls_file = hls_append;
    j->params.hls_ud = log;
}

/* An HLS test case: the plugin, an HLS-only job of `heights` on a clip
 * into `dir` (1 s segments, no thumbnail), and the reports kept in `store`. */
typedef struct hls_case {
    vf_plugin_t *p;
    char *dir, *src, *store;
    hls_log_t log;
    job_t j;
    vf_error_t err;
} hls_case_t;

static void hls_case_open(hls_case_t *c, const char *clip_name, const int *heights)
{
    memset(c, 0, sizeof *c);
    c->p = load("");
    c->dir = vft_tmpdir("lav-out");
    c->src = clip(clip_name);
    c->store = vft_tmpdir("lav-hls");
    c->log.joined[0] = path_in(c->store, "0.mp4");
    c->log.joined[1] = path_in(c->store, "1.mp4");
    hls_job_init(&c->j, c->dir, heights, &c->log);
}

static int hls_case_run(hls_case_t *c)
{
    memset(&c->err, 0, sizeof c->err);
    return vf_encoder_ops(c->p)->transcode(c->p->state, c->src, &c->j.params, &c->err);
}

static void hls_case_free(hls_case_t *c)
{
    free(c->log.joined[0]);
    free(c->log.joined[1]);
    vft_rmrf(c->store);
    free(c->store);
    case_free(&c->j, c->src, c->dir, c->p);
}

/* 29.97 frames/s and no sound: 1 s segments of 30 frames (1.001 s) but
 * the last; init + segments play as one video-only stream of the source's
 * length. */
START_TEST(test_hls_ntsc_video_only)
{
    hls_case_t c;
    hls_case_open(&c, "ntsc.mp4", (const int[]){120, 0});
    ck_assert_msg(hls_case_run(&c) == 0, "%s", c.err.message);
    double duration = source_duration(c.src);
    ck_assert_int_eq(c.log.segments[0], 2);
    ck_assert_msg(fabs(c.log.seconds - duration) <= 0.05, "segments last %.3f s, the source %.3f s", c.log.seconds,
                  duration);
    ck_assert_int_eq(count_files(c.dir), 3); /* the caller's now */
    ck_assert_int_eq(vfm_count_streams(c.log.joined[0], "a"), 0);
    ck_assert_int_eq((int)vfm_probe_num(c.log.joined[0], "v:0", "height"), 120);
    ck_assert_msg(vfm_decodes(c.log.joined[0]), "the segments do not decode as one stream");
    hls_case_free(&c);
}
END_TEST

/* x264's scene cuts (a picture negated every 0.7 s; veryfast) are
 * keyframes in the MP4 but never cut a segment: every rendition's
 * segments last 2 s but the last. */
START_TEST(test_hls_scene_cuts)
{
    hls_case_t c;
    hls_case_open(&c, "cuts.mp4", (const int[]){90, 180, 0});
    c.j.params.outputs = VF_OUTPUT_MP4 | VF_OUTPUT_HLS;
    c.j.params.hls_segment_seconds = 2;
    c.j.r[0].output_path = c.j.paths[0];
    c.j.r[1].output_path = c.j.paths[1];
    ck_assert_msg(hls_case_run(&c) == 0, "%s", c.err.message);
    char *keys = NULL;
    ck_assert_int_eq(vft_sh(&keys, "ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags "
                                   "-of csv=p=0 '%s' | grep -c K", c.j.paths[1]), 0);
    ck_assert_msg(atoi(keys) > 3, "%d keyframes in the MP4: no scene cut besides the forced ones", atoi(keys));
    free(keys);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(c.log.segments[r], 3);
        for (int n = 0; n < 2; n++)
            ck_assert_msg(fabs(c.log.durations[r][n] - 2) < 0.001, "rendition %d: segment %d lasts %.3f s", r, n,
                          c.log.durations[r][n]);
        ck_assert_msg(fabs(c.log.durations[r][2] - c.log.durations[0][2]) < 0.001, "the last segments differ");
    }
    hls_case_free(&c);
}
END_TEST

/* Unusable HLS settings are refused before any work; a caller refusing
 * the very first file (an initialisation segment) ends the job with its
 * own answer and nothing left. */
START_TEST(test_hls_refusals)
{
    hls_case_t c;
    hls_case_open(&c, "av322.mp4", (const int[]){120, 180, 0});
    c.j.params.hls_segment_seconds = 0;
    ck_assert_int_eq(hls_case_run(&c), -EINVAL);
    ck_assert_msg(strstr(c.err.message, "hls_segment_seconds 0 is outside"), "%s", c.err.message);
    c.j.params.hls_segment_seconds = 1;
    c.j.params.hls_dir = NULL;
    ck_assert_int_eq(hls_case_run(&c), -EINVAL);
    ck_assert_msg(strstr(c.err.message, "needs hls_dir and hls_file"), "%s", c.err.message);
    c.j.params.hls_dir = c.dir;
    c.j.params.hls_first_segment = -1;
    ck_assert_int_eq(hls_case_run(&c), -EINVAL);
    c.j.params.hls_first_segment = 0;
    c.j.params.outputs = 4;
    ck_assert_int_eq(hls_case_run(&c), -EINVAL);
    ck_assert_msg(strstr(c.err.message, "outputs 0x4"), "%s", c.err.message);
    /* Without MP4, renditions need no path; with it they do. */
    c.j.params.outputs = VF_OUTPUT_MP4 | VF_OUTPUT_HLS;
    ck_assert_int_eq(hls_case_run(&c), -EINVAL);
    ck_assert_msg(strstr(c.err.message, "needs a name, an output path"), "%s", c.err.message);
    ck_assert_int_eq(c.log.calls, 0);

    c.j.params.outputs = VF_OUTPUT_HLS;
    c.log.refuse_at = 1;
    c.log.refuse = -ENOSPC;
    ck_assert_int_eq(hls_case_run(&c), -ENOSPC);
    ck_assert_msg(strstr(c.err.message, "hls_file returned -28"), "%s", c.err.message);
    ck_assert_int_eq(c.log.calls, 1);
    ck_assert_int_eq(count_files(c.dir), 0);
    ck_assert_int_eq(count_files(c.store), 0);
    hls_case_free(&c);
}
END_TEST

/* ---- resuming from published segments (ABI 1.3) ---- */

#define RESUME_AT 2

/* Reported files moved into <dir>/<rendition name>/init.mp4 and <n>.m4s,
 * the layout of hls_published_dir. */
typedef struct publisher {
    const job_t *job;
    char *dir;
    int64_t last[2];        /* the last segment number of each rendition */
} publisher_t;

static int publish(void *ud, const vf_hls_file_t *file)
{
    publisher_t *pub = ud;
    char *sub = path_in(pub->dir, pub->job->r[file->rendition].name), name[32], *to;
    mkdir(sub, 0755);
    if (file->sequence == VF_HLS_INIT)
        snprintf(name, sizeof name, "init.mp4");
    else
        snprintf(name, sizeof name, "%" PRId64 ".m4s", pub->last[file->rendition] = file->sequence);
    to = path_in(sub, name);
    int ret = rename(file->path, to) == 0 ? 0 : -errno;
    free(to);
    free(sub);
    return ret;
}

/* An MP4+HLS job of 90p and 180p from `clip` into a new directory,
 * segments of `seconds`, its files published into `pub->dir`. */
static int publish_run_every(vf_plugin_t *p, const char *clip_name, const char *preset, double seconds,
                             int64_t first, const char *published, publisher_t *pub, job_t *j, char **dir)
{
    char *src = clip(clip_name);
    *dir = vft_tmpdir("lav-out");
    pub->dir = vft_tmpdir("lav-pub");
    pub->job = j;
    job_init(j, *dir, (const int[]){90, 180, 0});
    j->params.preset = preset;
    j->params.outputs = VF_OUTPUT_MP4 | VF_OUTPUT_HLS;
    j->params.hls_dir = *dir;
    j->params.hls_segment_seconds = seconds;
    j->params.hls_first_segment = first;
    j->params.hls_published_dir = published;
    j->params.hls_file = publish;
    j->params.hls_ud = pub;
    vf_error_t err = {0};
    int ret = vf_encoder_ops(p)->transcode(p->state, src, &j->params, &err);
    ck_assert_msg(ret == 0, "%s", err.message);
    free(src);
    return ret;
}

/* The same, with 1 s segments. */
static int publish_run(vf_plugin_t *p, const char *clip_name, const char *preset, int64_t first,
                       const char *published, publisher_t *pub, job_t *j, char **dir)
{
    return publish_run_every(p, clip_name, preset, 1, first, published, pub, j, dir);
}

/* Every packet of segment n as "<track>,<dts>" lines, sorted, with the
 * times its fragments store (edit lists ignored), read after the
 * rendition's init.mp4. */
static char *segment_times(const char *pub, const char *rendition, int64_t n)
{
    char *out = NULL;
    ck_assert_int_eq(vft_sh(&out, "cd '%s/%s' && cat init.mp4 %" PRId64 ".m4s | ffprobe -v error -ignore_editlist 1 "
                                  "-show_entries packet=stream_index,dts -of csv=p=0 - | sort",
                            pub, rendition, n), 0);
    ck_assert_msg(out && strchr(out, ','), "%s/%s/%" PRId64 ".m4s has no packet", pub, rendition, n);
    return out;
}

/* Segments from..to of two runs hold packets of the same times. */
static void assert_same_times(const publisher_t *a, const publisher_t *b, const char *rendition, int64_t from,
                              int64_t to)
{
    for (int64_t n = from; n <= to; n++) {
        char *ta = segment_times(a->dir, rendition, n), *tb = segment_times(b->dir, rendition, n);
        ck_assert_msg(strcmp(ta, tb) == 0, "%s: segment %" PRId64 "'s packets are not timed as a whole run's",
                      rendition, n);
        free(ta);
        free(tb);
    }
}

static char *first_video_hash(const char *path)
{
    char *out = NULL;
    ck_assert_int_eq(vft_sh(&out, "ffprobe -v error -select_streams v:0 -show_data_hash md5 -show_entries "
                                  "packet=data_hash -of csv=p=0 '%s' | head -n 1", path), 0);
    return out;
}

static void run_free(publisher_t *pub, job_t *j, char *dir)
{
    vft_rmrf(pub->dir);
    free(pub->dir);
    job_free(j);
    vft_rmrf(dir);
    free(dir);
}

/* libav specifics of a resumed job: the published initialisation segment
 * is reported again as it is; every new segment holds packets of the very
 * times (as its fragments store them) of a whole run's segment; the MP4
 * starts with the published packets; the thumbnail, before the resumed
 * point, is the whole run's.  A published run made with other x264
 * settings (other parameter sets, same size) is encoded again and every
 * segment reported from 0. */
/* A resumed job of `clip_name` whose published segments (in
 * `published`) cannot be continued: it succeeds, encoding the whole source
 * again and reporting every segment from 0. */
static void assert_encoded_again(vf_plugin_t *p, const char *clip_name, double seconds, int64_t first,
                                 const char *published, const char *why)
{
    publisher_t pub = {0};
    job_t j;
    char *dir;
    publish_run_every(p, clip_name, "veryfast", seconds, first, published, &pub, &j, &dir);
    for (int r = 0; r < 2; r++)
        ck_assert_msg(vft_sh(NULL, "test -s '%s/%s/0.m4s'", pub.dir, j.r[r].name) == 0,
                      "%s: segment 0 of %s not reported again", why, j.r[r].name);
    run_free(&pub, &j, dir);
}

/* A copy of published directory `from`, changed by shell command `change`
 * run inside it. */
static char *published_copy(const char *from, const char *change)
{
    char *to = vft_tmpdir("lav-pub");
    ck_assert_int_eq(vft_sh(NULL, "cp -R '%s/.' '%s' && cd '%s' && %s", from, to, to, change), 0);
    return to;
}

/* Published segments that cannot be continued are a reason to encode the
 * whole source again, never a failed job: every segment published (the
 * sound outlasting the pictures), published with other segment lengths,
 * an empty or truncated segment, a missing init.mp4. */
START_TEST(test_hls_resume_falls_back)
{
    vf_plugin_t *p = load("");
    publisher_t sound = {0}, whole = {0};
    job_t js, jw;
    char *ds, *dw;
    publish_run(p, "long-sound.mp4", "veryfast", 0, NULL, &sound, &js, &ds);
    ck_assert_int_eq(sound.last[1], 2);
    assert_encoded_again(p, "long-sound.mp4", 1, sound.last[1] + 1, sound.dir, "every segment published");

    publish_run(p, "resume.mp4", "veryfast", 0, NULL, &whole, &jw, &dw);
    /* Two 1 s segments, resumed with 2 s ones: the new part would start at 4 s. */
    assert_encoded_again(p, "resume.mp4", 2, 2, whole.dir, "other segment lengths");
    const char *changes[][2] = {
        {": > 180p/1.m4s", "an empty segment"},
        {"head -c \"$(($(wc -c < 180p/1.m4s) / 2))\" 180p/1.m4s > cut && mv cut 180p/1.m4s", "a truncated segment"},
        {"rm 90p/init.mp4", "a missing init.mp4"},
    };
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        char *broken = published_copy(whole.dir, changes[i][0]);
        assert_encoded_again(p, "resume.mp4", 1, 3, broken, changes[i][1]);
        vft_rmrf(broken);
        free(broken);
    }
    run_free(&sound, &js, ds);
    run_free(&whole, &jw, dw);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_hls_resume)
{
    vf_plugin_t *p = load("");
    publisher_t whole = {0}, twin = {0}, resumed = {0}, other = {0};
    job_t jw, jt, jr, jo;
    char *dw, *dt, *dr, *dox;
    publish_run(p, "resume.mp4", "veryfast", 0, NULL, &whole, &jw, &dw);
    publish_run(p, "resume-twin.mp4", "veryfast", 0, NULL, &twin, &jt, &dt);
    for (int64_t n = RESUME_AT; n <= 4; n++)
        for (int r = 0; r < 2; r++)
            ck_assert_int_eq(vft_sh(NULL, "rm '%s/%s/%" PRId64 ".m4s'", twin.dir, jt.r[r].name, n), 0);
    ck_assert_int_eq(twin.last[0], 4);

    publish_run(p, "resume.mp4", "veryfast", RESUME_AT, twin.dir, &resumed, &jr, &dr);
    for (int r = 0; r < 2; r++) {
        const char *name = jr.r[r].name;
        ck_assert_int_eq(resumed.last[r], whole.last[r]);
        ck_assert_int_eq(vft_sh(NULL, "cmp -s '%s/%s/init.mp4' '%s/%s/init.mp4'", twin.dir, name, resumed.dir, name),
                         0);
        assert_same_times(&whole, &resumed, name, RESUME_AT, resumed.last[r]);
        char *mp4 = first_video_hash(jr.paths[r]), *published = first_video_hash(jt.paths[r]);
        ck_assert_msg(strcmp(mp4, published) == 0, "%s: the resumed MP4 does not start with the published packets",
                      name);
        free(mp4);
        free(published);
    }
    ck_assert_int_eq(jr.progress.backwards, 0);
    ck_assert_double_eq(jr.progress.last, 100);
    /* Its thumbnail (at 1 s, before the resumed point) is the whole run's. */
    ck_assert_int_eq(vft_sh(NULL, "cmp -s '%s' '%s'", jr.thumb, jw.thumb), 0);

    /* Published with ultrafast: no B-frames, other SPS/PPS. */
    publisher_t ultra = {0};
    job_t ju;
    char *du;
    publish_run(p, "resume-twin.mp4", "ultrafast", 0, NULL, &ultra, &ju, &du);
    publish_run(p, "resume.mp4", "veryfast", RESUME_AT, ultra.dir, &other, &jo, &dox);
    ck_assert_int_eq(other.last[1], whole.last[1]);
    /* Every segment reported again, from 0. */
    ck_assert_int_eq(vft_sh(NULL, "test -s '%s/180p/0.m4s'", other.dir), 0);
    char *mp4 = first_video_hash(jo.paths[1]), *again = first_video_hash(jw.paths[1]);
    ck_assert_msg(strcmp(mp4, again) == 0, "published with other settings: the MP4 is not encoded again");
    free(mp4);
    free(again);
    assert_same_times(&whole, &other, "180p", 0, other.last[1]);

    /* Cancelled (mid-way or at 100, before the renames): no MP4, no
     * segment or initialisation segment copy left in hls_dir, the published
     * files untouched. */
    char *dir = vft_tmpdir("lav-out"), *src = clip("resume.mp4");
    publisher_t cancelled = {.dir = vft_tmpdir("lav-pub")};
    job_t jc;
    job_init(&jc, dir, (const int[]){90, 180, 0});
    cancelled.job = &jc;
    jc.params.outputs = VF_OUTPUT_MP4 | VF_OUTPUT_HLS;
    jc.params.hls_dir = dir;
    jc.params.hls_segment_seconds = 1;
    jc.params.hls_first_segment = RESUME_AT;
    jc.params.hls_published_dir = twin.dir;
    jc.params.hls_file = publish;
    jc.params.hls_ud = &cancelled;
    jc.progress.cancel_at_call = 2;
    vf_error_t err = {0};
    ck_assert_int_eq(vf_encoder_ops(p)->transcode(p->state, src, &jc.params, &err), -ECANCELED);
    ck_assert_int_eq(count_files(dir), 0);
    for (int r = 0; r < 2; r++) {
        char *sub = path_in(twin.dir, jt.r[r].name);
        ck_assert_int_eq(count_files(sub), 1 + RESUME_AT);
        free(sub);
    }
    free(src);
    run_free(&cancelled, &jc, dir);

    run_free(&whole, &jw, dw);
    run_free(&twin, &jt, dt);
    run_free(&resumed, &jr, dr);
    run_free(&ultra, &ju, du);
    run_free(&other, &jo, dox);
    vft_plugin_free(p);
}
END_TEST

/* ---- progress and cancellation ---- */

static void cancelled_run(vf_plugin_t *p, const char *clip_name, int at_call, double from)
{
    char *dir = vft_tmpdir("lav-out"), *src = clip(clip_name);
    job_t j;
    job_init(&j, dir, (const int[]){120, 360, 720, 0});
    j.progress.cancel_at_call = at_call;
    j.progress.cancel_from = from;
    vf_error_t err = {0};
    ck_assert_int_eq(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err), -ECANCELED);
    ck_assert_msg(strstr(err.message, "cancelled"), "%s", err.message);
    ck_assert_int_eq(count_files(dir), 0);
    if (from > 0)
        ck_assert_msg(j.progress.cancelled_at >= from && j.progress.cancelled_at < 100,
                      "cancelled at %.1f", j.progress.cancelled_at);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
}

START_TEST(test_progress_and_cancel)
{
    vf_plugin_t *p = load("");
    char *dir = vft_tmpdir("lav-out"), *src = clip("long.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){120, 360, 720, 0});
    vf_error_t err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, src, &j.params, &err) == 0, "%s",
                  err.message);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_double_eq(j.progress.first, 0);
    ck_assert_double_eq(j.progress.last, 100);
    ck_assert_int_eq(j.progress.backwards, 0);
    /* At least once a second over the whole run. */
    ck_assert_msg(j.progress.calls >= (int)seconds + 1, "%d reports in %.1f s", j.progress.calls,
                  seconds);
    check_rendition(j.paths[2], 1280, 720, 1, source_duration(src));
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);

    cancelled_run(p, "long.mp4", 1, 0);   /* before anything is opened */
    cancelled_run(p, "long.mp4", 0, 20);  /* in the middle */
    cancelled_run(p, "tiny.mp4", 2, 0);   /* at 100, before the renames */
    vft_plugin_free(p);
}
END_TEST

/* ---- http sources ---- */

/* Serves a directory over http with Range support (python's own
 * http.server ignores Range, and MP4s with the index at the end need it).
 * Storage faults under a first path segment, counted per segment:
 *   /cut/NAME  the first answer stops after 1000 bytes of its body (the
 *              connection dropped mid-read), the next two are 503
 *   /403/NAME, /503/NAME  always that status
 * GET /count/SEGMENT answers how many requests that segment had.
 * Prints its port, then serves until killed. */
static const char range_server[] =
    "import functools, http.server, os, re, sys, threading\n"
    "lock, counts = threading.Lock(), {}\n"
    "class H(http.server.SimpleHTTPRequestHandler):\n"
    "    def fault(self):\n"
    "        self.cut = None\n"
    "        parts = self.path.split('/', 2)\n"
    "        if len(parts) < 3 or parts[1] not in ('cut', '403', '503', 'count'):\n"
    "            return False\n"
    "        kind, self.path = parts[1], '/' + parts[2]\n"
    "        if kind == 'count':\n"
    "            with lock:\n"
    "                body = str(counts.get(parts[2], 0)).encode()\n"
    "            self.send_response(200)\n"
    "            self.send_header('Content-Length', str(len(body)))\n"
    "            self.end_headers()\n"
    "            self.wfile.write(body)\n"
    "            return True\n"
    "        with lock:\n"
    "            counts[kind] = n = counts.get(kind, 0) + 1\n"
    "        if kind == 'cut' and n == 1:\n"
    "            self.cut = 1000\n"
    "        elif kind != 'cut' or n <= 3:\n"
    "            self.send_error(int(kind) if kind != 'cut' else 503)\n"
    "            return True\n"
    "        return False\n"
    "    def send_head(self):\n"
    "        if self.fault():\n"
    "            return None\n"
    "        path = self.translate_path(self.path)\n"
    "        if not os.path.isfile(path):\n"
    "            self.send_error(404)\n"
    "            return None\n"
    "        f = open(path, 'rb')\n"
    "        size = os.fstat(f.fileno()).st_size\n"
    "        m = re.match(r'bytes=(\\d+)-(\\d*)$', self.headers.get('Range', ''))\n"
    "        start, end = 0, size - 1\n"
    "        if m:\n"
    "            start = int(m.group(1))\n"
    "            if m.group(2):\n"
    "                end = min(int(m.group(2)), size - 1)\n"
    "            if start >= size:\n"
    "                f.close()\n"
    "                self.send_error(416)\n"
    "                return None\n"
    "            self.send_response(206)\n"
    "            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, size))\n"
    "        else:\n"
    "            self.send_response(200)\n"
    "        f.seek(start)\n"
    "        self.left = end - start + 1\n"
    "        self.send_header('Content-Length', str(self.left))\n"
    "        self.send_header('Accept-Ranges', 'bytes')\n"
    "        self.end_headers()\n"
    "        return f\n"
    "    def copyfile(self, src, dst):\n"
    "        if self.cut is not None:\n"
    "            dst.write(src.read(self.cut))\n"
    "            self.close_connection = True\n"
    "            return\n"
    "        while self.left > 0:\n"
    "            b = src.read(min(65536, self.left))\n"
    "            if not b:\n"
    "                break\n"
    "            dst.write(b)\n"
    "            self.left -= len(b)\n"
    "    def log_message(self, *args):\n"
    "        pass\n"
    "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0),\n"
    "    functools.partial(H, directory=sys.argv[1]))\n"
    "print(s.server_address[1], flush=True)\n"
    "s.serve_forever()\n";

static pid_t start_server(const char *dir, int *port)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Quiet: clients that seek drop connections mid-reply. */
        int null = open("/dev/null", O_WRONLY);
        dup2(fds[1], 1);
        dup2(null, 2);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", "-c", range_server, dir, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = "";
    FILE *f = fdopen(fds[0], "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    *port = atoi(line);
    ck_assert_int_gt(*port, 0);
    return pid;
}

static void stop_server(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

START_TEST(test_http_source)
{
    vf_plugin_t *p = load("io_timeout = 10;");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    int port;
    pid_t server = start_server(clips, &port);
    char url[256], missing[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/av322.mp4?X-Amz-Signature=s3cr3t", port);
    snprintf(missing, sizeof missing, "http://127.0.0.1:%d/gone.mp4?X-Amz-Signature=s3cr3t", port);

    vf_media_info_t info;
    vf_error_t err = {0};
    ck_assert_msg(ops->probe(p->state, url, &info, &err) == 0, "%s", err.message);
    ck_assert_int_eq(info.width, 322);
    ck_assert_int_eq(info.has_audio, 1);

    char *dir = vft_tmpdir("lav-out"), *local = clip("av322.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){120, 180, 0});
    ck_assert_msg(ops->transcode(p->state, url, &j.params, &err) == 0, "%s", err.message);
    double duration = source_duration(local);
    check_rendition(j.paths[0], 212, 120, 1, duration);
    check_rendition(j.paths[1], 318, 180, 1, duration);
    check_jpeg(j.thumb, 322, 182);
    ck_assert_double_eq(j.progress.last, 100);

    char *thumb = path_in(dir, "seek.jpg");
    ck_assert_msg(ops->thumbnail(p->state, url, 1.5, thumb, NULL, NULL, &err) == 0, "%s",
                  err.message);
    check_jpeg(thumb, 322, 182);

    ck_assert_int_eq(ops->probe(p->state, missing, &info, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "opening input: Server returned 404 Not Found"), "%s",
                  err.message);
    ck_assert_msg(!strstr(err.message, "s3cr3t"), "a signature leaked: %s", err.message);
    stop_server(server);

    free(thumb);
    case_free(&j, local, dir, p);
}
END_TEST

/* Requests the range server counted under a fault segment. */
static int fault_count(int port, const char *segment)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/count/%s", port, segment);
    vft_response_t r;
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    int n = atoi(r.body);
    vft_response_free(&r);
    return n;
}

/* A storage having trouble: a connection dropped mid-read and 503 answers
 * are retried (libavformat's reconnects) and the outputs are whole; an
 * S3 answering 503 for longer fails -EIO (the pipeline retries the job
 * later); 403 and 404 fail at once, -EINVAL, naming the status. */
START_TEST(test_http_source_faults)
{
    vf_plugin_t *p = load("io_timeout = 10;");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    int port;
    pid_t server = start_server(clips, &port);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cut/av322.mp4?X-Amz-Signature=s3cr3t", port);
    char *dir = vft_tmpdir("lav-out"), *local = clip("av322.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){120, 0});
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, url, &j.params, &err) == 0, "%s", err.message);
    double duration = source_duration(local);
    check_rendition(j.paths[0], 212, 120, 1, duration);
    check_jpeg(j.thumb, 322, 182);
    /* The cut answer, two 503s, then the reads that worked. */
    ck_assert_int_ge(fault_count(port, "cut"), 4);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/403/av322.mp4?X-Amz-Signature=s3cr3t", port);
    ck_assert_int_eq(ops->transcode(p->state, url, &j.params, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "403 Forbidden") && !strstr(err.message, "s3cr3t"), "%s", err.message);
    ck_assert_int_eq(fault_count(port, "403"), 1);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/503/av322.mp4?X-Amz-Signature=s3cr3t", port);
    vf_media_info_t info;
    ck_assert_int_eq(ops->probe(p->state, url, &info, &err), -EIO);
    ck_assert_msg(strstr(err.message, "5XX") && !strstr(err.message, "s3cr3t"), "%s", err.message);
    int tries = fault_count(port, "503");
    ck_assert_msg(tries >= 3 && tries <= 6, "%d requests", tries);
    stop_server(server);
    case_free(&j, local, dir, p);
}
END_TEST

/* A server that accepts connections (the kernel's backlog does) and never
 * answers. */
static int stalled_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

START_TEST(test_time_limits)
{
    int port;
    int fd = stalled_listener(&port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/video.mp4", port);
    char *dir = vft_tmpdir("lav-out");
    job_t j;
    job_init(&j, dir, (const int[]){120, 0});
    vf_error_t err = {0};

    /* io_timeout: the stalled read gives up; progress keeps coming meanwhile. */
    vf_plugin_t *p = load("io_timeout = 1.5;");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(vf_encoder_ops(p)->transcode(p->state, url, &j.params, &err), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(seconds >= 1.4 && seconds < 10, "gave up after %.1f s", seconds);
    ck_assert_msg(strstr(err.message, "opening input: Connection timed out"), "%s", err.message);
    ck_assert_msg(j.progress.calls >= 3, "%d progress reports", j.progress.calls);
    vft_plugin_free(p);

    /* timeout: the whole operation. */
    p = load("timeout = 1;");
    ck_assert_int_eq(vf_encoder_ops(p)->transcode(p->state, url, &j.params, &err), -ETIMEDOUT);
    ck_assert_msg(strstr(err.message, "timed out after 1 s"), "%s", err.message);
    vf_media_info_t info;
    ck_assert_int_eq(vf_encoder_ops(p)->probe(p->state, url, &info, &err), -ETIMEDOUT);
    ck_assert_int_eq(count_files(dir), 0);
    vft_plugin_free(p);

    close(fd);
    job_free(&j);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- standalone thumbnail ---- */

START_TEST(test_thumbnail_op)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *dir = vft_tmpdir("lav-out"), *src = clip("av322.mp4");
    char *out = path_in(dir, "t.jpg"), *reference = path_in(dir, "ref.jpg");
    vf_error_t err = {0};
    progress_log_t log = {0};

    /* Seeks to the keyframe before 1.5 s and decodes up to the frame at
     * 1.5 s: the frame `ffmpeg -ss 1.5` (an exact seek) takes. */
    ck_assert_msg(ops->thumbnail(p->state, src, 1.5, out, record_progress, &log, &err) == 0, "%s",
                  err.message);
    ck_assert_double_eq(log.last, 100);
    check_jpeg(out, 322, 182);
    ck_assert_int_eq(vft_sh(NULL, "ffmpeg -hide_banner -nostdin -v error -y -ss 1.5 -i '%s' "
                                  "-frames:v 1 -q:v 2 '%s'", src, reference), 0);
    int w1, h1, w2, h2;
    unsigned char *mine = vfm_first_frame_gray(out, &w1, &h1);
    unsigned char *theirs = vfm_first_frame_gray(reference, &w2, &h2);
    ck_assert_ptr_nonnull(mine);
    ck_assert_ptr_nonnull(theirs);
    int differing = 0;
    for (int i = 0; i < w1 * h1; i++)
        differing += abs(mine[i] - theirs[i]) > 24;
    ck_assert_msg(differing < w1 * h1 / 1000, "%d pixels differ from ffmpeg's", differing);
    free(mine);
    free(theirs);

    /* Past the end: the last frame.  Default time, rotated source: upright. */
    ck_assert_msg(ops->thumbnail(p->state, src, 60, out, NULL, NULL, &err) == 0, "%s", err.message);
    check_jpeg(out, 322, 182);
    char *rotated = clip("rot90.mp4");
    ck_assert_msg(ops->thumbnail(p->state, rotated, -1, out, NULL, NULL, &err) == 0, "%s",
                  err.message);
    check_jpeg(out, 180, 320);
    free(rotated);

    /* Failures and cancellation leave nothing. */
    unlink(out);
    unlink(reference);
    char *junk = clip("junk.mp4");
    ck_assert_int_eq(ops->thumbnail(p->state, junk, -1, out, NULL, NULL, &err), -EINVAL);
    free(junk);
    progress_log_t cancel = {.cancel_at_call = 2};
    ck_assert_int_eq(ops->thumbnail(p->state, src, -1, out, record_progress, &cancel, &err),
                     -ECANCELED);
    ck_assert_int_eq(count_files(dir), 0);

    free(out);
    free(reference);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* ---- many jobs (for ASan and valgrind) ---- */

START_TEST(test_many_jobs)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *dir = vft_tmpdir("lav-out"), *src = clip("tiny.mp4");
    job_t j;
    job_init(&j, dir, (const int[]){60, 90, 0});
    for (int i = 0; i < 100; i++) {
        vf_media_info_t info;
        vf_error_t err = {0};
        ck_assert_msg(ops->probe(p->state, src, &info, &err) == 0, "run %d: %s", i, err.message);
        ck_assert_msg(ops->transcode(p->state, src, &j.params, &err) == 0, "run %d: %s", i,
                      err.message);
    }
    check_rendition(j.paths[0], 106, 60, 1, source_duration(src));
    check_rendition(j.paths[1], 160, 90, 1, source_duration(src));
    check_jpeg(j.thumb, 160, 90);
    ck_assert_int_eq(count_files(dir), 3);
    job_free(&j);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

static Suite *encoder_libav_suite(void)
{
    Suite *s = suite_create("encoder_libav");
    TCase *tc = tcase_create("encoder_libav");
    tcase_add_unchecked_fixture(tc, make_clips, remove_clips);
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_probe_good);
    tcase_add_test(tc, test_probe_bad);
    tcase_add_test(tc, test_sources_naming_other_files_refused);
    tcase_add_test(tc, test_transcode_audio_and_thumbnail);
    tcase_add_test(tc, test_transcode_video_only_and_odd_sizes);
    tcase_add_test(tc, test_transcode_variable_frame_rate);
    tcase_add_test(tc, test_transcode_rotated);
    tcase_add_test(tc, test_transcode_upscale);
    tcase_add_test(tc, test_transcode_bad_requests);
    tcase_add_test(tc, test_hls_ntsc_video_only);
    tcase_add_test(tc, test_hls_refusals);
    tcase_add_test(tc, test_hls_scene_cuts);
    tcase_add_test(tc, test_hls_resume);
    tcase_add_test(tc, test_hls_resume_falls_back);
    tcase_add_test(tc, test_progress_and_cancel);
    tcase_add_test(tc, test_http_source);
    tcase_add_test(tc, test_time_limits);
    tcase_add_test(tc, test_thumbnail_op);
    tcase_add_test(tc, test_many_jobs);
    suite_add_tcase(s, tc);
    /* Reconnects wait 0 + 1 + 3 + 7 s before a lasting 503 fails. */
    tc = tcase_create("http_faults");
    tcase_add_unchecked_fixture(tc, make_clips, remove_clips);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_http_source_faults);
    suite_add_tcase(s, tc);
    return s;
}

/* The contract every encoder plugin passes. */
static Suite *encoder_libav_contract(void)
{
    static const vfc_subject_t subject = {"encoder_libav", "encoder_libav", ""};
    return vfc_encoder_suite(&subject);
}

VFC_MAIN(encoder_libav_suite, encoder_libav_contract)
