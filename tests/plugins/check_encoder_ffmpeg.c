/*
 * check_encoder_ffmpeg.c - the encoder_ffmpeg plugin against the real
 * ffmpeg and ffprobe: settings, probing good and bad inputs, transcoding
 * (sizes, codecs, audio, faststart, rotation, no upscale), thumbnails,
 * progress, cancellation, timeout, failure messages and process hygiene;
 * HLS (ABI 1.2) beyond the contract's cases: files reported while ffmpeg
 * runs from the command line the README gives, tee's escaping in odd
 * paths, reported files left alone, parameters refused; resuming (ABI
 * 1.3) from published segments, and falling back when they do not fit.
 * Clips are generated once per run with tests/media.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugins/encoder_ffmpeg/bmff.h"
#include "tests/media.h"
#include "tests/plugins/encoder_contract.h"
#include "vftest.h"

static char *clips;          /* directory of the generated inputs */
static char clip_av[512];    /* 640x360, 25 fps, 3 s, stereo tone */
static char clip_silent[512];/* 320x240, 29.97 fps, 2 s, no audio */
static char clip_wide[512];  /* 322x182, 25 fps, 2 s, audio */
static char clip_odd[512];   /* 321x181 FFV1 in Matroska, 1 s */
static char clip_rot90[512]; /* 320x180 halves, rotate tag 90 */
static char clip_rot270[512];/* 320x180 halves, rotate tag 270 */
static char clip_long[512];  /* 640x360, 25 fps, 30 s, audio */
static char clip_short[512]; /* 320x240, 1 s */
static char clip_long_audio[512]; /* 1 s of video, 3 s of audio */
static char clip_resume_a[512];    /* 320x180 halves, 25 fps, 7 s, audio: a run to resume */
static char clip_resume_b[512];    /* the same shape with the moving picture */
static char clip_faststart[512];  /* av.mp4 with its index first, served over HTTP */
static char audio_only[512], empty_file[512], text_file[512], truncated[512];
static pid_t http_server;
static int http_port;

static void make(char *path, const char *name, vfm_clip_t clip)
{
    snprintf(path, 512, "%s/%s", clips, name);
    if (vfm_make_clip(path, &clip) != 0) {
        fprintf(stderr, "cannot generate %s\n", path);
        exit(EXIT_FAILURE);
    }
}

static void make_clips(void)
{
    clips = vft_tmpdir("ffe-clips");
    if (!clips)
        exit(EXIT_FAILURE);
    make(clip_av, "av.mp4", (vfm_clip_t){.width = 640, .height = 360, .fps = 25, .seconds = 3, .audio = 1});
    make(clip_silent, "silent.mp4", (vfm_clip_t){.width = 320, .height = 240, .fps = 29.97, .seconds = 2});
    make(clip_wide, "wide.mp4", (vfm_clip_t){.width = 322, .height = 182, .fps = 25, .seconds = 2, .audio = 1});
    make(clip_odd, "odd.mkv", (vfm_clip_t){.width = 321, .height = 181, .fps = 25, .seconds = 1, .video_codec = "ffv1"});
    make(clip_rot90, "rot90.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 25, .seconds = 1, .halves = 1, .rotate = 90});
    make(clip_rot270, "rot270.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 25, .seconds = 1, .halves = 1, .rotate = 270});
    make(clip_long, "long.mp4", (vfm_clip_t){.width = 640, .height = 360, .fps = 25, .seconds = 30, .audio = 1});
    make(clip_short, "short.mp4", (vfm_clip_t){.width = 320, .height = 240, .fps = 25, .seconds = 1});
    make(clip_resume_a, "resume-a.mp4",
         (vfm_clip_t){.width = 320, .height = 180, .fps = 25, .seconds = 7, .audio = 1, .halves = 1});
    make(clip_resume_b, "resume-b.mp4", (vfm_clip_t){.width = 320, .height = 180, .fps = 25, .seconds = 7, .audio = 1});

    snprintf(clip_long_audio, sizeof clip_long_audio, "%s/long-audio.mp4", clips);
    snprintf(clip_faststart, sizeof clip_faststart, "%s/fast.mp4", clips);
    snprintf(audio_only, sizeof audio_only, "%s/tone.m4a", clips);
    snprintf(empty_file, sizeof empty_file, "%s/empty.mp4", clips);
    snprintf(text_file, sizeof text_file, "%s/notes.mp4", clips);
    snprintf(truncated, sizeof truncated, "%s/truncated.mp4", clips);
    struct stat st;
    FILE *empty = fopen(empty_file, "w"), *text = fopen(text_file, "w");
    int ok = vft_sh(NULL, "ffmpeg -v error -nostdin -y -f lavfi -i sine=duration=2 -c:a aac '%s'",
                    audio_only) == 0 &&
             vft_sh(NULL, "ffmpeg -v error -nostdin -y -f lavfi -i testsrc2=size=320x240:duration=1 "
                    "-f lavfi -i sine=duration=3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "
                    "-c:a aac '%s'", clip_long_audio) == 0 &&
             vft_sh(NULL, "ffmpeg -v error -nostdin -y -i '%s' -c copy -movflags +faststart '%s'",
                    clip_av, clip_faststart) == 0 &&
             empty && fclose(empty) == 0 && text &&
             fputs("This is a text file with a video's name.\nIt has two lines.\n", text) >= 0 &&
             fclose(text) == 0 && stat(clip_av, &st) == 0 &&
             vfm_copy_prefix(clip_av, truncated, (size_t)st.st_size / 2) == 0;
    if (!ok) {
        fprintf(stderr, "cannot write the bad inputs in %s\n", clips);
        exit(EXIT_FAILURE);
    }
}

/* python3's http.server over the clips directory, on a free port. */
static void start_http_server(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(s, (struct sockaddr *)&addr, &len) != 0) {
        fprintf(stderr, "cannot find a free port\n");
        exit(EXIT_FAILURE);
    }
    http_port = ntohs(addr.sin_port);
    close(s);
    char port[16];
    snprintf(port, sizeof port, "%d", http_port);
    http_server = fork();
    if (http_server == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1); /* its banner */
        dup2(devnull, 2); /* its request log */
        execl("/usr/bin/python3", "python3", "-m", "http.server", port, "--bind", "127.0.0.1",
              "--directory", clips, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int up = c >= 0 && connect(c, (struct sockaddr *)&addr, sizeof addr) == 0;
        if (c >= 0)
            close(c);
        if (up)
            return;
        usleep(50000);
    }
    fprintf(stderr, "the test HTTP server did not start\n");
    exit(EXIT_FAILURE);
}

static void setup(void)
{
    make_clips();
    start_http_server();
}

static void teardown(void)
{
    if (http_server > 0) {
        kill(http_server, SIGTERM);
        waitpid(http_server, NULL, 0);
    }
    vft_rmrf(clips);
    free(clips);
}

/* ---- helpers ---------------------------------------------------------- */

static vf_plugin_t *load(const char *config)
{
    char err[1024] = "";
    vf_plugin_t *p = vft_plugin_load("encoder_ffmpeg", VF_PLUGIN_ENCODER, config, err, sizeof err);
    ck_assert_msg(p != NULL, "load failed: %s", err);
    return p;
}

/* The loader's message when the config is refused, or NULL if accepted. */
static char *load_error(const char *config)
{
    static char err[1024];
    err[0] = '\0';
    vf_plugin_t *p = vft_plugin_load("encoder_ffmpeg", VF_PLUGIN_ENCODER, config, err, sizeof err);
    if (p) {
        vft_plugin_free(p);
        return NULL;
    }
    return err;
}

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Our child processes, from /proc: at most `max`, with their group ids. */
static int find_children(pid_t *pids, pid_t *groups, char comms[][32], int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) && n < max;) {
        char path[300], stat_line[1024];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(stat_line, 1, sizeof stat_line - 1, f);
        fclose(f);
        stat_line[len] = '\0';
        char *open = strchr(stat_line, '('), *close = strrchr(stat_line, ')');
        int ppid, pgrp;
        char state;
        if (!open || !close || sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
            continue;
        if (ppid != getpid())
            continue;
        pids[n] = atoi(e->d_name);
        groups[n] = pgrp;
        snprintf(comms[n], 32, "%.*s", (int)(close - open - 1), open + 1);
        n++;
    }
    closedir(d);
    return n;
}

/* 1 when process pid has a descriptor open on `target`. */
static int has_fd_on(pid_t pid, const char *target)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    int found = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        char link[400], dest[1024];
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, dest, sizeof dest - 1);
        if (n > 0) {
            dest[n] = '\0';
            if (strcmp(dest, target) == 0)
                found = 1;
        }
    }
    closedir(d);
    return found;
}

static int fd0_is_dev_null(pid_t pid)
{
    char link[64], dest[256];
    snprintf(link, sizeof link, "/proc/%d/fd/0", (int)pid);
    ssize_t n = readlink(link, dest, sizeof dest - 1);
    if (n <= 0)
        return 0;
    dest[n] = '\0';
    return strcmp(dest, "/dev/null") == 0;
}

/* What progress callbacks saw. */
typedef struct watch {
    int calls;
    double first_percent, last_percent;
    int decreasing, out_of_range;
    double last_call, max_gap;
    double cancel_after;      /* seconds after the first call; < 0 = never */
    const char *cancel_copying; /* hls_dir: cancel while no ffmpeg runs and
                                 * its first joined MP4 is being written */
    double cancelled_at;      /* when the callback asked to stop */
    double started;
    /* about the ffmpeg child seen during the call */
    pid_t child;
    int child_own_group;
    int child_leaks_marker;
    int child_stdin_null;
    const char *marker;
} watch_t;

static int watch_progress(void *ud, double percent)
{
    watch_t *w = ud;
    double t = now_s();
    if (w->calls == 0)
        w->started = t, w->first_percent = percent;
    else {
        if (percent < w->last_percent)
            w->decreasing = 1;
        if (t - w->last_call > w->max_gap)
            w->max_gap = t - w->last_call;
    }
    if (percent < 0 || percent > 100)
        w->out_of_range = 1;
    w->calls++;
    w->last_percent = percent;
    w->last_call = t;

    pid_t pids[8], groups[8];
    char comms[8][32];
    int n = find_children(pids, groups, comms, 8), ffmpeg_now = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(comms[i], "ffmpeg") == 0) {
            ffmpeg_now = 1;
            w->child = pids[i];
            w->child_own_group = groups[i] == pids[i];
            w->child_stdin_null = fd0_is_dev_null(pids[i]);
            if (w->marker && has_fd_on(pids[i], w->marker))
                w->child_leaks_marker = 1;
        }
    if (w->cancel_copying && !ffmpeg_now) {
        char joined[4200];
        snprintf(joined, sizeof joined, "%s/.r0-joined.mp4", w->cancel_copying);
        if (access(joined, F_OK) == 0) {
            w->cancelled_at = now_s();
            return 1;
        }
    }
    /* Not before ffmpeg has made progress: on a busy machine its start-up
     * alone can take longer than cancel_after. */
    int cancel = w->cancel_after >= 0 && t - w->started >= w->cancel_after && w->child && percent > 0;
    if (cancel)
        w->cancelled_at = now_s();
    return cancel;
}

/* No process (running or zombie) of ours is left, but the HTTP server
 * (a child of this process only when Check runs without fork). */
static int no_children_left(void)
{
    pid_t pids[8], groups[8];
    char comms[8][32];
    int n = find_children(pids, groups, comms, 8), others = 0;
    for (int i = 0; i < n; i++)
        if (pids[i] != http_server) {
            fprintf(stderr, "child left: %d (%s)\n", (int)pids[i], comms[i]);
            others++;
        }
    return n >= 0 && others == 0;
}

