/*
 * transcode.c - see transcode.h.
 *
 * One ffmpeg process writes every rendition: the first video stream goes
 * through `-filter_complex "[0:v:0]split=N..."` into one scaler per output,
 * so the source is read and decoded once however many renditions there
 * are.  The thumbnail asked for with a transcode is one more branch of that
 * split (trim to the chosen time, keep one frame); trim's end makes split
 * drop that branch, so nothing queues behind the finished JPEG.  The
 * thumbnail operation alone seeks the input instead (-ss before -i), which
 * avoids decoding everything before the chosen time.  Either way, a video
 * stream ending before that time yields no frame (ffmpeg still succeeds);
 * the thumbnail is then taken from the first frame in a second, short run.
 *
 * ffmpeg's autorotation stays on, so outputs are upright and carry no
 * rotation; metadata and chapters are not copied (phone videos carry
 * locations in their tags).
 *
 * With HLS (ABI 1.2) each rendition is still encoded once: its output is
 * the tee muxer with an mp4 slave (when MP4 is asked for too) and an hls
 * slave (hls.h), and keyframes are forced at every segment boundary.
 * ffmpeg then runs inside hls_dir; the playlists are watched on every
 * progress report, and the rest is reported once ffmpeg succeeded, before
 * the MP4s are moved into place.
 */
#include "transcode.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"
#include "hls.h"
#include "outputs.h"
#include "plan.h"
#include "probe.h"
#include "resume.h"
#include "run.h"

/* The caller's progress callback, shared by the probe and ffmpeg runs. */
typedef struct call_progress {
    vf_progress_fn fn;
    void *ud;
} call_progress_t;

static void add_head(ffe_argv_t *a, const ffe_state_t *st)
{
    ffe_argv_add(a, st->settings.ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-nostats",
                 "-progress", "pipe:1", "-y", (char *)NULL);
}

/* seek >= 0: start there (input seeking, frames before it decoded and
 * dropped); limit > 0: read that many seconds. */
static void add_input(ffe_argv_t *a, const ffe_source_t *src, double seek, double limit)
{
    if (seek >= 0) {
        ffe_argv_add(a, "-ss", (char *)NULL);
        ffe_argv_addf(a, "%.6f", seek);
    }
    if (limit > 0) {
        ffe_argv_add(a, "-t", (char *)NULL);
        ffe_argv_addf(a, "%.6f", limit);
    }
    ffe_argv_add(a, "-protocol_whitelist", src->protocols, "-format_whitelist", VF_ENCODER_SOURCE_FORMATS, "-i",
                 src->arg, (char *)NULL);
}

static void add_output_path(ffe_argv_t *a, const char *format, const char *tmp_path)
{
    ffe_argv_add(a, "-map_metadata", "-1", "-map_chapters", "-1", "-f", format, (char *)NULL);
    ffe_argv_addf(a, "file:%s", tmp_path);
}

/* The libx264 settings: this plugin's own (its config group) first, then
 * the caller's defaults (media.preset, media.crf), then libx264's. */
static const char *x264_preset(const ffe_state_t *st, const vf_transcode_params_t *p)
{
    return st->settings.preset ? st->settings.preset : p->preset ? p->preset : "medium";
}

static int x264_crf(const ffe_state_t *st, const vf_transcode_params_t *p)
{
    return st->settings.crf >= 0 ? st->settings.crf : p->crf >= 0 ? p->crf : 23;
}

/* The tee target of rendition i: its MP4 (when asked for) and its HLS. */
static char *tee_target(const ffe_hls_t *hls, size_t i, const char *mp4_tmp_path)
{
    ffe_tee_t tee;
    if (ffe_tee_init(&tee) < 0)
        return NULL;
    if (mp4_tmp_path) {
        char *file = NULL;
        ffe_tee_slave(&tee, "mp4");
        ffe_tee_option(&tee, "movflags", "+faststart");
        if (asprintf(&file, "file:%s", mp4_tmp_path) < 0)
            file = NULL;
        ffe_tee_target(&tee, file ? file : "");
        if (!file)
            tee.failed = 1;
        free(file);
    }
    ffe_hls_slave(hls, i, &tee);
    return ffe_tee_finish(&tee);
}

