/*
 * check_hls.c - HLS as a viewer gets it, through the real path: a clip
 * with audio uploaded with tus, the real pipeline worker making MP4 and
 * HLS (encoder_ffmpeg for local storage, encoder_libav for S3), the server
 * answering /content/<id>/hls/...:
 *   local      hls_state "live" while the job runs, with an EVENT media
 *              playlist of >= 1 segment and no ENDLIST, then "complete" and
 *              ENDLIST; hls_url in /content/ and /content/<id>/; 401 without
 *              the cookie, 404 for a missing quality and for a video
 *              without HLS; Content-Type, Cache-Control; gzip and br bodies
 *              that decode to the plain one, each with its ETag, 304 on
 *              If-None-Match; ffprobe reads the master playlist (with the
 *              cookie) and finds every rendition; segment durations are
 *              the target but the last; every segment starts with a
 *              keyframe, at the same time in every rendition
 *   s3         storage_s3 behind the signature-checking proxy: every
 *              init and segment URL of the served playlists is presigned
 *              and fetched (200); a tampered signature gets 403
 */
#include "config.h"
#include "uploads_fixture.h"

#include "tests/media.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEGMENT_SECONDS 2
#define RENDITIONS "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; } ); "
#define MEDIA RENDITIONS "outputs = [ \"mp4\", \"hls\" ]; hls_segment_seconds = 2; url_expires = 600; "
/* Both encoder plugins make HLS: the local case runs encoder_ffmpeg (the
 * default), the S3 case encoder_libav. */
#define ENCODER_FFMPEG "encoder = { plugin = \"encoder_ffmpeg\"; };\n"
#define ENCODER_LIBAV "encoder = { plugin = \"encoder_libav\"; };\n"
static const char *const qualities[] = {"120p", "240p"};
#define NQUALITIES 2

/* ------------------------------------------------------------ playlists */

typedef struct segment {
    double duration;
    char *uri;
} segment_t;

typedef struct media_playlist {
    int target;
    int event, ended;
    char *map_uri;
    segment_t seg[512];
    size_t nseg;
} media_playlist_t;

static void media_free(media_playlist_t *m)
{
    free(m->map_uri);
    for (size_t i = 0; i < m->nseg; i++)
        free(m->seg[i].uri);
    memset(m, 0, sizeof *m);
}

