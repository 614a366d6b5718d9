/*
 * check_hls_browser.c - a video's HLS stream in a real player: the server,
 * a pipeline worker and a staff account (uploads_fixture), clips with audio
 * encoded to a 120p/360p/720p ladder, then tests/browser/hls.mjs plays
 * GET /content/<id>/hls/master.m3u8 with hls.js in Debian's chromium
 * (browser_fixture):
 *  - a processed clip: playback passes 2 s at the top level, hls.js sees the
 *    three levels, switches down when CDP throttles the network and back up
 *    when it no longer does;
 *  - watch while processing: a longer clip, played from the moment its
 *    hls_state is "live" (the browser is started with the upload and waits
 *    for that, so that its start-up on a loaded machine does not count);
 *    playback passes 1 s while the video is still processing, before its
 *    job ends (the times are printed).
 * The screenshots are kept in <build>/tests/hls-screenshots/.
 */
#include "config.h"
#include "browser_fixture.h"
#include "uploads_fixture.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STAFF_EMAIL "staff@example.com"
#define STAFF_PASSWORD "staff-password-1"
/* Long enough to throttle and recover while it plays (the page loops it). */
#define SWITCH_SECONDS 40.0
/* Long enough that processing goes on well after the browser is up. */
#define LIVE_SECONDS 60.0

static ufix_t f;

static void setup(void)
{
    /* One decode for the whole ladder, so every rendition grows at once. */
    ufix_opts_t opts = {.job_split = "whole_ladder",
                        .media = "renditions = ( { name = \"120p\"; height = 120; }, "
                                 "{ name = \"360p\"; height = 360; }, { name = \"720p\"; height = 720; } );"};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    char shots[4200];
    snprintf(shots, sizeof shots, "%s/tests/hls-screenshots", vft_env_or_skip("VF_BUILDDIR"));
    vft_rmrf(shots);
}

static void teardown(void) { ufix_teardown(&f); }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A 720p clip with audio of `seconds`, uploaded; the new video's id. */
static int64_t upload_clip(const char *name, double seconds)
{
    char clip[4200];
    snprintf(clip, sizeof clip, "%s/%s.mp4", f.dir, name);
    ck_assert_int_eq(ufix_make_clip(clip, 1280, 720, seconds), 0);
    int64_t id = ufix_add_video(&f, clip, name);
    ck_assert_int_gt(id, 0);
    return id;
}

/* hls.mjs in `scenario` on video id; its RESULT object (the caller frees). */
static json_t *play(const char *scenario, int64_t id)
{
    char shots[4200], script[4200], master[96], video[32];
    snprintf(shots, sizeof shots, "%s/tests/hls-screenshots", vft_env_or_skip("VF_BUILDDIR"));
    bfix_script("hls.mjs", "hls.js", script, sizeof script);
    snprintf(master, sizeof master, "/content/%" PRId64 "/hls/master.m3u8", id);
    snprintf(video, sizeof video, "%" PRId64, id);
    setenv("VF_HLS_BASE", f.base, 1);
    setenv("VF_HLS_MASTER", master, 1);
    setenv("VF_HLS_SCENARIO", scenario, 1);
    setenv("VF_HLS_EMAIL", STAFF_EMAIL, 1);
    setenv("VF_HLS_PASSWORD", STAFF_PASSWORD, 1);
    setenv("VF_HLS_VIDEO", video, 1);
    setenv("VF_HLS_SHOTS", shots, 1);
    char *out = bfix_run(script, "hls.mjs");
    printf("check_hls_browser: screenshots kept in %s\n", shots);
    const char *line = strstr(out, "hls.mjs: RESULT ");
    ck_assert_msg(line != NULL, "hls.mjs printed no RESULT line");
    line += strlen("hls.mjs: RESULT ");
    json_error_t err;
    json_t *result = json_loadb(line, strcspn(line, "\n"), 0, &err);
    free(out);
    ck_assert_msg(result != NULL, "hls.mjs's RESULT is no JSON: %s", err.text);
    return result;
}

static void screenshot_kept(const char *name)
{
    char p[4300];
    struct stat st;
    snprintf(p, sizeof p, "%s/tests/hls-screenshots/%s", vft_env_or_skip("VF_BUILDDIR"), name);
    ck_assert_msg(stat(p, &st) == 0 && st.st_size > 1000, "no screenshot %s", p);
}