/* One rendition's encoder and output.  mp4_tmp_path NULL: no MP4; hls
 * NULL: no HLS. */
static void add_rendition(ffe_argv_t *a, const ffe_state_t *st, const vf_transcode_params_t *p,
                          size_t index, int has_audio, const char *mp4_tmp_path,
                          const ffe_hls_t *hls)
{
    ffe_argv_add(a, "-map", (char *)NULL);
    ffe_argv_addf(a, "[v%zu]", index);
    ffe_argv_add(a, "-c:v", "libx264", "-preset", x264_preset(st, p), "-profile:v", "high", "-pix_fmt",
                 "yuv420p", (char *)NULL);
    ffe_argv_add(a, "-crf", (char *)NULL);
    ffe_argv_addf(a, "%d", x264_crf(st, p));
    if (st->settings.threads > 0) {
        ffe_argv_add(a, "-threads", (char *)NULL);
        ffe_argv_addf(a, "%d", st->settings.threads);
    }
    if (has_audio) {
        ffe_argv_add(a, "-map", "0:a:0", "-c:a", "aac", "-ac", "2", "-b:a", (char *)NULL);
        ffe_argv_addf(a, "%d", p->audio_bitrate);
    }
    /* x264's lookahead delays the first video packet; let audio wait. */
    ffe_argv_add(a, "-max_muxing_queue_size", "4096", (char *)NULL);
    if (!hls) {
        ffe_argv_add(a, "-movflags", "+faststart", (char *)NULL);
        add_output_path(a, "mp4", mp4_tmp_path);
        return;
    }
    char keyframes[96];
    ffe_hls_keyframes(hls, keyframes, sizeof keyframes);
    /* The tee muxer cannot tell the encoders that its slaves want codec
     * headers out of band (mp4 does); say so. */
    ffe_argv_add(a, "-force_key_frames", keyframes, "-flags", "+global_header", "-map_metadata", "-1",
                 "-map_chapters", "-1", "-f", "tee", (char *)NULL);
    ffe_argv_take(a, tee_target(hls, index, mp4_tmp_path));
}

static void add_thumbnail_output(ffe_argv_t *a, const char *label, const char *tmp_path)
{
    ffe_argv_add(a, "-map", label, "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "2", "-update", "1",
                 (char *)NULL);
    add_output_path(a, "image2", tmp_path);
}

/* snprintf at *len that stops (leaving *len >= cap) once buf is full. */
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 ? cap : *len + (size_t)n;
}

/* "[0:v:0]split=N[s0]..;[s0]scale..[v0];..;[sK]trim..,scale..[thumb]" */
static char *filter_graph(const vf_transcode_params_t *p, const vf_media_info_t *info,
                          double thumb_at, int with_thumb)
{
    size_t branches = p->nrenditions + (with_thumb ? 1 : 0);
    size_t cap = 256 + branches * 160, len = 0;
    char *graph = malloc(cap), scale[96];
    if (!graph)
        return NULL;
    int display_height = ffe_display_height(info);
    appendf(graph, cap, &len, "[0:v:0]split=%zu", branches);
    for (size_t i = 0; i < branches; i++)
        appendf(graph, cap, &len, "[s%zu]", i);
    for (size_t i = 0; i < p->nrenditions; i++) {
        int h = ffe_target_height(p->renditions[i].height, display_height, p->allow_upscale);
        ffe_scale_filter(scale, sizeof scale, h);
        appendf(graph, cap, &len, ";[s%zu]%s[v%zu]", i, scale, i);
    }
    if (with_thumb) {
        ffe_scale_filter(scale, sizeof scale, ffe_thumbnail_height(display_height));
        appendf(graph, cap, &len, ";[s%zu]trim=start=%.3f,trim=end_frame=1,%s[thumb]",
                p->nrenditions, thumb_at, scale);
    }
    if (len >= cap) {
        free(graph);
        return NULL;
    }
    return graph;
}

