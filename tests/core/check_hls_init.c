/*
 * check_hls_init.c - reading HLS initialisation segments
 * (core/pipeline/hls_init.c) that ffmpeg's own segmenter made: the CODECS
 * string (avc1 from avcC against the bytes of the stream's own SPS,
 * mp4a.40.2 from esds, none for a silent clip) and the picture size as
 * ffprobe reads it; and clear refusals of what is not an init segment.
 */
#include "config.h"
#include "pipeline/hls_init.h"
#include "tests/media.h"
#include "vftest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void) { dir = vft_tmpdir("hls-init"); }

static void teardown(void)
{
    vft_rmrf(dir);
    free(dir);
}

/* A clip cut into CMAF by ffmpeg; the path of its init.mp4 in *init. */
static void make_init(const char *name, const vfm_clip_t *clip, char *src, size_t srclen, char *init,
                      size_t initlen)
{
    char out[1024];
    snprintf(src, srclen, "%s/%s.mp4", dir, name);
    snprintf(out, sizeof out, "%s/%s", dir, name);
    ck_assert_int_eq(vft_sh(NULL, "mkdir -p '%s'", out), 0);
    ck_assert_int_eq(vfm_make_clip(src, clip), 0);
    ck_assert_int_eq(vfm_make_hls_fmp4(src, out, 1.0), 0);
    snprintf(init, initlen, "%s/init.mp4", out);
}

/* The video's profile, constraint flags and level from its SPS (NAL type
 * 7) in the Annex B stream ffmpeg writes from the HLS output: ffmpeg's
 * reading of the same init segment, not ours. */
static void sps_bytes(const char *src, unsigned char out[3])
{
    char h264[1300];
    snprintf(h264, sizeof h264, "%s.h264", src);
    char *args[] = {"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", (char *)src, "-map", "0:v:0",
                    "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", h264, NULL};
    ck_assert_int_eq(vft_run(args, NULL), 0);
    size_t len = 0;
    unsigned char *data = (unsigned char *)vft_read_file(h264, &len);
    ck_assert_ptr_nonnull(data);
    size_t i = 0;
    while (i + 7 <= len && !(data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 && (data[i + 3] & 0x1f) == 7))
        i++;
    ck_assert_msg(i + 7 <= len, "no SPS in %s", h264);
    memcpy(out, data + i + 4, 3);
    free(data);
}

/* What ffmpeg and ffprobe read from the same HLS output. */
static void expect_as_ffmpeg(const char *init, const vf_hls_init_info_t *info, const char *audio)
{
    char playlist[1200];
    snprintf(playlist, sizeof playlist, "%.*s/index.m3u8", (int)(strrchr(init, '/') - init), init);
    unsigned char sps[3];
    sps_bytes(playlist, sps);
    char want[64];
    snprintf(want, sizeof want, "avc1.%02x%02x%02x%s%s", sps[0], sps[1], sps[2], audio ? "," : "", audio ? audio : "");
    ck_assert_str_eq(info->codecs, want);
    ck_assert_int_eq((int)vfm_probe_num(playlist, "v:0", "width"), info->width);
    ck_assert_int_eq((int)vfm_probe_num(playlist, "v:0", "height"), info->height);
}

START_TEST(video_and_aac)
{
    char src[1024], init[1100], err[256] = "";
    vfm_clip_t clip = {.width = 640, .height = 360, .fps = 25, .seconds = 2, .audio = 1};
    make_init("av", &clip, src, sizeof src, init, sizeof init);
    vf_hls_init_info_t info;
    ck_assert_msg(vf_hls_init_read(init, &info, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(info.width, 640);
    ck_assert_int_eq(info.height, 360);
    expect_as_ffmpeg(init, &info, "mp4a.40.2");
}
END_TEST

START_TEST(video_only_720p)
{
    char src[1024], init[1100], err[256] = "";
    vfm_clip_t clip = {.width = 1280, .height = 720, .fps = 30, .seconds = 2, .audio = 0};
    make_init("v", &clip, src, sizeof src, init, sizeof init);
    vf_hls_init_info_t info;
    ck_assert_msg(vf_hls_init_read(init, &info, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(info.width, 1280);
    ck_assert_int_eq(info.height, 720);
    expect_as_ffmpeg(init, &info, NULL);
}
END_TEST

START_TEST(refusals)
{
    char src[1024], init[1100], err[256] = "";
    vfm_clip_t clip = {.width = 320, .height = 240, .fps = 25, .seconds = 1, .audio = 1};
    make_init("r", &clip, src, sizeof src, init, sizeof init);
    size_t len = 0;
    unsigned char *data = (unsigned char *)vft_read_file(init, &len);
    ck_assert_ptr_nonnull(data);
    vf_hls_init_info_t info;
    ck_assert_int_eq(vf_hls_init_parse(data, len, &info, err, sizeof err), 0);
    /* Every truncation is refused or, cut after the video entry, still
     * names the video: never a read past the end (ASan builds check). */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = vf_hls_init_parse(data, cut, &info, err, sizeof err);
        ck_assert_msg(rc == -EINVAL || (rc == 0 && strncmp(info.codecs, "avc1.", 5) == 0), "cut %zu: %d", cut, rc);
    }
    ck_assert_int_eq(vf_hls_init_parse(data, len / 2, &info, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "truncated") != NULL, "%s", err);
    /* A segment's own bytes, not an init segment. */
    char seg[1024];
    snprintf(seg, sizeof seg, "%s/r/0.m4s", dir);
    ck_assert_int_eq(vf_hls_init_read(seg, &info, err, sizeof err), -EINVAL);
    /* Not ISO BMFF at all. */
    ck_assert_int_eq(vf_hls_init_parse((const unsigned char *)"#EXTM3U\n", 8, &info, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "no ftyp"));
    char missing[1024];
    snprintf(missing, sizeof missing, "%s/none.mp4", dir);
    ck_assert_int_eq(vf_hls_init_read(missing, &info, err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "none.mp4"));
    free(data);
}
END_TEST

static Suite *hls_init_suite(void)
{
    Suite *s = suite_create("hls_init");
    TCase *tc = tcase_create("init");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, video_and_aac);
    tcase_add_test(tc, video_only_720p);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(hls_init_suite)