static void assert_between(double v, double lo, double hi, const char *what)
{
    ck_assert_msg(v >= lo && v <= hi, "%s is %g, expected %g..%g", what, v, lo, hi);
}

/* An MP4 rendition as the contract wants it. */
static void assert_rendition(const char *path, int height, int width, int audio, double duration)
{
    char *codec = vfm_probe_str(path, "v:0", "codec_name");
    char *profile = vfm_probe_str(path, "v:0", "profile");
    char *pix_fmt = vfm_probe_str(path, "v:0", "pix_fmt");
    ck_assert_msg(codec && strcmp(codec, "h264") == 0, "%s: codec %s", path, codec);
    ck_assert_msg(profile && strcmp(profile, "High") == 0, "%s: profile %s", path, profile);
    ck_assert_msg(pix_fmt && strcmp(pix_fmt, "yuv420p") == 0, "%s: pix_fmt %s", path, pix_fmt);
    free(codec);
    free(profile);
    free(pix_fmt);
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "height"), height);
    int w = (int)vfm_probe_num(path, "v:0", "width");
    ck_assert_msg(w % 2 == 0, "%s: odd width %d", path, w);
    if (width > 0)
        ck_assert_int_eq(w, width);
    ck_assert_int_eq(vfm_count_streams(path, "v"), 1);
    if (audio) {
        ck_assert_int_eq(vfm_count_streams(path, "a"), 1);
        char *acodec = vfm_probe_str(path, "a:0", "codec_name");
        ck_assert_msg(acodec && strcmp(acodec, "aac") == 0, "%s: audio codec %s", path, acodec);
        free(acodec);
        ck_assert_int_eq((int)vfm_probe_num(path, "a:0", "channels"), 2);
    } else
        ck_assert_int_eq(vfm_count_streams(path, "a"), 0);
    double d = vfm_probe_num(path, NULL, "duration");
    ck_assert_msg(fabs(d - duration) <= 0.1, "%s: duration %g, source %g", path, d, duration);
    ck_assert_msg(vfm_moov_before_mdat(path) == 1, "%s: moov is not before mdat", path);
}

static void assert_jpeg(const char *path, int width, int height)
{
    char *codec = vfm_probe_str(path, "v:0", "codec_name");
    ck_assert_msg(codec && strcmp(codec, "mjpeg") == 0, "%s: codec %s", path, codec);
    free(codec);
    ck_assert_msg(vfm_decodes(path), "%s does not decode", path);
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "width"), width);
    ck_assert_int_eq((int)vfm_probe_num(path, "v:0", "height"), height);
}

static vf_transcode_params_t params_for(const vf_rendition_t *r, size_t n, const char *thumb)
{
    return (vf_transcode_params_t){
        .size = sizeof(vf_transcode_params_t),
        .renditions = r,
        .nrenditions = n,
        .preset = "veryfast",
        .crf = 28,
        .audio_bitrate = 128000,
        .thumbnail_path = thumb,
        .thumbnail_at = -1,
    };
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* ---- settings --------------------------------------------------------- */

START_TEST(test_settings)
{
    char *e = load_error("ffmpeg = \"ffmpeg\";\nthreds = 2;");
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strstr(e, "line 3") && strstr(e, "threds"), "message: %s", e);
    e = load_error("threads = \"two\";");
    ck_assert_msg(e && strstr(e, "line 2") && strstr(e, "threads") && strstr(e, "integer"),
                  "message: %s", e);
    e = load_error("timeout = -1;");
    ck_assert_msg(e && strstr(e, "timeout"), "message: %s", e);
    e = load_error("ffprobe = 3;");
    ck_assert_msg(e && strstr(e, "string"), "message: %s", e);
    e = load_error("ffmpeg = \"/nonexistent/ffmpeg\";");
    ck_assert_msg(e && strstr(e, "line 2") && strstr(e, "/nonexistent/ffmpeg"), "message: %s", e);
    e = load_error("ffmpeg = \"no-such-ffmpeg-program\";");
    ck_assert_msg(e && strstr(e, "not found in PATH"), "message: %s", e);
    e = load_error("tmp_dir = \"/nonexistent/dir\";");
    ck_assert_msg(e && strstr(e, "tmp_dir"), "message: %s", e);

    char *config = NULL;
    ck_assert_int_ge(asprintf(&config, "ffmpeg = \"/usr/bin/ffmpeg\"; ffprobe = \"ffprobe\";\n"
                                       "threads = 2; timeout = 60; tmp_dir = \"%s\";", clips), 0);
    ck_assert_ptr_null(load_error(config));
    ck_assert_ptr_null(load_error(""));
    free(config);
}
END_TEST

/* ---- probe ------------------------------------------------------------ */

START_TEST(test_probe_good)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    ck_assert_int_eq(ops->accepts_urls, 1);
    vf_media_info_t info;
    vf_error_t err = {0};
    ck_assert_msg(ops->probe(p->state, clip_av, &info, &err) == 0, "%s", err.message);
    ck_assert_msg(strstr(info.container, "mp4"), "container %s", info.container);
    assert_between(info.duration, 2.95, 3.1, "duration");
    ck_assert_int_eq(info.has_video, 1);
    ck_assert_int_eq(info.has_audio, 1);
    ck_assert_int_eq(info.width, 640);
    ck_assert_int_eq(info.height, 360);
    ck_assert_int_eq(info.rotation, 0);
    assert_between(info.fps, 24.99, 25.01, "fps");
    ck_assert_str_eq(info.video_codec, "h264");
    ck_assert_str_eq(info.audio_codec, "aac");
    ck_assert_int_gt(info.bit_rate, 0);

    ck_assert_msg(ops->probe(p->state, clip_silent, &info, &err) == 0, "%s", err.message);
    ck_assert_int_eq(info.has_audio, 0);
    ck_assert_str_eq(info.audio_codec, "");
    ck_assert_int_eq(info.width, 320);
    ck_assert_int_eq(info.height, 240);
    assert_between(info.fps, 29.96, 29.98, "fps");
    assert_between(info.duration, 1.95, 2.1, "duration");

    ck_assert_msg(ops->probe(p->state, clip_odd, &info, &err) == 0, "%s", err.message);
    ck_assert_str_eq(info.video_codec, "ffv1");
    ck_assert_int_eq(info.width, 321);
    ck_assert_int_eq(info.height, 181);
    vft_plugin_free(p);
}
END_TEST

/* Where white ends up in a displayed frame of a "halves" clip (white on
 * the coded left): 'T'op, 'B'ottom, 'L'eft or 'R'ight. */
static char white_side(const char *path)
{
    int w = 0, h = 0;
    unsigned char *px = vfm_first_frame_gray(path, &w, &h);
    ck_assert_msg(px != NULL, "cannot decode %s", path);
    int top = px[(h / 8) * w + w / 2], bottom = px[(h - 1 - h / 8) * w + w / 2];
    int left = px[(h / 2) * w + w / 8], right = px[(h / 2) * w + w - 1 - w / 8];
    free(px);
    if (top > 200 && bottom < 50)
        return 'T';
    if (bottom > 200 && top < 50)
        return 'B';
    if (left > 200 && right < 50)
        return 'L';
    if (right > 200 && left < 50)
        return 'R';
    return '?';
}

START_TEST(test_probe_rotation)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    vf_media_info_t r90, r270;
    vf_error_t err = {0};
    ck_assert_msg(ops->probe(p->state, clip_rot90, &r90, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->probe(p->state, clip_rot270, &r270, &err) == 0, "%s", err.message);
    /* Coded size stays; the two tags give the two quarter turns. */
    ck_assert_int_eq(r90.width, 320);
    ck_assert_int_eq(r90.height, 180);
    ck_assert_msg((r90.rotation == 90 && r270.rotation == 270) ||
                      (r90.rotation == 270 && r270.rotation == 90),
                  "rotations %d and %d", r90.rotation, r270.rotation);
    /* Clockwise means what ffmpeg shows: turning the coded picture 90
     * degrees clockwise moves its left edge to the top. */
    ck_assert_int_eq(white_side(clip_rot90), r90.rotation == 90 ? 'T' : 'B');
    ck_assert_int_eq(white_side(clip_rot270), r270.rotation == 90 ? 'T' : 'B');
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_probe_bad)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    vf_media_info_t info;
    struct {
        const char *path, *expect;
    } cases[] = {
        {truncated, "moov atom not found"},
        {audio_only, "no video stream"},
        {empty_file, "not a readable media file"},
        {text_file, "not a readable media file"},
        {"/nonexistent/video.mp4", "No such file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vf_error_t err = {0};
        int ret = ops->probe(p->state, cases[i].path, &info, &err);
        ck_assert_msg(ret == -EINVAL, "%s: %d %s", cases[i].path, ret, err.message);
        ck_assert_msg(strstr(err.message, cases[i].expect), "%s: message '%s'", cases[i].path,
                      err.message);
        ck_assert_msg(strstr(err.message, " @ 0x") == NULL, "unreadable message '%s'", err.message);
    }
    vf_error_t err = {0};
    ck_assert_int_eq(ops->probe(p->state, "ftp://example.com/x.mp4", &info, &err), -EINVAL);
    vft_plugin_free(p);
}
END_TEST

/* Uploads that name other files (a playlist, a concat script, an ffconcat
 * list) must not make the worker read and publish those files: only
 * self-contained media formats are opened, for probing and transcoding. */
START_TEST(test_sources_naming_other_files_refused)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *private_dir = vft_tmpdir("ffe-private"), *dir = vft_tmpdir("ffe-tricks"), *out = vft_tmpdir("ffe-out");
    char *secret = path_in(private_dir, "secret.ts");
    ck_assert_int_eq(vft_sh(NULL, "ffmpeg -v error -nostdin -y -f lavfi -i testsrc2=size=320x240:duration=2 "
                                  "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -f mpegts '%s'", secret), 0);
    static const struct {
        const char *name, *before, *after; /* the file: before, the secret's path, after */
    } tricks[] = {
        {"playlist.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:", "\n#EXT-X-ENDLIST\n"},
        {"list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n", "\n#EXT-X-ENDLIST\n"},
        {"script.mp4", "file '", "'\n"},
        {"list.ffconcat", "ffconcat version 1.0\nfile '", "'\n"},
    };
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++) {
        char *src = path_in(dir, tricks[i].name);
        FILE *f = fopen(src, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "%s%s%s", tricks[i].before, secret, tricks[i].after);
        ck_assert_int_eq(fclose(f), 0);
        vf_media_info_t info;
        vf_error_t err = {0};
        int ret = ops->probe(p->state, src, &info, &err);
        ck_assert_msg(ret == -EINVAL, "%s probed: %d %s", tricks[i].name, ret, err.message);
        char *r120 = path_in(out, "120p.mp4"), *thumb = path_in(out, "thumb.jpg");
        vf_rendition_t r[] = {{"120p", 120, r120}};
        vf_transcode_params_t params = params_for(r, 1, thumb);
        memset(&err, 0, sizeof err);
        ret = ops->transcode(p->state, src, &params, &err);
        ck_assert_msg(ret < 0, "%s was transcoded", tricks[i].name);
        memset(&err, 0, sizeof err);
        ck_assert_int_lt(ops->thumbnail(p->state, src, -1, thumb, NULL, NULL, &err), 0);
        ck_assert_int_eq(entries_in(out), 0);
        free(r120);
        free(thumb);
        free(src);
    }
    vft_rmrf(private_dir);
    vft_rmrf(dir);
    vft_rmrf(out);
    free(private_dir);
    free(dir);
    free(out);
    free(secret);
    vft_plugin_free(p);
}
END_TEST