/* The share of the whole call one ffmpeg run covers, and where it runs. */
typedef struct run_part {
    double duration;           /* seconds of output, for its percentages */
    double from, to;           /* percent */
    const char *cwd;           /* NULL: ours */
    ffe_hls_t *hls;            /* reports finished HLS files as it goes */
} run_part_t;

/* Run one built command line to a successful exit. */
static int run_ffmpeg(const ffe_state_t *st, const ffe_source_t *src, const ffe_argv_t *argv,
                      double deadline, const call_progress_t *cp, const run_part_t *part, vf_error_t *err)
{
    ffe_run_opts_t opts = {
        .host = st->host,
        .what = "ffmpeg",
        .deadline = deadline,
        .timeout = st->settings.timeout,
        .stdout_is_progress = 1,
        .duration = part->duration,
        .percent_from = part->from,
        .percent_to = part->to,
        .progress = cp->fn,
        .progress_ud = cp->ud,
        .cwd = part->cwd,
        .tick = part->hls ? ffe_hls_tick : NULL,
        .tick_ud = part->hls,
    };
    ffe_run_result_t result;
    int ret = ffe_run(argv->items, &opts, &result, err);
    if (ret == 0)
        ret = ffe_run_check_exit(&opts, &result, src->arg, src->shown, err);
    free(result.out);
    return ret;
}

static int is_empty_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size == 0;
}

static void log_first_frame(const ffe_state_t *st, const ffe_source_t *src, double at)
{
    st->host->log("encoder_ffmpeg", VF_LOG_INFO,
                  "%s has no video frame at %.3f s; its thumbnail shows the first frame",
                  src->shown, at);
}

/* Write the thumbnail at `at` seconds (input seeking) into tmp_path.
 * ffmpeg exits successfully without a frame when the video ends before
 * `at` (a container longer than its video stream); the first frame is
 * taken then.  Progress reported stays at or above percent_from. */
static int write_thumbnail(const ffe_state_t *st, const ffe_source_t *src,
                           const vf_media_info_t *info, double at, const char *tmp_path,
                           double deadline, const call_progress_t *cp, double percent_from,
                           vf_error_t *err)
{
    char scale[96];
    ffe_scale_filter(scale, sizeof scale, ffe_thumbnail_height(ffe_display_height(info)));
    int ret = 0;
    for (int attempt = 0; attempt < 2 && ret == 0; attempt++) {
        if (attempt == 1) {
            if (at <= 0 || !is_empty_file(tmp_path))
                break;
            log_first_frame(st, src, at);
            at = 0;
        }
        ffe_argv_t argv = {0};
        add_head(&argv, st);
        add_input(&argv, src, at, -1);
        ffe_argv_add(&argv, "-vf", scale, (char *)NULL);
        add_thumbnail_output(&argv, "0:v:0", tmp_path);
        if ((ret = ffe_argv_ok(&argv)) < 0)
            ret = st->host->error(err, ret, "out of memory");
        else
            ret = run_ffmpeg(st, src, &argv, deadline, cp, &(run_part_t){.from = percent_from, .to = 100}, err);
        ffe_argv_free(&argv);
    }
    return ret;
}

/* What the caller asked for: 1.0 and 1.1 callers know only MP4, and so
 * does one rebuilt against 1.2 that leaves `outputs` 0. */
static uint32_t requested_outputs(const vf_transcode_params_t *p)
{
    return VF_HAS_FIELD(vf_transcode_params_t, p, outputs) && p->outputs ? p->outputs : VF_OUTPUT_MP4;
}

