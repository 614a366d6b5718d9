/*
 * check_memory.c - the server's memory while it moves big files, through
 * the real binary with real PostgreSQL, Redis, storage_local and
 * storage_s3 (the S3 test server):
 *   local   a file uploaded with tus in 16 MiB chunks (upload.chunk_max's
 *           default) on one keep-alive connection, then served whole by
 *           GET /media/
 *   s3      the same upload to S3
 * Each asserts the goal of the issue: the server's resident memory grows
 * by less than MEMORY_GOAL_MIB, measured as VmHWM (reset through
 * /proc/<pid>/clear_refs just before) minus VmRSS before, as bench/upload
 * does.  Each stored or served byte is compared with the file.
 *
 * The file is VF_MEMORY_TEST_MIB MiB (default 128, a few seconds); run
 * by hand with VF_MEMORY_TEST_MIB=2048 for the 2 GiB
 * (docs/uploads.md).
 * Must not: hold the file in the test's memory (it streams it in chunks).
 */
#include "config.h"
#include "uploads_fixture.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMORY_GOAL_MIB 32
#define CHUNK ((size_t)16 << 20)
#define DEFAULT_MIB 128
#define WARM_UP_BYTES 65536

/* The file's size: VF_MEMORY_TEST_MIB, else the default; 0 when the
 * variable is not a number of MiB in 1..65536 (the tests fail on it). */
static size_t file_size(void)
{
    const char *env = getenv("VF_MEMORY_TEST_MIB");
    char *end = NULL;
    long mib = env && *env ? strtol(env, &end, 10) : DEFAULT_MIB;
    if ((end && *end) || mib < 1 || mib > 65536)
        return 0;
    return (size_t)mib << 20;
}

typedef struct peak {
    int pid;
    long before_kb;
} peak_t;

static peak_t peak_start(int pid)
{
    ck_assert_msg(ufix_reset_peak(pid) == 0, "cannot reset the server's VmHWM through /proc/%d/clear_refs", pid);
    peak_t p = {pid, ufix_proc_kb(pid, "VmRSS:")};
    ck_assert_int_gt(p.before_kb, 0);
    return p;
}

/* The growth of the peak since peak_start, asserted under the goal. */
static void peak_check(const peak_t *p, const char *what, size_t size)
{
    long hwm = ufix_proc_kb(p->pid, "VmHWM:"), rss = ufix_proc_kb(p->pid, "VmRSS:");
    ck_assert_int_gt(hwm, 0);
    double grew = (double)(hwm - p->before_kb) / 1024.0;
    fprintf(stderr, "check_memory: %s of %zu MiB: server RSS %.1f MiB before, %.1f MiB after, peak %+.1f MiB\n",
            what, size >> 20, (double)p->before_kb / 1024.0, (double)rss / 1024.0, grew);
    ck_assert_msg(grew < MEMORY_GOAL_MIB, "%s of %zu MiB grew the server's RSS by %.1f MiB (goal: < %d MiB)", what,
                  size >> 20, grew, MEMORY_GOAL_MIB);
}

typedef struct memory_case {
    ufix_t f;
    char *file;
    size_t size;
    char *buf;   /* one chunk */
} memory_case_t;


static void case_setup(memory_case_t *c, int s3)
{
    memset(c, 0, sizeof *c);
    vft_servers_without_asan_quarantine();
    ufix_opts_t o = {.s3 = s3, .extra = "upload = { chunk_max = 16777216; };"};
    ck_assert_int_eq(ufix_setup(&c->f, &o), 0);
    c->f.conn = curl_easy_init();
    ck_assert_ptr_nonnull(c->f.conn);
    c->size = file_size();
    ck_assert_msg(c->size > 0, "VF_MEMORY_TEST_MIB must be a number of MiB in 1..65536, not '%s'",
                  getenv("VF_MEMORY_TEST_MIB"));
    ck_assert_int_ge(asprintf(&c->file, "%s/big.bin", c->f.dir), 0);
    ck_assert_int_eq(vft_write_pattern(c->file, c->size, 7), 0);
    c->buf = malloc(CHUNK);
    ck_assert_ptr_nonnull(c->buf);
    /* The storage pool's threads and their connections start with the
     * first upload: a small one first, so they are not counted. */
    char path[256];
    memset(c->buf, 'w', WARM_UP_BYTES);
    ck_assert_int_eq(ufix_tus_create(&c->f, WARM_UP_BYTES, "warm.bin", path, sizeof path), 201);
    ck_assert_int_eq(ufix_tus_patch(&c->f, path, 0, c->buf, WARM_UP_BYTES, NULL), 204);
}