/* Parse the text of a media playlist; 0, or -1 when it is not one. */
static int media_parse(const char *text, media_playlist_t *m)
{
    memset(m, 0, sizeof *m);
    if (strncmp(text, "#EXTM3U", 7) != 0)
        return -1;
    double pending = -1;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[8192];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        buf[strcspn(buf, "\r")] = '\0';
        if (sscanf(buf, "#EXT-X-TARGETDURATION:%d", &m->target) == 1)
            ;
        else if (strcmp(buf, "#EXT-X-PLAYLIST-TYPE:EVENT") == 0)
            m->event = 1;
        else if (strcmp(buf, "#EXT-X-ENDLIST") == 0)
            m->ended = 1;
        else if (strncmp(buf, "#EXT-X-MAP:URI=\"", 16) == 0) {
            free(m->map_uri);
            m->map_uri = strndup(buf + 16, strcspn(buf + 16, "\""));
        } else if (sscanf(buf, "#EXTINF:%lf", &pending) == 1)
            ;
        else if (buf[0] && buf[0] != '#' && pending >= 0 && m->nseg < 512) {
            m->seg[m->nseg].duration = pending;
            m->seg[m->nseg++].uri = strdup(buf);
            pending = -1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* The variant URIs of a master playlist, in order (malloc()ed each). */
static size_t master_variants(const char *text, char **uris, size_t max)
{
    size_t n = 0;
    int want = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        while (len && (line[len - 1] == '\r'))
            len--;
        if (strncmp(line, "#EXT-X-STREAM-INF:", 18) == 0)
            want = 1;
        else if (want && len && line[0] != '#' && n < max) {
            uris[n++] = strndup(line, len);
            want = 0;
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}

/* ------------------------------------------------------------- requests */

static char *tmp_path(ufix_t *f, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", f->dir, name), 0);
    return p;
}

/* GET path with the cookie (and an optional header); asserts the status. */
static void get(ufix_t *f, const char *path, const char *header, long status, ufix_resp_t *r)
{
    const char *headers[] = {header, NULL};
    ck_assert_int_eq(ufix_request(f, "GET", path, header ? headers : NULL, NULL, 0, 1, r), 0);
    ck_assert_msg(r->status == status, "GET %s answered %ld, not %ld: %s", path, r->status, status, r->body);
}

static json_t *video_of(ufix_t *f, int64_t id)
{
    char path[96];
    snprintf(path, sizeof path, "/content/%" PRId64 "/", id);
    ufix_resp_t r;
    get(f, path, NULL, 200, &r);
    json_t *v = json_loads(r.body, 0, NULL);
    ufix_resp_free(&r);
    ck_assert_ptr_nonnull(v);
    return v;
}

static const char *hls_state(json_t *v) { return json_string_value(json_object_get(v, "hls_state")); }

static void media_path(int64_t id, const char *quality, char *out, size_t len)
{
    snprintf(out, len, "/content/%" PRId64 "/hls/%s/index.m3u8", id, quality);
}

static void master_path(int64_t id, char *out, size_t len)
{
    snprintf(out, len, "/content/%" PRId64 "/hls/master.m3u8", id);
}

static void get_media(ufix_t *f, int64_t id, const char *quality, media_playlist_t *m)
{
    char path[128];
    media_path(id, quality, path, sizeof path);
    ufix_resp_t r;
    get(f, path, NULL, 200, &r);
    ck_assert_int_eq(media_parse(r.body, m), 0);
    ufix_resp_free(&r);
}

/* Download url into path; asserts 200. */
static void download(const char *url, const char *path)
{
    vft_response_t r;
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 200, "GET %s answered %ld", url, r.status);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(r.body, 1, r.body_len, fp), r.body_len);
    ck_assert_int_eq(fclose(fp), 0);
    vft_response_free(&r);
}

/* ------------------------------------------------------------ the checks */

/* Wait until the video's HLS state is `state`; the last object. */
static json_t *wait_hls_state(ufix_t *f, int64_t id, const char *state, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        json_t *v = video_of(f, id);
        if (strcmp(hls_state(v), state) == 0)
            return v;
        const char *ps = json_string_value(json_object_get(v, "processing_state"));
        ck_assert_msg(strcmp(ps, "failed") != 0, "processing failed: %s",
                      json_string_value(json_object_get(v, "processing_error")));
        json_decref(v);
        usleep(50000);
    }
    ck_abort_msg("video %" PRId64 " never reached hls_state %s", id, state);
    return NULL;
}

static void check_hls_url(ufix_t *f, json_t *v, int64_t id)
{
    char want[256];
    snprintf(want, sizeof want, "%s/content/%" PRId64 "/hls/master.m3u8", f->base, id);
    ck_assert_str_eq(json_string_value(json_object_get(v, "hls_url")), want);
}

/* The job ends well: the video is ready, its stream complete, hls_url
 * the API's master playlist. */
static void wait_complete(ufix_t *f, int64_t id)
{
    json_t *v = NULL;
    ck_assert_int_eq(ufix_wait_video(f, id, NULL, 300000, &v), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    json_decref(v);
    v = wait_hls_state(f, id, "complete", 10000);
    check_hls_url(f, v, id);
    json_decref(v);
}

/* Both renditions while the job runs: EVENT, no ENDLIST, >= 1 segment,
 * not cacheable for long. */
static void check_live(ufix_t *f, int64_t id)
{
    json_t *v = wait_hls_state(f, id, "live", 240000);
    check_hls_url(f, v, id);
    json_decref(v);
    for (int q = 0; q < NQUALITIES; q++) {
        char path[128];
        media_path(id, qualities[q], path, sizeof path);
        ufix_resp_t r;
        get(f, path, NULL, 200, &r);
        media_playlist_t m;
        ck_assert_int_eq(media_parse(r.body, &m), 0);
        if (m.ended) { /* the job finished between the two requests */
            media_free(&m);
            ufix_resp_free(&r);
            v = video_of(f, id);
            ck_assert_str_eq(hls_state(v), "complete");
            json_decref(v);
            ck_abort_msg("the job ended before the live playlist could be read; use a longer clip");
        }
        ck_assert_int_eq(m.event, 1);
        ck_assert_uint_ge(m.nseg, 1);
        char *cc = ufix_header(&r, "Cache-Control");
        ck_assert_msg(cc && strstr(cc, "no-cache"), "a growing playlist is cacheable: %s", cc ? cc : "(none)");
        free(cc);
        media_free(&m);
        ufix_resp_free(&r);
    }
}

static void check_errors(ufix_t *f, int64_t id, int64_t without_hls)
{
    char path[128];
    master_path(id, path, sizeof path);
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(f, "GET", path, NULL, NULL, 0, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.body, "\"detail\""));
    ufix_resp_free(&r);
    media_path(id, "120p", path, sizeof path);
    ck_assert_int_eq(ufix_request(f, "GET", path, NULL, NULL, 0, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ufix_resp_free(&r);

    media_path(id, "999p", path, sizeof path);
    get(f, path, NULL, 404, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"detail\""));
    ufix_resp_free(&r);
    get(f, "/content/999999999/hls/master.m3u8", NULL, 404, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "Not found."));
    ufix_resp_free(&r);

    json_t *v = video_of(f, without_hls);
    ck_assert_str_eq(hls_state(v), "none");
    ck_assert(json_is_null(json_object_get(v, "hls_url")));
    json_decref(v);
    master_path(without_hls, path, sizeof path);
    get(f, path, NULL, 404, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"detail\""));
    ufix_resp_free(&r);
    media_path(without_hls, "120p", path, sizeof path);
    get(f, path, NULL, 404, &r);
    ufix_resp_free(&r);
}