static int check_hls_params(const vf_host_api_t *host, const vf_transcode_params_t *p, vf_error_t *err)
{
    struct stat st;
    if (!VF_HAS_FIELD(vf_transcode_params_t, p, hls_ud))
        return host->error(err, EINVAL, "HLS asked for without the HLS parameters");
    if (p->nrenditions == 0)
        return host->error(err, EINVAL, "HLS asked for without a rendition");
    if (!p->hls_dir || !*p->hls_dir)
        return host->error(err, EINVAL, "HLS asked for without a directory for its files");
    if (stat(p->hls_dir, &st) != 0)
        return host->error(err, errno, "the HLS directory %s: %s", p->hls_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return host->error(err, ENOTDIR, "the HLS directory %s is not a directory", p->hls_dir);
    if (!isfinite(p->hls_segment_seconds) || p->hls_segment_seconds < 0.1 ||
        p->hls_segment_seconds > 600)
        return host->error(err, EINVAL, "HLS segments of %g s: the length must be 0.1..600 s",
                           p->hls_segment_seconds);
    if (p->hls_first_segment < 0)
        return host->error(err, EINVAL, "the first HLS segment to report is negative (%lld)",
                           (long long)p->hls_first_segment);
    if (!p->hls_file)
        return host->error(err, EINVAL, "HLS asked for without a callback for its files");
    return 0;
}

static int check_params(const vf_host_api_t *host, const vf_transcode_params_t *p, vf_error_t *err)
{
    if (!p || p->size < VF_TRANSCODE_PARAMS_SIZE_1_0)
        return host->error(err, EINVAL, "transcode parameters are missing or too old");
    uint32_t outputs = requested_outputs(p);
    if (outputs & ~(uint32_t)(VF_OUTPUT_MP4 | VF_OUTPUT_HLS))
        return host->error(err, EINVAL, "outputs %#x: only MP4 (%#x) and HLS (%#x) can be made",
                           outputs, VF_OUTPUT_MP4, VF_OUTPUT_HLS);
    int ret = outputs & VF_OUTPUT_HLS ? check_hls_params(host, p, err) : 0;
    if (ret < 0)
        return ret;
    if (p->nrenditions == 0 && !p->thumbnail_path)
        return host->error(err, EINVAL, "nothing to do: no rendition and no thumbnail asked for");
    if (p->nrenditions > 0 && !p->renditions)
        return host->error(err, EINVAL, "renditions missing");
    if (p->nrenditions > 64)
        return host->error(err, EINVAL, "too many renditions (%zu)", p->nrenditions);
    for (size_t i = 0; i < p->nrenditions; i++)
        if (p->renditions[i].height <= 0 || p->renditions[i].height > 8640 ||
            (!p->renditions[i].output_path && (outputs & VF_OUTPUT_MP4)))
            return host->error(err, EINVAL, "rendition %s needs a height of 1..8640 and an output path",
                               p->renditions[i].name ? p->renditions[i].name : "?");
    if (p->nrenditions > 0) {
        /* NULL and -1: the caller has no default for us (encoder.h). */
        if (p->preset && !*p->preset)
            return host->error(err, EINVAL, "the libx264 preset is empty");
        if (p->crf < -1 || p->crf > 51)
            return host->error(err, EINVAL, "crf %d is outside 0..51", p->crf);
        if (p->audio_bitrate < 8000 || p->audio_bitrate > 512000)
            return host->error(err, EINVAL, "audio bit rate %d is outside 8000..512000",
                               p->audio_bitrate);
    }
    return 0;
}

/* The encode of every rendition into *argv: from `seek` (< 0: the start)
 * for `limit` seconds (<= 0: to the end); MP4s into mp4_tmp[i] (NULL: no
 * MP4), the thumbnail as a branch of the split into thumb_tmp (NULL: none).
 * Returns the filter graph (the caller frees it), NULL when memory ran out. */
static char *build_encode(ffe_argv_t *argv, const ffe_state_t *st, const ffe_source_t *src,
                          const vf_transcode_params_t *p, const vf_media_info_t *info, const ffe_outputs_t *mp4,
                          const char *thumb_tmp, double thumb_at, const ffe_hls_t *hls, double seek, double limit)
{
    char *graph = filter_graph(p, info, thumb_at, thumb_tmp != NULL);
    add_head(argv, st);
    add_input(argv, src, seek, limit);
    ffe_argv_add(argv, "-filter_complex", graph ? graph : "", (char *)NULL);
    for (size_t i = 0; i < p->nrenditions; i++)
        add_rendition(argv, st, p, i, info->has_audio, mp4 ? mp4->items[i].tmp_path : NULL, hls);
    if (thumb_tmp)
        add_thumbnail_output(argv, "[thumb]", thumb_tmp);
    if (ffe_argv_ok(argv) < 0) {
        free(graph);
        return NULL;
    }
    return graph;
}

/* Everything a transcode call works with. */
typedef struct job {
    const ffe_state_t *st;
    const vf_transcode_params_t *p;
    ffe_source_t src;
    vf_media_info_t info;
    ffe_outputs_t outputs;     /* the MP4s (when asked for), then the thumbnail */
    const char *thumb_tmp;     /* NULL: no thumbnail */
    double thumb_at;
    ffe_hls_t *hls;            /* NULL: no HLS */
    double deadline;
    call_progress_t cp;
    double percent;            /* reported so far */
} job_t;

/* The thumbnail when the video has no frame at its time: the first one. */
static int thumbnail_fallback(job_t *j, vf_error_t *err)
{
    if (!j->thumb_tmp || !is_empty_file(j->thumb_tmp))
        return 0;
    log_first_frame(j->st, &j->src, j->thumb_at);
    return write_thumbnail(j->st, &j->src, &j->info, 0, j->thumb_tmp, j->deadline, &j->cp, 99.9, err);
}

/* The whole source in one ffmpeg run (1.2; also a resume's fallback). */
static int encode_whole(job_t *j, vf_error_t *err)
{
    const vf_transcode_params_t *p = j->p;
    ffe_argv_t argv = {0};
    int mp4 = (requested_outputs(p) & VF_OUTPUT_MP4) != 0;
    char *graph = build_encode(&argv, j->st, &j->src, p, &j->info, mp4 ? &j->outputs : NULL, j->thumb_tmp,
                               j->thumb_at, j->hls, -1, -1);
    int ret;
    if (!graph) {
        ret = j->st->host->error(err, ENOMEM, "out of memory");
        goto out;
    }
    j->st->host->log("encoder_ffmpeg", VF_LOG_DEBUG, "transcoding %s: %s", j->src.shown, graph);
    run_part_t part = {.duration = j->info.duration, .from = j->percent, .to = 100,
                       .cwd = j->hls ? p->hls_dir : NULL, .hls = j->hls};
    if ((ret = run_ffmpeg(j->st, &j->src, &argv, j->deadline, &j->cp, &part, err)) < 0 ||
        (ret = thumbnail_fallback(j, err)) < 0)
        goto out;
    /* The last segments before the MP4s: a refused segment leaves no MP4. */
    if (j->hls)
        ret = ffe_hls_finish(j->hls, err);
out:
    free(graph);
    ffe_argv_free(&argv);
    return ret;
}

/* Percent of a resumed call spent on its parts. */
#define RESUME_TRIAL_END 3.0
#define RESUME_ENCODE_END 92.0
#define RESUME_TRIAL_SECONDS 0.5

/* Remove a directory of plain files (a trial run's). */
static void remove_flat_dir(const vf_host_api_t *host, const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && unlinkat(dirfd(d), e->d_name, 0) != 0)
            host->log("encoder_ffmpeg", VF_LOG_WARNING, "cannot remove %s/%s: %s", dir, e->d_name, strerror(errno));
    if (d)
        closedir(d);
    if (rmdir(dir) != 0 && errno != ENOENT)
        host->log("encoder_ffmpeg", VF_LOG_WARNING, "cannot remove %s: %s", dir, strerror(errno));
}

