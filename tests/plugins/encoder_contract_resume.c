/*
 * encoder_contract_resume.c - the resume part of the encoder contract (ABI
 * 1.3): a job resumed with params->hls_published_dir continues from what
 * was published instead of encoding the whole source again.
 *
 * The published files come from a whole run on hls_av's twin (same
 * length, size, rate and sound, another picture), so that copied packets
 * and packets encoded again cannot be mistaken for each other: a resumed
 * MP4 whose first packets are the twin's was remuxed from the published
 * segments, one whose first packets are hls_av's was encoded from the
 * start.  An encoder that does not declare VF_ENCODER_HLS_RESUME is never
 * given the directory by the core and passes with a note.
 */
#include "config.h"
#include "tests/plugins/encoder_contract_hls.h"
#include "tests/media.h"
#include "vftest.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first segment the resumed job makes. */
#define RESUME_AT 2

static const int heights[2] = {90, 180};

static bool resume_declared(void)
{
    if (!vfc_hls_declared())
        return false;
    if (vfc_efx.caps.flags & VF_ENCODER_HLS_RESUME)
        return true;
    fprintf(stderr, "%s: VF_ENCODER_HLS_RESUME not declared; the resume cases do not apply\n",
            vfc_efx.inst.plugin->desc->name);
    return false;
}

/* The standard HLS job in <out>/<name>; libx264 encoders get a preset with
 * B-frames, so that the reorder delay a resumed run must keep is there. */
static void resume_job_init(hls_job_t *h, const char *name, uint32_t outputs, int64_t first)
{
    char *dir = vfc_path(vfc_efx.out, name);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    vfc_hls_job_init(h, dir, outputs, first);
    free(dir);
    if (h->job.params.preset)
        h->job.params.preset = "veryfast";
}

/* The whole run whose segments the resumed jobs continue. */
static void published_run(hls_job_t *a)
{
    resume_job_init(a, "a", VF_OUTPUT_MP4 | VF_OUTPUT_HLS, 0);
    a->source = vfc_efx.hls_twin;
    ck_assert_msg(vfc_hls_transcode(a) == 0, "whole run: %s", a->job.err.message);
    vfc_hls_assert_segments(&a->rec);
}

static void link_into(const char *from, const char *dir, const char *name)
{
    char *to = vfc_path(dir, name);
    ck_assert_msg(link(from, to) == 0, "cannot link %s to %s", from, to);
    free(to);
}

/* What the core hands a resumed job: <dir>/<rendition>/init.mp4 and
 * <n>.m4s for n < RESUME_AT, from the whole run.  swap_inits gives each
 * rendition the other's initialisation segment (a setup that cannot be
 * continued). */
static char *lay_out_published(const hls_job_t *a, bool swap_inits)
{
    char *dir = vfc_path(vfc_efx.out, "published");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (size_t i = 0; i < 2; i++) {
        char *sub = vfc_path(dir, a->job.renditions[i].name);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        link_into(a->rec.renditions[swap_inits ? 1 - i : i].init, sub, "init.mp4");
        for (int n = 0; n < RESUME_AT; n++) {
            char name[32];
            snprintf(name, sizeof name, "%d.m4s", n);
            link_into(a->rec.renditions[i].segments[n].path, sub, name);
        }
        free(sub);
    }
    return dir;
}

/* The MD5 of each video packet of a file, in file order, as one string of
 * lines. */
static char *video_hashes(const char *path)
{
    char *args[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_data_hash", "md5",
                    "-show_entries", "packet=data_hash", "-of", "csv=p=0", (char *)path, NULL};
    char *out = NULL;
    ck_assert_msg(vft_run(args, &out) == 0 && out && *out, "ffprobe cannot list the packets of %s", path);
    return out;
}

/* The video packets of an initialisation segment followed by segments
 * from..to-1 of one rendition of a run. */
static char *segment_hashes(const hls_rendition_t *r, const char *init, int64_t from, int64_t to)
{
    char *joined = vfc_path(vfc_efx.out, "segments.mp4");
    ck_assert_int_eq(vft_sh(NULL, "cat '%s' > '%s'", init, joined), 0);
    for (int64_t n = from; n < to; n++)
        ck_assert_int_eq(vft_sh(NULL, "cat '%s' >> '%s'", r->segments[n].path, joined), 0);
    char *hashes = video_hashes(joined);
    unlink(joined);
    free(joined);
    return hashes;
}

static char *first_line(const char *text)
{
    return strndup(text, strcspn(text, "\n"));
}

/* Each new segment starts where the whole run's does: a resumed stream
 * plays on from the published one. */
static void assert_timed_as_whole_run(const hls_job_t *a, const hls_job_t *b)
{
    const int64_t count = (int64_t)ceil(vfc_efx.hls_av_seconds / SEGMENT_SECONDS - 0.05);
    for (size_t i = 0; i < 2; i++)
        for (int64_t n = RESUME_AT; n < count; n++) {
            double whole, resumed;
            bool key;
            vfc_hls_first_video_packet(a->rec.renditions[i].init, a->rec.renditions[i].segments[n].path, &whole,
                                       &key);
            vfc_hls_first_video_packet(b->rec.renditions[i].init, b->rec.renditions[i].segments[n].path, &resumed,
                                       &key);
            ck_assert_msg(fabs(whole - resumed) < 0.001,
                          "rendition %zu: resumed segment %" PRId64 " starts at %.4f s, a whole run's at %.4f s", i,
                          n, resumed, whole);
        }
}

