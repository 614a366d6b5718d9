/*
 * check_admin_browser.c - the admin pages in a real browser: the server,
 * two pipeline workers and a staff account (uploads_fixture), then
 * tests/browser/admin.mjs drives Debian's chromium through playwright-core:
 * sign-in page, an upload through the videos page with tus-js-client, the
 * row reaching ready through the event stream with its progress bar moving,
 * its 720p rendition played past 2 s in the video's dialog, a new source
 * uploaded there (the generation changes, the row is ready again), a rename there reaching GET /content/, a
 * title with markup shown as text, a corrupt upload ending failed with its
 * error shown and its job requeued from the jobs dashboard, and a reload in
 * the middle of an upload resumed from the server's offset, and a video
 * deleted from the page (after confirming) with its files gone from storage;
 * a viewer gets the sign-in page, and deactivated from the users page is
 * refused at the next call.  The screenshots are kept in
 * <build>/tests/admin-screenshots/ (the output names the folder).
 */
#include "config.h"
#include "browser_fixture.h"
#include "uploads_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STAFF_EMAIL "staff@example.com"
#define STAFF_PASSWORD "staff-password-1"

static ufix_t f;

static void setup(void)
{
    char extra[4200];
    snprintf(extra, sizeof extra, "admin = { static_dir = \"%s/web/admin\"; };", vft_env_or_skip("VF_SRCDIR"));
    /* A 720p rendition to preview, as staff would. */
    ufix_opts_t opts = {.extra = extra,
                        .media = "renditions = ( { name = \"120p\"; height = 120; }, "
                                 "{ name = \"720p\"; height = 720; } );"};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
}

static void teardown(void) { ufix_teardown(&f); }

START_TEST(upload_through_the_page_reaches_ready_live)
{
    char clip[4096], shots[4096];
    snprintf(clip, sizeof clip, "%s/browser-clip.mp4", f.dir);
    ck_assert_int_eq(ufix_make_clip(clip, 1280, 720, 3.0), 0);
    snprintf(shots, sizeof shots, "%s/tests/admin-screenshots", vft_env_or_skip("VF_BUILDDIR"));
    vft_rmrf(shots);
    char script[4096];
    bfix_script("admin.mjs", "playwright-core", script, sizeof script);
    setenv("VF_ADMIN_BASE", f.base, 1);
    setenv("VF_ADMIN_EMAIL", STAFF_EMAIL, 1);
    setenv("VF_ADMIN_PASSWORD", STAFF_PASSWORD, 1);
    setenv("VF_ADMIN_CLIP", clip, 1);
    char corrupt[4096];
    snprintf(corrupt, sizeof corrupt, "%s/corrupt.mp4", f.dir);
    ck_assert_int_eq(vft_write_pattern(corrupt, 200000, 3), 0);
    setenv("VF_ADMIN_CORRUPT", corrupt, 1);
    char large[4096];
    snprintf(large, sizeof large, "%s/large.mp4", f.dir);
    ck_assert_int_eq(vft_write_pattern(large, 12 * 1024 * 1024, 5), 0);
    setenv("VF_ADMIN_LARGE", large, 1);
    int64_t viewer;
    ck_assert_int_eq(ufix_user(&f, "viewer@example.com", "viewer-password-1", 0, NULL, 0, &viewer), 0);
    setenv("VF_ADMIN_VIEWER", "viewer@example.com", 1);
    setenv("VF_ADMIN_VIEWER_PASSWORD", "viewer-password-1", 1);
    setenv("VF_ADMIN_SHOTS", shots, 1);
    char *out = bfix_run(script, "admin.mjs");
    printf("check_admin_browser: screenshots kept in %s\n", shots);
    ck_assert_ptr_nonnull(strstr(out, "the row went "));
    ck_assert_ptr_nonnull(strstr(out, "the 720p rendition played past 2 s"));
    ck_assert_ptr_nonnull(strstr(out, "replaced the source in the dialog"));
    ck_assert_ptr_nonnull(strstr(out, "GET /content/ shows the new title"));
    ck_assert_ptr_nonnull(strstr(out, "a title with markup shows as text"));
    ck_assert_ptr_nonnull(strstr(out, "a corrupt upload went "));
    ck_assert_ptr_nonnull(strstr(out, "from the dashboard (audited)"));
    ck_assert_ptr_nonnull(strstr(out, "reloaded mid-upload"));
    ck_assert_ptr_nonnull(strstr(out, "their next call is refused"));
    /* The deleted video's files leave storage (the remove_files job). */
    const char *del = strstr(out, "deleted video ");
    ck_assert_ptr_nonnull(del);
    char files_dir[4300];
    snprintf(files_dir, sizeof files_dir, "%s/videos/%lld", f.media_root, strtoll(del + strlen("deleted video "), NULL, 10));
    free(out);
    int left = -1;
    for (int waited = 0; waited < 120000 && (left = ufix_count_files(files_dir)) != 0; waited += 200) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(left == 0, "%d files of the deleted video left in %s", left, files_dir);
    /* Its sources went too (the first one when it was replaced): of the
     * four uploads (the clip, its replacement, the corrupt file, the large
     * file), two sources are left. */
    char sources[4200];
    snprintf(sources, sizeof sources, "%s/sources", f.media_root);
    int n = -1;
    for (int waited = 0; waited < 120000 && (n = ufix_count_files(sources)) != 2; waited += 200) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(n == 2, "%d sources left in %s, not 2", n, sources);
    const char *files[] = {"1-signin.png", "2-videos-processing.png", "3-videos-ready.png", "4-video-dialog.png",
                           "5-jobs-failed.png", "6-jobs-done.png", "7-viewer-signin.png", "8-users.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", shots, files[i]);
        ck_assert_msg(stat(p, &st) == 0 && st.st_size > 1000, "no screenshot %s", p);
    }
}
END_TEST

static Suite *browser_suite(void)
{
    Suite *s = suite_create("admin_browser");
    TCase *tc = tcase_create("chromium");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, upload_through_the_page_reaches_ready_live);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(browser_suite)