/* gzip and br bodies decode to the plain one, with ETags of their own and
 * 304 for each. */
static void check_codings(ufix_t *f, const char *path)
{
    ufix_resp_t plain;
    get(f, path, "Accept-Encoding: identity", 200, &plain);
    char *etag = ufix_header(&plain, "ETag");
    ck_assert_ptr_nonnull(etag);
    char *vary = ufix_header(&plain, "Vary");
    ck_assert_msg(vary && strstr(vary, "Accept-Encoding"), "Vary: %s", vary ? vary : "(none)");
    free(vary);
    char *type = ufix_header(&plain, "Content-Type");
    ck_assert_str_eq(type, "application/vnd.apple.mpegurl");
    free(type);
    const char *codings[] = {"gzip", "br"};
    for (int i = 0; i < 2; i++) {
        char accept[64];
        snprintf(accept, sizeof accept, "Accept-Encoding: %s", codings[i]);
        ufix_resp_t r;
        get(f, path, accept, 200, &r);
        char *ce = ufix_header(&r, "Content-Encoding");
        ck_assert_str_eq(ce, codings[i]);
        free(ce);
        char *tag = ufix_header(&r, "ETag");
        ck_assert_ptr_nonnull(tag);
        ck_assert_str_ne(tag, etag);
        char *out = NULL;
        size_t out_len = 0;
        ck_assert_int_eq(vft_decode(codings[i], r.body, r.body_len, &out, &out_len), 0);
        ck_assert_uint_eq(out_len, plain.body_len);
        ck_assert_int_eq(memcmp(out, plain.body, out_len), 0);
        free(out);
        ufix_resp_free(&r);
        /* 304 for this coding's ETag. */
        char inm[128];
        snprintf(inm, sizeof inm, "If-None-Match: %s", tag);
        const char *headers[] = {accept, inm, NULL};
        ck_assert_int_eq(ufix_request(f, "GET", path, headers, NULL, 0, 1, &r), 0);
        ck_assert_int_eq(r.status, 304);
        ck_assert_uint_eq(r.body_len, 0);
        ufix_resp_free(&r);
        free(tag);
    }
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    ufix_resp_t r;
    get(f, path, inm, 304, &r);
    ufix_resp_free(&r);
    free(etag);
    ufix_resp_free(&plain);
}

/* ffprobe opens the master playlist with the cookie and sees a video
 * stream of every rendition's height and an audio stream. */
