/*
 * encoder_contract_hls.c - the HLS part of the encoder contract (ABI 1.2):
 * what a transcode reports through params->hls_file and what those files
 * hold.  The callback checks each report as it comes (order, numbering,
 * one call at a time, the file complete and inside hls_dir) and moves the
 * file away, as the core does; the test then reads the moved files with
 * ffprobe.  An encoder that does not declare VF_OUTPUT_HLS passes by
 * declaring exactly VF_OUTPUT_MP4.  Owns no fixture: encoder_contract.c
 * loads the plugin and makes the clips.
 */
#include "config.h"
#include "tests/plugins/encoder_contract_hls.h"
#include "tests/media.h"
#include "vftest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void note(hls_recorder_t *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(hls_recorder_t *rec, const char *fmt, ...)
{
    if (rec->problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->problem, sizeof rec->problem, fmt, ap);
    va_end(ap);
}

/* Checks one report against the rules of vf_hls_file_fn and moves the file. */
static int record_hls_file(void *ud, const vf_hls_file_t *file)
{
    hls_recorder_t *rec = ud;
    if (atomic_flag_test_and_set(&rec->busy)) {
        atomic_fetch_add(&rec->overlaps, 1);
        return 0; /* the other call owns the recorder */
    }
    int ret = 0;
    rec->calls++;
    if (rec->fail_at_call > 0 && rec->calls > rec->fail_at_call)
        rec->calls_after_failure++;
    struct stat st;
    size_t dirlen = strlen(rec->hls_dir);
    if (file->size < VF_HLS_FILE_SIZE_1_2 || file->rendition >= 2 || !file->path) {
        note(rec, "call %d: size %u, rendition %zu, path %s", rec->calls, file->size, file->rendition,
             file->path ? file->path : "NULL");
        goto out;
    }
    hls_rendition_t *r = &rec->renditions[file->rendition];
    if (strncmp(file->path, rec->hls_dir, dirlen) != 0 || file->path[dirlen] != '/')
        note(rec, "%s is not in hls_dir %s", file->path, rec->hls_dir);
    if (stat(file->path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        note(rec, "%s, reported, is missing, not a file or empty", file->path);
    char name[64];
    if (file->sequence == VF_HLS_INIT) {
        if (r->inits++ || r->next != rec->first)
            note(rec, "rendition %zu: initialisation segment reported again or after segment %" PRId64,
                 file->rendition, r->next - 1);
        if (file->duration != 0)
            note(rec, "rendition %zu: the initialisation segment lasts %.3f s, not 0", file->rendition,
                 file->duration);
        snprintf(name, sizeof name, "%zu-init.mp4", file->rendition);
    } else {
        if (!r->inits)
            note(rec, "rendition %zu: segment %" PRId64 " before the initialisation segment", file->rendition,
                 file->sequence);
        if (file->sequence != r->next)
            note(rec, "rendition %zu: segment %" PRId64 " reported, expected %" PRId64, file->rendition,
                 file->sequence, r->next);
        if (!(file->duration > 0))
            note(rec, "rendition %zu: segment %" PRId64 " lasts %.3f s", file->rendition, file->sequence,
                 file->duration);
        if (file->sequence < 0 || file->sequence >= MAX_SEGMENTS) {
            note(rec, "segment number %" PRId64 " out of the test's range", file->sequence);
            goto out;
        }
        r->next = file->sequence + 1;
        snprintf(name, sizeof name, "%zu-%" PRId64 ".m4s", file->rendition, file->sequence);
    }
    /* Moved away as the core does; the encoder must not look at it again. */
    char *moved = vfc_path(rec->moved_dir, name);
    if (rename(file->path, moved) != 0) {
        note(rec, "cannot move %s to %s: %s", file->path, moved, strerror(errno));
        free(moved);
    } else if (file->sequence == VF_HLS_INIT) {
        free(r->init);
        r->init = moved;
    } else {
        hls_segment_t *seg = &r->segments[file->sequence];
        free(seg->path);
        seg->path = moved;
        seg->duration = file->duration;
    }
    /* Stay a while, so that a second call at once would be seen. */
    nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
out:
    if (rec->fail_at_call > 0 && rec->calls == rec->fail_at_call)
        ret = -EIO;
    atomic_flag_clear(&rec->busy);
    return ret;
}

void vfc_hls_job_init(hls_job_t *h, const char *dir, uint32_t outputs, int64_t first)
{
    memset(h, 0, sizeof *h);
    vfc_job_init(&h->job, dir);
    h->source = vfc_efx.hls_av;
    hls_recorder_t *rec = &h->rec;
    atomic_flag_clear(&rec->busy);
    rec->hls_dir = vfc_path(dir, "hls");
    rec->moved_dir = vfc_path(dir, "moved");
    ck_assert_int_eq(mkdir(rec->hls_dir, 0755), 0);
    ck_assert_int_eq(mkdir(rec->moved_dir, 0755), 0);
    rec->first = first;
    for (int i = 0; i < 2; i++) {
        rec->renditions[i].next = first;
        if (!(outputs & VF_OUTPUT_MP4))
            h->job.renditions[i].output_path = NULL;
    }
    vf_transcode_params_t *p = &h->job.params;
    p->outputs = outputs;
    p->hls_dir = rec->hls_dir;
    p->hls_segment_seconds = SEGMENT_SECONDS;
    p->hls_first_segment = first;
    p->hls_file = record_hls_file;
    p->hls_ud = rec;
}

void vfc_hls_job_free(hls_job_t *h)
{
    for (int i = 0; i < 2; i++) {
        free(h->rec.renditions[i].init);
        for (int n = 0; n < MAX_SEGMENTS; n++)
            free(h->rec.renditions[i].segments[n].path);
    }
    free(h->rec.hls_dir);
    free(h->rec.moved_dir);
    vfc_job_free(&h->job);
}

int vfc_hls_transcode(hls_job_t *h)
{
    memset(&h->job.err, 0, sizeof h->job.err);
    return vfc_efx.ops->transcode(vfc_efx.state, h->source, &h->job.params, &h->job.err);
}

bool vfc_hls_declared(void)
{
    if (vfc_efx.caps.outputs & VF_OUTPUT_HLS)
        return true;
    ck_assert_msg(vfc_efx.caps.outputs == VF_OUTPUT_MP4, "outputs 0x%x without VF_OUTPUT_HLS: expected MP4 alone",
                  vfc_efx.caps.outputs);
    fprintf(stderr, "%s: no HLS output declared; the HLS cases only check that\n", vfc_efx.inst.plugin->desc->name);
    return false;
}

void vfc_hls_first_video_packet(const char *init, const char *segment, double *pts, bool *key)
{
    char *joined = vfc_path(vfc_efx.out, "joined.mp4"), *out = NULL;
    /* Paths as arguments, never inside the script: they may hold quotes. */
    char *cat[] = {"sh", "-c", "cat \"$1\" \"$2\" > \"$3\"", "sh", (char *)init, (char *)segment, joined, NULL};
    ck_assert_msg(vft_run(cat, NULL) == 0, "cannot join %s to %s", segment, init);
    char *args[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
                    "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", joined, NULL};
    ck_assert_msg(vft_run(args, &out) == 0 && out, "ffprobe cannot read %s after %s", segment, init);
    char flags[16] = "";
    ck_assert_msg(sscanf(out, "%lf,%15s", pts, flags) == 2, "%s: ffprobe says '%s'", segment, out);
    *key = flags[0] == 'K';
    free(out);
    unlink(joined);
    free(joined);
}

/* No report broke a rule, one call at a time, the failure (if any) was
 * the last call. */
static void assert_reports_clean(const hls_recorder_t *rec)
{
    ck_assert_msg(!rec->problem[0], "%s", rec->problem);
    ck_assert_msg(atomic_load(&rec->overlaps) == 0, "hls_file was called while another call ran (%d times)",
                  atomic_load(&rec->overlaps));
    ck_assert_msg(rec->calls_after_failure == 0, "%d reports after the callback failed", rec->calls_after_failure);
}

void vfc_hls_assert_segments(const hls_recorder_t *rec)
{
    assert_reports_clean(rec);
    const double seconds = vfc_efx.hls_av_seconds;
    const int64_t count = (int64_t)ceil(seconds / SEGMENT_SECONDS - 0.05);
    double starts[MAX_SEGMENTS];
    for (size_t i = 0; i < 2; i++) {
        const hls_rendition_t *r = &rec->renditions[i];
        ck_assert_msg(r->inits == 1 && r->init, "rendition %zu: %d initialisation segments", i, r->inits);
        ck_assert_msg(vfm_count_streams(r->init, "v") == 1 && vfm_count_streams(r->init, "a") == 1,
                      "rendition %zu: the initialisation segment does not hold one video and one audio track", i);
        ck_assert_msg(r->next == count, "rendition %zu: segments up to %" PRId64 ", expected up to %" PRId64
                      " for %.3f s", i, r->next - 1, count - 1, seconds);
        double total = rec->first * SEGMENT_SECONDS;
        for (int64_t n = rec->first; n < count; n++) {
            const hls_segment_t *seg = &r->segments[n];
            total += seg->duration;
            if (n < count - 1)
                ck_assert_msg(fabs(seg->duration - SEGMENT_SECONDS) <= 0.1,
                              "rendition %zu: segment %" PRId64 " lasts %.3f s, not %.1f", i, n, seg->duration,
                              SEGMENT_SECONDS);
            double pts;
            bool key;
            vfc_hls_first_video_packet(r->init, seg->path, &pts, &key);
            ck_assert_msg(key, "rendition %zu: segment %" PRId64 " does not start with a keyframe", i, n);
            double delay = pts - n * SEGMENT_SECONDS;
            ck_assert_msg(delay > -0.001 && delay < MAX_START_DELAY,
                          "rendition %zu: segment %" PRId64 " starts at %.3f s, not at %.1f s", i, n, pts,
                          n * SEGMENT_SECONDS);
            if (i == 0)
                starts[n] = pts;
            else
                ck_assert_msg(fabs(pts - starts[n]) < 0.001,
                              "segment %" PRId64 " starts at %.3f s in one rendition, %.3f s in the other", n,
                              starts[n], pts);
        }
        ck_assert_msg(fabs(total - seconds) <= 0.2, "rendition %zu: segments up to %.3f s, the clip lasts %.3f s",
                      i, total, seconds);
    }
}

/* A job that failed: the MP4s and thumbnail are gone, hls_dir is empty. */
static void assert_nothing_left(const hls_job_t *h)
{
    ck_assert_msg(vfc_entries(h->rec.hls_dir) == 0, "%d files left in hls_dir", vfc_entries(h->rec.hls_dir));
    ck_assert_msg(vfc_entries(vfc_efx.out) == 2, "%d entries in the output directory, expected only hls/ and moved/",
                  vfc_entries(vfc_efx.out));
}

/* ------------------------------------------------------------- tests */

/* Both outputs from one transcode: the MP4s as before, the segments. */
START_TEST(test_hls_beside_mp4)
{
    if (!vfc_hls_declared())
        return;
    hls_job_t h;
    vfc_hls_job_init(&h, vfc_efx.out, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, 0);
    ck_assert_msg(vfc_hls_transcode(&h) == 0, "transcode: %s", h.job.err.message);
    vfc_hls_assert_segments(&h.rec);
    vfc_assert_rendition(h.job.paths[0], 90, vfc_efx.hls_av_seconds);
    vfc_assert_rendition(h.job.paths[1], 180, vfc_efx.hls_av_seconds);
    vfc_assert_jpeg(h.job.thumb);
    ck_assert_msg(vfc_entries(h.rec.hls_dir) == 0, "%d files left in hls_dir", vfc_entries(h.rec.hls_dir));
    ck_assert_msg(vfc_entries(vfc_efx.out) == 5, "%d entries in the output directory, expected 2 MP4s, a JPEG, "
                  "hls/ and moved/", vfc_entries(vfc_efx.out));
    vfc_assert_progress_sane(&h.job.progress, "transcode");
    ck_assert_msg(h.job.progress.last == 100, "the last progress report was %.1f, not 100", h.job.progress.last);
    vfc_hls_job_free(&h);
}
END_TEST

START_TEST(test_hls_alone)
{
    if (!vfc_hls_declared())
        return;
    hls_job_t h;
    vfc_hls_job_init(&h, vfc_efx.out, VF_OUTPUT_HLS, 0);
    ck_assert_msg(vfc_hls_transcode(&h) == 0, "transcode: %s", h.job.err.message);
    vfc_hls_assert_segments(&h.rec);
    vfc_assert_jpeg(h.job.thumb);
    ck_assert_msg(vfc_entries(vfc_efx.out) == 3, "%d entries in the output directory, expected a JPEG, hls/ "
                  "and moved/ (no MP4 asked)", vfc_entries(vfc_efx.out));
    vfc_hls_job_free(&h);
}
END_TEST

/* A resumed job: segments from 2 on, numbered and timed as in a whole run,
 * with and without the MP4s. */
START_TEST(test_hls_first_segment)
{
    if (!vfc_hls_declared())
        return;
    const uint32_t outputs[] = {VF_OUTPUT_MP4 | VF_OUTPUT_HLS, VF_OUTPUT_HLS};
    for (size_t i = 0; i < 2; i++) {
        hls_job_t h;
        vfc_hls_job_init(&h, vfc_efx.out, outputs[i], 2);
        ck_assert_msg(vfc_hls_transcode(&h) == 0, "transcode (outputs 0x%x): %s", outputs[i], h.job.err.message);
        vfc_hls_assert_segments(&h.rec);
        if (outputs[i] & VF_OUTPUT_MP4)
            vfc_assert_rendition(h.job.paths[1], 180, vfc_efx.hls_av_seconds);
        vfc_hls_job_free(&h);
        ck_assert_int_eq(vft_rmrf(vfc_efx.out), 0);
        ck_assert_int_eq(mkdir(vfc_efx.out, 0755), 0);
    }
}
END_TEST

/* The callee failing (storage down) stops the job with its error. */
START_TEST(test_hls_callback_fails)
{
    if (!vfc_hls_declared())
        return;
    hls_job_t h;
    vfc_hls_job_init(&h, vfc_efx.out, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, 0);
    h.rec.fail_at_call = 4; /* a media segment or the second initialisation segment */
    VFC_FAILS(-EIO, vfc_hls_transcode(&h), h.job.err);
    ck_assert_msg(h.rec.calls == 4, "%d reports, the 4th failed", h.rec.calls);
    assert_reports_clean(&h.rec);
    assert_nothing_left(&h);
    vfc_hls_job_free(&h);
}
END_TEST

START_TEST(test_hls_cancelled)
{
    if (!vfc_hls_declared())
        return;
    hls_job_t h;
    vfc_hls_job_init(&h, vfc_efx.out, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, 0);
    h.job.progress.cancel_from = 50;
    VFC_FAILS(-ECANCELED, vfc_hls_transcode(&h), h.job.err);
    ck_assert_msg(h.job.progress.cancelled, "the job ended without being cancelled");
    assert_reports_clean(&h.rec);
    assert_nothing_left(&h);
    vfc_hls_job_free(&h);
}
END_TEST

/* Paths are the operator's: media.work_dir may hold any character a file
 * name may (the source, the outputs and hls_dir here), and none of them is
 * a pattern, an option or a separator to the encoder (muxers read '%d' in
 * file names, tee reads '|', '[' and ':', the shell and ffmpeg's options
 * read quotes). */
START_TEST(test_hls_odd_paths)
{
    if (!vfc_hls_declared())
        return;
    char *dir = vfc_path(vfc_efx.out, " o d|[x]:y='q'\\z%d%v%%,=a\"b ");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char *source = vfc_path(dir, "s%d%v'|:[0].mp4");
    char *cp[] = {"cp", (char *)vfc_efx.hls_av, source, NULL};
    ck_assert_int_eq(vft_run(cp, NULL), 0);
    hls_job_t h;
    vfc_hls_job_init(&h, dir, VF_OUTPUT_MP4 | VF_OUTPUT_HLS, 0);
    h.source = source;
    ck_assert_msg(vfc_hls_transcode(&h) == 0, "transcode: %s", h.job.err.message);
    vfc_hls_assert_segments(&h.rec);
    vfc_assert_rendition(h.job.paths[1], 180, vfc_efx.hls_av_seconds);
    vfc_assert_jpeg(h.job.thumb);
    ck_assert_msg(vfc_entries(h.rec.hls_dir) == 0, "%d files left in hls_dir", vfc_entries(h.rec.hls_dir));
    vfc_hls_job_free(&h);
    free(source);
    free(dir);
}
END_TEST

/* params from a 1.1 core end before `outputs`: MP4 only, whatever lies
 * beyond. */
START_TEST(test_hls_params_1_1)
{
    hls_job_t h;
    vfc_hls_job_init(&h, vfc_efx.out, VF_OUTPUT_HLS, 0);
    h.job.params.size = VF_TRANSCODE_PARAMS_SIZE_1_0;
    for (int i = 0; i < 2; i++)
        h.job.renditions[i].output_path = h.job.paths[i];
    ck_assert_msg(vfc_hls_transcode(&h) == 0, "transcode: %s", h.job.err.message);
    ck_assert_msg(h.rec.calls == 0, "a 1.1 caller's transcode reported %d HLS files", h.rec.calls);
    vfc_assert_rendition(h.job.paths[0], 90, vfc_efx.hls_av_seconds);
    ck_assert_msg(vfc_entries(h.rec.hls_dir) == 0, "a 1.1 caller's transcode wrote into hls_dir");
    vfc_hls_job_free(&h);
}
END_TEST

void vfc_encoder_add_hls(TCase *tc)
{
    tcase_add_test(tc, test_hls_beside_mp4);
    tcase_add_test(tc, test_hls_alone);
    tcase_add_test(tc, test_hls_first_segment);
    tcase_add_test(tc, test_hls_callback_fails);
    tcase_add_test(tc, test_hls_cancelled);
    tcase_add_test(tc, test_hls_params_1_1);
    tcase_add_test(tc, test_hls_odd_paths);
}