/* A short run from the resume point into a private directory: its
 * initialisation segments are those the resumed run will write.  0, 1 with
 * why[] (continue the whole way), or an error (cancelled, timed out). */
static int resume_trial(job_t *j, ffe_resume_t *r, char *why, size_t whylen, vf_error_t *err)
{
    const vf_host_api_t *host = j->st->host;
    ffe_argv_t argv = {0};
    char *dir = NULL, *graph = NULL;
    int ret;
    if (asprintf(&dir, "%s/.trial-XXXXXX", j->p->hls_dir) < 0) {
        dir = NULL;
        return host->error(err, ENOMEM, "out of memory");
    }
    if (!mkdtemp(dir)) {
        ret = host->error(err, errno, "cannot make a directory in %s: %s", j->p->hls_dir, strerror(errno));
        free(dir);
        return ret;
    }
    graph = build_encode(&argv, j->st, &j->src, j->p, &j->info, NULL, NULL, 0, j->hls, r->start,
                         RESUME_TRIAL_SECONDS);
    if (!graph) {
        ret = host->error(err, ENOMEM, "out of memory");
        goto out;
    }
    run_part_t part = {.duration = RESUME_TRIAL_SECONDS, .from = j->percent, .to = RESUME_TRIAL_END, .cwd = dir};
    /* err may be NULL, and a job that falls back and succeeds must not
     * return with it filled: the trial's own error is copied where due */
    vf_error_t trial_err = {0};
    ret = run_ffmpeg(j->st, &j->src, &argv, j->deadline, &j->cp, &part, &trial_err);
    if (ret == -ECANCELED || ret == -ETIMEDOUT) {
        if (err)
            *err = trial_err;
        goto out;
    }
    j->percent = RESUME_TRIAL_END;
    if (ret < 0) {
        snprintf(why, whylen, "the trial run failed: %s", trial_err.message);
        ret = 1;
    } else {
        ret = ffe_resume_check_trial(r, dir, why, whylen);
        if (ret == -ENOMEM)
            ret = host->error(err, ENOMEM, "out of memory");
    }
out:
    remove_flat_dir(host, dir);
    free(dir);
    free(graph);
    ffe_argv_free(&argv);
    return ret;
}