static void check_ffprobe(ufix_t *f, int64_t id)
{
    char url[256], headers[4200];
    snprintf(url, sizeof url, "%s/content/%" PRId64 "/hls/master.m3u8", f->base, id);
    snprintf(headers, sizeof headers, "Cookie: %s\r\n", f->cookie);
    char *args[] = {"ffprobe", "-v", "error", "-headers", headers, "-protocol_whitelist", "http,tcp,file,crypto",
                    "-show_entries", "stream=codec_type,height", "-of", "csv=p=0", url, NULL};
    char *out = NULL;
    ck_assert_msg(vft_run(args, &out) == 0, "ffprobe could not read %s: %s", url, out ? out : "");
    int heights[8] = {0}, audio = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        int h = 0;
        if (sscanf(line, "video,%d", &h) == 1) {
            for (int q = 0; q < NQUALITIES; q++)
                heights[q] += h == atoi(qualities[q]);
        } else if (strncmp(line, "audio", 5) == 0)
            audio++;
    }
    for (int q = 0; q < NQUALITIES; q++)
        ck_assert_msg(heights[q] >= 1, "ffprobe found no %s stream", qualities[q]);
    ck_assert_int_ge(audio, 1);
    free(out);
}

/* The first video packet of init + segment: its time and whether it is a
 * keyframe. */
static void first_packet(const char *file, double *pts, int *key)
{
    char *args[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
                    "-read_intervals", "%+#1", "-of", "csv=p=0", (char *)file, NULL};
    char *out = NULL;
    ck_assert_msg(vft_run(args, &out) == 0 && out, "ffprobe could not read %s", file);
    char flags[16] = "";
    ck_assert_msg(sscanf(out, "%lf,%15s", pts, flags) == 2, "ffprobe said: %s", out);
    *key = strchr(flags, 'K') != NULL;
    free(out);
}

/* Durations, and a keyframe first in every segment at the same time in
 * every rendition; every init and segment fetched from the URL the
 * playlist gives. */
static void check_segments(ufix_t *f, int64_t id, int presigned)
{
    double starts[NQUALITIES][64];
    size_t nseg[NQUALITIES];
    for (int q = 0; q < NQUALITIES; q++) {
        media_playlist_t m;
        get_media(f, id, qualities[q], &m);
        ck_assert_int_eq(m.ended, 1);
        /* The longest segment rounded: the segment length, or one more. */
        ck_assert_int_ge(m.target, SEGMENT_SECONDS);
        ck_assert_int_le(m.target, SEGMENT_SECONDS + 1);
        ck_assert_ptr_nonnull(m.map_uri);
        ck_assert_uint_ge(m.nseg, 3);
        ck_assert_uint_le(m.nseg, 64);
        nseg[q] = m.nseg;
        char *init = tmp_path(f, "init.mp4"), *both = tmp_path(f, "segment.mp4"), *seg = tmp_path(f, "seg.m4s");
        ck_assert_msg(strncmp(m.map_uri, "http", 4) == 0, "init URI is not absolute: %s", m.map_uri);
        if (presigned)
            ck_assert_ptr_nonnull(strstr(m.map_uri, "X-Amz-Signature="));
        download(m.map_uri, init);
        for (size_t i = 0; i < m.nseg; i++) {
            if (i + 1 < m.nseg)
                ck_assert_msg(fabs(m.seg[i].duration - SEGMENT_SECONDS) < 0.05, "%s segment %zu lasts %f s",
                              qualities[q], i, m.seg[i].duration);
            else
                ck_assert(m.seg[i].duration > 0 && m.seg[i].duration <= SEGMENT_SECONDS + 0.05);
            if (presigned)
                ck_assert_ptr_nonnull(strstr(m.seg[i].uri, "X-Amz-Signature="));
            download(m.seg[i].uri, seg);
            ck_assert_int_eq(vft_sh(NULL, "cat '%s' '%s' > '%s'", init, seg, both), 0);
            int key = 0;
            first_packet(both, &starts[q][i], &key);
            ck_assert_msg(key, "%s segment %zu does not start with a keyframe", qualities[q], i);
        }
        free(init);
        free(both);
        free(seg);
        media_free(&m);
    }
    for (int q = 1; q < NQUALITIES; q++) {
        ck_assert_uint_eq(nseg[q], nseg[0]);
        for (size_t i = 0; i < nseg[0]; i++)
            ck_assert_msg(fabs(starts[q][i] - starts[0][i]) < 0.001, "segment %zu starts at %f in %s, %f in %s", i,
                          starts[0][i], qualities[0], starts[q][i], qualities[q]);
    }
}

