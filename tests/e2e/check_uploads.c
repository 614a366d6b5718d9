/*
 * check_uploads.c - resumable uploads and the video lifecycle through the
 * real server and pipeline workers, with real PostgreSQL, Redis, ffmpeg,
 * storage_local and storage_s3 (s3rver):
 *   tus       the tus 1.0 protocol: discovery, creation, chunks, offsets,
 *             an interrupted chunk and its resumption, limits, termination
 *             and expiry (with the parts removed)
 *   tus_js    tus-js-client, unchanged, interrupted and resumed; then the
 *             whole path to a 720p rendition checked with ffprobe
 *   lifecycle validation, duplicate titles, metadata edits that do not
 *             re-transcode, replacing the source, delete (each removing the
 *             old generation's files and HLS stream), the CLI
 *   s3        chunks smaller than S3's 5 MiB part minimum, buffered in the
 *             tail; a video processed and deleted on S3, its HLS stream
 *             removed with DeleteObjects
 */
#include "config.h"
#include "uploads_fixture.h"

#include "tests/media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALL_GONE_MS 20000

static char *tmp_path(ufix_t *f, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", f->dir, name), 0);
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* A PATCH whose body stops halfway: the connection closes mid-chunk. */
static void interrupted_patch(ufix_t *f, const char *path, int64_t offset, const char *data, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char head[8192];
    int n = snprintf(head, sizeof head,
                     "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\nTus-Resumable: 1.0.0\r\n"
                     "Upload-Offset: %" PRId64 "\r\nContent-Type: application/offset+octet-stream\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     path, f->cookie, offset, len);
    ck_assert_int_eq(write(fd, head, (size_t)n), n);
    ck_assert_int_eq(write(fd, data, len / 2), (ssize_t)(len / 2));
    usleep(200000);
    close(fd);
}

/* ---------------------------------------------------------------- tus */

START_TEST(tus_protocol)
{
    ufix_t f;
    ufix_opts_t o = {.extra = "upload = { max_size = 10000000; chunk_max = 65536; };"};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 1), 0);
    ufix_resp_t r;

    /* Discovery needs no login. */
    ck_assert_int_eq(ufix_request(&f, "OPTIONS", "/admin/api/uploads/", NULL, NULL, 0, 0, &r), 0);
    ck_assert_int_eq(r.status, 204);
    char *h = ufix_header(&r, "Tus-Version");
    ck_assert_str_eq(h, "1.0.0");
    free(h);
    h = ufix_header(&r, "Tus-Extension");
    ck_assert_ptr_nonnull(strstr(h, "creation"));
    ck_assert_ptr_nonnull(strstr(h, "termination"));
    ck_assert_ptr_nonnull(strstr(h, "expiration"));
    free(h);
    h = ufix_header(&r, "Tus-Max-Size");
    ck_assert_str_eq(h, "10000000");
    free(h);
    ufix_resp_free(&r);

    /* Staff only, version required, size limit. */
    const char *create[] = {"Tus-Resumable: 1.0.0", "Upload-Length: 100", NULL};
    ck_assert_int_eq(ufix_request(&f, "POST", "/admin/api/uploads/", create, NULL, 0, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ufix_resp_free(&r);
    const char *nover[] = {"Upload-Length: 100", NULL};
    ck_assert_int_eq(ufix_request(&f, "POST", "/admin/api/uploads/", nover, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 412);
    ufix_resp_free(&r);
    char path[256];
    ck_assert_int_eq(ufix_tus_create(&f, 10000001, "big.mp4", path, sizeof path), 413);
    const char *badmeta[] = {"Tus-Resumable: 1.0.0", "Upload-Length: 100", "Upload-Metadata: filename !!!", NULL};
    ck_assert_int_eq(ufix_request(&f, "POST", "/admin/api/uploads/", badmeta, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 400);
    ufix_resp_free(&r);

    /* 200000 bytes in 50000-byte chunks, one of them cut off mid-body. */
    char *file = tmp_path(&f, "pattern.bin");
    ck_assert_int_eq(vft_write_pattern(file, 200000, 7), 0);
    size_t len = 0;
    char *data = slurp(file, &len);
    ck_assert_int_eq(ufix_tus_create(&f, (int64_t)len, "pattern.bin", path, sizeof path), 201);
    ck_assert_ptr_nonnull(strstr(path, "/admin/api/uploads/"));
    int64_t off = -1;
    ck_assert_int_eq(ufix_tus_head(&f, path, &off), 200);
    ck_assert_int_eq(off, 0);
    const char *wrongtype[] = {"Tus-Resumable: 1.0.0", "Upload-Offset: 0", "Content-Type: text/plain", NULL};
    ck_assert_int_eq(ufix_request(&f, "PATCH", path, wrongtype, data, 100, 1, &r), 0);
    ck_assert_int_eq(r.status, 415);
    ufix_resp_free(&r);
    ck_assert_int_eq(ufix_tus_patch(&f, path, 0, data, 65537, NULL), 413);
    ck_assert_int_eq(ufix_tus_patch(&f, path, 0, data, 50000, &off), 204);
    ck_assert_int_eq(off, 50000);
    ck_assert_int_eq(ufix_tus_patch(&f, path, 0, data, 50000, NULL), 409);
    interrupted_patch(&f, path, 50000, data + 50000, 50000);
    ck_assert_int_eq(ufix_tus_head(&f, path, &off), 200);
    ck_assert_int_eq(off, 50000);
    /* Someone else's upload looks like no upload. */
    free(ufix_sql(&f, "INSERT INTO users (email, username, password, is_active, is_staff) "
                      "VALUES ('other@example.com', 'other', '!', true, true)"));
    char *other = ufix_sql(&f, "SELECT id FROM users WHERE email = 'other@example.com'");
    char sql[512];
    char id[33];
    ufix_upload_id(path, id);
    snprintf(sql, sizeof sql, "UPDATE uploads SET owner_id = %s WHERE id = '%s'", other, id);
    free(ufix_sql(&f, sql));
    ck_assert_int_eq(ufix_tus_head(&f, path, NULL), 404);
    snprintf(sql, sizeof sql, "UPDATE uploads SET owner_id = %" PRId64 " WHERE id = '%s'", f.user_id, id);
    free(ufix_sql(&f, sql));
    free(other);
    for (off = 50000; off < (int64_t)len;) {
        int64_t next = -1;
        ck_assert_int_eq(ufix_tus_patch(&f, path, off, data + off, 50000, &next), 204);
        ck_assert_int_eq(next, off + 50000);
        off = next;
    }
    ck_assert_int_eq(ufix_tus_patch(&f, path, off, data, 1, NULL), 400);
    /* The finished object holds exactly the file's bytes. */
    char stored[4096];
    snprintf(stored, sizeof stored, "%s/sources/%s.bin", f.media_root, id);
    ck_assert_msg(vft_files_equal(file, stored), "the stored object differs from the uploaded file");

    /* Termination: the upload and its parts go away. */
    char path2[256];
    ck_assert_int_eq(ufix_tus_create(&f, 1000, "gone.bin", path2, sizeof path2), 201);
    ck_assert_int_eq(ufix_tus_patch(&f, path2, 0, data, 500, NULL), 204);
    const char *tusv[] = {"Tus-Resumable: 1.0.0", NULL};
    ck_assert_int_eq(ufix_request(&f, "DELETE", path2, tusv, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 204);
    ufix_resp_free(&r);
    ck_assert_int_eq(ufix_tus_head(&f, path2, NULL), 404);

    /* Expiry: past expires_at the upload answers 410; the next creation
     * sweeps it and a job removes its parts. */
    char path3[256], id3[33];
    ck_assert_int_eq(ufix_tus_create(&f, 1000, "old.bin", path3, sizeof path3), 201);
    ck_assert_int_eq(ufix_tus_patch(&f, path3, 0, data, 500, NULL), 204);
    h = NULL;
    ck_assert_int_eq(ufix_request(&f, "HEAD", path3, tusv, NULL, 0, 1, &r), 0);
    h = ufix_header(&r, "Upload-Expires");
    ck_assert_msg(h && strstr(h, "GMT"), "Upload-Expires missing");
    free(h);
    ufix_resp_free(&r);
    snprintf(sql, sizeof sql, "UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = '%s'",
             ufix_upload_id(path3, id3));
    free(ufix_sql(&f, sql));
    ck_assert_int_eq(ufix_tus_head(&f, path3, NULL), 410);
    ck_assert_int_eq(ufix_tus_patch(&f, path3, 500, data, 10, NULL), 410);
    char path4[256];
    ck_assert_int_eq(ufix_tus_create(&f, 10, "next.bin", path4, sizeof path4), 201);
    ck_assert_int_eq(ufix_tus_head(&f, path3, NULL), 404);
    /* Only the finished upload and the new empty one keep storage: the
     * multipart data of the terminated and the expired ones is removed. */
    char uploads_dir[4096];
    snprintf(uploads_dir, sizeof uploads_dir, "%s/.uploads", f.media_root);
    int left = -1;
    for (int waited = 0; waited < ALL_GONE_MS; waited += 100) {
        left = ufix_count_files(uploads_dir);
        if (left == 2) /* next.bin's data file and sidecar */
            break;
        usleep(100000);
    }
    ck_assert_int_eq(left, 2);

    /* A request while another one holds the upload: 423, not a wait. */
    char path6[256], id6[33];
    ck_assert_int_eq(ufix_tus_create(&f, 1000, "locked.bin", path6, sizeof path6), 201);
    PGconn *holder = PQconnectdb(f.conninfo);
    ck_assert_int_eq(PQstatus(holder), CONNECTION_OK);
    snprintf(sql, sizeof sql, "BEGIN; SELECT 1 FROM uploads WHERE id = '%s' FOR UPDATE", ufix_upload_id(path6, id6));
    PGresult *locked = PQexec(holder, sql);
    ck_assert_int_eq(PQresultStatus(locked), PGRES_TUPLES_OK);
    PQclear(locked);
    ck_assert_int_eq(ufix_tus_patch(&f, path6, 0, data, 100, NULL), 423);
    PQclear(PQexec(holder, "ROLLBACK"));
    PQfinish(holder);
    /* PATCH through POST for clients behind restrictive proxies. */
    const char *override[] = {"Tus-Resumable: 1.0.0", "X-HTTP-Method-Override: PATCH", "Upload-Offset: 0",
                              "Content-Type: application/offset+octet-stream", NULL};
    ck_assert_int_eq(ufix_request(&f, "POST", path6, override, data, 100, 1, &r), 0);
    ck_assert_int_eq(r.status, 204);
    h = ufix_header(&r, "Upload-Offset");
    ck_assert_str_eq(h, "100");
    free(h);
    ufix_resp_free(&r);
    /* creation-with-upload: the first chunk in the POST. */
    const char *with_data[] = {"Tus-Resumable: 1.0.0", "Upload-Length: 300",
                               "Content-Type: application/offset+octet-stream", NULL};
    ck_assert_int_eq(ufix_request(&f, "POST", "/admin/api/uploads/", with_data, data, 120, 1, &r), 0);
    ck_assert_int_eq(r.status, 201);
    h = ufix_header(&r, "Upload-Offset");
    ck_assert_str_eq(h, "120");
    free(h);
    ufix_resp_free(&r);

    /* An empty upload is complete at creation. */
    char path5[256];
    ck_assert_int_eq(ufix_tus_create(&f, 0, "empty.mp4", path5, sizeof path5), 201);
    ck_assert_int_eq(ufix_tus_head(&f, path5, &off), 200);
    ck_assert_int_eq(off, 0);

    free(data);
    free(file);
    ufix_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------- tus_js */

static int run_tus_js(ufix_t *f, const char *file, const char *extra_flag, const char *extra_value, char **out)
{
    char script[4096], endpoint[128], cookie[4200];
    snprintf(script, sizeof script, "%s/tests/services/tus/tus-upload.js", getenv("VF_SRCDIR"));
    snprintf(endpoint, sizeof endpoint, "%s/admin/api/uploads/", f->base);
    snprintf(cookie, sizeof cookie, "%s", f->cookie);
    char *argv[] = {"node",       script, "--endpoint",   endpoint, "--file",           (char *)file,
                    "--cookie",   cookie, "--chunk-size", "100000", (char *)extra_flag, (char *)extra_value,
                    NULL};
    return vft_run(argv, out);
}

/* tus-js-client as scripts/test.sh installs it; installed here when a
 * test run by hand finds it missing. */
static void ensure_tus_js(void)
{
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/tests/services/tus/node_modules/tus-js-client/package.json",
             getenv("VF_SRCDIR"));
    if (access(probe, R_OK) == 0)
        return;
    ck_assert_msg(vft_sh(NULL, "'%s/tests/services/tus/install.sh' >&2", getenv("VF_SRCDIR")) == 0,
                  "tus-js-client is not installed and tests/services/tus/install.sh failed");
}

START_TEST(tus_js_to_720p)
{
    ensure_tus_js();
    ufix_t f;
    ufix_opts_t o = {
        .media = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"720p\"; height = 720; } );"};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);
    char *clip = tmp_path(&f, "source.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 1280, 720, 2.0), 0);
    struct stat sb;
    ck_assert_int_eq(stat(clip, &sb), 0);
    ck_assert_int_gt(sb.st_size, 300000);

    /* Interrupted after the first chunks; resumed from the server's offset. */
    char *out = NULL;
    ck_assert_int_eq(run_tus_js(&f, clip, "--stop-after", "200000", &out), 0);
    json_t *first = json_loads(out, 0, NULL);
    free(out);
    const char *url = json_string_value(json_object_get(first, "url"));
    ck_assert_ptr_nonnull(url);
    int64_t off = -1;
    ck_assert_int_eq(ufix_tus_head(&f, url, &off), 200);
    ck_assert_int_eq(off, 200000);
    ck_assert_int_eq(run_tus_js(&f, clip, "--resume", url, &out), 0);
    json_t *second = json_loads(out, 0, NULL);
    free(out);
    ck_assert_str_eq(json_string_value(json_object_get(second, "url")), url);
    ck_assert_int_eq(json_integer_value(json_object_get(second, "offset")), sb.st_size);
    char id[33];
    ufix_upload_id(url, id);
    json_decref(first);
    json_decref(second);

    int64_t vid = ufix_create_video(&f, "Seven Twenty", "Action", id);
    ck_assert_int_gt(vid, 0);
    json_t *v = NULL;
    ck_assert_int_eq(ufix_wait_video(&f, vid, NULL, 90000, &v), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    ck_assert_int_eq(json_integer_value(json_object_get(v, "processing_progress")), 100);
    ck_assert_int_eq(json_object_size(json_object_get(v, "converted_files")), 2);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(v, "image_file")));
    json_decref(v);

    /* The player's path: the URL, then a byte range of the rendition. */
    char path[128];
    snprintf(path, sizeof path, "/content/video-url/%" PRId64 "/?quality=720p", vid);
    json_t *u = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &u), 200);
    const char *media_url = json_string_value(json_object_get(u, "url"));
    ck_assert_ptr_nonnull(media_url);
    const char *range[] = {"Range: bytes=100-1099", NULL};
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(&f, "GET", media_url, range, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 206);
    ck_assert_uint_eq(r.body_len, 1000);
    ufix_resp_free(&r);
    ck_assert_int_eq(ufix_request(&f, "GET", media_url, NULL, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *rendition = tmp_path(&f, "720p.mp4");
    FILE *fp = fopen(rendition, "wb");
    ck_assert_uint_eq(fwrite(r.body, 1, r.body_len, fp), r.body_len);
    fclose(fp);
    ufix_resp_free(&r);
    json_decref(u);

    char *codec = vfm_probe_str(rendition, "v:0", "codec_name");
    ck_assert_str_eq(codec, "h264");
    free(codec);
    ck_assert_int_eq((int)vfm_probe_num(rendition, "v:0", "height"), 720);
    double want = vfm_probe_num(clip, NULL, "duration"), got = vfm_probe_num(rendition, NULL, "duration");
    ck_assert_msg(fabs(want - got) <= 0.1, "duration %.3f s, source %.3f s", got, want);
    ck_assert_int_eq(vfm_moov_before_mdat(rendition), 1);
    ck_assert_int_eq(ufix_count_files(f.work_dir), 0);

    free(rendition);
    free(clip);
    ufix_teardown(&f);
}
END_TEST

/* ----------------------------------------------------------- lifecycle */

static long post_video(ufix_t *f, const char *body, json_t **out)
{
    return ufix_json(f, "POST", "/admin/api/videos/", body, out);
}

static void assert_field_error(json_t *errors, const char *field, const char *message)
{
    json_t *list = json_object_get(errors, field);
    ck_assert_msg(json_is_array(list), "no error for %s", field);
    ck_assert_str_eq(json_string_value(json_array_get(list, 0)), message);
}

static int file_exists(ufix_t *f, const char *key)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", f->media_root, key);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int wait_gone(ufix_t *f, const char *key)
{
    for (int waited = 0; waited < ALL_GONE_MS; waited += 100) {
        if (!file_exists(f, key))
            return 1;
        usleep(100000);
    }
    return 0;
}

/* Segments and playlists of an HLS stream of a generation, stored as the
 * pipeline would: the remove_files job must take them all, however many,
 * through remove_prefix. */
static const char *const hls_names[] = {"master.m3u8", "720p/index.m3u8", "720p/init.mp4", "720p/0.m4s",
                                        "720p/1.m4s", "360p/init.mp4", "360p/0.m4s"};
#define HLS_FILES (sizeof hls_names / sizeof hls_names[0])

static void hls_key(char *buf, size_t len, int64_t vid, int gen, size_t i)
{
    int n = snprintf(buf, len, "videos/%" PRId64 "/%d/hls/%s", vid, gen, hls_names[i]);
    ck_assert(n > 0 && (size_t)n < len);
}

/* mkdir -p */
static void make_dirs(char *path)
{
    for (char *c = path + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char saved = *c;
        *c = '\0';
        ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
        *c = saved;
        if (!saved)
            return;
    }
}

/* Into the local storage root (the objects are plain files there). */
static void put_local_hls(ufix_t *f, int64_t vid, int gen)
{
    for (size_t i = 0; i < HLS_FILES; i++) {
        char key[160], path[4400];
        hls_key(key, sizeof key, vid, gen, i);
        snprintf(path, sizeof path, "%s/%s", f->media_root, key);
        *strrchr(path, '/') = '\0';
        make_dirs(path);
        snprintf(path, sizeof path, "%s/%s", f->media_root, key);
        FILE *fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        ck_assert_int_ge(fputs("#EXTM3U\n", fp), 0);
        ck_assert_int_eq(fclose(fp), 0);
    }
}

/* Every HLS file of the generation is gone, and its hls/ folder with them. */
static void assert_local_hls_gone(ufix_t *f, int64_t vid, int gen)
{
    char key[160];
    for (size_t i = 0; i < HLS_FILES; i++) {
        hls_key(key, sizeof key, vid, gen, i);
        ck_assert_msg(wait_gone(f, key), "%s was not removed", key);
    }
    snprintf(key, sizeof key, "videos/%" PRId64 "/%d/hls", vid, gen);
    ck_assert_msg(wait_gone(f, key), "the folder %s was not removed", key);
}

START_TEST(lifecycle)
{
    ufix_t f;
    ck_assert_int_eq(ufix_setup(&f, NULL), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);
    char *clip = tmp_path(&f, "a.mp4"), *clip2 = tmp_path(&f, "b.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 1.5), 0);
    ck_assert_int_eq(ufix_make_clip(clip2, 160, 120, 1.0), 0);

    /* Validation in DRF's shape. */
    json_t *e = NULL;
    ck_assert_int_eq(post_video(&f, "{}", &e), 400);
    assert_field_error(e, "title", "This field is required.");
    assert_field_error(e, "category", "This field is required.");
    assert_field_error(e, "upload_id", "This field is required.");
    json_decref(e);
    ck_assert_int_eq(post_video(&f, "{\"title\": \"X\", \"category\": \"Cooking\", \"upload_id\": \"ab\"}", &e), 400);
    assert_field_error(e, "category", "\"Cooking\" is not a valid choice.");
    json_decref(e);
    /* A long category is cut on a character boundary, never inside one
     * (199 ASCII bytes, then two-byte characters across byte 200). */
    char longcat[512] = "{\"title\": \"X\", \"upload_id\": \"ab\", \"category\": \"";
    size_t at = strlen(longcat);
    memset(longcat + at, 'a', 199);
    at += 199;
    for (int i = 0; i < 20; i++)
        at += (size_t)snprintf(longcat + at, sizeof longcat - at, "\u00e9");
    snprintf(longcat + at, sizeof longcat - at, "\"}");
    ck_assert_int_eq(post_video(&f, longcat, &e), 400);
    json_t *cat_errors = json_object_get(e, "category");
    ck_assert_msg(json_array_size(cat_errors) == 1, "category errors: %zu", json_array_size(cat_errors));
    const char *msg = json_string_value(json_array_get(cat_errors, 0));
    ck_assert_ptr_nonnull(msg);
    ck_assert_ptr_nonnull(strstr(msg, "\" is not a valid choice."));
    json_decref(e);
    ck_assert_int_eq(post_video(&f, "{\"title\": \"X\", \"category\": \"Drama\", "
                                    "\"upload_id\": \"0123456789abcdef0123456789abcdef\"}", &e), 400);
    assert_field_error(e, "upload_id", "Upload not found.");
    json_decref(e);
    char path[256], upid[33];
    ck_assert_int_eq(ufix_tus_create(&f, 100, "x.mp4", path, sizeof path), 201);
    char body[512];
    snprintf(body, sizeof body, "{\"title\": \"X\", \"category\": \"Drama\", \"upload_id\": \"%s\"}",
             ufix_upload_id(path, upid));
    ck_assert_int_eq(post_video(&f, body, &e), 400);
    assert_field_error(e, "upload_id", "The upload is not complete yet.");
    json_decref(e);

    /* Create, duplicate title in another letter case. */
    int64_t vid = ufix_add_video(&f, clip, "The Clip");
    ck_assert_int_gt(vid, 0);
    char id2[33];
    ck_assert_int_eq(ufix_tus_upload_file(&f, clip2, 10000, id2), 0);
    snprintf(body, sizeof body, "{\"title\": \"  the CLIP \", \"category\": \"Drama\", \"upload_id\": \"%s\"}", id2);
    ck_assert_int_eq(post_video(&f, body, &e), 400);
    assert_field_error(e, "title", "video with this title already exists.");
    json_decref(e);
    json_t *v = NULL;
    ck_assert_int_eq(ufix_wait_video(&f, vid, "ready", 60000, &v), 0);
    json_decref(v);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM video_tasks WHERE video_id = %" PRId64, vid);
    char *ntasks = ufix_sql(&f, sql);
    ck_assert_str_eq(ntasks, "3");
    free(ntasks);

    /* Metadata edits never re-transcode. */
    char item[96];
    snprintf(item, sizeof item, "/admin/api/videos/%" PRId64 "/", vid);
    ck_assert_int_eq(ufix_json(&f, "PATCH", item, "{\"title\": \"The Clip, renamed\", \"category\": \"Comedy\"}", &v),
                     200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "title")), "The Clip, renamed");
    ck_assert_str_eq(json_string_value(json_object_get(v, "category")), "Comedy");
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    json_decref(v);
    snprintf(sql, sizeof sql,
             "SELECT v.generation || ' ' || count(*) FROM videos v JOIN video_tasks t ON t.video_id = v.id "
             "WHERE v.id = %" PRId64 " AND t.state = 'done' GROUP BY v.generation",
             vid);
    char *g = ufix_sql(&f, sql);
    ck_assert_str_eq(g, "1 3");
    free(g);

    /* Replacing the source: a new generation, the old files removed, its
     * HLS stream too. */
    put_local_hls(&f, vid, 1);
    snprintf(body, sizeof body, "{\"upload_id\": \"%s\"}", id2);
    ck_assert_int_eq(ufix_json(&f, "PATCH", item, body, &v), 200);
    const char *st = json_string_value(json_object_get(v, "processing_state"));
    ck_assert_msg(!strcmp(st, "pending") || !strcmp(st, "processing"), "state %s after a new source", st);
    json_decref(v);
    snprintf(sql, sizeof sql, "SELECT generation FROM videos WHERE id = %" PRId64, vid);
    g = ufix_sql(&f, sql);
    ck_assert_str_eq(g, "2");
    free(g);
    char old_key[128];
    snprintf(old_key, sizeof old_key, "videos/%" PRId64 "/1/240p.mp4", vid);
    ck_assert_int_eq(ufix_wait_video(&f, vid, "ready", 60000, &v), 0);
    const char *k120 = json_string_value(json_object_get(json_object_get(v, "converted_files"), "120p"));
    char want[128];
    snprintf(want, sizeof want, "videos/%" PRId64 "/2/120p.mp4", vid);
    ck_assert_str_eq(k120, want);
    ck_assert(file_exists(&f, want));
    json_decref(v);
    ck_assert_msg(wait_gone(&f, old_key), "%s was not removed", old_key);
    assert_local_hls_gone(&f, vid, 1);

    /* Delete: 204 without a body; every file goes, the HLS stream too. */
    put_local_hls(&f, vid, 2);
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(&f, "DELETE", item, NULL, NULL, 0, 1, &r), 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert_uint_eq(r.body_len, 0);
    ufix_resp_free(&r);
    ck_assert_int_eq(ufix_json(&f, "GET", item, NULL, NULL), 404);
    ck_assert_msg(wait_gone(&f, want), "%s was not removed", want);
    assert_local_hls_gone(&f, vid, 2);
    char vdir[4096];
    snprintf(vdir, sizeof vdir, "%s/videos/%" PRId64, f.media_root, vid);
    for (int waited = 0; waited < ALL_GONE_MS && ufix_count_files(vdir) > 0; waited += 100)
        usleep(100000);
    ck_assert_int_eq(ufix_count_files(vdir), 0);
    char sources[4096];
    snprintf(sources, sizeof sources, "%s/sources", f.media_root);
    for (int waited = 0; waited < ALL_GONE_MS && ufix_count_files(sources) > 0; waited += 100)
        usleep(100000);
    ck_assert_int_eq(ufix_count_files(sources), 0);

    /* The CLI: add, list, delete. */
    char *out = NULL;
    char *argv[] = {getenv("VF_BINARY"), "--config", f.config, "video", "add", clip, "--title", "From the CLI",
                    "--category", "Western", "--description", "d", NULL};
    ck_assert_int_eq(vft_run(argv, &out), 0);
    int64_t cli_id = strtoll(out, NULL, 10);
    free(out);
    ck_assert_int_gt(cli_id, 0);
    ck_assert_int_eq(ufix_wait_video(&f, cli_id, "ready", 60000, NULL), 0);
    char *list[] = {getenv("VF_BINARY"), "--config", f.config, "video", "list", NULL};
    ck_assert_int_eq(vft_run(list, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "From the CLI"));
    ck_assert_ptr_nonnull(strstr(out, "ready"));
    free(out);
    char idstr[24];
    snprintf(idstr, sizeof idstr, "%" PRId64, cli_id);
    char *del[] = {getenv("VF_BINARY"), "--config", f.config, "video", "delete", idstr, NULL};
    ck_assert_int_eq(vft_run(del, NULL), 0);
    ck_assert_int_ne(vft_run(del, NULL), 0);
    char *bad[] = {getenv("VF_BINARY"), "--config", f.config, "video", "add", clip, "--title", "T", "--category",
                   "Nope", NULL};
    ck_assert_int_ne(vft_run(bad, NULL), 0);

    free(clip);
    free(clip2);
    ufix_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------------ s3 */

START_TEST(s3_tail_and_processing)
{
    ufix_t f;
    ufix_opts_t o = {.s3 = 1, .extra = "upload = { chunk_max = 2097152; };"};
    ck_assert_int_eq(ufix_setup(&f, &o), 0);
    ck_assert_int_ge(ufix_start_worker(&f, 2), 0);

    /* 12 MiB in 2 MiB chunks: parts of 6 MiB, the bytes between in the tail. */
    char *file = tmp_path(&f, "big.bin");
    const size_t len = 12u << 20;
    ck_assert_int_eq(vft_write_pattern(file, len, 11), 0);
    char id[33];
    ck_assert_int_eq(ufix_tus_upload_file(&f, file, 2u << 20, id), 0);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(array_length(part_etags, 1), 0) || ' ' || octet_length(tail) || ' ' || state "
             "FROM uploads WHERE id = '%s'",
             id);
    char *row = ufix_sql(&f, sql);
    ck_assert_str_eq(row, "2 0 complete");
    free(row);
    char err[512];
    vf_plugin_t *s3 = ufix_s3_plugin(err, sizeof err);
    ck_assert_msg(s3 != NULL, "%s", err);
    const vf_storage_ops_t *ops = vf_storage_ops(s3);
    char key[64], *copy = tmp_path(&f, "copy.bin");
    snprintf(key, sizeof key, "sources/%s.bin", id);
    vf_error_t verr = {0};
    ck_assert_msg(ops->get_file(s3->state, key, copy, &verr) == 0, "%s", verr.message);
    ck_assert(vft_files_equal(file, copy));
    ck_assert_int_eq(ops->remove(s3->state, key, &verr), 0);

    /* A video on S3: processed from a presigned URL, then deleted. */
    char *clip = tmp_path(&f, "s3.mp4");
    ck_assert_int_eq(ufix_make_clip(clip, 320, 240, 1.0), 0);
    int64_t vid = ufix_add_video(&f, clip, "On S3");
    ck_assert_int_gt(vid, 0);
    json_t *v = NULL;
    ck_assert_int_eq(ufix_wait_video(&f, vid, NULL, 60000, &v), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "ready");
    const char *k240 = json_string_value(json_object_get(json_object_get(v, "converted_files"), "240p"));
    ck_assert_ptr_nonnull(k240);
    char rkey[128];
    snprintf(rkey, sizeof rkey, "%s", k240);
    json_decref(v);
    vf_storage_stat_t st;
    ck_assert_int_eq(ops->stat(s3->state, rkey, &st, &verr), 0);
    ck_assert_uint_gt(st.size, 1000);
    /* An HLS stream of the generation, which the delete takes along
     * (DeleteObjects through the proxy). */
    char hkeys[HLS_FILES][160];
    char *seg = tmp_path(&f, "seg.m4s");
    ck_assert_int_eq(vft_write_pattern(seg, 100, 5), 0);
    for (size_t i = 0; i < HLS_FILES; i++) {
        hls_key(hkeys[i], sizeof hkeys[i], vid, 1, i);
        ck_assert_msg(ops->put_file(s3->state, hkeys[i], seg, &verr) == 0, "%s", verr.message);
    }
    long batches = vft_s3_proxy_count("op.DeleteObjects");
    char item[96];
    snprintf(item, sizeof item, "/admin/api/videos/%" PRId64 "/", vid);
    ck_assert_int_eq(ufix_json(&f, "DELETE", item, NULL, NULL), 204);
    /* The job deletes the keys one batch at a time, in the listing's order
     * (not ours): wait for every one. */
    const char *left = rkey;
    for (int waited = 0; waited < ALL_GONE_MS && left; waited += 200) {
        left = ops->stat(s3->state, rkey, &st, &verr) == -ENOENT ? NULL : rkey;
        for (size_t i = 0; i < HLS_FILES && !left; i++)
            if (ops->stat(s3->state, hkeys[i], &st, &verr) != -ENOENT)
                left = hkeys[i];
        if (left)
            usleep(200000);
    }
    ck_assert_msg(!left, "%s is still in the bucket", left);
    ck_assert_int_ge(vft_s3_proxy_count("op.DeleteObjects") - batches, 1);
    free(seg);
    ck_assert_int_eq(ufix_count_files(f.work_dir), 0);

    vft_plugin_free(s3);
    free(clip);
    free(copy);
    free(file);
    ufix_teardown(&f);
}
END_TEST

static Suite *uploads_suite(void)
{
    vft_env_or_skip("VF_TEST_PG_DSN");
    vft_env_or_skip("VF_TEST_S3_ENDPOINT");
    Suite *s = suite_create("uploads");
    TCase *tc = tcase_create("tus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tus_protocol);
    suite_add_tcase(s, tc);
    tc = tcase_create("tus_js");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, tus_js_to_720p);
    suite_add_tcase(s, tc);
    tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, lifecycle);
    suite_add_tcase(s, tc);
    tc = tcase_create("s3");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, s3_tail_and_processing);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(uploads_suite)
