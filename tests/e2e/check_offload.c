/*
 * check_offload.c - storage work runs off the event loops: through the real
 * server on ONE loop thread with storage_s3, while the S3 test proxy holds a
 * request of the upload (a "hold" rule in $VF_TEST_S3_CONTROL) for as long
 * as the test wants:
 *   loop_free   other requests (health, the catalogue, HEAD of the same
 *               upload) are answered while a creation and a chunk wait on S3
 *   queue_full  with one storage thread and a queue of one, a third chunk is
 *               refused with 503, Retry-After and a JSON body, and nothing is
 *               lost: every upload completes, the refused one resumed from
 *               its HEAD offset
 *   shutdown    SIGTERM while a chunk waits on S3: the chunk still completes
 *               (204) and the server exits 0
 * The assertions are about order and completion (the held request cannot
 * finish before the test releases it), never about timings.
 */
#include "config.h"
#include "uploads_fixture.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 30000
#define CHUNK_LEN 200000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- the S3 proxy */

/* Replace the proxy's rules (atomically: it reads the file per request). */
static void control_set(const char *rules)
{
    const char *path = vft_env_or_skip("VF_TEST_S3_CONTROL");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *fp = fopen(tmp, "w");
    ck_assert_msg(fp != NULL, "cannot write %s", tmp);
    ck_assert_int_ge(fputs(rules, fp), 0);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(rename(tmp, path), 0);
}

/* Until `n` requests wait on a hold rule. */
static void wait_held(long n)
{
    for (int waited = 0; vft_s3_proxy_count("held") < n; waited += 20) {
        ck_assert_msg(waited < WAIT_MS, "the proxy never held %ld requests (held %ld)", n, vft_s3_proxy_count("held"));
        sleep_ms(20);
    }
}

/* ------------------------------------------------- requests in threads */

typedef struct async_req {
    ufix_t *f;
    const char *method;
    char path[256];
    const char *headers[6];
    char header_buf[3][512];
    const void *body;
    size_t len;
    pthread_t thread;
    ufix_resp_t resp;
    int transport_ok;
    int done;           /* atomic */
} async_req_t;

static void *async_main(void *arg)
{
    async_req_t *a = arg;
    a->transport_ok = ufix_request(a->f, a->method, a->path, a->headers, a->body, a->len, 1, &a->resp) == 0;
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int is_done(async_req_t *a) { return __atomic_load_n(&a->done, __ATOMIC_ACQUIRE); }

static void start_async(async_req_t *a) { ck_assert_int_eq(pthread_create(&a->thread, NULL, async_main, a), 0); }

static void join_async(async_req_t *a)
{
    ck_assert_int_eq(pthread_join(a->thread, NULL), 0);
    ck_assert_msg(a->transport_ok, "%s %s: no answer", a->method, a->path);
}

static void start_patch(async_req_t *a, ufix_t *f, const char *path, int64_t offset, const void *data, size_t len)
{
    memset(a, 0, sizeof *a);
    a->f = f;
    a->method = "PATCH";
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->header_buf[0], sizeof a->header_buf[0], "Upload-Offset: %" PRId64, offset);
    a->headers[0] = "Tus-Resumable: 1.0.0";
    a->headers[1] = a->header_buf[0];
    a->headers[2] = "Content-Type: application/offset+octet-stream";
    a->body = data;
    a->len = len;
    start_async(a);
}

/* ------------------------------------------------------------ helpers */

static char *pattern(ufix_t *f, const char *name, size_t len, unsigned seed)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    ck_assert_int_eq(vft_write_pattern(path, len, seed), 0);
    size_t got = 0;
    char *data = vft_read_file(path, &got);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(got, len);
    return data;
}

/* The upload's object in the bucket holds exactly data. */
static void assert_object(ufix_t *f, const char *upload_path, const char *ext, const char *data, size_t len)
{
    char err[512], id[33], key[96], copy[4096], want[4096];
    vf_plugin_t *s3 = ufix_s3_plugin(err, sizeof err);
    ck_assert_msg(s3 != NULL, "%s", err);
    snprintf(key, sizeof key, "sources/%s%s", ufix_upload_id(upload_path, id), ext);
    snprintf(copy, sizeof copy, "%s/object-%s", f->dir, id);
    snprintf(want, sizeof want, "%s/want-%s", f->dir, id);
    vf_error_t verr = {0};
    ck_assert_msg(vf_storage_ops(s3)->get_file(s3->state, key, copy, &verr) == 0, "%s: %s", key, verr.message);
    FILE *fp = fopen(want, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_msg(vft_files_equal(copy, want), "%s differs from the bytes sent", key);
    vft_plugin_free(s3);
}

/* A GET answered 200 (the staff cookie is sent). */
static void assert_answered(ufix_t *f, const char *path)
{
    ufix_resp_t r;
    ck_assert_int_eq(ufix_request(f, "GET", path, NULL, NULL, 0, 1, &r), 0);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
    ufix_resp_free(&r);
}

static void setup_s3(ufix_t *f, const char *server)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    control_set("");
    ufix_opts_t o = {.s3 = 1, .threads = 1, .server = server};
    ck_assert_int_eq(ufix_setup(f, &o), 0);
}