static void check_master(ufix_t *f, int64_t id)
{
    char path[128];
    master_path(id, path, sizeof path);
    ufix_resp_t r;
    get(f, path, NULL, 200, &r);
    char *uris[8];
    size_t n = master_variants(r.body, uris, 8);
    ck_assert_uint_eq(n, NQUALITIES);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "%s/index.m3u8", qualities[i]);
        ck_assert_str_eq(uris[i], want);
        free(uris[i]);
    }
    char *cc = ufix_header(&r, "Cache-Control");
    ck_assert_str_eq(cc, "private, max-age=200");
    free(cc);
    ufix_resp_free(&r);
    /* HEAD: the headers alone. */
    ck_assert_int_eq(ufix_request(f, "HEAD", path, NULL, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, 0);
    ufix_resp_free(&r);
}

/* ------------------------------------------------------------------ tests */

START_TEST(local_storage)
{
    ufix_t f;
    ufix_opts_t o = {.job_split = "whole_ladder", .media = MEDIA "preset = \"slow\";", .extra = ENCODER_FFMPEG};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    char *clip = tmp_path(&f, "clip.mp4"), *text = tmp_path(&f, "notes.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 640, 360, 24.0), 0);
    FILE *fp = fopen(text, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "not a video\n");
    fclose(fp);

    int64_t id = ufix_add_video(&f, clip, "Streamed");
    ck_assert_int_gt(id, 0);
    check_live(&f, id);

    wait_complete(&f, id);
    /* The list says the same. */
    ufix_resp_t r;
    get(&f, "/content/", NULL, 200, &r);
    json_t *list = json_loads(r.body, 0, NULL);
    ufix_resp_free(&r);
    size_t i;
    json_t *item;
    int seen = 0;
    json_array_foreach(list, i, item) {
        if (json_integer_value(json_object_get(item, "id")) == id) {
            ck_assert_str_eq(hls_state(item), "complete");
            check_hls_url(&f, item, id);
            seen = 1;
        }
    }
    ck_assert(seen);
    json_decref(list);

    int64_t failed = ufix_add_video(&f, text, "No stream");
    ck_assert_int_gt(failed, 0);
    ck_assert_int_eq(ufix_wait_video(&f, failed, NULL, 60000, NULL), 0);
    check_errors(&f, id, failed);

    char path[128];
    media_path(id, "240p", path, sizeof path);
    get(&f, path, NULL, 200, &r);
    char *cc = ufix_header(&r, "Cache-Control");
    ck_assert_str_eq(cc, "private, max-age=200");
    free(cc);
    ufix_resp_free(&r);
    check_codings(&f, path);
    master_path(id, path, sizeof path);
    check_codings(&f, path);
    check_master(&f, id);
    check_ffprobe(&f, id);
    check_segments(&f, id, 0);

    free(clip);
    free(text);
    ufix_teardown(&f);
}
END_TEST

START_TEST(s3_presigned)
{
    ufix_t f;
    ufix_opts_t o = {.job_split = "whole_ladder", .media = MEDIA, .s3 = 1, .extra = ENCODER_LIBAV};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    char *clip = tmp_path(&f, "clip.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 7.0), 0);
    int64_t id = ufix_add_video(&f, clip, "On S3");
    ck_assert_int_gt(id, 0);
    /* hls_url is the API's own URL on S3 too. */
    wait_complete(&f, id);

    long verified = vft_s3_proxy_count("verified_presigned");
    check_segments(&f, id, 1);
    ck_assert_int_gt(vft_s3_proxy_count("verified_presigned"), verified);

    /* A tampered signature is refused. */
    media_playlist_t m;
    get_media(&f, id, "120p", &m);
    char *sig = strstr(m.seg[0].uri, "X-Amz-Signature=");
    ck_assert_ptr_nonnull(sig);
    sig += strlen("X-Amz-Signature=");
    *sig = *sig == '0' ? '1' : '0';
    vft_response_t r;
    ck_assert_int_eq(vft_http("GET", m.seg[0].uri, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 403);
    vft_response_free(&r);
    media_free(&m);
    check_ffprobe(&f, id);

    free(clip);
    ufix_teardown(&f);
}
END_TEST

static Suite *hls_suite(void)
{
    vft_env_or_skip("VF_TEST_PG_DSN");
    Suite *s = suite_create("hls");
    TCase *tc = tcase_create("local");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, local_storage);
    suite_add_tcase(s, tc);
    tc = tcase_create("s3");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, s3_presigned);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(hls_suite)
