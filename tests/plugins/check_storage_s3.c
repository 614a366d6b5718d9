/*
 * check_storage_s3.c - the storage_s3 plugin, loaded through the core's
 * loader, against a real S3-compatible server (s3rver) behind a proxy that
 * re-checks every signature with botocore (tests/services/s3).
 *
 * Environment (printed by tests/services/s3/start.sh; the binary skips
 * without it): VF_TEST_S3_ENDPOINT, VF_TEST_S3_BUCKET, VF_TEST_S3_REGION,
 * VF_TEST_S3_ACCESS_KEY, VF_TEST_S3_SECRET_KEY, VF_TEST_S3_STATS (the
 * proxy's counts: verified requests by operation, uploads in progress).
 */
#include "config.h"
#include "tests/plugins/storage_contract.h"
#include "vftest.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* Read in the parent process (VFT_MAIN calls the suite function before
 * forking): a skip inside a forked test would count as an error. */
static struct {
    const char *endpoint, *bucket, *region, *access_key, *secret_key, *stats;
} env;

static unsigned key_serial;

/* A key prefix no other run or test uses. */
static char *unique_key(const char *name)
{
    char *key = NULL;
    ck_assert_int_ge(asprintf(&key, "t/%ld-%d-%u/%s", (long)time(NULL), (int)getpid(), ++key_serial,
                              name),
                     0);
    return key;
}

static vf_plugin_t *load_with(const char *endpoint, const char *secret, const char *extra)
{
    char *text = NULL, err[1024];
    ck_assert_int_ge(asprintf(&text,
                              "endpoint = \"%s\";\nbucket = \"%s\";\nregion = \"%s\";\n"
                              "access_key_id = \"%s\";\nsecret_access_key = \"%s\";\n%s",
                              endpoint, env.bucket, env.region, env.access_key, secret,
                              extra ? extra : ""),
                     0);
    vf_plugin_t *p = vft_plugin_load("storage_s3", VF_PLUGIN_STORAGE, text, err, sizeof err);
    free(text);
    ck_assert_msg(p != NULL, "loading storage_s3: %s", err);
    return p;
}

static vf_plugin_t *load_s3(const char *extra)
{
    return load_with(env.endpoint, env.secret_key, extra);
}

/* Loading must fail; returns the loader's message. */
static char *load_fails(const char *config_text)
{
    static char err[1024];
    err[0] = '\0';
    vf_plugin_t *p = vft_plugin_load("storage_s3", VF_PLUGIN_STORAGE, config_text, err, sizeof err);
    ck_assert_msg(p == NULL, "config accepted: %s", config_text);
    return err;
}

/* A counter from the proxy's stats file (0 when absent). */
static long proxy_count(const char *name)
{
    long value = vft_s3_proxy_count(name);
    ck_assert_msg(value >= 0, "%s: %s", env.stats, strerror(errno));
    return value;
}

/* Is there an "upload <id> <key>" line for this upload id or key? */
static int proxy_has_upload(const char *upload_id, const char *key)
{
    FILE *f = fopen(env.stats, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "upload ", 7) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *id = line + 7, *sp = strchr(id, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        if ((upload_id && strcmp(id, upload_id) == 0) || (key && strcmp(sp + 1, key) == 0))
            found = 1;
    }
    fclose(f);
    return found;
}

typedef struct http_answer {
    long status;
    char *body;
    size_t len;
    char content_type[128];
    char content_disposition[128];
    char cache_control[128];
} http_answer_t;

static size_t collect_body(char *data, size_t size, size_t n, void *userdata)
{
    http_answer_t *a = userdata;
    char *grown = realloc(a->body, a->len + size * n + 1);
    if (!grown)
        return 0;
    a->body = grown;
    memcpy(a->body + a->len, data, size * n);
    a->len += size * n;
    a->body[a->len] = '\0';
    return size * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t len = strlen(name);
    if (n <= len + 1 || strncasecmp(line, name, len) != 0 || line[len] != ':')
        return;
    const char *v = line + len + 1;
    while (*v == ' ')
        v++;
    size_t vlen = (size_t)(line + n - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    snprintf(out, cap, "%.*s", (int)vlen, v);
}

static size_t collect_header(char *line, size_t size, size_t n, void *userdata)
{
    http_answer_t *a = userdata;
    header_value(line, size * n, "Content-Type", a->content_type, sizeof a->content_type);
    header_value(line, size * n, "Content-Disposition", a->content_disposition,
                 sizeof a->content_disposition);
    header_value(line, size * n, "Cache-Control", a->cache_control, sizeof a->cache_control);
    return size * n;
}

/* A plain GET with libcurl, as a browser would fetch a URL. */
static http_answer_t http_get(const char *url, const char *range)
{
    http_answer_t a = {0};
    CURL *curl = curl_easy_init();
    ck_assert_ptr_nonnull(curl);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_URL, url), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
    if (range)
        ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_RANGE, range), CURLE_OK);
    CURLcode cc = curl_easy_perform(curl);
    ck_assert_msg(cc == CURLE_OK, "GET %s: %s", url, curl_easy_strerror(cc));
    ck_assert_int_eq(curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status), CURLE_OK);
    curl_easy_cleanup(curl);
    return a;
}