/* ---------------------------------------------------------- loop_free */

START_TEST(loop_free_while_s3_is_slow)
{
    ufix_t f;
    setup_s3(&f, "storage_threads = 2; storage_queue = 4;");
    char *data = pattern(&f, "a.bin", CHUNK_LEN, 3);

    /* Creation begins the multipart upload on S3: held (the file name's
     * extension marks this test's key). */
    control_set("hold CreateMultipartUpload .vfhold1\n");
    async_req_t create = {.f = &f, .method = "POST", .path = "/admin/api/uploads/"};
    snprintf(create.header_buf[0], sizeof create.header_buf[0], "Upload-Length: %d", CHUNK_LEN);
    create.headers[0] = "Tus-Resumable: 1.0.0";
    create.headers[1] = create.header_buf[0];
    create.headers[2] = "Upload-Metadata: filename Y2xpcC52ZmhvbGQx"; /* clip.vfhold1 */
    start_async(&create);
    wait_held(1);
    assert_answered(&f, "/health/");
    ck_assert_msg(!is_done(&create), "the creation finished while S3 held it");
    control_set("");
    join_async(&create);
    ck_assert_int_eq(create.resp.status, 201);
    char *location = ufix_header(&create.resp, "Location");
    ck_assert_ptr_nonnull(location);
    char path[256], id[33], rule[256];
    snprintf(path, sizeof path, "%s", location);
    free(location);
    ufix_resp_free(&create.resp);

    /* The chunk's part is held: the one loop thread answers the others. */
    snprintf(rule, sizeof rule, "hold UploadPart sources/%s\n", ufix_upload_id(path, id));
    control_set(rule);
    async_req_t patch;
    start_patch(&patch, &f, path, 0, data, CHUNK_LEN);
    wait_held(1);
    assert_answered(&f, "/health/");
    assert_answered(&f, "/content/");
    int64_t off = -1;
    ck_assert_int_eq(ufix_tus_head(&f, path, &off), 200);
    ck_assert_int_eq(off, 0); /* the chunk is not acknowledged before it is stored */
    ck_assert_msg(!is_done(&patch), "the chunk finished while S3 held its part");
    control_set("");
    join_async(&patch);
    ck_assert_int_eq(patch.resp.status, 204);
    char *o = ufix_header(&patch.resp, "Upload-Offset");
    ck_assert_str_eq(o, "200000");
    free(o);
    ufix_resp_free(&patch.resp);
    ck_assert_int_eq(ufix_tus_head(&f, path, &off), 200);
    ck_assert_int_eq(off, CHUNK_LEN);
    assert_object(&f, path, ".vfhold1", data, CHUNK_LEN);

    free(data);
    ufix_teardown(&f);
}
END_TEST

/* --------------------------------------------------------- queue_full */

