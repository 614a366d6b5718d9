/*
 * check_hls_playlist.c - the exact text of HLS playlists
 * (core/pipeline/hls_playlist.c): the media playlist's tags, EXTINF with
 * three decimals, the target duration as the ceiling of the longest
 * segment as written, ENDLIST only when ended, URIs through the caller's
 * function and refused when they would break the syntax; the master
 * playlist ordered by peak bandwidth with its attributes; and the loader
 * (hls_db.c) reading a generation's rows from a real PostgreSQL.
 */
#include "config.h"
#include "pipeline/hls_db.h"
#include "pipeline/hls_playlist.h"
#include "vftest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vf_hls_segment_t segs_720[] = {{0, 4.0, 500000}, {1, 4.0004, 900000}, {2, 1.2345, 100000}};

static vf_hls_stream_t stream_720(int ended)
{
    vf_hls_stream_t s = {.quality = "720p", .width = 1280, .height = 720, .codecs = "avc1.64001f,mp4a.40.2",
                         .frame_rate = 30000.0 / 1001.0, .ended = ended, .version = 3,
                         .segments = segs_720, .nsegments = 3};
    return s;
}

static char *media(const vf_hls_stream_t *s, vf_hls_uri_fn fn, void *ud)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(vf_hls_media_playlist(s, fn, ud, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    return text;
}

/* 4.0004 s is written 4.000, so the target stays 4; 1.2345 is written 1.235. */
START_TEST(media_playlist_growing)
{
    vf_hls_stream_t s = stream_720(0);
    char *text = media(&s, NULL, NULL);
    ck_assert_str_eq(text, "#EXTM3U\n"
                           "#EXT-X-VERSION:7\n"
                           "#EXT-X-TARGETDURATION:4\n"
                           "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                           "#EXT-X-INDEPENDENT-SEGMENTS\n"
                           "#EXT-X-MEDIA-SEQUENCE:0\n"
                           "#EXT-X-MAP:URI=\"init.mp4\"\n"
                           "#EXTINF:4.000,\n0.m4s\n"
                           "#EXTINF:4.000,\n1.m4s\n"
                           "#EXTINF:1.235,\n2.m4s\n");
    free(text);
}
END_TEST

/* 4.0004 is written 4.000: the target is 4, not 5; 4.0006 makes it 5. */
START_TEST(target_duration_is_the_ceiling_as_written)
{
    vf_hls_segment_t segs[] = {{0, 4.0004, 10}, {1, 3.9996, 10}};
    vf_hls_stream_t s = {.quality = "360p", .ended = 1, .segments = segs, .nsegments = 2};
    char *text = media(&s, NULL, NULL);
    ck_assert_str_eq(text, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
                           "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n"
                           "#EXTINF:4.000,\n0.m4s\n#EXTINF:4.000,\n1.m4s\n#EXT-X-ENDLIST\n");
    free(text);
    /* A hair over the segment length keeps the target (it rounds to it). */
    segs[1].duration = 4.0006;
    text = media(&s, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(text, "#EXT-X-TARGETDURATION:4\n"));
    ck_assert_ptr_nonnull(strstr(text, "#EXTINF:4.001,\n1.m4s\n"));
    free(text);
    segs[1].duration = 4.5;
    text = media(&s, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(text, "#EXT-X-TARGETDURATION:5\n"));
    free(text);
}
END_TEST

START_TEST(media_playlist_ended_and_empty)
{
    vf_hls_stream_t s = stream_720(1);
    char *text = media(&s, NULL, NULL);
    size_t n = strlen(text);
    ck_assert_str_eq(text + n - strlen("2.m4s\n#EXT-X-ENDLIST\n"), "2.m4s\n#EXT-X-ENDLIST\n");
    ck_assert_ptr_null(strstr(text, "#EXT-X-ENDLIST\n#"));
    free(text);
    /* No segment yet: a valid, positive target and the map only. */
    vf_hls_stream_t empty = {.quality = "120p"};
    text = media(&empty, NULL, NULL);
    ck_assert_str_eq(text, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
                           "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n");
    free(text);
}
END_TEST

static int calls;

/* What the server does for private S3: an absolute URL per name. */
static int signed_uri(void *ud, const char *quality, const char *name, char **uri)
{
    calls++;
    return asprintf(uri, "https://%s/videos/7/2/hls/%s/%s?X-Amz-Signature=ab&x=1", (const char *)ud, quality,
                    name) < 0
               ? -ENOMEM
               : 0;
}

START_TEST(media_playlist_with_uri_function)
{
    vf_hls_stream_t s = stream_720(0);
    calls = 0;
    char *text = media(&s, signed_uri, "s3.example");
    ck_assert_int_eq(calls, 4);
    ck_assert_ptr_nonnull(
        strstr(text, "#EXT-X-MAP:URI=\"https://s3.example/videos/7/2/hls/720p/init.mp4?X-Amz-Signature=ab&x=1\"\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "#EXTINF:1.235,\nhttps://s3.example/videos/7/2/hls/720p/2.m4s?X-Amz-Signature=ab&x=1\n"));
    free(text);
}
END_TEST

static int bad_uri(void *ud, const char *quality, const char *name, char **uri)
{
    (void)quality;
    (void)name;
    const char *kind = ud;
    if (strcmp(kind, "fail") == 0)
        return -EIO;
    *uri = strdup(strcmp(kind, "quote") == 0 ? "a\"b" : strcmp(kind, "newline") == 0 ? "a\nb" : "");
    return 0;
}

START_TEST(uris_that_break_the_syntax_are_refused)
{
    vf_hls_stream_t s = stream_720(0);
    char *text = (char *)"untouched";
    size_t len = 1;
    ck_assert_int_eq(vf_hls_media_playlist(&s, bad_uri, "quote", &text, &len), -EINVAL);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(vf_hls_media_playlist(&s, bad_uri, "newline", &text, &len), -EINVAL);
    ck_assert_int_eq(vf_hls_media_playlist(&s, bad_uri, "empty", &text, &len), -EINVAL);
    ck_assert_int_eq(vf_hls_media_playlist(&s, bad_uri, "fail", &text, &len), -EIO);
    ck_assert_int_eq(vf_hls_master_playlist(&s, 1, bad_uri, "quote", &text, &len), -EINVAL);
    ck_assert_int_eq(vf_hls_master_playlist(&s, 1, bad_uri, "fail", &text, &len), -EIO);
    ck_assert_ptr_null(text);
}
END_TEST

START_TEST(bandwidths)
{
    vf_hls_stream_t s = stream_720(0);
    /* Peak: 900000 bytes in 4.0004 s; average: 1500000 bytes in 9.2349 s. */
    ck_assert_int_eq(vf_hls_peak_bandwidth(&s), 1799821);
    ck_assert_int_eq(vf_hls_average_bandwidth(&s), 1299419);
    vf_hls_stream_t empty = {.quality = "x"};
    ck_assert_int_eq(vf_hls_peak_bandwidth(&empty), 0);
    ck_assert_int_eq(vf_hls_average_bandwidth(&empty), 0);
}
END_TEST

START_TEST(master_playlist_lowest_first)
{
    static vf_hls_segment_t segs_1080[] = {{0, 4.0, 2000000}, {1, 2.0, 600000}};
    static vf_hls_segment_t segs_360[] = {{0, 4.0, 100000}, {1, 2.5, 70000}};
    vf_hls_stream_t streams[4] = {
        stream_720(0),
        {.quality = "1080p", .width = 1920, .height = 1080, .codecs = "avc1.640028,mp4a.40.2", .frame_rate = 25,
         .segments = segs_1080, .nsegments = 2},
        /* Not started yet: left out. */
        {.quality = "120p", .width = 214, .height = 120, .codecs = "avc1.64000c", .frame_rate = 25},
        /* No sound, no frame rate known. */
        {.quality = "360p", .width = 640, .height = 360, .codecs = "avc1.64001e", .segments = segs_360,
         .nsegments = 2},
    };
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(vf_hls_master_playlist(streams, 4, NULL, NULL, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_str_eq(text, "#EXTM3U\n"
                           "#EXT-X-VERSION:7\n"
                           "#EXT-X-INDEPENDENT-SEGMENTS\n"
                           "#EXT-X-STREAM-INF:BANDWIDTH=224000,AVERAGE-BANDWIDTH=209231,RESOLUTION=640x360,"
                           "CODECS=\"avc1.64001e\"\n"
                           "360p/index.m3u8\n"
                           "#EXT-X-STREAM-INF:BANDWIDTH=1799821,AVERAGE-BANDWIDTH=1299419,RESOLUTION=1280x720,"
                           "CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=29.970\n"
                           "720p/index.m3u8\n"
                           "#EXT-X-STREAM-INF:BANDWIDTH=4000000,AVERAGE-BANDWIDTH=3466667,RESOLUTION=1920x1080,"
                           "CODECS=\"avc1.640028,mp4a.40.2\",FRAME-RATE=25.000\n"
                           "1080p/index.m3u8\n");
    free(text);
    calls = 0;
    ck_assert_int_eq(vf_hls_master_playlist(streams, 4, signed_uri, "h", &text, &len), 0);
    ck_assert_int_eq(calls, 3);
    ck_assert_ptr_nonnull(strstr(text, "\nhttps://h/videos/7/2/hls/360p/360p/index.m3u8?X-Amz-Signature=ab&x=1\n"));
    free(text);
    /* Nothing to list yet. */
    ck_assert_int_eq(vf_hls_master_playlist(streams, 0, NULL, NULL, &text, &len), 0);
    ck_assert_str_eq(text, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    free(text);
}
END_TEST

/* ------------------------------------------------------------ the loader */

static char *conninfo;

static void db_setup(void)
{
    conninfo = vft_pg_create("vf_hls_playlist");
    const char *src = vft_env_or_skip("VF_SRCDIR");
    char sqldir[1024], err[512];
    snprintf(sqldir, sizeof sqldir, "%s/sql", src);
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    int applied = 0;
    ck_assert_msg(vf_db_migrate(db, sqldir, &applied, err, sizeof err) == 0, "%s", err);
    vf_db_free(&db);
}

static void db_teardown(void)
{
    vft_pg_drop(conninfo);
    free(conninfo);
}

static void run(vf_db_t *db, const char *sql)
{
    ck_assert_msg(vf_db_run(db, sql, 0, NULL) == 0, "%s: %s", sql, vf_db_last_error(db));
}

START_TEST(loader_reads_one_generation)
{
    vf_db_t *db = vf_db_new_conninfo(conninfo, NULL, 5);
    run(db, "INSERT INTO videos (id, title, category, generation) VALUES (7, 'A', 'Drama', 2)");
    run(db, "INSERT INTO video_hls_streams (video_id, generation, quality, width, height, codecs, frame_rate, "
            "segments, ended, version) VALUES "
            "(7, 2, '720p', 1280, 720, 'avc1.64001f,mp4a.40.2', 29.97002997002997, 3, true, 9), "
            "(7, 2, '360p', 640, 360, 'avc1.64001e', 25, 0, false, 1), "
            "(7, 1, '720p', 1280, 720, 'avc1.64001f', 25, 1, true, 2)");
    /* Inserted out of order: read in sequence order. */
    run(db, "INSERT INTO video_hls_segments (video_id, generation, quality, sequence, duration, bytes) VALUES "
            "(7, 2, '720p', 2, 1.2345, 100000), (7, 2, '720p', 0, 4.0, 500000), (7, 2, '720p', 1, 4.0004, 900000), "
            "(7, 1, '720p', 0, 4.0, 5)");
    vf_hls_stream_t *streams = NULL;
    size_t n = 0;
    ck_assert_int_eq(vf_hls_db_load(db, 7, 2, NULL, &streams, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(streams[0].quality, "360p");
    ck_assert_uint_eq(streams[0].nsegments, 0);
    ck_assert_int_eq(streams[0].ended, 0);
    ck_assert_str_eq(streams[1].quality, "720p");
    ck_assert_int_eq(streams[1].version, 9);
    ck_assert_uint_eq(streams[1].nsegments, 3);
    /* The same text as from the structs above. */
    vf_hls_stream_t want = stream_720(1);
    char *a = media(&want, NULL, NULL), *b = media(&streams[1], NULL, NULL);
    ck_assert_str_eq(b, a);
    free(a);
    free(b);
    char *ma = NULL, *mb = NULL;
    size_t len;
    ck_assert_int_eq(vf_hls_master_playlist(&want, 1, NULL, NULL, &ma, &len), 0);
    ck_assert_int_eq(vf_hls_master_playlist(streams, n, NULL, NULL, &mb, &len), 0);
    ck_assert_str_eq(mb, ma);
    free(ma);
    free(mb);
    vf_hls_streams_free(streams, n);

    ck_assert_int_eq(vf_hls_db_load(db, 7, 2, "360p", &streams, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(streams[0].quality, "360p");
    vf_hls_streams_free(streams, n);
    /* A quality that is a value, never SQL. */
    ck_assert_int_eq(vf_hls_db_load(db, 7, 2, "720p' OR 'a'='a", &streams, &n), 0);
    ck_assert_uint_eq(n, 0);
    vf_hls_streams_free(streams, n);
    ck_assert_int_eq(vf_hls_db_load(db, 8, 1, NULL, &streams, &n), 0);
    ck_assert_uint_eq(n, 0);
    vf_hls_streams_free(streams, n);
    vf_db_free(&db);
}
END_TEST

static Suite *hls_playlist_suite(void)
{
    Suite *s = suite_create("hls_playlist");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, media_playlist_growing);
    tcase_add_test(tc, target_duration_is_the_ceiling_as_written);
    tcase_add_test(tc, media_playlist_ended_and_empty);
    tcase_add_test(tc, media_playlist_with_uri_function);
    tcase_add_test(tc, uris_that_break_the_syntax_are_refused);
    tcase_add_test(tc, bandwidths);
    tcase_add_test(tc, master_playlist_lowest_first);
    suite_add_tcase(s, tc);
    TCase *db = tcase_create("db");
    tcase_add_unchecked_fixture(db, db_setup, db_teardown);
    tcase_add_test(db, loader_reads_one_generation);
    suite_add_tcase(s, db);
    return s;
}

VFT_MAIN(hls_playlist_suite)