static char *read_range(const char *path, long offset, size_t len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
    ck_assert_uint_eq(fread(buf, 1, len, f), len);
    fclose(f);
    return buf;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(test_round_trip)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3rt"), *src = path_in(dir, "src.mp4"), *out = path_in(dir, "out.mp4");
    char *key = unique_key("clip.mp4");
    vf_error_t err = {0};
    vf_storage_stat_t st;
    long verified = proxy_count("verified");

    ck_assert_int_eq(vft_write_pattern(src, 300 * 1024 + 7, 1), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->stat(p->state, key, &st, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(st.size, 300 * 1024 + 7);
    ck_assert_str_eq(st.content_type, "video/mp4");
    ck_assert_msg(st.etag[0] == '"' && st.etag[strlen(st.etag) - 1] == '"', "etag %s", st.etag);
    ck_assert_msg(llabs((long long)(st.mtime - time(NULL))) < 3600, "mtime %lld", (long long)st.mtime);
    ck_assert_msg(ops->get_file(p->state, key, out, &err) == 0, "%s", err.message);
    ck_assert(vft_files_equal(src, out));
    ck_assert_int_eq(dir_entries(dir), 2); /* no temporary file left beside out */
    struct stat sb;
    ck_assert_int_eq(stat(out, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);

    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "removing a missing object: %s", err.message);
    /* put, head, get, delete, head, delete: each one checked by the proxy */
    ck_assert_int_ge(proxy_count("verified") - verified, 6);

    free(key);
    free(src);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_missing_objects)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3miss"), *out = path_in(dir, "never.mp4");
    char *key = unique_key("missing.mp4");
    vf_error_t err = {0};
    vf_storage_stat_t st;

    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);
    ck_assert_msg(strstr(err.message, key) != NULL, "%s", err.message);
    ck_assert_int_eq(err.status, 404);
    ck_assert_int_eq(ops->get_file(p->state, key, out, &err), -ENOENT);
    ck_assert_int_eq(err.status, 404);
    ck_assert_int_eq(dir_entries(dir), 0); /* neither the target nor a partial file */
    free(key);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_unicode_key)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3utf"), *src = path_in(dir, "src"), *out = path_in(dir, "out");
    char *key = unique_key("videos/my clip \xc3\xa9.mp4");
    vf_error_t err = {0};
    vf_storage_stat_t st;
    char *url = NULL;

    ck_assert_int_eq(vft_write_pattern(src, 4096, 2), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->stat(p->state, key, &st, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(st.size, 4096);
    ck_assert_msg(ops->get_file(p->state, key, out, &err) == 0, "%s", err.message);
    ck_assert(vft_files_equal(src, out));
    ck_assert_msg(ops->url(p->state, key, NULL, &url, &err) == 0, "%s", err.message);
    ck_assert_msg(strstr(url, "/videos/my%20clip%20%C3%A9.mp4?") != NULL, "%s", url);
    http_answer_t a = http_get(url, NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_uint_eq(a.len, 4096);
    free(a.body);
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);
    free(url);
    free(key);
    free(src);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_presigned_range)
{
    vf_plugin_t *p = load_s3("cache_control = \"public, max-age=60\";");
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3url"), *src = path_in(dir, "src.mp4");
    char *key = unique_key("range.mp4");
    vf_error_t err = {0};
    char *url = NULL;

    ck_assert_int_eq(vft_write_pattern(src, MIB, 3), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->url(p->state, key, NULL, &url, &err) == 0, "%s", err.message);
    ck_assert_msg(strncmp(url, env.endpoint, strlen(env.endpoint)) == 0, "%s", url);
    ck_assert_msg(strstr(url, "X-Amz-Expires=3600&") != NULL, "%s", url);
    ck_assert_msg(strstr(url, "&X-Amz-Signature=") != NULL, "%s", url);

    long presigned = proxy_count("verified_presigned");
    http_answer_t a = http_get(url, "1000-1999");
    ck_assert_int_eq(a.status, 206);
    ck_assert_uint_eq(a.len, 1000);
    char *want = read_range(src, 1000, 1000);
    ck_assert(memcmp(a.body, want, 1000) == 0);
    ck_assert_str_eq(a.content_type, "video/mp4");
    ck_assert_str_eq(a.cache_control, "public, max-age=60");
    ck_assert_int_ge(proxy_count("verified_presigned") - presigned, 1);
    free(want);
    free(a.body);
    free(url);

    vf_storage_url_opts_t opts = {.expires = 120, .content_disposition = "inline"};
    ck_assert_msg(ops->url(p->state, key, &opts, &url, &err) == 0, "%s", err.message);
    ck_assert_msg(strstr(url, "X-Amz-Expires=120&") != NULL, "%s", url);
    ck_assert_msg(strstr(url, "response-content-disposition=inline") != NULL, "%s", url);
    a = http_get(url, NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_uint_eq(a.len, MIB);
    ck_assert_str_eq(a.content_disposition, "inline");
    free(a.body);
    free(url);

    opts.expires = 604801;
    ck_assert_int_eq(ops->url(p->state, key, &opts, &url, &err), -EINVAL);
    ck_assert_ptr_null(url);
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    free(key);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* The proxy really checks: one changed character of a presigned URL's
 * signature, or a wrong secret key, gets S3's SignatureDoesNotMatch. */
START_TEST(test_bad_signatures_rejected)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3bad"), *src = path_in(dir, "src.ts");
    char *key = unique_key("seg.ts");
    vf_error_t err = {0};
    char *url = NULL;

    ck_assert_int_eq(vft_write_pattern(src, 1000, 4), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->url(p->state, key, NULL, &url, &err) == 0, "%s", err.message);
    char *sig = strstr(url, "X-Amz-Signature=") + strlen("X-Amz-Signature=");
    sig[10] = sig[10] == '0' ? '1' : '0';
    long rejected = proxy_count("rejected");
    http_answer_t a = http_get(url, NULL);
    ck_assert_int_eq(a.status, 403);
    ck_assert_msg(strstr(a.body, "<Code>SignatureDoesNotMatch</Code>") != NULL, "%s", a.body);
    ck_assert_int_ge(proxy_count("rejected") - rejected, 1);
    free(a.body);
    free(url);

    vf_plugin_t *wrong = load_with(env.endpoint, "not-the-secret-key", "max_retries = 0;");
    const vf_storage_ops_t *wops = vf_storage_ops(wrong);
    vf_storage_stat_t st;
    ck_assert_int_eq(wops->stat(wrong->state, key, &st, &err), -EACCES);
    ck_assert_int_eq(err.status, 403); /* a HEAD answer has no body to name the code */
    ck_assert_int_eq(wops->put_file(wrong->state, key, src, &err), -EACCES);
    ck_assert_int_eq(err.status, 403);
    ck_assert_msg(strstr(err.message, "SignatureDoesNotMatch") != NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "not-the-secret-key") == NULL, "secret in: %s", err.message);
    ck_assert_msg(strstr(err.message, env.secret_key) == NULL, "secret in: %s", err.message);
    vft_plugin_free(wrong);

    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    free(key);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* 12 MiB in parts of 5, 5 and 2 MiB through the multipart operations. */
START_TEST(test_multipart_ops)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3mp"), *src = path_in(dir, "src.mp4"), *out = path_in(dir, "out.mp4");
    char *key = unique_key("multi.mp4");
    vf_error_t err = {0};
    char *upload_id = NULL, *etags[3] = {0};
    const size_t sizes[3] = {5 * MIB, 5 * MIB, 2 * MIB};
    long parts_before = proxy_count("op.UploadPart");

    ck_assert_uint_eq(ops->min_part_size, 5 * MIB);
    ck_assert_int_eq(vft_write_pattern(src, 12 * MIB, 5), 0);
    ck_assert_msg(ops->multipart_begin(p->state, key, &upload_id, &err) == 0, "%s", err.message);
    ck_assert(upload_id && *upload_id);
    ck_assert(proxy_has_upload(upload_id, NULL));
    vf_storage_part_t parts[3];
    long offset = 0;
    for (unsigned i = 0; i < 3; i++) {
        char *data = read_range(src, offset, sizes[i]);
        ck_assert_msg(ops->multipart_write(p->state, key, upload_id, i + 1, data, sizes[i], &etags[i],
                                           &err) == 0,
                      "part %u: %s", i + 1, err.message);
        ck_assert_msg(etags[i] && etags[i][0] == '"', "etag %s", etags[i]);
        parts[i] = (vf_storage_part_t){i + 1, etags[i]};
        offset += (long)sizes[i];
        free(data);
    }
    ck_assert_msg(ops->multipart_complete(p->state, key, upload_id, parts, 3, &err) == 0, "%s",
                  err.message);
    ck_assert(!proxy_has_upload(upload_id, NULL));
    ck_assert_int_ge(proxy_count("op.UploadPart") - parts_before, 3);
    vf_storage_stat_t st;
    ck_assert_msg(ops->stat(p->state, key, &st, &err) == 0, "%s", err.message);
    ck_assert_uint_eq(st.size, 12 * MIB);
    ck_assert_str_eq(st.content_type, "video/mp4");
    ck_assert_msg(ops->get_file(p->state, key, out, &err) == 0, "%s", err.message);
    ck_assert(vft_files_equal(src, out));
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);

    for (int i = 0; i < 3; i++)
        free(etags[i]);
    free(upload_id);
    free(key);
    free(src);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* An aborted upload is gone: no parts kept, complete and write fail with
 * NoSuchUpload, aborting again succeeds.  Parts under 5 MiB other than the
 * last are refused at complete time. */
START_TEST(test_multipart_abort)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *key = unique_key("aborted.mp4");
    vf_error_t err = {0};
    char *upload_id = NULL, *etag = NULL, *etag2 = NULL;
    char *data = calloc(1, 5 * MIB);
    ck_assert_ptr_nonnull(data);

    ck_assert_msg(ops->multipart_begin(p->state, key, &upload_id, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->multipart_write(p->state, key, upload_id, 1, data, 5 * MIB, &etag, &err) == 0,
                  "%s", err.message);
    ck_assert(proxy_has_upload(upload_id, NULL));
    long aborts = proxy_count("op.AbortMultipartUpload");
    ck_assert_msg(ops->multipart_abort(p->state, key, upload_id, &err) == 0, "%s", err.message);
    ck_assert_int_ge(proxy_count("op.AbortMultipartUpload") - aborts, 1);
    ck_assert(!proxy_has_upload(upload_id, NULL));

    vf_storage_part_t parts[] = {{1, etag}};
    ck_assert_int_eq(ops->multipart_complete(p->state, key, upload_id, parts, 1, &err), -ENOENT);
    ck_assert_int_eq(err.status, 404);
    ck_assert_msg(strstr(err.message, "NoSuchUpload") != NULL, "%s", err.message);
    ck_assert_int_eq(ops->multipart_write(p->state, key, upload_id, 2, data, 10, &etag2, &err), -ENOENT);
    ck_assert_ptr_null(etag2);
    ck_assert_msg(ops->multipart_abort(p->state, key, upload_id, &err) == 0, "again: %s", err.message);
    vf_storage_stat_t st;
    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);
    free(upload_id);
    free(etag);

    /* Two 1 MiB parts: the first is too small for a part that is not the last. */
    char *etags[2] = {0};
    ck_assert_msg(ops->multipart_begin(p->state, key, &upload_id, &err) == 0, "%s", err.message);
    for (unsigned i = 0; i < 2; i++)
        ck_assert_msg(ops->multipart_write(p->state, key, upload_id, i + 1, data, MIB, &etags[i],
                                           &err) == 0,
                      "%s", err.message);
    vf_storage_part_t small[] = {{1, etags[0]}, {2, etags[1]}};
    ck_assert_int_eq(ops->multipart_complete(p->state, key, upload_id, small, 2, &err), -EINVAL);
    ck_assert_int_eq(err.status, 400);
    ck_assert_msg(strstr(err.message, "EntityTooSmall") != NULL, "%s", err.message);
    vf_storage_part_t out_of_order[] = {{2, etags[1]}, {1, etags[0]}};
    ck_assert_int_eq(ops->multipart_complete(p->state, key, upload_id, out_of_order, 2, &err), -EINVAL);
    ck_assert_msg(ops->multipart_abort(p->state, key, upload_id, &err) == 0, "%s", err.message);
    ck_assert(!proxy_has_upload(upload_id, NULL));
    free(etags[0]);
    free(etags[1]);
    free(upload_id);
    free(data);
    free(key);
    vft_plugin_free(p);
}
END_TEST

