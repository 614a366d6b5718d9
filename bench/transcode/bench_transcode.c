/*
 * bench_transcode.c - the transcode benchmark (README.md beside this file):
 * one 1080p30 H.264/AAC source through
 *   1. the pipeline: tus upload, `videoflix serve`, `videoflix worker` with
 *      the chosen encoder plugin, the whole ladder (120p/360p/720p/1080p)
 *      and the thumbnail, until the video is ready;
 *   2. reference A: five separate ffmpeg processes, one per rendition and
 *      one for the thumbnail, run one after the other;
 *   3. reference B: one ffmpeg process decoding once and feeding every
 *      rendition (and the thumbnail) through a split filter graph;
 * and prints CPU seconds (user+sys of the process tree), wall seconds, the
 * time until the first rendition is playable, output sizes and the ratios
 * to reference A.
 *
 * With --hls, instead of the references: the pipeline twice in the same
 * run, media.outputs = ["mp4"] and then ["mp4", "hls"], printing the
 * "HLS CPU overhead" (CPU of the second over the first) and "first HLS
 * segment playable" (seconds from the video's creation, which enqueues
 * its job, until every rendition's media playlist object lists a segment).
 *
 * usage: bench_transcode [--encoder NAME] [--split whole_ladder|per_rendition]
 *                        [--concurrency N] [--seconds S] [--source FILE]
 *                        [--hls | --first-segment | --resume]
 *
 * --first-segment: only the pipeline with HLS, stopped as soon as the
 * first segment of every rendition is playable, printing when.
 *
 * --resume: the pipeline with MP4 and HLS twice: a whole run, then one
 * whose worker is SIGKILLed once every rendition has published half of
 * its segments and whose job a second worker resumes; prints the second
 * worker's CPU against the whole run's.
 */
#include "config.h"
#include "tests/e2e/uploads_fixture.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int heights[] = {120, 360, 720, 1080};
#define NHEIGHTS 4

typedef struct result {
    const char *name;
    double cpu, wall, first;
    double bytes;
    double first_hls;      /* -1: HLS not made */
    /* --resume: the worker is killed once every rendition has published
     * kill_at segments, and another one finishes the job; cpu and wall are
     * then the second worker's, from its start. */
    long kill_at;          /* 0: no kill */
    double killed_cpu;     /* the killed worker's CPU */
    long resumed_at;       /* the fewest segments published at the kill */
} result_t;

static const char *const qualities[] = {"120p", "360p", "720p", "1080p"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* Run argv, wait; CPU seconds of it and its children into *cpu. */
static int run_measured(char *const argv[], double *cpu)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return -1;
    *cpu += tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (double)sb.st_size : 0;
}

static int make_source(const char *path, int seconds)
{
    char picture[160], dur[16];
    snprintf(picture, sizeof picture, "testsrc2=size=1920x1080:rate=30,noise=alls=12:allf=t+u");
    snprintf(dur, sizeof dur, "%d", seconds);
    char *argv[] = {"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", dur, "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", (char *)path, NULL};
    double cpu = 0;
    return run_measured(argv, &cpu);
}

/* --------------------------------------------------------- the pipeline */

/* 1 when every rendition's media playlist object lists a segment. */
static int hls_playable(const ufix_t *f, int64_t vid)
{
    for (int i = 0; i < NHEIGHTS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/videos/%" PRId64 "/1/hls/%s/index.m3u8", f->media_root, vid, qualities[i]);
        size_t len = 0;
        char *text = vft_read_file(path, &len);
        int listed = text && strstr(text, "#EXTINF:") != NULL;
        free(text);
        if (!listed)
            return 0;
    }
    return 1;
}

/* The worker as our own child, so that wait4 reports its CPU and that of
 * the encoders it ran; its log in the fixture's directory. */
static pid_t start_worker(const ufix_t *f, int concurrency, const char *log_name)
{
    char conc[16], log[4096];
    char *bin = getenv("VF_BINARY");
    snprintf(conc, sizeof conc, "%d", concurrency);
    snprintf(log, sizeof log, "%s/%s", f->dir, log_name);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stderr))
            _exit(127);
        char *argv[] = {bin, "--config", f->config, "worker", "--concurrency", conc, NULL};
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

/* The fewest segments any rendition has published, 0 until every one has
 * its stream row. */