static json_int_t result_int(json_t *result, const char *key)
{
    json_t *v = json_object_get(result, key);
    ck_assert_msg(json_is_integer(v), "hls.mjs's RESULT has no %s", key);
    return json_integer_value(v);
}

START_TEST(levels_switch_under_throttling)
{
    int64_t id = upload_clip("hls-switch", SWITCH_SECONDS);
    json_t *video = NULL;
    ck_assert_msg(ufix_wait_video_field(&f, id, "hls_state", "complete", 600000, &video) == 0,
                  "the stream did not complete: %s / %s", json_string_value(json_object_get(video, "processing_state")),
                  json_string_value(json_object_get(video, "hls_state")));
    const char *url = json_string_value(json_object_get(video, "hls_url"));
    char master[96];
    snprintf(master, sizeof master, "/content/%" PRId64 "/hls/master.m3u8", id);
    ck_assert_msg(url && strlen(url) > strlen(master) && strcmp(url + strlen(url) - strlen(master), master) == 0,
                  "the video object's hls_url is %s", url ? url : "null");
    json_decref(video);
    ck_assert_int_eq(ufix_wait_video(&f, id, "ready", 600000, NULL), 0);

    json_t *result = play("switch", id);
    size_t levels = json_array_size(json_object_get(result, "levels"));
    ck_assert_uint_eq(levels, 3);
    json_int_t down = result_int(result, "switched_down_to"), up = result_int(result, "switched_up_to");
    ck_assert_int_lt(down, (json_int_t)levels - 1);
    ck_assert_int_gt(up, down);
    printf("check_hls_browser: throttled to %" JSON_INTEGER_FORMAT " kbit/s, hls.js went from level %zu down to %"
           JSON_INTEGER_FORMAT " in %" JSON_INTEGER_FORMAT " ms, and up to %" JSON_INTEGER_FORMAT
           " in %" JSON_INTEGER_FORMAT " ms unthrottled\n",
           result_int(result, "throttled_kbits"), levels - 1, down, result_int(result, "switch_down_ms"), up,
           result_int(result, "switch_up_ms"));
    json_decref(result);
    screenshot_kept("switch-1-top-level.png");
    screenshot_kept("switch-2-throttled.png");
    screenshot_kept("switch-3-unthrottled.png");
}
END_TEST

START_TEST(watched_while_processing)
{
    int64_t id = upload_clip("hls-live", LIVE_SECONDS);
    int64_t created = now_ms();
    json_t *result = play("live", id);
    int64_t live = result_int(result, "live_seen_at_ms"), playing = result_int(result, "played_at_ms");
    const char *state = json_string_value(json_object_get(result, "processing_state"));
    const char *hls_state = json_string_value(json_object_get(result, "hls_state"));
    ck_assert_msg(state && strcmp(state, "ready") != 0 && hls_state && strcmp(hls_state, "complete") != 0,
                  "playing past 1 s, the video was %s / %s", state ? state : "?", hls_state ? hls_state : "?");
    printf("check_hls_browser: while playing past 1 s the video was %s, hls_state %s\n", state, hls_state);
    json_decref(result);

    ck_assert_int_eq(ufix_wait_video_field(&f, id, "hls_state", "complete", 600000, NULL), 0);
    int64_t complete = now_ms();
    ck_assert_int_eq(ufix_wait_video(&f, id, "ready", 600000, NULL), 0);
    int64_t ready = now_ms();
    printf("check_hls_browser: after the video was created (%g s clip): hls_state live at %.1f s, playback past 1 s "
           "at %.1f s, hls_state complete at %.1f s, ready at %.1f s\n",
           LIVE_SECONDS, (live - created) / 1000.0, (playing - created) / 1000.0, (complete - created) / 1000.0,
           (ready - created) / 1000.0);
    ck_assert_int_lt(playing, complete);
    screenshot_kept("live-1-playing.png");
}
END_TEST

static Suite *hls_browser_suite(void)
{
    Suite *s = suite_create("hls_browser");
    TCase *tc = tcase_create("chromium");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, levels_switch_under_throttling);
    tcase_add_test(tc, watched_while_processing);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(hls_browser_suite)