/* ---- transcode -------------------------------------------------------- */

START_TEST(test_transcode_renditions)
{
    vf_plugin_t *p = load("threads = 2;");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *p120 = path_in(out, "120p.mp4"), *p360 = path_in(out, "360p.mp4"),
         *thumb = path_in(out, "thumb.jpg");
    vf_rendition_t r[] = {{"120p", 120, p120}, {"360p", 360, p360}};
    vf_transcode_params_t params = params_for(r, 2, thumb);
    watch_t w = {.cancel_after = -1};
    params.progress = watch_progress;
    params.progress_ud = &w;
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_av, &params, &err) == 0, "%s", err.message);

    assert_rendition(p120, 120, 214, 1, 3.0);
    assert_rendition(p360, 360, 640, 1, 3.0);
    assert_jpeg(thumb, 640, 360);
    ck_assert_int_eq(entries_in(out), 3); /* no temporaries left */
    struct stat st;
    ck_assert_int_eq(stat(p360, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    ck_assert_int_ge(w.calls, 2);
    ck_assert_int_eq(w.decreasing, 0);
    ck_assert_int_eq(w.out_of_range, 0);
    ck_assert_msg(w.last_percent == 100.0, "last progress %g", w.last_percent);
    vft_rmrf(out);
    free(out);
    free(p120);
    free(p360);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_no_audio_no_upscale)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *p360 = path_in(out, "360p.mp4"), *p120 = path_in(out, "120p.mp4");
    vf_rendition_t r[] = {{"360p", 360, p360}, {"120p", 120, p120}};
    vf_transcode_params_t params = params_for(r, 2, NULL);
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_silent, &params, &err) == 0, "%s", err.message);
    assert_rendition(p360, 240, 320, 0, 2.0);  /* 240p source: not upscaled */
    assert_rendition(p120, 120, 160, 0, 2.0);
    assert_between(vfm_probe_num(p360, NULL, "duration"), 1.9, 2.1, "duration");

    /* allow_upscale lets it grow. */
    params.allow_upscale = 1;
    params.nrenditions = 1;
    ck_assert_msg(ops->transcode(p->state, clip_silent, &params, &err) == 0, "%s", err.message);
    assert_rendition(p360, 360, 480, 0, 2.0);
    ck_assert_int_eq(entries_in(out), 2);
    vft_rmrf(out);
    free(out);
    free(p360);
    free(p120);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_odd_sizes)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *a = path_in(out, "a.mp4"), *b = path_in(out, "b.mp4");
    vf_rendition_t r[] = {{"120p", 120, a}, {"360p", 360, b}};
    vf_transcode_params_t params = params_for(r, 2, NULL);
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_wide, &params, &err) == 0, "%s", err.message);
    assert_rendition(a, 120, 212, 1, 2.0);   /* 120 * 322/182 = 212.3 */
    assert_rendition(b, 182, 322, 1, 2.0);   /* capped at the source */

    /* 321x181: heights round down to even, widths stay even. */
    ck_assert_msg(ops->transcode(p->state, clip_odd, &params, &err) == 0, "%s", err.message);
    assert_rendition(a, 120, 212, 0, 1.0);   /* 120 * 321/181 = 212.8 -> 2*round(106.4) */
    assert_rendition(b, 180, 320, 0, 1.0);   /* 180 * 321/181 = 319.2 */
    vft_rmrf(out);
    free(out);
    free(a);
    free(b);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_rotation)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *video = path_in(out, "v.mp4"), *thumb = path_in(out, "t.jpg");
    vf_rendition_t r[] = {{"160p", 160, video}};
    vf_transcode_params_t params = params_for(r, 1, thumb);
    const char *sources[] = {clip_rot90, clip_rot270};
    for (int i = 0; i < 2; i++) {
        vf_error_t err = {0};
        ck_assert_msg(ops->transcode(p->state, sources[i], &params, &err) == 0, "%s", err.message);
        /* 320x180 shown upright is 180x320; 160 lines high is 90 wide. */
        assert_rendition(video, 160, 90, 0, 1.0);
        assert_jpeg(thumb, 180, 320);
        vf_media_info_t info;
        ck_assert_msg(ops->probe(p->state, video, &info, &err) == 0, "%s", err.message);
        ck_assert_int_eq(info.rotation, 0);
        /* Upright: the pixels stand where a player showed the source's. */
        char expected = white_side(sources[i]);
        ck_assert_int_eq(white_side(video), expected);
        ck_assert_int_eq(white_side(thumb), expected);
    }
    vft_rmrf(out);
    free(out);
    free(video);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_transcode_tmp_dir)
{
    char *tmp = vft_tmpdir("ffe-tmp"), *out = vft_tmpdir("ffe-out"), *config = NULL;
    ck_assert_int_ge(asprintf(&config, "tmp_dir = \"%s\";", tmp), 0);
    vf_plugin_t *p = load(config);
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *video = path_in(out, "v.mp4"), *thumb = path_in(out, "t.jpg");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, thumb);
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_short, &params, &err) == 0, "%s", err.message);
    assert_rendition(video, 120, 160, 0, 1.0);
    assert_jpeg(thumb, 320, 240);
    ck_assert_int_eq(entries_in(tmp), 0);
    ck_assert_int_eq(entries_in(out), 2);

    /* An output directory that does not exist: an error, nothing left. */
    char *missing = path_in(out, "missing/v.mp4");
    r[0].output_path = missing;
    ck_assert_int_lt(ops->transcode(p->state, clip_short, &params, &err), 0);
    ck_assert_msg(strstr(err.message, "missing/v.mp4"), "message: %s", err.message);
    ck_assert_int_eq(entries_in(tmp), 0);
    vft_rmrf(tmp);
    vft_rmrf(out);
    free(tmp);
    free(out);
    free(config);
    free(video);
    free(thumb);
    free(missing);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_thumbnail)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *thumb = path_in(out, "t.jpg");
    vf_error_t err = {0};
    watch_t w = {.cancel_after = -1};
    ck_assert_msg(ops->thumbnail(p->state, clip_av, -1, thumb, watch_progress, &w, &err) == 0, "%s",
                  err.message);
    assert_jpeg(thumb, 640, 360);
    ck_assert_msg(w.last_percent == 100.0, "last progress %g", w.last_percent);
    /* Short videos and times past the end use the middle. */
    ck_assert_msg(ops->thumbnail(p->state, clip_short, -1, thumb, NULL, NULL, &err) == 0, "%s",
                  err.message);
    assert_jpeg(thumb, 320, 240);
    ck_assert_msg(ops->thumbnail(p->state, clip_av, 60, thumb, NULL, NULL, &err) == 0, "%s",
                  err.message);
    assert_jpeg(thumb, 640, 360);
    /* Never taller than 720 lines... and never upscaled. */
    ck_assert_msg(ops->thumbnail(p->state, clip_rot90, 0.5, thumb, NULL, NULL, &err) == 0, "%s",
                  err.message);
    assert_jpeg(thumb, 180, 320);
    ck_assert_int_eq(entries_in(out), 1);
    ck_assert_int_eq(ops->thumbnail(p->state, text_file, -1, thumb, NULL, NULL, &err), -EINVAL);
    ck_assert_int_eq(entries_in(out), 1);
    vft_rmrf(out);
    free(out);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_thumbnail_past_video_end)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *video = path_in(out, "v.mp4"), *thumb = path_in(out, "t.jpg");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, thumb);
    /* Inside the file's 3 s, but its video stops after 1 s. */
    params.thumbnail_at = 2.0;
    watch_t w = {.cancel_after = -1};
    params.progress = watch_progress;
    params.progress_ud = &w;
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_long_audio, &params, &err) == 0, "%s", err.message);
    assert_jpeg(thumb, 320, 240);
    assert_rendition(video, 120, 160, 1, 3.0);
    ck_assert_int_eq(w.decreasing, 0);
    ck_assert_msg(w.last_percent == 100.0, "last progress %g", w.last_percent);
    unlink(thumb);
    ck_assert_msg(ops->thumbnail(p->state, clip_long_audio, 2.0, thumb, NULL, NULL, &err) == 0,
                  "%s", err.message);
    assert_jpeg(thumb, 320, 240);
    ck_assert_int_eq(entries_in(out), 2);
    vft_rmrf(out);
    free(out);
    free(video);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_http_source)
{
    vf_plugin_t *p = load("timeout = 60;");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char url[256], missing[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fast.mp4?X-Amz-Signature=topsecret", http_port);
    snprintf(missing, sizeof missing, "http://127.0.0.1:%d/gone.mp4?X-Amz-Signature=topsecret",
             http_port);
    vf_media_info_t info;
    vf_error_t err = {0};
    ck_assert_msg(ops->probe(p->state, url, &info, &err) == 0, "%s", err.message);
    ck_assert_int_eq(info.width, 640);
    ck_assert_int_eq(info.has_audio, 1);

    char *out = vft_tmpdir("ffe-out");
    char *video = path_in(out, "v.mp4"), *thumb = path_in(out, "t.jpg");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, thumb);
    ck_assert_msg(ops->transcode(p->state, url, &params, &err) == 0, "%s", err.message);
    assert_rendition(video, 120, 214, 1, 3.0);
    assert_jpeg(thumb, 640, 360);

    /* Errors name the URL without its query string (credentials). */
    ck_assert_int_eq(ops->probe(p->state, missing, &info, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "gone.mp4?...") && strstr(err.message, "404") &&
                      !strstr(err.message, "topsecret"),
                  "message: %s", err.message);
    vft_rmrf(out);
    free(out);
    free(video);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

/* An S3 having a bad minute (503 to everything) or not listening at all is
 * the storage's trouble: -EIO, which the pipeline retries, never -EINVAL,
 * which fails the video as "not a readable media file". */
START_TEST(test_http_source_unavailable)
{
    vf_plugin_t *p = load("timeout = 60;");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    int busy_port = vft_free_port(), closed_port = vft_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", busy_port);
    char *const server[] = {
        "/usr/bin/python3", "-c",
        "import http.server, sys\n"
        "class Busy(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_error(503)\n"
        "    do_HEAD = do_GET\n"
        "    def log_message(self, *args):\n"
        "        pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Busy).serve_forever()\n",
        port, NULL};
    int pid = vft_spawn(server, "/dev/null");
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(vft_wait_port(busy_port, 10000), 0);

    char *out = vft_tmpdir("ffe-out");
    char *video = path_in(out, "v.mp4"), *thumb = path_in(out, "t.jpg");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, thumb);
    vf_media_info_t info;
    int ports[] = {busy_port, closed_port};
    for (size_t i = 0; i < 2; i++) {
        char url[256];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/fast.mp4?X-Amz-Signature=topsecret", ports[i]);
        vf_error_t err = {0};
        ck_assert_int_eq(ops->probe(p->state, url, &info, &err), -EIO);
        ck_assert_msg(strstr(err.message, "fast.mp4?... could not be read") && !strstr(err.message, "topsecret"),
                      "message: %s", err.message);
        ck_assert_int_eq(ops->transcode(p->state, url, &params, &err), -EIO);
        ck_assert_int_eq(ops->thumbnail(p->state, url, -1, thumb, NULL, NULL, &err), -EIO);
        ck_assert_int_eq(entries_in(out), 0);
    }
    vft_stop(pid, SIGTERM, 5000);
    vft_rmrf(out);
    free(out);
    free(video);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

/* ---- failures, cancellation, timeout ---------------------------------- */

START_TEST(test_unrunnable_ffmpeg)
{
    char *dir = vft_tmpdir("ffe-bin"), *fake = path_in(dir, "ffmpeg"), *config = NULL;
    /* Executable, but not a program exec() can start. */
    FILE *f = fopen(fake, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(chmod(fake, 0755), 0);
    ck_assert_int_ge(asprintf(&config, "ffmpeg = \"%s\";", fake), 0);
    vf_plugin_t *p = load(config);
    char *out = vft_tmpdir("ffe-out"), *video = path_in(out, "v.mp4");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, NULL);
    vf_error_t err = {0};
    ck_assert_int_eq(vf_encoder_ops(p)->transcode(p->state, clip_short, &params, &err), -ENOEXEC);
    ck_assert_msg(strstr(err.message, "cannot run ffmpeg"), "message: %s", err.message);
    ck_assert_int_eq(entries_in(out), 0);
    ck_assert(no_children_left());
    vft_rmrf(out);
    vft_rmrf(dir);
    free(out);
    free(video);
    free(dir);
    free(fake);
    free(config);
    vft_plugin_free(p);
}
END_TEST

/* Codec settings: the plugin's own group first, then the caller's
 * defaults, then libx264's when the caller gives none (preset NULL, crf -1,
 * as for an encoder that does not declare VF_ENCODER_X264_DEFAULTS). */
START_TEST(test_own_codec_settings)
{
    vf_plugin_t *p = load("preset = \"no-such-preset-of-ours\";\ncrf = 30;\nmax_jobs = 3;");
    ck_assert_uint_eq(p->encoder_caps.sources, VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP);
    ck_assert_uint_eq(p->encoder_caps.flags, VF_ENCODER_X264_DEFAULTS | VF_ENCODER_HLS_RESUME);
    ck_assert_uint_eq(p->encoder_caps.max_jobs, 3);
    char *out = vft_tmpdir("ffe-own");
    char *video = path_in(out, "v.mp4");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, NULL);
    vf_error_t err = {0};
    ck_assert_int_eq(vf_encoder_ops(p)->transcode(p->state, clip_short, &params, &err), -EIO);
    ck_assert_msg(strstr(err.message, "no-such-preset-of-ours"), "message: %s", err.message);
    vft_plugin_free(p);

    p = load("");
    params.preset = NULL;
    params.crf = -1;
    ck_assert_msg(vf_encoder_ops(p)->transcode(p->state, clip_short, &params, &err) == 0, "%s", err.message);
    ck_assert_msg(vfm_decodes(video), "%s does not decode", video);
    vft_plugin_free(p);
    vft_rmrf(out);
    free(out);
    free(video);
}
END_TEST