/* Resumed at segment 2: the new segments are timed as a whole run's, and
 * each MP4 is the published segments followed by the new ones, packet for
 * packet (the first two segments were not encoded again). */
START_TEST(test_resume_continues_published)
{
    if (!resume_declared())
        return;
    hls_job_t a;
    published_run(&a);
    char *published = lay_out_published(&a, false);
    const uint32_t outputs[] = {VF_OUTPUT_MP4 | VF_OUTPUT_HLS, VF_OUTPUT_HLS};
    const char *names[] = {"b", "b-hls"};
    for (size_t k = 0; k < 2; k++) {
        hls_job_t b;
        resume_job_init(&b, names[k], outputs[k], RESUME_AT);
        b.job.params.hls_published_dir = published;
        ck_assert_msg(vfc_hls_transcode(&b) == 0, "resumed transcode (outputs 0x%x): %s", outputs[k],
                      b.job.err.message);
        vfc_hls_assert_segments(&b.rec);
        assert_timed_as_whole_run(&a, &b);
        /* The thumbnail's frame (at 1 s) lies in what was not encoded again. */
        vfc_assert_jpeg(b.job.thumb);
        vfc_assert_progress_sane(&b.job.progress, "resumed transcode");
        ck_assert_msg(b.job.progress.last == 100, "the last progress report was %.1f, not 100", b.job.progress.last);
        for (size_t i = 0; (outputs[k] & VF_OUTPUT_MP4) && i < 2; i++) {
            vfc_assert_rendition(b.job.paths[i], heights[i], vfc_efx.hls_av_seconds);
            ck_assert_msg(vfm_decodes(b.job.paths[i]) == 1, "the resumed %s does not decode cleanly",
                          b.job.paths[i]);
            const int64_t count = b.rec.renditions[i].next;
            char *early = segment_hashes(&a.rec.renditions[i], a.rec.renditions[i].init, 0, RESUME_AT);
            char *late = segment_hashes(&b.rec.renditions[i], b.rec.renditions[i].init, RESUME_AT, count);
            char *expected = NULL, *got = video_hashes(b.job.paths[i]);
            ck_assert_int_ge(asprintf(&expected, "%s%s", early, late), 0);
            ck_assert_msg(strcmp(got, expected) == 0,
                          "rendition %zu: the resumed MP4's video packets are not the published segments' "
                          "followed by the new ones", i);
            free(expected);
            free(got);
            free(early);
            free(late);
        }
        vfc_hls_job_free(&b);
    }
    free(published);
    vfc_hls_job_free(&a);
}
END_TEST

/* Published files that cannot be continued: the whole source is encoded
 * again and every segment reported from 0 (the caller replaces what the
 * new initialisation segment cannot play).  A 1.2 caller (params end
 * before hls_published_dir): encoded again, reported from segment 2. */
START_TEST(test_resume_falls_back)
{
    if (!resume_declared())
        return;
    hls_job_t a;
    published_run(&a);
    enum { SWAPPED_INITS, MISSING_SEGMENT, CALLER_1_2, CASES };
    const char *what[] = {"initialisation segments of another rendition", "a published segment missing",
                          "params from a 1.2 caller"};
    for (int c = 0; c < CASES; c++) {
        char *published = lay_out_published(&a, c == SWAPPED_INITS);
        if (c == MISSING_SEGMENT) {
            char *gone = vfc_path(published, "180p/1.m4s");
            ck_assert_int_eq(unlink(gone), 0);
            free(gone);
        }
        hls_job_t b;
        resume_job_init(&b, "b", VF_OUTPUT_MP4 | VF_OUTPUT_HLS, RESUME_AT);
        b.job.params.hls_published_dir = published;
        if (c == CALLER_1_2)
            b.job.params.size = VF_TRANSCODE_PARAMS_SIZE_1_2;
        else
            for (size_t i = 0; i < 2; i++)
                b.rec.renditions[i].next = b.rec.first = 0;
        ck_assert_msg(vfc_hls_transcode(&b) == 0, "resumed transcode with %s: %s", what[c], b.job.err.message);
        vfc_hls_assert_segments(&b.rec);
        for (size_t i = 0; i < 2; i++) {
            vfc_assert_rendition(b.job.paths[i], heights[i], vfc_efx.hls_av_seconds);
            char *published_hashes = segment_hashes(&a.rec.renditions[i], a.rec.renditions[i].init, 0, 1);
            char *got = video_hashes(b.job.paths[i]);
            char *published_first = first_line(published_hashes), *got_first = first_line(got);
            ck_assert_msg(strcmp(published_first, got_first) != 0,
                          "with %s, rendition %zu's MP4 starts with the published packets instead of being "
                          "encoded again", what[c], i);
            free(published_first);
            free(got_first);
            free(published_hashes);
            free(got);
        }
        vfc_hls_job_free(&b);
        char *bdir = vfc_path(vfc_efx.out, "b");
        ck_assert_int_eq(vft_rmrf(bdir), 0);
        ck_assert_int_eq(vft_rmrf(published), 0);
        free(bdir);
        free(published);
    }
    vfc_hls_job_free(&a);
}
END_TEST

void vfc_encoder_add_resume(TCase *tc)
{
    tcase_add_test(tc, test_resume_continues_published);
    tcase_add_test(tc, test_resume_falls_back);
}