START_TEST(full_queue_refuses_and_loses_nothing)
{
    ufix_t f;
    setup_s3(&f, "storage_threads = 1; storage_queue = 1;");
    char *data[3];
    char path[3][256], id[33], rule[256];
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "%c.bin", 'a' + i);
        data[i] = pattern(&f, name, CHUNK_LEN, 10 + (unsigned)i);
        ck_assert_int_eq(ufix_tus_create(&f, CHUNK_LEN, name, path[i], sizeof path[i]), 201);
    }
    /* A's part holds the one storage thread; B and C race for the one
     * place in the queue: whichever comes second is refused. */
    snprintf(rule, sizeof rule, "hold UploadPart sources/%s\n", ufix_upload_id(path[0], id));
    control_set(rule);
    async_req_t req[3];
    start_patch(&req[0], &f, path[0], 0, data[0], CHUNK_LEN);
    wait_held(1);
    start_patch(&req[1], &f, path[1], 0, data[1], CHUNK_LEN);
    start_patch(&req[2], &f, path[2], 0, data[2], CHUNK_LEN);
    for (int waited = 0; !is_done(&req[1]) && !is_done(&req[2]); waited += 20) {
        ck_assert_msg(waited < WAIT_MS, "neither B nor C was answered");
        sleep_ms(20);
    }
    int refused = is_done(&req[1]) ? 1 : 2, queued = 3 - refused;
    join_async(&req[refused]);
    ufix_resp_t *r = &req[refused].resp;
    ck_assert_msg(r->status == 503, "the chunk over the queue's bound got %ld %s", r->status, r->body);
    char *h = ufix_header(r, "Retry-After");
    ck_assert_msg(h && atoi(h) > 0, "503 without a usable Retry-After (%s)", h ? h : "none");
    free(h);
    h = ufix_header(r, "Tus-Resumable");
    ck_assert_str_eq(h, "1.0.0");
    free(h);
    json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
    ck_assert_msg(json_is_string(json_object_get(body, "detail")), "503 body: %s", r->body);
    json_decref(body);
    ufix_resp_free(r);
    /* The queued chunk waits behind the held one. */
    ck_assert(!is_done(&req[0]));
    ck_assert(!is_done(&req[queued]));

    control_set("");
    join_async(&req[0]);
    join_async(&req[queued]);
    ck_assert_int_eq(req[0].resp.status, 204);
    ck_assert_int_eq(req[queued].resp.status, 204);
    ufix_resp_free(&req[0].resp);
    ufix_resp_free(&req[queued].resp);

    /* The refused chunk left its upload as it was: resume from HEAD. */
    int64_t off = -1;
    ck_assert_int_eq(ufix_tus_head(&f, path[refused], &off), 200);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ufix_tus_patch(&f, path[refused], off, data[refused], CHUNK_LEN, &off), 204);
    ck_assert_int_eq(off, CHUNK_LEN);
    for (int i = 0; i < 3; i++) {
        assert_object(&f, path[i], ".bin", data[i], CHUNK_LEN);
        free(data[i]);
    }
    ufix_teardown(&f);
}
END_TEST

/* ----------------------------------------------------------- shutdown */

static int log_contains(ufix_t *f, const char *text)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s/server.log", f->dir);
    FILE *fp = fopen(cmd, "r");
    if (!fp)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, fp))
        found = strstr(line, text) != NULL;
    fclose(fp);
    return found;
}

START_TEST(shutdown_finishes_a_chunk_on_s3)
{
    ufix_t f;
    setup_s3(&f, "shutdown_timeout = 60;");
    char *data = pattern(&f, "s.bin", CHUNK_LEN, 21);
    char path[256], id[33], rule[256];
    ck_assert_int_eq(ufix_tus_create(&f, CHUNK_LEN, "s.bin", path, sizeof path), 201);
    snprintf(rule, sizeof rule, "hold UploadPart sources/%s\n", ufix_upload_id(path, id));
    control_set(rule);
    async_req_t patch;
    start_patch(&patch, &f, path, 0, data, CHUNK_LEN);
    wait_held(1);
    ck_assert_int_eq(kill(f.server_pid, SIGTERM), 0);
    for (int waited = 0; !log_contains(&f, "finishing requests in flight"); waited += 20) {
        ck_assert_msg(waited < WAIT_MS, "the server did not react to SIGTERM");
        sleep_ms(20);
    }
    ck_assert(!is_done(&patch));
    control_set("");
    join_async(&patch);
    ck_assert_msg(patch.resp.status == 204, "the chunk in flight at SIGTERM got %ld", patch.resp.status);
    ufix_resp_free(&patch.resp);
    int status = -1;
    for (int waited = 0;; waited += 20) {
        pid_t done = waitpid(f.server_pid, &status, WNOHANG);
        if (done == f.server_pid)
            break;
        ck_assert_msg(waited < WAIT_MS, "the server did not exit after its last request");
        sleep_ms(20);
    }
    f.server_pid = 0;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server ended with status %d", status);
    assert_object(&f, path, ".bin", data, CHUNK_LEN);
    free(data);
    ufix_teardown(&f);
}
END_TEST

static Suite *offload_suite(void)
{
    vft_env_or_skip("VF_TEST_PG_DSN");
    vft_env_or_skip("VF_TEST_S3_ENDPOINT");
    vft_env_or_skip("VF_TEST_S3_CONTROL");
    Suite *s = suite_create("offload");
    TCase *tc = tcase_create("loop_free");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, loop_free_while_s3_is_slow);
    suite_add_tcase(s, tc);
    tc = tcase_create("queue_full");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, full_queue_refuses_and_loses_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shutdown_finishes_a_chunk_on_s3);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(offload_suite)