START_TEST(test_failure_messages)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *video = path_in(out, "v.mp4"), *thumb = path_in(out, "t.jpg");
    vf_rendition_t r[] = {{"120p", 120, video}};
    vf_transcode_params_t params = params_for(r, 1, thumb);
    vf_error_t err = {0};

    /* Non-media input: refused by the probe with ffprobe's reason. */
    ck_assert_int_eq(ops->transcode(p->state, text_file, &params, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "notes.mp4") && strstr(err.message, "moov atom not found"),
                  "message: %s", err.message);
    ck_assert_int_eq(entries_in(out), 0);

    /* ffmpeg itself fails: its stderr explains why. */
    params.preset = "no-such-preset";
    ck_assert_int_eq(ops->transcode(p->state, clip_short, &params, &err), -EIO);
    ck_assert_msg(strstr(err.message, "ffmpeg failed (exit status 1)") &&
                      strstr(err.message, "no-such-preset"),
                  "message: %s", err.message);
    ck_assert_msg(strstr(err.message, " @ 0x") == NULL, "unreadable message '%s'", err.message);
    ck_assert_int_eq(entries_in(out), 0);

    params.preset = "veryfast";
    params.crf = 99;
    ck_assert_int_eq(ops->transcode(p->state, clip_short, &params, &err), -EINVAL);
    ck_assert_int_eq(entries_in(out), 0);
    ck_assert(no_children_left());
    vft_rmrf(out);
    free(out);
    free(video);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_cancel)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *a = path_in(out, "a.mp4"), *b = path_in(out, "b.mp4"), *thumb = path_in(out, "t.jpg");
    char *marker = path_in(out, "marker");
    /* A descriptor the plugin knows nothing about, without O_CLOEXEC:
     * ffmpeg must not inherit it. */
    int marker_fd = open(marker, O_RDWR | O_CREAT, 0600);
    ck_assert_int_ge(marker_fd, 0);
    vf_rendition_t r[] = {{"360p", 360, a}, {"240p", 240, b}};
    vf_transcode_params_t params = params_for(r, 2, thumb);
    params.preset = "slow";
    watch_t w = {.cancel_after = 2.5, .marker = marker};
    params.progress = watch_progress;
    params.progress_ud = &w;
    vf_error_t err = {0};
    double t0 = now_s();
    int ret = ops->transcode(p->state, clip_long, &params, &err);
    double took = now_s() - t0;
    double stop_latency = now_s() - w.cancelled_at;
    fprintf(stderr, "cancel: returned %.2f s after the callback asked (%.2f s in all), %d progress "
            "calls, at most %.2f s apart\n", stop_latency, took, w.calls, w.max_gap);
    /* Bounds a loaded machine keeps, far below the minutes the clip would
     * take to finish: a plugin that waits for ffmpeg instead of stopping it
     * fails them. */
    ck_assert_msg(stop_latency < 5, "stopping took %.2f s", stop_latency);
    ck_assert_msg(ret == -ECANCELED, "%d %s", ret, err.message);

    ck_assert_msg(w.child > 0, "no ffmpeg child seen during progress calls");
    ck_assert_msg(w.child_own_group, "ffmpeg shares our process group");
    ck_assert_msg(w.child_stdin_null, "ffmpeg's stdin is not /dev/null");
    ck_assert_msg(!w.child_leaks_marker, "ffmpeg inherited a descriptor of the host");
    ck_assert_msg(kill(w.child, 0) != 0 && errno == ESRCH, "ffmpeg %d still exists", (int)w.child);
    ck_assert(no_children_left());
    ck_assert_msg(w.max_gap <= 3, "progress calls %.2f s apart", w.max_gap);
    ck_assert_msg(w.last_percent > 0 && w.last_percent < 100, "progress %g", w.last_percent);

    close(marker_fd);
    unlink(marker);
    ck_assert_int_eq(entries_in(out), 0);
    vft_rmrf(out);
    free(out);
    free(a);
    free(b);
    free(thumb);
    free(marker);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_timeout)
{
    vf_plugin_t *p = load("timeout = 1;");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out");
    char *a = path_in(out, "a.mp4");
    vf_rendition_t r[] = {{"360p", 360, a}};
    vf_transcode_params_t params = params_for(r, 1, NULL);
    params.preset = "slow";
    vf_error_t err = {0};
    double t0 = now_s();
    int ret = ops->transcode(p->state, clip_long, &params, &err);
    double took = now_s() - t0;
    fprintf(stderr, "timeout: returned after %.2f s: %s\n", took, err.message);
    ck_assert_msg(ret == -ETIMEDOUT, "%d %s", ret, err.message);
    ck_assert_msg(strstr(err.message, "timeout"), "message: %s", err.message);
    ck_assert_msg(took >= 0.9 && took < 10, "timeout took %.1f s", took);
    ck_assert(no_children_left());
    ck_assert_int_eq(entries_in(out), 0);
    vft_rmrf(out);
    free(out);
    free(a);
    vft_plugin_free(p);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

typedef struct job {
    vf_plugin_t *plugin;
    char *out;
    int ret;
    vf_error_t err;
} job_t;

static void *run_job(void *arg)
{
    job_t *j = arg;
    char path[600];
    snprintf(path, sizeof path, "%s/v.mp4", j->out);
    vf_rendition_t r[] = {{"120p", 120, path}};
    vf_transcode_params_t params = params_for(r, 1, NULL);
    j->ret = vf_encoder_ops(j->plugin)->transcode(j->plugin->state, clip_wide, &params, &j->err);
    return NULL;
}

START_TEST(test_parallel)
{
    vf_plugin_t *p = load("threads = 1;");
    job_t jobs[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (job_t){.plugin = p, .out = vft_tmpdir("ffe-par")};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, run_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_msg(jobs[i].ret == 0, "job %d: %s", i, jobs[i].err.message);
        char path[600];
        snprintf(path, sizeof path, "%s/v.mp4", jobs[i].out);
        assert_rendition(path, 120, 212, 1, 2.0);
        ck_assert_int_eq(entries_in(jobs[i].out), 1);
        vft_rmrf(jobs[i].out);
        free(jobs[i].out);
    }
    vft_plugin_free(p);
}
END_TEST

/* ---- HLS (ABI 1.2) ---------------------------------------------------- */

#define HLS_MAX_RENDITIONS 4
#define HLS_MAX_SEGMENTS 64

/* What the hls_file callback saw, and what it does with each file. */
typedef struct hls_seen {
    const char *hls_dir;
    const char *keep_dir;     /* move each file here as <r>-init.mp4, <r>-<n>.m4s; NULL: leave it */
    int refuse_at;            /* return -EPIPE on this call (1-based); 0: never */
    int64_t first;            /* the hls_first_segment asked for */
    int calls, bad, bad_order, not_a_file, outside_dir;
    int init_seen[HLS_MAX_RENDITIONS];
    int64_t next[HLS_MAX_RENDITIONS];
    double durations[HLS_MAX_RENDITIONS][HLS_MAX_SEGMENTS];
    int while_running;        /* calls made while an ffmpeg child existed */
    char cmdline[16384];      /* that child's arguments, NUL-separated */
    size_t cmdline_len;
    char cwd[1024];           /* and its working directory */
} hls_seen_t;

/* An ffmpeg child that still runs (a zombie has neither arguments nor a
 * working directory): count the call, keep its command line and cwd. */
static void note_ffmpeg(hls_seen_t *s)
{
    pid_t pids[8], groups[8];
    char comms[8][32];
    int n = find_children(pids, groups, comms, 8);
    for (int i = 0; i < n; i++) {
        if (strcmp(comms[i], "ffmpeg") != 0)
            continue;
        char path[64], cwd[sizeof s->cwd], cmdline[sizeof s->cmdline];
        size_t cmdline_len = 0;
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
        FILE *f = fopen(path, "r");
        if (f) {
            cmdline_len = fread(cmdline, 1, sizeof cmdline - 1, f);
            fclose(f);
        }
        snprintf(path, sizeof path, "/proc/%d/cwd", (int)pids[i]);
        ssize_t len = readlink(path, cwd, sizeof cwd - 1);
        if (len <= 0 || cmdline_len == 0)
            return;
        cwd[len] = '\0';
        cmdline[cmdline_len] = '\0';
        s->while_running++;
        memcpy(s->cwd, cwd, (size_t)len + 1);
        memcpy(s->cmdline, cmdline, cmdline_len + 1);
        s->cmdline_len = cmdline_len;
        return;
    }
}

static int record_hls(void *ud, const vf_hls_file_t *f)
{
    hls_seen_t *s = ud;
    s->calls++;
    if (f->size < VF_HLS_FILE_SIZE_1_2 || f->rendition >= HLS_MAX_RENDITIONS || !f->path) {
        s->bad++;
        return -EINVAL;
    }
    struct stat st;
    if (stat(f->path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        s->not_a_file++;
    size_t dir_len = strlen(s->hls_dir);
    if (strncmp(f->path, s->hls_dir, dir_len) != 0 || f->path[dir_len] != '/' ||
        strchr(f->path + dir_len + 1, '/'))
        s->outside_dir++;
    size_t r = f->rendition;
    if (!s->init_seen[r]) {
        if (f->sequence != VF_HLS_INIT || f->duration != 0)
            s->bad_order++;
        s->init_seen[r] = 1;
        s->next[r] = s->first;
    } else if (f->sequence != s->next[r] || f->sequence >= HLS_MAX_SEGMENTS)
        s->bad_order++;
    else
        s->durations[r][s->next[r]++] = f->duration;
    note_ffmpeg(s);
    if (s->keep_dir) {
        char to[1024];
        if (f->sequence == VF_HLS_INIT)
            snprintf(to, sizeof to, "%s/%zu-init.mp4", s->keep_dir, r);
        else
            snprintf(to, sizeof to, "%s/%zu-%lld.m4s", s->keep_dir, r, (long long)f->sequence);
        if (rename(f->path, to) != 0)
            s->bad++;
    }
    return s->calls == s->refuse_at ? -EPIPE : 0;
}

static vf_transcode_params_t hls_params(const vf_rendition_t *r, size_t n, uint32_t outputs,
                                        const char *dir, double seconds, hls_seen_t *seen)
{
    vf_transcode_params_t p = params_for(r, n, NULL);
    p.outputs = outputs;
    p.hls_dir = dir;
    p.hls_segment_seconds = seconds;
    p.hls_first_segment = seen->first;
    p.hls_file = record_hls;
    p.hls_ud = seen;
    seen->hls_dir = dir;
    return p;
}

/* The first video packet of a segment (its init prepended): its time and
 * whether it is a keyframe; NAN when ffprobe cannot read it. */
static double segment_start(const char *init, const char *segment, int *key)
{
    char *joined = NULL, *out = NULL;
    double t = NAN;
    *key = 0;
    ck_assert_int_ge(asprintf(&joined, "%s.joined.mp4", segment), 0);
    if (vft_sh(NULL, "cat '%s' '%s' > '%s'", init, segment, joined) == 0 &&
        vft_sh(&out, "ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags "
               "-of csv=p=0 '%s' | head -n 1", joined) == 0 && out) {
        char flags[16] = "";
        if (sscanf(out, "%lf,%15s", &t, flags) == 2)
            *key = flags[0] == 'K';
    }
    if (vfm_decodes(joined) != 1)
        t = NAN;
    unlink(joined);
    free(joined);
    free(out);
    return t;
}

/* Every rendition reported in order, `count` segments of `seconds` (the
 * last one shorter) adding up to `total`, numbered from s->first, each
 * starting with a keyframe at the same instant in every rendition. */
static void assert_hls(const hls_seen_t *s, size_t renditions, int count, double seconds, double total)
{
    ck_assert_int_eq(s->bad, 0);
    ck_assert_int_eq(s->bad_order, 0);
    ck_assert_int_eq(s->not_a_file, 0);
    ck_assert_int_eq(s->outside_dir, 0);
    ck_assert_int_eq(s->calls, (int)renditions * (1 + count - (int)s->first));
    double first_start = NAN;
    for (size_t r = 0; r < renditions; r++) {
        ck_assert_int_eq(s->init_seen[r], 1);
        ck_assert_int_eq((int)s->next[r], count);
        double sum = 0;
        for (int n = (int)s->first; n < count; n++) {
            double d = s->durations[r][n];
            if (n < count - 1)
                assert_between(d, seconds - 0.001, seconds + 0.001, "segment duration");
            else
                assert_between(d, 0.01, seconds + 0.001, "last segment duration");
            sum += d;
        }
        if (s->first == 0)
            assert_between(sum, total - 0.1, total + 0.1, "HLS duration");
        if (!s->keep_dir)
            continue;
        char init[1024], segment[1024];
        snprintf(init, sizeof init, "%s/%zu-init.mp4", s->keep_dir, r);
        for (int n = (int)s->first; n < count; n++) {
            snprintf(segment, sizeof segment, "%s/%zu-%d.m4s", s->keep_dir, r, n);
            int key;
            double t = segment_start(init, segment, &key);
            ck_assert_msg(!isnan(t), "%s does not decode after its init segment", segment);
            ck_assert_msg(key, "%s does not start with a keyframe", segment);
            /* Timestamps of a full run: segment n at n * seconds (plus the
             * constant composition delay of B-frames). */
            if (isnan(first_start))
                first_start = t - n * seconds;
            assert_between(t - n * seconds, first_start - 0.001, first_start + 0.001, "segment start");
        }
    }
    if (s->keep_dir)
        ck_assert_msg(first_start < 0.2, "segments start %g s late", first_start);
}

static int argv_has(const hls_seen_t *s, const char *arg)
{
    for (size_t i = 0; i < s->cmdline_len; i += strlen(s->cmdline + i) + 1)
        if (strcmp(s->cmdline + i, arg) == 0)
            return 1;
    return 0;
}

static int argv_contains(const hls_seen_t *s, const char *needle)
{
    for (size_t i = 0; i < s->cmdline_len; i += strlen(s->cmdline + i) + 1)
        if (strstr(s->cmdline + i, needle))
            return 1;
    return 0;
}

START_TEST(test_capabilities_outputs)
{
    vf_plugin_t *p = load("");
    ck_assert_uint_eq(p->encoder_caps.outputs, VF_OUTPUT_MP4 | VF_OUTPUT_HLS);
    /* A 1.1 caller's structure is not written past its size. */
    struct {
        vf_encoder_caps_t caps;
        uint32_t guard;
    } old;
    memset(&old, 0xab, sizeof old);
    old.caps.size = VF_ENCODER_CAPS_SIZE_1_1;
    ck_assert_int_eq(vf_encoder_ops(p)->capabilities(p->state, &old.caps), 0);
    ck_assert_uint_eq(old.caps.sources, VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP);
    ck_assert_uint_eq(old.caps.outputs, 0xabababab);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_hls_and_mp4)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out"), *hls = vft_tmpdir("ffe-hls"), *kept = vft_tmpdir("ffe-kept");
    char *p120 = path_in(out, "120p.mp4"), *p360 = path_in(out, "360p.mp4"),
         *thumb = path_in(out, "thumb.jpg");
    vf_rendition_t r[] = {{"120p", 120, p120}, {"360p", 360, p360}};
    hls_seen_t seen = {.keep_dir = kept};
    vf_transcode_params_t params = hls_params(r, 2, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, hls, 1.0, &seen);
    params.thumbnail_path = thumb;
    watch_t w = {.cancel_after = -1};
    params.progress = watch_progress;
    params.progress_ud = &w;
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_av, &params, &err) == 0, "%s", err.message);

    /* The MP4s are what they were without HLS. */
    assert_rendition(p120, 120, 214, 1, 3.0);
    assert_rendition(p360, 360, 640, 1, 3.0);
    assert_jpeg(thumb, 640, 360);
    ck_assert_int_eq(entries_in(out), 3);
    assert_hls(&seen, 2, 3, 1.0, 3.0);
    ck_assert_int_eq(entries_in(hls), 0);   /* playlists gone, segments moved by the callee */
    ck_assert_msg(w.last_percent == 100.0, "last progress %g", w.last_percent);
    /* Both segments and the MP4 have sound. */
    char init[1024], joined[1200];
    snprintf(init, sizeof init, "%s/1-init.mp4", kept);
    snprintf(joined, sizeof joined, "%s/joined.mp4", kept);
    ck_assert_int_eq(vft_sh(NULL, "cat '%s' '%s/1-0.m4s' > '%s'", init, kept, joined), 0);
    ck_assert_int_eq(vfm_count_streams(joined, "a"), 1);
    ck_assert_int_eq((int)vfm_probe_num(joined, "v:0", "height"), 360);

    vft_rmrf(out);
    vft_rmrf(hls);
    vft_rmrf(kept);
    free(out);
    free(hls);
    free(kept);
    free(p120);
    free(p360);
    free(thumb);
    vft_plugin_free(p);
}
END_TEST