/* put_file above the threshold goes in parts (5 + 5 + 2 MiB here). */
START_TEST(test_put_file_multipart)
{
    vf_plugin_t *p = load_s3("multipart_threshold = 6291456;\npart_size = 5242880;");
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3pfm"), *src = path_in(dir, "src.mp4"), *out = path_in(dir, "out.mp4");
    char *key = unique_key("big.mp4");
    vf_error_t err = {0};
    long parts = proxy_count("op.UploadPart"), completes = proxy_count("op.CompleteMultipartUpload");

    ck_assert_int_eq(vft_write_pattern(src, 12 * MIB, 6), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_int_ge(proxy_count("op.UploadPart") - parts, 3);
    ck_assert_int_ge(proxy_count("op.CompleteMultipartUpload") - completes, 1);
    ck_assert(!proxy_has_upload(NULL, key));
    ck_assert_msg(ops->get_file(p->state, key, out, &err) == 0, "%s", err.message);
    ck_assert(vft_files_equal(src, out));
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    free(key);
    free(src);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* Part 2 always fails with 500: put_file retries it, gives up with S3's
 * error, and aborts the upload instead of leaving its parts behind. */
START_TEST(test_put_file_multipart_failure_aborts)
{
    vf_plugin_t *p = load_s3("multipart_threshold = 6291456;\npart_size = 5242880;\nmax_retries = 1;");
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3pff"), *src = path_in(dir, "src.mp4");
    char *key = unique_key("vf-fault-part2-500.mp4");
    vf_error_t err = {0};
    long aborts = proxy_count("op.AbortMultipartUpload"), faults = proxy_count("faults");

    ck_assert_int_eq(vft_write_pattern(src, 12 * MIB, 7), 0);
    ck_assert_int_eq(ops->put_file(p->state, key, src, &err), -EIO);
    ck_assert_int_eq(err.status, 500);
    ck_assert_msg(strstr(err.message, "InternalError") && strstr(err.message, "after 2 attempts"),
                  "%s", err.message);
    ck_assert_int_eq(proxy_count("faults") - faults, 2);
    ck_assert_int_ge(proxy_count("op.AbortMultipartUpload") - aborts, 1);
    ck_assert(!proxy_has_upload(NULL, key));
    vf_storage_stat_t st;
    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);
    free(key);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* A 503 SlowDown is retried and the upload goes through. */
START_TEST(test_retry_after_503)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3503"), *src = path_in(dir, "src.json");
    char *key = unique_key("vf-fault-503-once.json");
    vf_error_t err = {0};
    vf_storage_stat_t st;
    long faults = proxy_count("faults");

    ck_assert_int_eq(vft_write_pattern(src, 2048, 8), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_int_eq(proxy_count("faults") - faults, 1);
    ck_assert_msg(ops->stat(p->state, key, &st, &err) == 0, "%s", err.message);
    ck_assert_str_eq(st.content_type, "application/json");
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    free(key);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* remove_prefix reads DeleteObjects' per-key errors: a key S3 would not
 * delete (the proxy's vf-fault-delete-denied) fails the call naming it and
 * its code, the others are gone; keys with XML's special characters and
 * non-ASCII ones travel escaped in the request body. */
START_TEST(test_remove_prefix_key_errors)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3prefix"), *src = path_in(dir, "src.m4s");
    char *prefix = unique_key("hls/");
    static const char *const names[] = {"a&b<c>'q\".m4s", "\xc3\xa9 \xc3\xbc/0.m4s", "vf-fault-delete-denied.m4s",
                                        "z.m4s"};
    char *keys[4];
    vf_error_t err = {0};
    vf_storage_stat_t st;

    ck_assert_int_eq(vft_write_pattern(src, 64, 12), 0);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_ge(asprintf(&keys[i], "%s%s", prefix, names[i]), 0);
        ck_assert_msg(ops->put_file(p->state, keys[i], src, &err) == 0, "%s", err.message);
    }
    long batches = proxy_count("op.DeleteObjects"), faults = proxy_count("faults");
    ck_assert_int_eq(ops->remove_prefix(p->state, prefix, &err), -EIO);
    ck_assert_msg(strstr(err.message, "1 of 4") && strstr(err.message, keys[2]) && strstr(err.message, "AccessDenied"),
                  "message: %s", err.message);
    ck_assert_int_eq(proxy_count("op.DeleteObjects") - batches, 1);
    ck_assert_int_eq(proxy_count("faults") - faults, 1);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(ops->stat(p->state, keys[i], &st, &err), i == 2 ? 0 : -ENOENT);
    /* What is left is removed by calling again, once S3 lets it go. */
    ck_assert_msg(ops->remove(p->state, keys[2], &err) == 0, "%s", err.message);
    ck_assert_msg(ops->remove_prefix(p->state, prefix, &err) == 0, "%s", err.message);
    for (size_t i = 0; i < 4; i++)
        free(keys[i]);
    free(prefix);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* Nothing listens: connection errors are retried (max_retries = 2, so three
 * attempts with backoff), then reported clearly, in bounded time. */
START_TEST(test_connection_retries)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    ck_assert_int_eq(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&addr, &len), 0);
    close(s); /* bound but never listening: now nothing answers on this port */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", ntohs(addr.sin_port));

    vf_plugin_t *p = load_with(endpoint, env.secret_key, "max_retries = 2;\ntimeout = 2;");
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    vf_error_t err = {0};
    vf_storage_stat_t st;
    double start = now_seconds();
    ck_assert_int_eq(ops->stat(p->state, "any/key.mp4", &st, &err), -ECONNREFUSED);
    double elapsed = now_seconds() - start;
    ck_assert_msg(strstr(err.message, "after 3 attempts") && strstr(err.message, "cannot reach") &&
                      strstr(err.message, endpoint + 7),
                  "%s", err.message);
    ck_assert_int_eq(err.status, 0);
    /* Backoffs of 100-200 ms and 200-400 ms lie between the attempts. */
    ck_assert_msg(elapsed >= 0.3 && elapsed < 10.0, "took %.2f s", elapsed);
    vft_plugin_free(p);
}
END_TEST

/* A server that takes connections but never answers: each attempt times out
 * after `timeout` seconds without progress, is retried, then reported. */
START_TEST(test_timeout_retries)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    ck_assert_int_eq(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(listen(s, 8), 0); /* the kernel accepts; nobody reads or answers */
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&addr, &len), 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", ntohs(addr.sin_port));

    vf_plugin_t *p = load_with(endpoint, env.secret_key, "max_retries = 1;\ntimeout = 1;");
    vf_error_t err = {0};
    vf_storage_stat_t st;
    double start = now_seconds();
    ck_assert_int_eq(vf_storage_ops(p)->stat(p->state, "slow/key.mp4", &st, &err), -ETIMEDOUT);
    double elapsed = now_seconds() - start;
    ck_assert_msg(strstr(err.message, "after 2 attempts") && strstr(err.message, "Timeout"), "%s",
                  err.message);
    ck_assert_msg(elapsed >= 2.0 && elapsed < 10.0, "took %.2f s", elapsed);
    vft_plugin_free(p);
    close(s);
}
END_TEST