static long published_everywhere(ufix_t *f, int64_t vid)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT CASE WHEN count(*) = %d THEN min(segments) ELSE 0 END FROM video_hls_streams "
             "WHERE video_id = %" PRId64,
             NHEIGHTS, vid);
    char *v = ufix_sql(f, sql);
    long n = v ? atol(v) : 0;
    free(v);
    return n;
}

/* `outputs`: the value of media.outputs, e.g. "\"mp4\", \"hls\"".
 * `until_first_hls`: stop the worker as soon as every rendition's first
 * HLS segment is playable (--first-segment), instead of at ready. */
static int pipeline(const char *source, const char *encoder, const char *split, int concurrency, const char *outputs,
                    int until_first_hls, result_t *r)
{
    char extra[256], media[512];
    snprintf(extra, sizeof extra, "encoder = { plugin = \"%s\"; };\nupload = { chunk_max = 16777216; };", encoder);
    snprintf(media, sizeof media,
             "renditions = ( { name = \"120p\"; height = 120; }, { name = \"360p\"; height = 360; }, "
             "{ name = \"720p\"; height = 720; }, { name = \"1080p\"; height = 1080; } ); outputs = [%s];",
             outputs);
    int hls = strstr(outputs, "hls") != NULL;
    ufix_opts_t o = {.media = media, .job_split = split, .extra = extra};
    ufix_t f;
    if (ufix_setup(&f, &o) != 0) {
        fprintf(stderr, "bench: cannot set up the server (see %s)\n", f.dir ? f.dir : "?");
        return -1;
    }
    int ret = -1;
    char id[33];
    if (ufix_tus_upload_file(&f, source, 16u << 20, id) != 0) {
        fprintf(stderr, "bench: the upload failed\n");
        goto out;
    }
    pid_t pid = start_worker(&f, concurrency, "bench-worker.log");
    if (pid < 0)
        goto out;
    double t0 = now_s();
    int64_t vid = ufix_create_video(&f, "Benchmark", "Documentary", id);
    r->first = -1;
    r->first_hls = -1;
    json_t *v = NULL;
    char path[96];
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/", vid);
    for (;;) {
        json_decref(v);
        v = NULL;
        if (ufix_json(&f, "GET", path, NULL, &v) != 200)
            break;
        const char *st = json_string_value(json_object_get(v, "processing_state"));
        if (r->first < 0 && json_object_size(json_object_get(v, "converted_files")) > 0)
            r->first = now_s() - t0;
        if (hls && r->first_hls < 0 && hls_playable(&f, vid))
            r->first_hls = now_s() - t0;
        if (until_first_hls && r->first_hls >= 0)
            break;
        if (r->kill_at > 0 && !r->resumed_at && (r->resumed_at = published_everywhere(&f, vid)) >= r->kill_at) {
            struct rusage ru;
            int status;
            kill(pid, SIGKILL);
            if (wait4(pid, &status, 0, &ru) != pid)
                break;
            r->killed_cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
            r->resumed_at = published_everywhere(&f, vid);
            fprintf(stderr, "bench: worker killed with %ld segments of every rendition published\n",
                    r->resumed_at);
            if ((pid = start_worker(&f, concurrency, "bench-worker-2.log")) < 0)
                break;
            t0 = now_s();
            continue;
        }
        if (r->kill_at > 0 && r->resumed_at < r->kill_at)
            r->resumed_at = 0;
        if (st && (!strcmp(st, "ready") || !strcmp(st, "failed")))
            break;
        usleep(50000);
    }
    r->wall = now_s() - t0;
    const char *st = json_string_value(json_object_get(v, "processing_state"));
    int ready = until_first_hls ? r->first_hls >= 0 : st && !strcmp(st, "ready");
    if (!ready)
        fprintf(stderr, "bench: the video ended %s: %s\n", st ? st : "?",
                json_string_value(json_object_get(v, "processing_error")));
    r->bytes = 0;
    const char *q;
    json_t *key;
    json_object_foreach(json_object_get(v, "converted_files"), q, key) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", f.media_root, json_string_value(key));
        r->bytes += file_size(p);
    }
    char thumb[4096];
    snprintf(thumb, sizeof thumb, "%s/videos/%" PRId64 "/1/thumbnail.jpg", f.media_root, vid);
    r->bytes += file_size(thumb);
    json_decref(v);
    struct rusage ru;
    int status;
    if (pid > 0 && kill(pid, SIGTERM) == 0 && wait4(pid, &status, 0, &ru) == pid)
        r->cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    ret = ready && pid > 0 ? 0 : -1;