/* Files are reported while ffmpeg runs, from the command line the README
 * describes: one encode per rendition into the tee muxer, keyframes forced
 * at every boundary, ffmpeg working inside the HLS directory. */
START_TEST(test_hls_while_running)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *hls = vft_tmpdir("ffe-hls");
    vf_rendition_t r[] = {{"120p", 120, NULL}};
    hls_seen_t seen = {0};
    vf_transcode_params_t params = hls_params(r, 1, VF_OUTPUT_HLS, hls, 2.0, &seen);
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_long, &params, &err) == 0, "%s", err.message);
    assert_hls(&seen, 1, 15, 2.0, 30.0);
    fprintf(stderr, "HLS: %d of %d files reported while ffmpeg ran\n", seen.while_running, seen.calls);
    ck_assert_msg(seen.while_running >= 2, "only %d files reported while ffmpeg ran", seen.while_running);
    ck_assert_str_eq(seen.cwd, hls);
    ck_assert(argv_has(&seen, "tee"));
    ck_assert(argv_has(&seen, "expr:gte(t,n_forced*2.000000)"));
    ck_assert(argv_has(&seen, "+global_header"));
    ck_assert(argv_contains(&seen, "[f=hls:onfail=abort:hls_segment_type=fmp4:hls_time=2.000000:"));
    ck_assert(!argv_contains(&seen, "f=mp4")); /* HLS only: no MP4 slave */
    /* Only the reported files are left (the callee did not move them). */
    ck_assert_int_eq(entries_in(hls), seen.calls);
    vft_rmrf(hls);
    free(hls);
    vft_plugin_free(p);
}
END_TEST

/* Tee's syntax and the hls muxer's templates in the paths of both outputs. */
START_TEST(test_hls_odd_paths)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *base = vft_tmpdir("ffe-odd"), *kept = vft_tmpdir("ffe-kept");
    char *dir = path_in(base, " o d|[x]:y='q'\\z%d%v,=a\"b ");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char *mp4 = path_in(dir, "[v]|:%d 'x'.mp4");
    vf_rendition_t r[] = {{"120p", 120, mp4}};
    hls_seen_t seen = {.keep_dir = kept};
    vf_transcode_params_t params = hls_params(r, 1, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, dir, 1.0, &seen);
    vf_error_t err = {0};
    ck_assert_msg(ops->transcode(p->state, clip_short, &params, &err) == 0, "%s", err.message);
    assert_rendition(mp4, 120, 160, 0, 1.0);
    assert_hls(&seen, 1, 1, 1.0, 1.0);
    ck_assert_int_eq(entries_in(dir), 1); /* the MP4 */
    vft_rmrf(base);
    vft_rmrf(kept);
    free(base);
    free(kept);
    free(dir);
    free(mp4);
    vft_plugin_free(p);
}
END_TEST

/* A callback that fails stops ffmpeg: its value is returned, the MP4s and
 * every unreported file are gone, the reported ones (the refused one too)
 * are left alone.  (The contract's cases move every file away.) */