/* Rendition i's MP4 from its joined file: a remux, no encode. */
static int remux_joined(job_t *j, const ffe_resume_t *r, size_t i, double from, double to, vf_error_t *err)
{
    const ffe_resume_rendition_t *rr = &r->renditions[i];
    ffe_argv_t argv = {0};
    char drop[128];
    int ret = ffe_resume_audio_drop(r, i, drop, sizeof drop);
    add_head(&argv, j->st);
    ffe_argv_add(&argv, "-protocol_whitelist", "file", "-f", "mp4", "-i", (char *)NULL);
    ffe_argv_addf(&argv, "file:%s", rr->joined);
    ffe_argv_add(&argv, "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", (char *)NULL);
    if (drop[0])
        ffe_argv_add(&argv, "-bsf:a", drop, (char *)NULL);
    ffe_argv_add(&argv, "-movflags", "+faststart", (char *)NULL);
    add_output_path(&argv, "mp4", j->outputs.items[i].tmp_path);
    if (ret < 0 || (ret = ffe_argv_ok(&argv)) < 0)
        ret = j->st->host->error(err, ENOMEM, "out of memory");
    else
        ret = run_ffmpeg(j->st, &j->src, &argv, j->deadline, &j->cp,
                         &(run_part_t){.duration = j->info.duration, .from = from, .to = to}, err);
    ffe_argv_free(&argv);
    return ret;
}