/* The bucket in the host name (<bucket>.s3.localhost, which libcurl sends to
 * the loopback address). */
START_TEST(test_virtual_addressing)
{
    const char *port = strrchr(env.endpoint, ':') + 1;
    char endpoint[64], host_prefix[128];
    snprintf(endpoint, sizeof endpoint, "http://s3.localhost:%s", port);
    snprintf(host_prefix, sizeof host_prefix, "http://%s.s3.localhost:%s/", env.bucket, port);
    vf_plugin_t *p = load_with(endpoint, env.secret_key, "addressing = \"virtual\";");
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3vh"), *src = path_in(dir, "src.png"), *out = path_in(dir, "out.png");
    char *key = unique_key("poster.png");
    vf_error_t err = {0};
    vf_storage_stat_t st;
    char *url = NULL;
    long verified = proxy_count("verified");

    ck_assert_int_eq(vft_write_pattern(src, 70000, 9), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->stat(p->state, key, &st, &err) == 0, "%s", err.message);
    ck_assert_str_eq(st.content_type, "image/png");
    ck_assert_msg(ops->get_file(p->state, key, out, &err) == 0, "%s", err.message);
    ck_assert(vft_files_equal(src, out));
    ck_assert_msg(ops->url(p->state, key, NULL, &url, &err) == 0, "%s", err.message);
    ck_assert_msg(strncmp(url, host_prefix, strlen(host_prefix)) == 0, "%s", url);
    http_answer_t a = http_get(url, NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_uint_eq(a.len, 70000);
    free(a.body);
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);
    ck_assert_int_ge(proxy_count("verified") - verified, 5);
    free(url);
    free(key);
    free(src);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_public_urls)
{
    vf_plugin_t *p = load_s3("public = true;");
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3pub"), *src = path_in(dir, "src.m3u8");
    char *key = unique_key("hls/index.m3u8");
    vf_error_t err = {0};
    char *url = NULL, *want = NULL;

    ck_assert_int_eq(vft_write_pattern(src, 500, 10), 0);
    ck_assert_msg(ops->put_file(p->state, key, src, &err) == 0, "%s", err.message);
    ck_assert_msg(ops->url(p->state, key, NULL, &url, &err) == 0, "%s", err.message);
    ck_assert_int_ge(asprintf(&want, "%s/%s/%s", env.endpoint, env.bucket, key), 0);
    ck_assert_str_eq(url, want);
    long anonymous = proxy_count("anonymous");
    http_answer_t a = http_get(url, NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_uint_eq(a.len, 500);
    ck_assert_str_eq(a.content_type, "application/vnd.apple.mpegurl");
    ck_assert_int_ge(proxy_count("anonymous") - anonymous, 1);
    free(a.body);
    free(url);
    free(want);
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);

    char *path = (char *)"unchanged";
    ck_assert_int_eq(ops->local_path(p->state, key, &path, &err), -ENOTSUP);
    ck_assert_ptr_null(path);
    vft_plugin_free(p);

    p = load_s3("public = true;\npublic_url = \"https://cdn.example.com/media/\";");
    ops = vf_storage_ops(p);
    ck_assert_msg(ops->url(p->state, "videos/my clip \xc3\xa9.mp4", NULL, &url, &err) == 0, "%s",
                  err.message);
    ck_assert_str_eq(url, "https://cdn.example.com/media/videos/my%20clip%20%C3%A9.mp4");
    free(url);
    free(key);
    free(src);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

/* Credentials from named environment variables and files, and from the AWS
 * default variables; a wrong one would get 403, a right one 404 here. */
START_TEST(test_credentials_from_env_and_file)
{
    char *dir = vft_tmpdir("s3cred"), *secret_file = path_in(dir, "secret");
    FILE *f = fopen(secret_file, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", env.secret_key);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(setenv("VFT_S3_KEY_ID", env.access_key, 1), 0);
    char *text = NULL, err_text[1024];
    ck_assert_int_ge(asprintf(&text,
                              "endpoint = \"%s\"; bucket = \"%s\"; region = \"%s\";\n"
                              "access_key_id_env = \"VFT_S3_KEY_ID\";\n"
                              "secret_access_key_file = \"%s\";",
                              env.endpoint, env.bucket, env.region, secret_file),
                     0);
    vf_plugin_t *p = vft_plugin_load("storage_s3", VF_PLUGIN_STORAGE, text, err_text, sizeof err_text);
    ck_assert_msg(p != NULL, "%s", err_text);
    vf_error_t err = {0};
    vf_storage_stat_t st;
    ck_assert_msg(vf_storage_ops(p)->stat(p->state, "no/such/key", &st, &err) == -ENOENT, "%s",
                  err.message);
    vft_plugin_free(p);
    free(text);

    ck_assert_int_eq(setenv("AWS_ACCESS_KEY_ID", env.access_key, 1), 0);
    ck_assert_int_eq(setenv("AWS_SECRET_ACCESS_KEY", env.secret_key, 1), 0);
    ck_assert_int_eq(unsetenv("AWS_SESSION_TOKEN"), 0);
    ck_assert_int_ge(asprintf(&text, "endpoint = \"%s\"; bucket = \"%s\"; region = \"%s\";",
                              env.endpoint, env.bucket, env.region),
                     0);
    p = vft_plugin_load("storage_s3", VF_PLUGIN_STORAGE, text, err_text, sizeof err_text);
    ck_assert_msg(p != NULL, "%s", err_text);
    ck_assert_msg(vf_storage_ops(p)->stat(p->state, "no/such/key", &st, &err) == -ENOENT, "%s",
                  err.message);
    vft_plugin_free(p);
    free(text);
    free(secret_file);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

#define CREDS "\naccess_key_id = \"A\";\nsecret_access_key = \"B\";"

START_TEST(test_config_errors)
{
    ck_assert_int_eq(unsetenv("AWS_ACCESS_KEY_ID"), 0);
    ck_assert_int_eq(unsetenv("AWS_SECRET_ACCESS_KEY"), 0);
    static const struct {
        const char *config;
        const char *message;
    } cases[] = {
        {"bucket = \"b-1\";\nbogus = 1;", "line 3: storage_s3: unknown setting 'bogus'"},
        {"bucket = 5;", "line 2: storage_s3: 'bucket' must be a string"},
        {"bucket = \"ok-bucket\";\npublic = \"yes\";", "'public' must be true or false"},
        {"bucket = \"ok-bucket\";\nmax_retries = \"4\";", "'max_retries' must be an integer"},
        {"region = \"eu-west-1\";", "'bucket' is required"},
        /* Checks made once every key is well-formed: the credentials must be there too. */
        {"bucket = \"Bad_Bucket\";" CREDS, "'bucket' must be 3 to 63 characters"},
        {"bucket = \"ok-bucket\";\naddressing = \"diagonal\";", "'addressing' must be"},
        {"bucket = \"ok-bucket\";\nendpoint = \"ftp://x\";" CREDS, "line 3: storage_s3: 'endpoint' must start with http:// or https://"},
        {"bucket = \"ok-bucket\";\nendpoint = \"http://h:9000/some/path\";" CREDS, "without credentials or a path"},
        {"bucket = \"ok-bucket\";\nendpoint = \"http://127.0.0.1:9000\";\naddressing = \"virtual\";" CREDS,
         "needs an endpoint with a DNS name"},
        {"bucket = \"ok-bucket\";\nurl_expires = 0;", "'url_expires' must be between 1 and 604800"},
        {"bucket = \"ok-bucket\";\npart_size = 1024;", "'part_size' must be between"},
        {"bucket = \"ok-bucket\";\naccess_key_id = \"A\";", "'secret_access_key' is required"},
        {"bucket = \"ok-bucket\";", "'access_key_id' is required: set 'access_key_id', 'access_key_id_env' or "
                                    "'access_key_id_file', or the environment variable AWS_ACCESS_KEY_ID"},
        {"bucket = \"ok-bucket\";\naccess_key_id = \"A\";\nsecret_access_key_file = \"/nonexistent/s\";",
         "line 4: storage_s3: 'secret_access_key': cannot read /nonexistent/s: No such file or directory"},
        {"bucket = \"ok-bucket\";\naccess_key_id = \"\";", "line 3: storage_s3: 'access_key_id' is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *msg = load_fails(cases[i].config);
        ck_assert_msg(strstr(msg, cases[i].message) != NULL, "config:\n%s\nmessage: %s\nwanted: %s",
                      cases[i].config, msg, cases[i].message);
    }
}
END_TEST

/* Every problem of the group at once, each with its line. */
START_TEST(test_config_errors_all_reported)
{
    const char *msg = load_fails("bucket = 5;\nmax_retries = 99;\ntimout = 3;");
    ck_assert_msg(strstr(msg, "line 2: storage_s3: 'bucket' must be a string") &&
                      strstr(msg, "line 3: storage_s3: 'max_retries' must be between 0 and 20") &&
                      strstr(msg, "line 4: storage_s3: unknown setting 'timout' (did you mean 'timeout'?)"),
                  "%s", msg);
}
END_TEST

typedef struct stopper {
    int calls;
    double last;
    double stop_at; /* answer "stop" from this percentage on */
} stopper_t;

static int stop_after(void *ud, double percent)
{
    stopper_t *s = ud;
    s->calls++;
    s->last = percent;
    return percent >= s->stop_at;
}

/* Capabilities follow the settings; long copies report progress and stop
 * when asked, leaving no object, no unfinished multipart upload and no
 * partial download. */
START_TEST(test_capabilities_and_cancelled_copies)
{
    vf_plugin_t *p = load_s3("part_size = 5242880;\nmultipart_threshold = 5242880;\nurl_expires = 900;");
    const vf_storage_caps_t *caps = &p->storage_caps;
    ck_assert_uint_eq(caps->flags, VF_STORAGE_URLS_EXPIRE);
    ck_assert_uint_eq(caps->url_expires_default, 900);
    ck_assert_uint_eq(caps->url_expires_max, 604800);
    ck_assert_uint_eq(caps->max_parts, 10000);
    ck_assert_uint_eq(caps->min_part_size, 5 * MIB);
    ck_assert(caps->max_part_size == (uint64_t)5 << 30);
    vf_plugin_t *pub = load_s3("public = true;");
    ck_assert_uint_eq(pub->storage_caps.flags, 0);
    vft_plugin_free(pub);

    const vf_storage_ops_t *ops = vf_storage_ops(p);
    char *dir = vft_tmpdir("s3cancel"), *src = path_in(dir, "src.bin"), *out = path_in(dir, "out.bin");
    char *key = unique_key("cancelled.bin");
    vf_error_t err = {0};
    vf_storage_stat_t st;
    ck_assert_int_eq(vft_write_pattern(src, 16 * MIB, 9), 0);

    /* Multipart put_file stopped after some parts: aborted, nothing stored. */
    stopper_t half = {0, 0, 40};
    ck_assert_int_eq(ops->put_file_progress(p->state, key, src, stop_after, &half, &err), -ECANCELED);
    ck_assert_msg(strstr(err.message, "cancelled"), "%s", err.message);
    ck_assert(half.last >= 40 && half.last < 100);
    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);
    ck_assert(!proxy_has_upload(NULL, key));
    /* A single PUT stopped before it starts. */
    stopper_t at_once = {0, 0, 0};
    ck_assert_int_eq(ops->put_file_progress(p->state, key, src, stop_after, &at_once, &err), -ECANCELED);
    ck_assert_int_eq(ops->stat(p->state, key, &st, &err), -ENOENT);

    /* The whole copy, then a download stopped half-way. */
    stopper_t all = {0, 0, 101};
    ck_assert_msg(ops->put_file_progress(p->state, key, src, stop_after, &all, &err) == 0, "%s", err.message);
    ck_assert(all.calls > 2 && all.last > 99.0);
    stopper_t get_half = {0, 0, 50};
    ck_assert_int_eq(ops->get_file_progress(p->state, key, out, stop_after, &get_half, &err), -ECANCELED);
    ck_assert_int_eq(dir_entries(dir), 1); /* src only: no target, no partial file */
    stopper_t get_all = {0, 0, 101};
    ck_assert_msg(ops->get_file_progress(p->state, key, out, stop_after, &get_all, &err) == 0, "%s", err.message);
    ck_assert(vft_files_equal(src, out));
    ck_assert_msg(ops->remove(p->state, key, &err) == 0, "%s", err.message);

    free(key);
    free(src);
    free(out);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

START_TEST(test_invalid_keys)
{
    vf_plugin_t *p = load_s3(NULL);
    const vf_storage_ops_t *ops = vf_storage_ops(p);
    static const char *bad[] = {"", "/abs.mp4", "../up.mp4", "a/../b.mp4", "a/./b.mp4", "a//b.mp4",
                                "dir/", "back\\slash.mp4", "ctl\nkey.mp4", "del\x7f.mp4", "."};
    vf_error_t err = {0};
    vf_storage_stat_t st;
    char *url = NULL, *upload_id = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(ops->stat(p->state, bad[i], &st, &err), -EINVAL);
        ck_assert_int_eq(ops->put_file(p->state, bad[i], "/dev/null", &err), -EINVAL);
        ck_assert_int_eq(ops->url(p->state, bad[i], NULL, &url, &err), -EINVAL);
        ck_assert_int_eq(ops->remove(p->state, bad[i], &err), -EINVAL);
        ck_assert_int_eq(ops->multipart_begin(p->state, bad[i], &upload_id, &err), -EINVAL);
    }
    ck_assert_ptr_null(url);
    ck_assert_ptr_null(upload_id);
    vft_plugin_free(p);
}
END_TEST

#define N_THREADS 4

typedef struct worker {
    vf_plugin_t *plugin;
    char *dir;
    int index;
    char failure[600];
} worker_t;

static void *worker_run(void *arg)
{
    worker_t *w = arg;
    const vf_storage_ops_t *ops = vf_storage_ops(w->plugin);
    char src[512], out[512], key[256];
    vf_error_t err = {0};
    vf_storage_stat_t st;
    snprintf(src, sizeof src, "%s/src%d", w->dir, w->index);
    snprintf(out, sizeof out, "%s/out%d", w->dir, w->index);
    snprintf(key, sizeof key, "t/threads-%d-%ld/%d.ts", (int)getpid(), (long)time(NULL), w->index);
    for (int round = 0; round < 3 && !w->failure[0]; round++) {
        if (vft_write_pattern(src, 100000 + (size_t)w->index * 1000 + (size_t)round, (unsigned)(w->index * 10 + round)) != 0)
            snprintf(w->failure, sizeof w->failure, "cannot write %s", src);
        else if (ops->put_file(w->plugin->state, key, src, &err) != 0 ||
                 ops->stat(w->plugin->state, key, &st, &err) != 0 ||
                 ops->get_file(w->plugin->state, key, out, &err) != 0 ||
                 ops->remove(w->plugin->state, key, &err) != 0)
            snprintf(w->failure, sizeof w->failure, "thread %d: %s", w->index, err.message);
        else if (!vft_files_equal(src, out))
            snprintf(w->failure, sizeof w->failure, "thread %d: round %d differs", w->index, round);
    }
    return NULL;
}

/* One plugin state used by several threads at once. */
START_TEST(test_threads_share_state)
{
    vf_plugin_t *p = load_s3(NULL);
    char *dir = vft_tmpdir("s3thr");
    worker_t workers[N_THREADS];
    pthread_t threads[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        workers[i] = (worker_t){.plugin = p, .dir = dir, .index = i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < N_THREADS; i++)
        ck_assert_msg(!workers[i].failure[0], "%s", workers[i].failure);
    vft_rmrf(dir);
    free(dir);
    vft_plugin_free(p);
}
END_TEST

static Suite *storage_s3_suite(void)
{
    env.endpoint = vft_env_or_skip("VF_TEST_S3_ENDPOINT");
    env.bucket = vft_env_or_skip("VF_TEST_S3_BUCKET");
    env.access_key = vft_env_or_skip("VF_TEST_S3_ACCESS_KEY");
    env.secret_key = vft_env_or_skip("VF_TEST_S3_SECRET_KEY");
    env.stats = vft_env_or_skip("VF_TEST_S3_STATS");
    env.region = getenv("VF_TEST_S3_REGION") ? getenv("VF_TEST_S3_REGION") : "us-east-1";

    Suite *s = suite_create("storage_s3");
    TCase *tc = tcase_create("s3rver");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_missing_objects);
    tcase_add_test(tc, test_unicode_key);
    tcase_add_test(tc, test_presigned_range);
    tcase_add_test(tc, test_bad_signatures_rejected);
    tcase_add_test(tc, test_multipart_ops);
    tcase_add_test(tc, test_multipart_abort);
    tcase_add_test(tc, test_put_file_multipart);
    tcase_add_test(tc, test_put_file_multipart_failure_aborts);
    tcase_add_test(tc, test_retry_after_503);
    tcase_add_test(tc, test_remove_prefix_key_errors);
    tcase_add_test(tc, test_connection_retries);
    tcase_add_test(tc, test_timeout_retries);
    tcase_add_test(tc, test_virtual_addressing);
    tcase_add_test(tc, test_public_urls);
    tcase_add_test(tc, test_credentials_from_env_and_file);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_config_errors_all_reported);
    tcase_add_test(tc, test_capabilities_and_cancelled_copies);
    tcase_add_test(tc, test_invalid_keys);
    tcase_add_test(tc, test_threads_share_state);
    suite_add_tcase(s, tc);
    return s;
}

/* The contract every storage plugin passes; it fails (never skips) without
 * the S3 test service. */
static Suite *storage_s3_contract(void)
{
    static const vfc_subject_t subject = {
        "storage_s3", "storage_s3",
        "endpoint = \"${VF_TEST_S3_ENDPOINT}\";\nbucket = \"${VF_TEST_S3_BUCKET}\";\n"
        "region = \"${VF_TEST_S3_REGION}\";\naccess_key_id_env = \"VF_TEST_S3_ACCESS_KEY\";\n"
        "secret_access_key_env = \"VF_TEST_S3_SECRET_KEY\";"};
    return vfc_storage_suite(&subject);
}

VFC_MAIN(storage_s3_suite, storage_s3_contract)