START_TEST(test_hls_refused)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *out = vft_tmpdir("ffe-out"), *hls = vft_tmpdir("ffe-hls");
    char *mp4 = path_in(out, "v.mp4");
    vf_rendition_t r[] = {{"120p", 120, mp4}};
    hls_seen_t seen = {.refuse_at = 3};
    vf_transcode_params_t params = hls_params(r, 1, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, hls, 2.0, &seen);
    vf_error_t err = {0};
    int ret = ops->transcode(p->state, clip_long, &params, &err);
    ck_assert_msg(ret == -EPIPE, "%d %s", ret, err.message);
    ck_assert_msg(strstr(err.message, "r0-1.m4s"), "message: %s", err.message);
    ck_assert_int_eq(seen.calls, 3);
    ck_assert(no_children_left());
    ck_assert_int_eq(entries_in(out), 0);
    ck_assert_int_eq(entries_in(hls), 3);  /* init, 0 and 1 (refused): the callee's */
    vft_rmrf(out);
    vft_rmrf(hls);
    free(out);
    free(hls);
    free(mp4);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_hls_bad_params)
{
    vf_plugin_t *p = load("");
    const vf_encoder_ops_t *ops = vf_encoder_ops(p);
    char *hls = vft_tmpdir("ffe-hls"), *file = path_in(hls, "file");
    ck_assert_int_eq(vft_write_pattern(file, 10, 1), 0);
    vf_rendition_t r[] = {{"120p", 120, NULL}};
    hls_seen_t seen = {0};
    struct {
        uint32_t outputs;
        const char *dir;
        double seconds;
        int64_t first;
        int no_callback;
        const char *says;
    } cases[] = {
        {0, hls, 4, 0, 0, "output path"},   /* 0: MP4, as before 1.2 */
        {VF_OUTPUT_HLS | 4, hls, 4, 0, 0, "outputs"},
        {VF_OUTPUT_MP4, hls, 4, 0, 0, "output path"},
        {VF_OUTPUT_HLS, NULL, 4, 0, 0, "directory"},
        {VF_OUTPUT_HLS, "/nonexistent/hls", 4, 0, 0, "/nonexistent/hls"},
        {VF_OUTPUT_HLS, file, 4, 0, 0, "not a directory"},
        {VF_OUTPUT_HLS, hls, 0, 0, 0, "0.1..600"},
        {VF_OUTPUT_HLS, hls, NAN, 0, 0, "0.1..600"},
        {VF_OUTPUT_HLS, hls, 4, -1, 0, "negative"},
        {VF_OUTPUT_HLS, hls, 4, 0, 1, "callback"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seen.first = cases[i].first;
        vf_transcode_params_t params = hls_params(r, 1, cases[i].outputs, cases[i].dir,
                                                  cases[i].seconds, &seen);
        if (cases[i].no_callback)
            params.hls_file = NULL;
        vf_error_t err = {0};
        int ret = ops->transcode(p->state, clip_short, &params, &err);
        ck_assert_msg(ret < 0, "case %zu accepted", i);
        ck_assert_msg(strstr(err.message, cases[i].says), "case %zu: %s", i, err.message);
    }
    ck_assert_int_eq(seen.calls, 0);
    ck_assert_int_eq(entries_in(hls), 1);
    vft_rmrf(hls);
    free(hls);
    free(file);
    vft_plugin_free(p);
}
END_TEST

/* ---- the ISO-BMFF reader on hostile boxes ------------------------------ */

/* A growing buffer of boxes; open() returns where a box starts, close()
 * writes its size. */
typedef struct boxes {
    unsigned char *buf;
    size_t len, cap;
} boxes_t;

static void boxes_put(boxes_t *b, const void *bytes, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->buf = realloc(b->buf, b->cap);
        ck_assert_ptr_nonnull(b->buf);
    }
    memcpy(b->buf + b->len, bytes, n);
    b->len += n;
}

static void boxes_put32(boxes_t *b, uint32_t v)
{
    uint32_t be = htonl(v);
    boxes_put(b, &be, 4);
}

static size_t boxes_open(boxes_t *b, const char *type)
{
    size_t at = b->len;
    boxes_put32(b, 0);
    boxes_put(b, type, 4);
    return at;
}

static void boxes_close(boxes_t *b, size_t at)
{
    uint32_t be = htonl((uint32_t)(b->len - at));
    memcpy(b->buf + at, &be, 4);
}

/* A full box of version 0: its fields as 32-bit words. */
static void boxes_full(boxes_t *b, const char *type, const uint32_t *words, size_t n)
{
    size_t at = boxes_open(b, type);
    for (size_t i = 0; i < n; i++)
        boxes_put32(b, words[i]);
    boxes_close(b, at);
}

/* An init of one video track (id 1, timescale 12800, trex default
 * duration `duration`), its mdia holding `nested` mdia boxes one inside
 * the other after its mdhd and hdlr. */
static void make_init(boxes_t *b, uint32_t duration, size_t nested)
{
    size_t moov = boxes_open(b, "moov");
    boxes_full(b, "mvhd", (const uint32_t[]){0, 0, 0, 1000, 0}, 5);
    size_t trak = boxes_open(b, "trak");
    boxes_full(b, "tkhd", (const uint32_t[]){0, 0, 0, 1, 0}, 5);
    size_t mdia = boxes_open(b, "mdia");
    boxes_full(b, "mdhd", (const uint32_t[]){0, 0, 0, 12800, 0}, 5);
    boxes_full(b, "hdlr", (const uint32_t[]){0, 0, 0x76696465 /* vide */, 0, 0, 0}, 6);
    size_t *open = malloc((nested ? nested : 1) * sizeof *open);
    ck_assert_ptr_nonnull(open);
    for (size_t i = 0; i < nested; i++)
        open[i] = boxes_open(b, "mdia");
    for (size_t i = nested; i-- > 0;)
        boxes_close(b, open[i]);
    free(open);
    boxes_close(b, mdia);
    boxes_close(b, trak);
    size_t mvex = boxes_open(b, "mvex");
    boxes_full(b, "trex", (const uint32_t[]){0, 1, 1, duration, 0, 0}, 6);
    boxes_close(b, mvex);
    boxes_close(b, moov);
}

/* Boxes nested a million deep inside a trak's mdia are not walked into
 * (they ran the stack out): the init still reads. */
START_TEST(test_bmff_nested_boxes)
{
    boxes_t b = {0};
    make_init(&b, 512, 1u << 20);
    ffe_bmff_init_t init;
    ck_assert_int_eq(ffe_bmff_parse_init(b.buf, b.len, &init), 0);
    ck_assert_uint_eq(init.count, 1);
    ck_assert_uint_eq(init.tracks[0].id, 1);
    ck_assert_uint_eq(init.tracks[0].timescale, 12800);
    free(b.buf);
}
END_TEST

/* A trun of 2^32 - 1 samples of the default duration is one product, not
 * 2^32 - 1 additions; two of them overflow 64 bits and are refused. */
START_TEST(test_bmff_huge_trun)
{
    boxes_t b = {0};
    make_init(&b, 0xffffffffu, 0);
    ffe_bmff_init_t init;
    ck_assert_int_eq(ffe_bmff_parse_init(b.buf, b.len, &init), 0);
    for (int truns = 1; truns <= 2; truns++) {
        boxes_t seg = {0};
        size_t moof = boxes_open(&seg, "moof");
        size_t traf = boxes_open(&seg, "traf");
        boxes_full(&seg, "tfhd", (const uint32_t[]){0, 1}, 2);
        boxes_full(&seg, "tfdt", (const uint32_t[]){0, 0}, 2);
        for (int t = 0; t < truns; t++)
            boxes_full(&seg, "trun", (const uint32_t[]){0, 0xffffffffu}, 2);
        boxes_close(&seg, traf);
        boxes_close(&seg, moof);
        ffe_bmff_span_t spans[FFE_BMFF_MAX_TRACKS];
        uint32_t fragments;
        int r = ffe_bmff_scan_segment(seg.buf, seg.len, &init, spans, &fragments);
        if (truns == 1) {
            ck_assert_int_eq(r, 0);
            ck_assert_uint_eq(spans[0].end, (uint64_t)0xffffffffu * 0xffffffffu);
            ck_assert_uint_eq(spans[0].samples, 0xffffffffu);
        } else {
            ck_assert_int_eq(r, -EINVAL);
        }
        free(seg.buf);
    }
    free(b.buf);
}
END_TEST

/* An empty mvhd (8 bytes, no version byte) at the end of the file is
 * refused without reading past it: the file ends at a page that cannot be
 * read, so the over-read it was is a crash. */
START_TEST(test_bmff_empty_full_boxes)
{
    boxes_t b = {0};
    size_t moov = boxes_open(&b, "moov");
    boxes_close(&b, boxes_open(&b, "mvhd"));
    boxes_close(&b, moov);
    long page = sysconf(_SC_PAGESIZE);
    ck_assert_int_gt(page, (long)b.len);
    unsigned char *pages = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(pages, MAP_FAILED);
    ck_assert_int_eq(mprotect(pages + page, (size_t)page, PROT_NONE), 0);
    unsigned char *exact = pages + page - b.len;
    memcpy(exact, b.buf, b.len);
    ffe_bmff_init_t init;
    ck_assert_int_eq(ffe_bmff_parse_init(exact, b.len, &init), -EINVAL);
    ck_assert_int_eq(munmap(pages, 2 * (size_t)page), 0);
    free(b.buf);
}
END_TEST

/* ---- resuming from published segments (ABI 1.3) ----------------------- */

#define RESUME_SECONDS 2.0
#define RESUME_FIRST 2
#define RESUME_COUNT 4              /* 7 s in segments of 2 s */
#define RESUME_PACKETS 512

/* A file's packets of one stream ("v:0", "a:0") in decode order; the
 * hashes of the video's. */
typedef struct packets {
    int count;
    double pts[RESUME_PACKETS], dts[RESUME_PACKETS], duration[RESUME_PACKETS];
    char hash[RESUME_PACKETS][40];
} packets_t;

static void read_packets(const char *path, const char *stream, packets_t *pk)
{
    char *out = NULL;
    memset(pk, 0, sizeof *pk);
    int video = stream[0] == 'v';
    ck_assert_msg(vft_sh(&out, "ffprobe -v error -select_streams %s %s -show_entries "
                         "packet=pts_time,dts_time,duration_time%s -of csv=p=0 '%s'", stream,
                         video ? "-show_data_hash MD5" : "", video ? ",data_hash" : "", path) == 0 && out,
                  "ffprobe cannot read the packets of %s", path);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        ck_assert_int_lt(pk->count, RESUME_PACKETS);
        int n = pk->count++;
        ck_assert_msg(sscanf(line, "%lf,%lf,%lf,MD5:%39s", &pk->pts[n], &pk->dts[n], &pk->duration[n],
                             pk->hash[n]) == 3 + video, "%s: ffprobe says '%s'", path, line);
    }
    free(out);
}

/* The packets of segment n of rendition r kept in `kept`, read after the
 * initialisation segment `init`. */
static void segment_packets(const char *init, const char *kept, size_t r, int n, const char *stream, packets_t *pk)
{
    char *joined = NULL;
    ck_assert_int_ge(asprintf(&joined, "%s/joined-%zu-%d.mp4", kept, r, n), 0);
    ck_assert_int_eq(vft_sh(NULL, "cat '%s' '%s/%zu-%d.m4s' > '%s'", init, kept, r, n, joined), 0);
    read_packets(joined, stream, pk);
    unlink(joined);
    free(joined);
}

/* The callback's refuse_at for the next resume_run_cut(), which clears it. */
static int refuse_next_at;

/* resume_run_cut()'s cancel_after that cancels while the published
 * segments are copied into the joined MP4s, before any ffmpeg runs. */
#define CANCEL_COPYING (-2.0)

/* One HLS transcode of `clip` in segments of RESUME_SECONDS from `first`,
 * its files moved into `kept`, MP4s (when asked for) into out/<name>.mp4. */
typedef struct resume_run {
    char *out, *hls, *kept, *mp4[2];
    vf_rendition_t r[2];
    hls_seen_t seen;
    watch_t watch;
    vf_error_t err;
    int ret;
    char *log;                      /* what the plugin logged */
} resume_run_t;