/* The resumed run once the published files passed: from X to the end,
 * HLS only; then the MP4s by remuxing and the thumbnail on its own. */
static int encode_rest(job_t *j, ffe_resume_t *r, vf_error_t *err)
{
    const vf_transcode_params_t *p = j->p;
    ffe_argv_t argv = {0};
    int ret;
    ffe_hls_resume(j->hls, r);
    char *graph = build_encode(&argv, j->st, &j->src, p, &j->info, NULL, NULL, 0, j->hls, r->start, -1);
    if (!graph) {
        ret = j->st->host->error(err, ENOMEM, "out of memory");
        goto out;
    }
    j->st->host->log("encoder_ffmpeg", VF_LOG_DEBUG, "resuming %s at %.3f s: %s", j->src.shown, r->start, graph);
    run_part_t part = {.duration = j->info.duration - r->start, .from = j->percent, .to = RESUME_ENCODE_END,
                       .cwd = p->hls_dir, .hls = j->hls};
    if ((ret = run_ffmpeg(j->st, &j->src, &argv, j->deadline, &j->cp, &part, err)) < 0 ||
        (ret = ffe_hls_finish(j->hls, err)) < 0)
        goto out;
    j->percent = RESUME_ENCODE_END;
    double step = (99.0 - j->percent) / (double)(p->nrenditions + 1);
    for (size_t i = 0; i < r->count && r->renditions[i].joined; i++) {
        if ((ret = remux_joined(j, r, i, j->percent, j->percent + step, err)) < 0)
            goto out;
        j->percent += step;
    }
    if (j->thumb_tmp)
        ret = write_thumbnail(j->st, &j->src, &j->info, j->thumb_at, j->thumb_tmp, j->deadline, &j->cp, j->percent,
                              err);
out:
    ffe_hls_resume(j->hls, NULL);
    free(graph);
    ffe_argv_free(&argv);
    return ret;
}

/* 1.3: params name the published files of a resumed HLS job. */
static int resumable(const vf_transcode_params_t *p)
{
    return VF_HAS_FIELD(vf_transcode_params_t, p, hls_published_dir) && p->hls_published_dir &&
           p->hls_first_segment > 0;
}

/* Continue from the published segments: 0 done, 1 when they cannot be
 * continued (logged; the caller encodes the whole source, every segment
 * reported from 0, as encoder.h asks), or an error. */
static int encode_resumed(job_t *j, vf_error_t *err)
{
    const vf_transcode_params_t *p = j->p;
    ffe_resume_t r;
    char why[600] = "";
    int mp4 = (requested_outputs(p) & VF_OUTPUT_MP4) != 0;
    int ret = ffe_resume_open(&r, p, mp4, j->cp.fn, j->cp.ud, j->percent, why, sizeof why);
    if (ret == -ECANCELED)
        ret = j->st->host->error(err, ECANCELED, "cancelled while reading the published HLS segments");
    if (ret == 0 && r.start >= j->info.duration) {
        snprintf(why, sizeof why, "the source ends at %.3f s, before segment %" PRId64, j->info.duration,
                 p->hls_first_segment);
        ret = 1;
    }
    if (ret == 0)
        ret = resume_trial(j, &r, why, sizeof why, err);
    if (ret == -ENOMEM)
        ret = j->st->host->error(err, ENOMEM, "out of memory");
    if (ret == 1) {
        j->st->host->log("encoder_ffmpeg", VF_LOG_WARNING,
                         "%s: cannot continue the %" PRId64 " published HLS segments (%s); encoding the whole "
                         "source again and reporting every segment from 0", j->src.shown, p->hls_first_segment,
                         why);
        ffe_hls_report_all(j->hls);
    }
    else if (ret == 0)
        ret = encode_rest(j, &r, err);
    ffe_resume_free(&r, j->st->host);
    return ret;
}