static void case_teardown(memory_case_t *c)
{
    curl_easy_cleanup(c->f.conn);
    c->f.conn = NULL;
    ufix_teardown(&c->f);
    free(c->file);
    free(c->buf);
}

/* Upload the file with tus under the goal; its storage key into key. */
static void upload_checked(memory_case_t *c, const char *what, char *key, size_t klen)
{
    char path[256], id[33];
    peak_t p = peak_start(c->f.server_pid);
    ck_assert_msg(ufix_tus_upload_chunks(&c->f, c->file, c->size, CHUNK, c->buf, path, sizeof path) == 0,
                  "the tus upload of %zu MiB failed", c->size >> 20);
    peak_check(&p, what, c->size);
    snprintf(key, klen, "sources/%s.bin", ufix_upload_id(path, id));
}

/* ------------------------------------------------------------ serving */

/* A download compared with the file as it arrives, never kept. */
typedef struct download {
    int fd;
    size_t got;
    int differs;
    char *buf;
} download_t;

static size_t compare_body(char *data, size_t size, size_t nmemb, void *ud)
{
    download_t *d = ud;
    size_t n = size * nmemb;
    if (!d->differs && (ufix_read_at(d->fd, d->buf, n, (off_t)d->got) != 0 || memcmp(d->buf, data, n) != 0))
        d->differs = 1;
    d->got += n;
    return n;
}

START_TEST(local_upload_and_serve)
{
    memory_case_t c;
    char key[96];
    case_setup(&c, 0);
    upload_checked(&c, "a tus upload to storage_local", key, sizeof key);
    char stored[4200];
    snprintf(stored, sizeof stored, "%s/%s", c.f.media_root, key);
    ck_assert_msg(vft_files_equal(c.file, stored), "the stored %s differs from the file", key);

    /* GET /media/ of the whole object, read by the client as it comes. */
    char url[512];
    snprintf(url, sizeof url, "%s/media/%s", c.f.base, key);
    download_t d = {.fd = open(c.file, O_RDONLY | O_CLOEXEC), .buf = malloc(CURL_MAX_WRITE_SIZE)};
    ck_assert_int_ge(d.fd, 0);
    ck_assert_ptr_nonnull(d.buf);
    CURL *curl = c.f.conn;
    curl_easy_reset(curl);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_URL, url), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, compare_body), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d), CURLE_OK);
    peak_t p = peak_start(c.f.server_pid);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_msg(rc == CURLE_OK, "GET /media/%s: %s", key, curl_easy_strerror(rc));
    ck_assert_int_eq(status, 200);
    peak_check(&p, "serving a file through GET /media/", c.size);
    ck_assert_uint_eq(d.got, c.size);
    ck_assert_msg(!d.differs, "the served bytes differ from the file");
    close(d.fd);
    free(d.buf);
    case_teardown(&c);
}
END_TEST

START_TEST(s3_upload)
{
    memory_case_t c;
    char key[96], err[512];
    case_setup(&c, 1);
    upload_checked(&c, "a tus upload to storage_s3", key, sizeof key);
    vf_plugin_t *s3 = ufix_s3_plugin(err, sizeof err);
    ck_assert_msg(s3 != NULL, "%s", err);
    char copy[4200];
    snprintf(copy, sizeof copy, "%s/stored.bin", c.f.dir);
    vf_error_t verr = {0};
    ck_assert_msg(vf_storage_ops(s3)->get_file(s3->state, key, copy, &verr) == 0, "%s", verr.message);
    ck_assert_msg(vft_files_equal(c.file, copy), "the object stored on S3 differs from the file");
    ck_assert_int_eq(vf_storage_ops(s3)->remove(s3->state, key, &verr), 0);
    vft_plugin_free(s3);
    case_teardown(&c);
}
END_TEST

static Suite *memory_suite(void)
{
    vft_env_or_skip("VF_TEST_PG_DSN");
    vft_env_or_skip("VF_TEST_S3_ENDPOINT");
    /* 2 GiB by hand on a slow disk takes minutes; 128 MiB a few seconds. */
    int timeout = 120 + (int)(file_size() >> 20) / 4;
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("local");
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, local_upload_and_serve);
    suite_add_tcase(s, tc);
    tc = tcase_create("s3");
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, s3_upload);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(memory_suite)