static void resume_run_cut(resume_run_t *run, vf_plugin_t *p, const char *clip, uint32_t outputs, int64_t first,
                          const char *published, int64_t reported_from, double cancel_after, double seconds)
{
    memset(run, 0, sizeof *run);
    run->out = vft_tmpdir("ffe-resume-out");
    run->hls = vft_tmpdir("ffe-resume-hls");
    run->kept = vft_tmpdir("ffe-resume-kept");
    run->mp4[0] = path_in(run->out, "90p.mp4");
    run->mp4[1] = path_in(run->out, "180p.mp4");
    int mp4 = (outputs & VF_OUTPUT_MP4) != 0;
    run->r[0] = (vf_rendition_t){"90p", 90, mp4 ? run->mp4[0] : NULL};
    run->r[1] = (vf_rendition_t){"180p", 180, mp4 ? run->mp4[1] : NULL};
    run->seen = (hls_seen_t){.keep_dir = run->kept, .first = reported_from, .refuse_at = refuse_next_at};
    refuse_next_at = 0;
    run->watch = (watch_t){.cancel_after = cancel_after == CANCEL_COPYING ? -1 : cancel_after,
                           .cancel_copying = cancel_after == CANCEL_COPYING ? run->hls : NULL};
    vf_transcode_params_t params = hls_params(run->r, 2, outputs, run->hls, seconds, &run->seen);
    params.hls_first_segment = first;
    params.hls_published_dir = published;
    params.progress = watch_progress;
    params.progress_ud = &run->watch;
    /* The plugin logs through the core's log, on stderr. */
    char *log = path_in(run->out, "log");
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(dup2(fd, 2), 0);
    close(fd);
    run->ret = vf_encoder_ops(p)->transcode(p->state, clip, &params, &run->err);
    fflush(stderr);
    ck_assert_int_ge(dup2(saved, 2), 0);
    close(saved);
    ck_assert_int_eq(vft_sh(&run->log, "cat '%s'", log), 0);
    unlink(log);
    free(log);
}

/* resume_run_cut() in segments of RESUME_SECONDS. */
static void resume_run_as(resume_run_t *run, vf_plugin_t *p, const char *clip, uint32_t outputs, int64_t first,
                          const char *published, int64_t reported_from, double cancel_after)
{
    resume_run_cut(run, p, clip, outputs, first, published, reported_from, cancel_after, RESUME_SECONDS);
}

static void resume_run(resume_run_t *run, vf_plugin_t *p, const char *clip, uint32_t outputs, int64_t first,
                       const char *published)
{
    resume_run_as(run, p, clip, outputs, first, published, first, -1);
}

/* A resumed run that cannot continue `published`: reported from 0. */
static void resume_run_falling_back(resume_run_t *run, vf_plugin_t *p, const char *clip, uint32_t outputs,
                                    const char *published)
{
    resume_run_as(run, p, clip, outputs, RESUME_FIRST, published, 0, -1);
}

static void resume_run_free(resume_run_t *run)
{
    vft_rmrf(run->out);
    vft_rmrf(run->hls);
    vft_rmrf(run->kept);
    free(run->out);
    free(run->hls);
    free(run->kept);
    free(run->mp4[0]);
    free(run->mp4[1]);
    free(run->log);
}

/* Lay out a whole run's files as a stopped job published them: segments
 * 0 .. RESUME_FIRST - 1; `swap` exchanges the two renditions' inits. */
static char *publish(const resume_run_t *whole, int swap)
{
    char *dir = vft_tmpdir("ffe-published");
    for (size_t r = 0; r < 2; r++) {
        const char *name = whole->r[r].name;
        ck_assert_int_eq(vft_sh(NULL, "mkdir '%s/%s' && cp '%s/%zu-init.mp4' '%s/%s/init.mp4'", dir, name,
                                whole->kept, swap ? 1 - r : r, dir, name), 0);
        for (int n = 0; n < RESUME_FIRST; n++)
            ck_assert_int_eq(vft_sh(NULL, "cp '%s/%zu-%d.m4s' '%s/%s/%d.m4s'", whole->kept, r, n, dir, name, n), 0);
    }
    return dir;
}

/* Run A: a whole run of another picture, published as far as
 * RESUME_FIRST (`swap`: see publish()); returns the published dir. */
static char *whole_run_published(resume_run_t *a, vf_plugin_t *p, int swap)
{
    resume_run(a, p, clip_resume_a, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, 0, NULL);
    ck_assert_msg(a->ret == 0, "whole run: %s", a->err.message);
    return publish(a, swap);
}

/* The MP4 of rendition r: whole and playable, its video packets those of
 * `early`'s segments before RESUME_FIRST (or not, `early_same` 0) followed
 * by `late`'s later segments, its audio packets not overlapping. */
static void assert_joined_mp4(const resume_run_t *run, size_t r, const resume_run_t *early, int early_same,
                              const resume_run_t *late)
{
    const char *mp4 = run->mp4[r];
    /* (not assert_rendition(): ultrafast makes Constrained Baseline) */
    ck_assert_int_eq((int)vfm_probe_num(mp4, "v:0", "height"), run->r[r].height);
    ck_assert_int_eq(vfm_count_streams(mp4, "a"), 1);
    double seconds = vfm_probe_num(mp4, NULL, "duration");
    ck_assert_msg(fabs(seconds - 7.0) <= 0.1, "%s lasts %.3f s, the clip 7 s", mp4, seconds);
    ck_assert_msg(vfm_moov_before_mdat(mp4) == 1, "%s: moov is not before mdat", mp4);
    ck_assert_msg(vfm_decodes(mp4), "%s does not decode", mp4);
    packets_t *all = malloc(sizeof *all), *seg = malloc(sizeof *seg);
    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(seg);
    read_packets(mp4, "v:0", all);
    int at = 0, differ = 0;
    char init[1024];
    for (int n = 0; n < RESUME_COUNT; n++) {
        const resume_run_t *from = n < RESUME_FIRST ? early : late;
        snprintf(init, sizeof init, "%s/%zu-init.mp4", from->kept, r);
        segment_packets(init, from->kept, r, n, "v:0", seg);
        for (int k = 0; k < seg->count; k++, at++) {
            ck_assert_msg(at < all->count, "%s has fewer video packets than its segments", mp4);
            int same = strcmp(all->hash[at], seg->hash[k]) == 0;
            if (n >= RESUME_FIRST || early_same)
                ck_assert_msg(same, "%s: video packet %d is not packet %d of segment %d", mp4, at, k, n);
            else
                differ += !same;
        }
    }
    ck_assert_int_eq(at, all->count);
    if (!early_same)
        ck_assert_msg(differ > 0, "%s begins with the published packets although they did not fit", mp4);
    read_packets(mp4, "a:0", all);
    /* No audio packet begins before the one before it ends: an MP4 cannot
     * say so, its durations are the gaps between decode times, so a packet
     * that did would leave the one before it shorter than an AAC frame. */
    for (int k = 1; k < all->count; k++) {
        ck_assert_msg(all->dts[k] > all->dts[k - 1], "%s: audio packet %d at %.6f s after %.6f s", mp4, k,
                      all->dts[k], all->dts[k - 1]);
        ck_assert_msg(all->dts[k] - all->dts[k - 1] >= 1024 / 48000.0 - 0.0005,
                      "%s: audio packet %d at %.6f s overlaps the one at %.6f s", mp4, k, all->dts[k],
                      all->dts[k - 1]);
    }
    free(all);
    free(seg);
}

/* Segment RESUME_FIRST of `resumed` starts where the whole run's did: its
 * first video dts is the end of the published segment before it, its
 * first video pts the whole run's. */
static void assert_continues(const resume_run_t *whole, const resume_run_t *resumed)
{
    packets_t *prev = malloc(sizeof *prev), *next = malloc(sizeof *next), *own = malloc(sizeof *own);
    ck_assert_ptr_nonnull(prev);
    ck_assert_ptr_nonnull(next);
    ck_assert_ptr_nonnull(own);
    char init[1024];
    for (size_t r = 0; r < 2; r++) {
        snprintf(init, sizeof init, "%s/%zu-init.mp4", whole->kept, r);
        segment_packets(init, whole->kept, r, RESUME_FIRST - 1, "v:0", prev);
        segment_packets(init, whole->kept, r, RESUME_FIRST, "v:0", own);
        segment_packets(init, resumed->kept, r, RESUME_FIRST, "v:0", next);
        ck_assert_int_gt(prev->count, 0);
        ck_assert_int_gt(next->count, 0);
        double end = prev->dts[prev->count - 1] + prev->duration[prev->count - 1];
        ck_assert_msg(fabs(next->dts[0] - end) < 0.0005, "rendition %zu: segment %d starts at dts %.6f s, the "
                      "published segment before it ends at %.6f s", r, RESUME_FIRST, next->dts[0], end);
        ck_assert_msg(fabs(next->pts[0] - own->pts[0]) < 0.0005 && fabs(next->dts[0] - own->dts[0]) < 0.0005,
                      "rendition %zu: segment %d starts at pts %.6f dts %.6f, a whole run's at %.6f %.6f", r,
                      RESUME_FIRST, next->pts[0], next->dts[0], own->pts[0], own->dts[0]);
    }
    free(prev);
    free(next);
    free(own);
}

/* Run A (a whole run of another picture) published 2 segments; run B
 * continues them on this clip: only the rest is encoded, with the
 * timestamps of a whole run, and the MP4 is A's first segments followed
 * by B's.  With HLS alone, the same segments and no MP4. */
static void check_resume(const char *config)
{
    vf_plugin_t *p = load(config);
    ck_assert_uint_eq(p->encoder_caps.flags & VF_ENCODER_HLS_RESUME, VF_ENCODER_HLS_RESUME);
    resume_run_t a, b, c;
    char *published = whole_run_published(&a, p, 0);

    resume_run(&b, p, clip_resume_b, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, RESUME_FIRST, published);
    ck_assert_msg(b.ret == 0, "resumed run: %s", b.err.message);
    ck_assert_msg(!strstr(b.log, "cannot continue"), "the resumed run fell back: %s", b.log);
    assert_hls(&b.seen, 2, RESUME_COUNT, RESUME_SECONDS, 7.0);
    assert_continues(&a, &b);
    for (size_t r = 0; r < 2; r++) {
        assert_joined_mp4(&b, r, &a, 1, &b);
        /* The initialisation segment reported is the published one. */
        char init[1024];
        snprintf(init, sizeof init, "%s/%zu-init.mp4", b.kept, r);
        ck_assert_int_eq(vft_sh(NULL, "cmp -s '%s' '%s/%s/init.mp4'", init, published, b.r[r].name), 0);
    }
    ck_assert_int_eq(entries_in(b.hls), 0);
    ck_assert_int_eq(entries_in(b.out), 2);
    ck_assert_msg(!b.watch.decreasing && !b.watch.out_of_range, "progress went backwards or out of range");
    ck_assert_msg(b.watch.last_percent == 100.0, "last progress %g", b.watch.last_percent);
    /* The published files are read, never changed. */
    ck_assert_int_eq(vft_sh(NULL, "cmp -s '%s/0-1.m4s' '%s/90p/1.m4s'", a.kept, published), 0);

    resume_run(&c, p, clip_resume_b, VF_OUTPUT_HLS, RESUME_FIRST, published);
    ck_assert_msg(c.ret == 0, "resumed run, HLS alone: %s", c.err.message);
    assert_hls(&c.seen, 2, RESUME_COUNT, RESUME_SECONDS, 7.0);
    assert_continues(&a, &c);
    ck_assert_int_eq(entries_in(c.hls), 0);
    ck_assert_int_eq(entries_in(c.out), 0);

    resume_run_free(&a);
    resume_run_free(&b);
    resume_run_free(&c);
    vft_rmrf(published);
    free(published);
    vft_plugin_free(p);
}

START_TEST(test_hls_resume)
{
    check_resume("");
}
END_TEST