int ffe_transcode(const ffe_state_t *st, const char *source, const vf_transcode_params_t *p,
                  vf_error_t *err)
{
    const vf_host_api_t *host = st->host;
    ffe_hls_t hls_state = {0};
    job_t j = {.st = st, .p = p};
    int ret = check_params(host, p, err);
    if (ret < 0)
        return ret;
    int mp4 = (requested_outputs(p) & VF_OUTPUT_MP4) != 0;
    if (requested_outputs(p) & VF_OUTPUT_HLS) {
        if ((ret = ffe_hls_init(&hls_state, host, p, err)) < 0)
            return ret;
        j.hls = &hls_state;
    }
    if ((ret = ffe_source_init(st, source, &j.src, err)) < 0)
        goto out;

    double started = ffe_now();
    j.deadline = ffe_deadline(st);
    j.cp = (call_progress_t){p->progress, p->progress_ud};
    if ((ret = ffe_probe(st, &j.src, j.deadline, j.cp.fn, j.cp.ud, &j.info, err)) < 0)
        goto out;

    for (size_t i = 0; mp4 && i < p->nrenditions; i++)
        if ((ret = ffe_outputs_add(&j.outputs, host, st->settings.tmp_dir,
                                   p->renditions[i].output_path, err)) < 0)
            goto out;
    if (p->thumbnail_path) {
        if ((ret = ffe_outputs_add(&j.outputs, host, st->settings.tmp_dir, p->thumbnail_path, err)) < 0)
            goto out;
        j.thumb_tmp = j.outputs.items[j.outputs.count - 1].tmp_path;
    }
    j.thumb_at = ffe_thumbnail_time(p->thumbnail_at, j.info.duration);

    ret = j.hls && resumable(p) ? encode_resumed(&j, err) : 1;
    if (ret == 1)
        ret = encode_whole(&j, err);
    if (ret < 0 || (ret = ffe_outputs_commit(&j.outputs, host, err)) < 0)
        goto out;
    if (j.cp.fn)
        j.cp.fn(j.cp.ud, 100.0);
    host->log("encoder_ffmpeg", VF_LOG_INFO, "transcoded %s (%.1f s) into %zu rendition%s (%s)%s in %.1f s",
              j.src.shown, j.info.duration, p->nrenditions, p->nrenditions == 1 ? "" : "s",
              mp4 && j.hls ? "MP4 and HLS" : j.hls ? "HLS" : "MP4",
              p->thumbnail_path ? " and a thumbnail" : "", ffe_now() - started);
out:
    if (j.hls)
        ffe_hls_free(j.hls);
    ffe_outputs_discard(&j.outputs);
    ffe_source_free(&j.src);
    return ret;
}

int ffe_thumbnail(const ffe_state_t *st, const char *source, double at, const char *output_path,
                  vf_progress_fn progress, void *progress_ud, vf_error_t *err)
{
    const vf_host_api_t *host = st->host;
    ffe_source_t src = {0};
    ffe_outputs_t outputs = {0};
    int ret = ffe_source_init(st, source, &src, err);
    if (ret < 0)
        return ret;

    double deadline = ffe_deadline(st);
    call_progress_t cp = {progress, progress_ud};
    vf_media_info_t info;
    if ((ret = ffe_probe(st, &src, deadline, cp.fn, cp.ud, &info, err)) < 0 ||
        (ret = ffe_outputs_add(&outputs, host, st->settings.tmp_dir, output_path, err)) < 0 ||
        (ret = write_thumbnail(st, &src, &info, ffe_thumbnail_time(at, info.duration),
                               outputs.items[0].tmp_path, deadline, &cp, 0, err)) < 0 ||
        (ret = ffe_outputs_commit(&outputs, host, err)) < 0)
        goto out;
    if (cp.fn)
        cp.fn(cp.ud, 100.0);
out:
    ffe_outputs_discard(&outputs);
    ffe_source_free(&src);
    return ret;
}