out:
    ufix_teardown(&f);
    return ret;
}

/* ------------------------------------------------------- the references */

static int reference_separate(const char *source, const char *dir, result_t *r)
{
    double t0 = now_s();
    r->cpu = 0;
    r->bytes = 0;
    r->first = -1;
    for (int i = 0; i < NHEIGHTS; i++) {
        char scale[32], out[4096];
        snprintf(scale, sizeof scale, "scale=-2:%d", heights[i]);
        snprintf(out, sizeof out, "%s/ref-%dp.mp4", dir, heights[i]);
        char *argv[] = {"ffmpeg", "-v", "error", "-y", "-i", (char *)source, "-vf", scale, "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "28", "-c:a", "aac", "-movflags", "+faststart", out, NULL};
        if (run_measured(argv, &r->cpu) != 0)
            return -1;
        if (r->first < 0)
            r->first = now_s() - t0;
        r->bytes += file_size(out);
    }
    char thumb[4096];
    snprintf(thumb, sizeof thumb, "%s/ref-thumb.jpg", dir);
    char *argv[] = {"ffmpeg", "-v", "error", "-y", "-ss", "1", "-i", (char *)source, "-vframes", "1", "-q:v", "2",
                    thumb, NULL};
    if (run_measured(argv, &r->cpu) != 0)
        return -1;
    r->bytes += file_size(thumb);
    r->wall = now_s() - t0;
    return 0;
}

static int reference_split(const char *source, const char *dir, result_t *r)
{
    char graph[1024];
    int n = snprintf(graph, sizeof graph, "[0:v]split=%d", NHEIGHTS + 1);
    for (int i = 0; i <= NHEIGHTS; i++)
        n += snprintf(graph + n, sizeof graph - (size_t)n, "[v%d]", i);
    for (int i = 0; i < NHEIGHTS; i++)
        n += snprintf(graph + n, sizeof graph - (size_t)n, ";[v%d]scale=-2:%d[o%d]", i, heights[i], i);
    snprintf(graph + n, sizeof graph - (size_t)n, ";[v%d]trim=start=1,setpts=PTS-STARTPTS[thumb]", NHEIGHTS);
    char *argv[128];
    char labels[NHEIGHTS][16], outs[NHEIGHTS + 1][4096];
    int a = 0;
    const char *head[] = {"ffmpeg", "-v", "error", "-y", "-i", source, "-filter_complex", graph};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        argv[a++] = (char *)head[i];
    for (int i = 0; i < NHEIGHTS; i++) {
        snprintf(labels[i], sizeof labels[i], "[o%d]", i);
        snprintf(outs[i], sizeof outs[i], "%s/split-%dp.mp4", dir, heights[i]);
        const char *o[] = {"-map", labels[i], "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
                           "-c:a", "aac", "-movflags", "+faststart", outs[i]};
        for (size_t k = 0; k < sizeof o / sizeof o[0]; k++)
            argv[a++] = (char *)o[k];
    }
    snprintf(outs[NHEIGHTS], sizeof outs[NHEIGHTS], "%s/split-thumb.jpg", dir);
    const char *t[] = {"-map", "[thumb]", "-frames:v", "1", "-q:v", "2", outs[NHEIGHTS]};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
        argv[a++] = (char *)t[k];
    argv[a] = NULL;
    r->cpu = 0;
    double t0 = now_s();
    if (run_measured(argv, &r->cpu) != 0)
        return -1;
    r->wall = now_s() - t0;
    r->first = r->wall; /* every output is finished at the end */
    r->bytes = 0;
    for (int i = 0; i <= NHEIGHTS; i++)
        r->bytes += file_size(outs[i]);
    return 0;
}

/* ---------------------------------------------------------------- main */

/* --hls: the pipeline without and with HLS, in this order. */
static int hls_overhead(const char *source, const char *encoder, const char *split, int concurrency)
{
    result_t mp4 = {.name = "pipeline, outputs mp4"}, both = {.name = "pipeline, outputs mp4 + hls"};
    fprintf(stderr, "bench: the pipeline with MP4 only...\n");
    if (pipeline(source, encoder, split, concurrency, "\"mp4\"", 0, &mp4) != 0)
        return 1;
    fprintf(stderr, "bench: the pipeline with MP4 and HLS...\n");
    if (pipeline(source, encoder, split, concurrency, "\"mp4\", \"hls\"", 0, &both) != 0)
        return 1;
    printf("source: %s (%.1f MiB); ladder 120p/360p/720p/1080p + thumbnail; %s, %s, %d slot%s\n", source,
           file_size(source) / 1048576.0, encoder, split, concurrency, concurrency > 1 ? "s" : "");
    printf("%-44s %8s %8s %10s\n", "", "cpu s", "wall s", "first s");
    printf("%-44s %8.1f %8.1f %10.1f\n", mp4.name, mp4.cpu, mp4.wall, mp4.first);
    printf("%-44s %8.1f %8.1f %10.1f\n", both.name, both.cpu, both.wall, both.first);
    printf("HLS CPU overhead: %.3f (goal <= 1.03)\n", both.cpu / mp4.cpu);
    if (both.first_hls < 0)
        printf("first HLS segment playable: never (a rendition's playlist listed no segment)\n");
    else
        printf("first HLS segment playable: %.1f s (goal <= 15 s)\n", both.first_hls);
    return 0;
}

/* --first-segment: how soon a long source starts to play over HLS; the
 * worker is stopped there, so a 10-minute source costs seconds, not an
 * hour. */
static int first_segment(const char *source, const char *encoder, const char *split, int concurrency)
{
    result_t r = {.name = "pipeline, outputs mp4 + hls"};
    fprintf(stderr, "bench: the pipeline with MP4 and HLS, until the first segments...\n");
    if (pipeline(source, encoder, split, concurrency, "\"mp4\", \"hls\"", 1, &r) != 0)
        return 1;
    printf("source: %s (%.1f MiB); ladder 120p/360p/720p/1080p; %s, %s, %d slot%s\n", source,
           file_size(source) / 1048576.0, encoder, split, concurrency, concurrency > 1 ? "s" : "");
    printf("first HLS segment playable: %.1f s after the video's creation (goal <= 15 s)\n", r.first_hls);
    return 0;
}

/* --resume: a whole run, then a run whose worker is killed half-way and
 * whose job another worker resumes; the second worker's CPU against the
 * whole run's (it should be about the half that was left, not all of it). */
static int resume_cost(const char *source, const char *encoder, const char *split, int concurrency, double seconds)
{
    result_t whole = {.name = "whole run"}, resumed = {.name = "resumed half-way: the second worker"};
    resumed.kill_at = (long)(seconds / 4.0 / 2.0); /* media.hls_segment_seconds is 4 */
    if (resumed.kill_at < 1)
        resumed.kill_at = 1;
    fprintf(stderr, "bench: a whole run...\n");
    if (pipeline(source, encoder, split, concurrency, "\"mp4\", \"hls\"", 0, &whole) != 0)
        return 1;
    fprintf(stderr, "bench: a run killed after %ld segments, then resumed...\n", resumed.kill_at);
    if (pipeline(source, encoder, split, concurrency, "\"mp4\", \"hls\"", 0, &resumed) != 0)
        return 1;
    long total = (long)(seconds / 4.0 + 0.999);
    printf("source: %s (%.1f MiB, %.0f s: %ld segments); ladder 120p/360p/720p/1080p + thumbnail; %s, %s\n",
           source, file_size(source) / 1048576.0, seconds, total, encoder, split);
    printf("%-44s %8s %8s\n", "", "cpu s", "wall s");
    printf("%-44s %8.1f %8.1f\n", whole.name, whole.cpu, whole.wall);
    printf("%-44s %8.1f %8.1f\n", "resumed: the killed worker", resumed.killed_cpu, 0.0);
    printf("%-44s %8.1f %8.1f\n", resumed.name, resumed.cpu, resumed.wall);
    printf("resumed at segment %ld of %ld: the second worker's CPU is %.2f of a whole run's "
           "(left to encode: %.2f)\n",
           resumed.resumed_at, total, resumed.cpu / whole.cpu, 1.0 - (double)resumed.resumed_at / (double)total);
    return 0;
}

static double source_seconds(const char *source)
{
    char *out = NULL;
    double d = -1;
    if (vft_sh(&out, "ffprobe -v error -show_entries format=duration -of csv=p=0 '%s'", source) == 0 && out)
        d = atof(out);
    free(out);
    return d;
}

static void print_row(const result_t *r, const result_t *ref)
{
    printf("%-44s %8.1f %8.1f %10.1f %9.1f %8.2f %8.2f\n", r->name, r->cpu, r->wall, r->first, r->bytes / 1048576.0,
           r->cpu / ref->cpu, r->wall / ref->wall);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"encoder", required_argument, NULL, 'e'},
                                         {"split", required_argument, NULL, 's'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"seconds", required_argument, NULL, 'S'},
                                         {"source", required_argument, NULL, 'i'},
                                         {"hls", no_argument, NULL, 'H'},
                                         {"first-segment", no_argument, NULL, 'F'},
                                         {"resume", no_argument, NULL, 'R'},
                                         {NULL, 0, NULL, 0}};
    const char *encoder = "encoder_ffmpeg", *split = "whole_ladder", *source = NULL;
    int concurrency = 1, seconds = 60, opt, hls = 0, first = 0, resume = 0;
    while ((opt = getopt_long(argc, argv, "e:s:c:S:i:HFR", opts, NULL)) != -1) {
        switch (opt) {
        case 'e': encoder = optarg; break;
        case 's': split = optarg; break;
        case 'c': concurrency = atoi(optarg); break;
        case 'S': seconds = atoi(optarg); break;
        case 'i': source = optarg; break;
        case 'H': hls = 1; break;
        case 'F': first = 1; break;
        case 'R': resume = 1; break;
        default:
            fprintf(stderr, "usage: bench_transcode [--encoder NAME] [--split whole_ladder|per_rendition] "
                            "[--concurrency N] [--seconds S] [--source FILE] [--hls | --first-segment | --resume]\n");
            return 2;
        }
    }
    char *dir = vft_tmpdir("vf-bench-transcode");
    if (!dir)
        return 1;
    char made[4096];
    if (!source) {
        snprintf(made, sizeof made, "%s/source.mp4", dir);
        fprintf(stderr, "bench: making a %d s 1080p30 source...\n", seconds);
        if (make_source(made, seconds) != 0) {
            fprintf(stderr, "bench: ffmpeg could not make the source\n");
            return 1;
        }
        source = made;
    }
    if (resume) {
        double length = source_seconds(source);
        int status = length > 0 ? resume_cost(source, encoder, split, concurrency, length) : 1;
        vft_rmrf(dir);
        free(dir);
        return status;
    }
    if (hls || first) {
        int status = first ? first_segment(source, encoder, split, concurrency)
                           : hls_overhead(source, encoder, split, concurrency);
        vft_rmrf(dir);
        free(dir);
        return status;
    }
    char name[128];
    snprintf(name, sizeof name, "pipeline (%s, %s, %d slot%s)", encoder, split, concurrency,
             concurrency > 1 ? "s" : "");
    result_t pipe = {.name = name}, sep = {.name = "reference A: 5 ffmpeg processes"},
             one = {.name = "reference B: 1 ffmpeg process, split graph"};
    fprintf(stderr, "bench: the pipeline...\n");
    if (pipeline(source, encoder, split, concurrency, "\"mp4\"", 0, &pipe) != 0)
        return 1;
    fprintf(stderr, "bench: reference A...\n");
    if (reference_separate(source, dir, &sep) != 0)
        return 1;
    fprintf(stderr, "bench: reference B...\n");
    if (reference_split(source, dir, &one) != 0)
        return 1;
    printf("source: %s (%.1f MiB); ladder 120p/360p/720p/1080p + thumbnail, libx264 veryfast crf 28, AAC\n", source,
           file_size(source) / 1048576.0);
    printf("%-44s %8s %8s %10s %9s %8s %8s\n", "", "cpu s", "wall s", "first s", "out MiB", "cpu/A", "wall/A");
    print_row(&pipe, &sep);
    print_row(&sep, &sep);
    print_row(&one, &sep);
    vft_rmrf(dir);
    free(dir);
    return 0;
}