/* Without B-frames the whole run's muxer shifts by the AAC priming alone:
 * the new audio then begins before the published audio ends, and those
 * packets are dropped from the MP4 (its decode times keep rising). */
START_TEST(test_hls_resume_no_bframes)
{
    check_resume("preset = \"ultrafast\";");
}
END_TEST

/* An HLS-only run that fell back: it succeeded, warned of `reason`,
 * reported every segment from 0 and left hls_dir empty. */
static void assert_fell_back(const resume_run_t *run, const char *reason)
{
    ck_assert_msg(run->ret == 0, "resumed run: %s", run->err.message);
    ck_assert_msg(strstr(run->log, "cannot continue") && strstr(run->log, reason), "no warning naming '%s': %s",
                  reason, run->log);
    assert_hls(&run->seen, 2, RESUME_COUNT, RESUME_SECONDS, 7.0);
    ck_assert_int_eq(entries_in(run->hls), 0);
}

/* Published files that do not fit what this run writes (the renditions'
 * inits swapped), or are missing: one warning, the whole source encoded
 * again, the job still succeeds, every segment reported from 0 (the
 * caller replaces what the new init cannot play). */
START_TEST(test_hls_resume_falls_back)
{
    vf_plugin_t *p = load("");
    resume_run_t a, b, c;
    char *swapped = whole_run_published(&a, p, 1);
    resume_run_falling_back(&b, p, clip_resume_b, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, swapped);
    ck_assert_msg(b.ret == 0, "resumed run: %s", b.err.message);
    ck_assert_msg(strstr(b.log, "cannot continue the 2 published HLS segments") && strstr(b.log, "differs"),
                  "no warning about the mismatch: %s", b.log);
    ck_assert_msg(!strstr(strstr(b.log, "cannot continue") + 1, "cannot continue"), "warned more than once: %s",
                  b.log);
    assert_hls(&b.seen, 2, RESUME_COUNT, RESUME_SECONDS, 7.0);
    for (size_t r = 0; r < 2; r++)
        assert_joined_mp4(&b, r, &a, 0, &b);
    ck_assert_int_eq(entries_in(b.hls), 0);
    ck_assert_msg(b.watch.last_percent == 100.0 && !b.watch.decreasing, "progress: last %g, decreasing %d",
                  b.watch.last_percent, b.watch.decreasing);

    char *missing = publish(&a, 0);
    ck_assert_int_eq(vft_sh(NULL, "rm '%s/180p/1.m4s'", missing), 0);
    resume_run_falling_back(&c, p, clip_resume_b, VF_OUTPUT_HLS, missing);
    assert_fell_back(&c, "1.m4s");

    resume_run_free(&a);
    resume_run_free(&b);
    resume_run_free(&c);
    vft_rmrf(swapped);
    vft_rmrf(missing);
    free(swapped);
    free(missing);
    vft_plugin_free(p);
}
END_TEST

/* Segments published in 1 s and resumed in 2 s from segment 1: the
 * published video ends at 1 s, half a segment from 2 s, yet segment 1 of
 * the new length is not what was published.  The run falls back. */
START_TEST(test_hls_resume_other_segment_length)
{
    vf_plugin_t *p = load("");
    resume_run_t a, b;
    resume_run_cut(&a, p, clip_resume_a, VF_OUTPUT_HLS, 0, NULL, 0, -1, 1.0);
    ck_assert_msg(a.ret == 0, "whole run: %s", a.err.message);
    char *published = publish(&a, 0);
    resume_run_cut(&b, p, clip_resume_b, VF_OUTPUT_HLS, 1, published, 0, -1, RESUME_SECONDS);
    assert_fell_back(&b, "not near");
    resume_run_free(&a);
    resume_run_free(&b);
    vft_rmrf(published);
    free(published);
    vft_plugin_free(p);
}
END_TEST

/* A resumed run that failed left no MP4, nothing in hls_dir, no child. */
static void assert_left_nothing(const resume_run_t *run, const char *how)
{
    ck_assert_msg(entries_in(run->hls) == 0, "%s: %d files left in hls_dir", how, entries_in(run->hls));
    ck_assert_msg(entries_in(run->out) == 0, "%s: %d files left beside the MP4s", how, entries_in(run->out));
    ck_assert_msg(no_children_left(), "%s: a child outlived the job", how);
}

/* The published files are read, never changed (`whole` published them). */
static void assert_published_untouched(const resume_run_t *whole, const char *published)
{
    ck_assert_int_eq(vft_sh(NULL, "cmp -s '%s/1-1.m4s' '%s/180p/1.m4s' && cmp -s '%s/1-init.mp4' '%s/180p/init.mp4'",
                            whole->kept, published, whole->kept, published), 0);
}

/* Faults a real ffmpeg does not make on demand, from a wrapper around it:
 * the trial run failing alone (the run falls back and succeeds), the real
 * run writing another initialisation segment than its trial (x264's preset
 * changed under it: the shifts would not fit, so the job fails), and the
 * callee refusing the first file after the rewrite.  Each leaves no MP4,
 * nothing in hls_dir and no child, and the published files untouched. */
START_TEST(test_hls_resume_faults)
{
    char *bin = vft_tmpdir("ffe-fault"), *wrapper = path_in(bin, "ffmpeg"), *config = NULL;
    FILE *f = fopen(wrapper, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/bash\n"
          "args=(\"$@\")\n"
          "case \"$PWD\" in\n"
          "*/.trial-*) [ \"$FFE_FAULT\" = trial ] && { echo 'the trial is refused by the test' >&2; exit 1; } ;;\n"
          "*) if [ \"$FFE_FAULT\" = init ] && [[ \" $* \" == *' -ss '* && \"$*\" == *hls* ]]; then\n"
          "       for i in \"${!args[@]}\"; do [ \"${args[i]}\" = -preset ] && args[i+1]=ultrafast; done\n"
          "   fi ;;\n"
          "esac\n"
          "exec ffmpeg \"${args[@]}\"\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(wrapper, 0755), 0);
    ck_assert_int_ge(asprintf(&config, "ffmpeg = \"%s\";", wrapper), 0);
    vf_plugin_t *p = load("");
    vf_plugin_t *faulty = load(config);
    resume_run_t a, b;
    char *published = whole_run_published(&a, p, 0);

    setenv("FFE_FAULT", "trial", 1);
    resume_run_falling_back(&b, faulty, clip_resume_b, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, published);
    assert_fell_back(&b, "the trial is refused by the test");
    for (size_t r = 0; r < 2; r++)
        assert_joined_mp4(&b, r, &a, 0, &b);
    resume_run_free(&b);

    setenv("FFE_FAULT", "init", 1);
    resume_run(&b, faulty, clip_resume_b, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, RESUME_FIRST, published);
    ck_assert_msg(b.ret == -EINVAL && strstr(b.err.message, "cannot continue the published HLS files"),
                  "another init than the trial's: %d (%s)", b.ret, b.err.message);
    ck_assert_msg(b.seen.calls == 0, "%d files reported with an init the shifts do not fit", b.seen.calls);
    assert_left_nothing(&b, "another init");
    resume_run_free(&b);
    unsetenv("FFE_FAULT");

    refuse_next_at = 2;
    resume_run(&b, p, clip_resume_b, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, RESUME_FIRST, published);
    ck_assert_msg(b.ret == -EPIPE, "refused after the rewrite: %d (%s)", b.ret, b.err.message);
    ck_assert_int_eq(b.seen.calls, 2);
    assert_left_nothing(&b, "refused");
    resume_run_free(&b);

    assert_published_untouched(&a, published);
    resume_run_free(&a);
    vft_rmrf(published);
    vft_rmrf(bin);
    free(published);
    free(bin);
    free(wrapper);
    free(config);
    vft_plugin_free(faulty);
    vft_plugin_free(p);
}
END_TEST

/* A resumed job cancelled (while it copies the published segments, in its
 * trial run or in its encode) leaves nothing: no MP4, hls_dir empty (trial
 * directory and joined files included), no child, and the published files
 * untouched. */
START_TEST(test_hls_resume_cancelled)
{
    vf_plugin_t *p = load("");
    resume_run_t a, b;
    char *published = whole_run_published(&a, p, 0);
    const double cancel_after[] = {CANCEL_COPYING, 0, 0.3};
    for (int k = 0; k < 3; k++) {
        resume_run_as(&b, p, clip_resume_b, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, RESUME_FIRST, published, RESUME_FIRST,
                      cancel_after[k]);
        ck_assert_msg(b.ret == -ECANCELED, "cancelled after %.1f s: %d (%s)", cancel_after[k], b.ret,
                      b.err.message);
        if (k == 0)
            ck_assert_msg(b.watch.cancelled_at > 0 && !b.watch.child,
                          "not cancelled while copying the published segments (ffmpeg %s)",
                          b.watch.child ? "ran" : "did not run");
        assert_left_nothing(&b, "cancelled");
        resume_run_free(&b);
    }
    assert_published_untouched(&a, published);
    resume_run_free(&a);
    vft_rmrf(published);
    free(published);
    vft_plugin_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("encoder_ffmpeg");
    TCase *tc = tcase_create("ffmpeg");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_settings);
    tcase_add_test(tc, test_probe_good);
    tcase_add_test(tc, test_probe_rotation);
    tcase_add_test(tc, test_probe_bad);
    tcase_add_test(tc, test_sources_naming_other_files_refused);
    tcase_add_test(tc, test_transcode_renditions);
    tcase_add_test(tc, test_transcode_no_audio_no_upscale);
    tcase_add_test(tc, test_transcode_odd_sizes);
    tcase_add_test(tc, test_transcode_rotation);
    tcase_add_test(tc, test_transcode_tmp_dir);
    tcase_add_test(tc, test_thumbnail);
    tcase_add_test(tc, test_thumbnail_past_video_end);
    tcase_add_test(tc, test_http_source);
    tcase_add_test(tc, test_http_source_unavailable);
    tcase_add_test(tc, test_unrunnable_ffmpeg);
    tcase_add_test(tc, test_own_codec_settings);
    tcase_add_test(tc, test_failure_messages);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_parallel);
    tcase_add_test(tc, test_capabilities_outputs);
    tcase_add_test(tc, test_hls_and_mp4);
    tcase_add_test(tc, test_hls_while_running);
    tcase_add_test(tc, test_hls_odd_paths);
    tcase_add_test(tc, test_hls_refused);
    tcase_add_test(tc, test_hls_bad_params);
    tcase_add_test(tc, test_bmff_nested_boxes);
    tcase_add_test(tc, test_bmff_huge_trun);
    tcase_add_test(tc, test_bmff_empty_full_boxes);
    suite_add_tcase(s, tc);
    /* A case of its own: CK_RUN_CASE=hls_resume runs it alone. */
    TCase *resume = tcase_create("hls_resume");
    tcase_add_unchecked_fixture(resume, setup, teardown);
    tcase_set_timeout(resume, 120);
    tcase_add_test(resume, test_hls_resume);
    tcase_add_test(resume, test_hls_resume_no_bframes);
    tcase_add_test(resume, test_hls_resume_falls_back);
    tcase_add_test(resume, test_hls_resume_other_segment_length);
    tcase_add_test(resume, test_hls_resume_cancelled);
    tcase_add_test(resume, test_hls_resume_faults);
    suite_add_tcase(s, resume);
    return s;
}

/* The contract every encoder plugin passes. */
static Suite *encoder_ffmpeg_contract(void)
{
    static const vfc_subject_t subject = {"encoder_ffmpeg", "encoder_ffmpeg", ""};
    return vfc_encoder_suite(&subject);
}

VFC_MAIN(suite, encoder_ffmpeg_contract)
