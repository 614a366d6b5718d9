/*
 * storage_contract.c - see storage_contract.h.  This file owns the fixture
 * (a fresh instance per test, a key prefix no other test or run uses, a
 * scratch directory for local files), whole-object operations, key
 * refusal, the error conventions, threads, and the suite itself;
 * storage_contract_multipart.c, storage_contract_caps.c and
 * storage_contract_prefix.c add the rest.
 */
#include "config.h"
#include "tests/plugins/storage_contract.h"
#include "tests/plugins/storage_contract_fixture.h"
#include "vftest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

storage_fixture_t vfc_sfx;
#define fx vfc_sfx

static const vfc_subject_t *subject;

static void setup(void)
{
    static unsigned serial;
    vfc_open(subject, VF_PLUGIN_STORAGE, &fx.inst);
    fx.ops = vf_storage_ops(fx.inst.plugin);
    fx.state = fx.inst.plugin->state;
    fx.caps = fx.inst.plugin->storage_caps;
    fx.declared_caps = VF_HAS_FIELD(vf_storage_ops_t, fx.ops, capabilities) && fx.ops->capabilities;
    fx.files = vft_tmpdir("vf-contract-files");
    ck_assert_ptr_nonnull(fx.files);
    snprintf(fx.prefix, sizeof fx.prefix, "contract-%ld-%d-%u", (long)time(NULL), (int)getpid(), ++serial);
}

static void teardown(void)
{
    vfc_close(&fx.inst);
    if (fx.files) {
        vft_rmrf(fx.files);
        free(fx.files);
    }
    memset(&fx, 0, sizeof fx);
}

/* ------------------------------------------------------------ helpers */

const char *vfc_key(char *buf, size_t len, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", fx.prefix, name);
    ck_assert(n > 0 && (size_t)n < len);
    return buf;
}

char *vfc_pattern_file(const char *name, size_t size, unsigned seed)
{
    char *path = vfc_path(fx.files, name);
    ck_assert_msg(vft_write_pattern(path, size, seed) == 0, "cannot write %s", path);
    return path;
}

bool vfc_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

char *vfc_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    ck_assert_int_ge(size, 0);
    rewind(f);
    char *bytes = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return bytes;
}

void vfc_put_ok(const char *key, const char *path)
{
    vf_error_t err;
    VFC_OK(fx.ops->put_file(fx.state, key, path, &err), err);
}

void vfc_assert_object(const char *key, const char *expected)
{
    vf_error_t err;
    char *got = vfc_path(fx.files, "got");
    VFC_OK(fx.ops->get_file(fx.state, key, got, &err), err);
    ck_assert_msg(vft_files_equal(expected, got), "object %s differs from %s", key, expected);
    unlink(got);
    free(got);
}

void vfc_assert_missing(const char *key)
{
    vf_error_t err;
    vf_storage_stat_t st;
    VFC_FAILS(-ENOENT, fx.ops->stat(fx.state, key, &st, &err), err);
}

void vfc_remove_ok(const char *key)
{
    vf_error_t err;
    VFC_OK(fx.ops->remove(fx.state, key, &err), err);
}

/* ---------------------------------------------------- the descriptor */

START_TEST(test_descriptor)
{
    const vf_plugin_desc_t *d = fx.inst.plugin->desc;
    ck_assert_int_eq(d->kind, VF_PLUGIN_STORAGE);
    ck_assert_msg(d->name && d->name[0], "the descriptor has no name");
    ck_assert_uint_ge(fx.ops->size, VF_STORAGE_OPS_SIZE_1_0);
    ck_assert_msg(fx.ops->min_part_size >= 1, "min_part_size is 0");
    ck_assert_msg(fx.ops->put_file && fx.ops->get_file && fx.ops->stat && fx.ops->remove && fx.ops->url,
                  "put_file, get_file, stat, remove and url are required");
    ck_assert_msg(fx.ops->multipart_begin && fx.ops->multipart_write && fx.ops->multipart_complete &&
                      fx.ops->multipart_abort,
                  "the four multipart operations are required");
}
END_TEST

/* ----------------------------------------------------- whole objects */

START_TEST(test_round_trip)
{
    char key[256];
    vfc_key(key, sizeof key, "videos/clip é 1.mp4");
    char *first = vfc_pattern_file("first", 300 * KiB + 7, 1);
    char *second = vfc_pattern_file("second", 200 * KiB + 1, 2);
    vf_error_t err;
    vf_storage_stat_t st, st2;

    vfc_put_ok(key, first);
    VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);
    ck_assert_uint_eq(st.size, 300 * KiB + 7);
    int64_t now = (int64_t)time(NULL);
    ck_assert_msg(st.mtime > now - 300 && st.mtime < now + 300, "mtime %lld is not about now (%lld)",
                  (long long)st.mtime, (long long)now);
    size_t etag_len = strnlen(st.etag, sizeof st.etag);
    ck_assert_msg(etag_len > 2 && etag_len < sizeof st.etag && st.etag[0] == '"' && st.etag[etag_len - 1] == '"',
                  "etag '%.128s' is not a quoted string", st.etag);
    ck_assert_str_eq(st.content_type, "video/mp4");
    vfc_assert_object(key, first);

    /* A second put replaces the object: new bytes, new size, new ETag. */
    vfc_put_ok(key, second);
    VFC_OK(fx.ops->stat(fx.state, key, &st2, &err), err);
    ck_assert_uint_eq(st2.size, 200 * KiB + 1);
    ck_assert_str_ne(st.etag, st2.etag);
    vfc_assert_object(key, second);

    vfc_remove_ok(key);
    vfc_assert_missing(key);
    free(first);
    free(second);
}
END_TEST

START_TEST(test_empty_object_and_types)
{
    char key[256], thumb[256];
    char *empty = vfc_pattern_file("empty", 0, 3);
    char *small = vfc_pattern_file("small", 100, 4);
    vf_error_t err;
    vf_storage_stat_t st;
    vfc_put_ok(vfc_key(key, sizeof key, "empty.bin"), empty);
    VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);
    ck_assert_uint_eq(st.size, 0);
    ck_assert_msg(st.content_type[0], "stat gave no content type");
    vfc_assert_object(key, empty);
    /* The kinds of object videoflix stores are served with their types. */
    vfc_put_ok(vfc_key(thumb, sizeof thumb, "thumbs/1.jpg"), small);
    VFC_OK(fx.ops->stat(fx.state, thumb, &st, &err), err);
    ck_assert_str_eq(st.content_type, "image/jpeg");
    vfc_remove_ok(key);
    vfc_remove_ok(thumb);
    /* An HLS stream's files (include/videoflix/content_type.h). */
    static const struct {
        const char *name, *type;
    } hls[] = {
        {"hls/master.m3u8", "application/vnd.apple.mpegurl"},
        {"hls/720p/index.m3u8", "application/vnd.apple.mpegurl"},
        {"hls/720p/init.mp4", "video/mp4"},
        {"hls/720p/0.m4s", "video/iso.segment"},
    };
    for (size_t i = 0; i < sizeof hls / sizeof hls[0]; i++) {
        vfc_put_ok(vfc_key(key, sizeof key, hls[i].name), small);
        VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);
        ck_assert_msg(strcmp(st.content_type, hls[i].type) == 0, "%s is served as %s, not %s", hls[i].name,
                      st.content_type, hls[i].type);
        vfc_remove_ok(key);
    }
    free(empty);
    free(small);
}
END_TEST

START_TEST(test_missing_objects)
{
    char key[256];
    vfc_key(key, sizeof key, "never/stored.mp4");
    char *got = vfc_path(fx.files, "got-missing");
    vf_error_t err;
    vfc_assert_missing(key);
    VFC_FAILS(-ENOENT, fx.ops->get_file(fx.state, key, got, &err), err);
    ck_assert_msg(!vfc_exists(got), "get_file of a missing object left %s behind", got);
    /* A failed get leaves the destination as it was. */
    char *kept = vfc_pattern_file("kept", 999, 12);
    char *copy = vfc_pattern_file("kept-copy", 999, 12);
    VFC_FAILS(-ENOENT, fx.ops->get_file(fx.state, key, kept, &err), err);
    ck_assert_msg(vft_files_equal(kept, copy), "a failed get_file changed its destination");
    ck_assert_int_eq(vfc_entries(fx.files), 2);
    /* Removing what is not there succeeds, twice. */
    vfc_remove_ok(key);
    vfc_remove_ok(key);
    /* A source file that cannot be read stores nothing. */
    char *absent = vfc_path(fx.files, "no-such-source");
    memset(&err, 0, sizeof err);
    int ret = fx.ops->put_file(fx.state, key, absent, &err);
    ck_assert_msg(ret < 0 && err.message[0], "put_file of a missing source returned %d (%s)", ret, err.message);
    vfc_assert_missing(key);
    free(absent);
    free(kept);
    free(copy);
    free(got);
}
END_TEST

/* err may be NULL in every call: failures then just return their code. */
START_TEST(test_null_error_pointer)
{
    char key[256];
    vfc_key(key, sizeof key, "never/stored.mp4");
    char *got = vfc_path(fx.files, "got-null");
    vf_storage_stat_t st;
    char *out = NULL;
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, NULL), -ENOENT);
    ck_assert_int_eq(fx.ops->get_file(fx.state, key, got, NULL), -ENOENT);
    ck_assert_int_eq(fx.ops->remove(fx.state, key, NULL), 0);
    ck_assert_int_eq(fx.ops->put_file(fx.state, "../x", got, NULL), -EINVAL);
    ck_assert_int_eq(fx.ops->url(fx.state, "", NULL, &out, NULL), -EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(fx.ops->multipart_begin(fx.state, "/x", &out, NULL), -EINVAL);
    ck_assert_ptr_null(out);
    free(got);
}
END_TEST

/* ------------------------------------------------------ refused keys */

/* Keys the grammar forbids (plugin.h, key_check), each with the key a
 * careless plugin might have written instead (NULL when there is none to
 * look for).  They are not under the test's prefix because some must start
 * with '/' or '.'; the names are distinctive enough not to meet anything
 * real. */
static const struct {
    const char *key;
    const char *lookalike;
} refused_keys[] = {
    {NULL, NULL},
    {"", NULL},
    {".", NULL},
    {"..", NULL},
    {"/vf-contract-refused/absolute.bin", "vf-contract-refused/absolute.bin"},
    {"../vf-contract-refused/up.bin", "vf-contract-refused/up.bin"},
    {"vf-contract-refused/x/../dotdot.bin", "vf-contract-refused/dotdot.bin"},
    {"vf-contract-refused/x/..", "vf-contract-refused"},
    {"vf-contract-refused/./dot.bin", "vf-contract-refused/dot.bin"},
    {"./vf-contract-refused/lead-dot.bin", "vf-contract-refused/lead-dot.bin"},
    {"vf-contract-refused//double.bin", "vf-contract-refused/double.bin"},
    {"vf-contract-refused/trailing/", "vf-contract-refused/trailing"},
    {"vf-contract-refused\\back.bin", "vf-contract-refused/back.bin"},
    {"vf-contract-refused/bad-\xff-utf8.bin", NULL},
    {"vf-contract-refused/overlong-\xc0\xaf.bin", NULL},
    {"vf-contract-refused/control-\x01.bin", NULL},
    {"vf-contract-refused/newline-\n.bin", NULL},
    {"vf-contract-refused/delete-\x7f.bin", NULL},
};

/* Every operation taking a key refuses it with -EINVAL and a message, and
 * nothing is written. */
static void assert_key_refused(const char *key, const char *upload_id, const char *src, const char *got)
{
    vf_error_t err;
    vf_storage_stat_t st;
    vf_storage_part_t part = {1, "\"etag\""};
    char *out = NULL;
    const char *shown = key ? key : "(NULL)";
    VFC_FAILS(-EINVAL, fx.ops->put_file(fx.state, key, src, &err), err);
    VFC_FAILS(-EINVAL, fx.ops->get_file(fx.state, key, got, &err), err);
    ck_assert_msg(!vfc_exists(got), "get_file of key '%s' wrote %s", shown, got);
    VFC_FAILS(-EINVAL, fx.ops->stat(fx.state, key, &st, &err), err);
    VFC_FAILS(-EINVAL, fx.ops->remove(fx.state, key, &err), err);
    VFC_FAILS(-EINVAL, fx.ops->url(fx.state, key, NULL, &out, &err), err);
    ck_assert_ptr_null(out);
    if (fx.ops->local_path) {
        memset(&err, 0, sizeof err);
        int ret = fx.ops->local_path(fx.state, key, &out, &err);
        ck_assert_msg(ret == -EINVAL || (ret == -ENOTSUP && !(fx.caps.flags & VF_STORAGE_LOCAL_PATHS)),
                      "local_path('%s') returned %d", shown, ret);
        ck_assert_msg(err.message[0], "local_path('%s') failed without a message", shown);
        ck_assert_ptr_null(out);
    }
    VFC_FAILS(-EINVAL, fx.ops->multipart_begin(fx.state, key, &out, &err), err);
    ck_assert_ptr_null(out);
    VFC_FAILS(-EINVAL, fx.ops->multipart_write(fx.state, key, upload_id, 1, "x", 1, &out, &err), err);
    ck_assert_ptr_null(out);
    VFC_FAILS(-EINVAL, fx.ops->multipart_complete(fx.state, key, upload_id, &part, 1, &err), err);
    VFC_FAILS(-EINVAL, fx.ops->multipart_abort(fx.state, key, upload_id, &err), err);
    if (VF_HAS_FIELD(vf_storage_ops_t, fx.ops, put_file_progress) && fx.ops->put_file_progress)
        VFC_FAILS(-EINVAL, fx.ops->put_file_progress(fx.state, key, src, NULL, NULL, &err), err);
    if (VF_HAS_FIELD(vf_storage_ops_t, fx.ops, get_file_progress) && fx.ops->get_file_progress) {
        VFC_FAILS(-EINVAL, fx.ops->get_file_progress(fx.state, key, got, NULL, NULL, &err), err);
        ck_assert_msg(!vfc_exists(got), "get_file_progress of key '%s' wrote %s", shown, got);
    }
}

/* A key of `total` bytes below the test's prefix, of segments `segment`
 * bytes long (the last one shorter). */
static char *long_key(size_t total, size_t segment)
{
    char *key = malloc(total + 1);
    ck_assert_ptr_nonnull(key);
    size_t n = (size_t)snprintf(key, total + 1, "%s/", fx.prefix);
    for (size_t run = 0; n < total; n++) {
        if (run == segment && n + 1 < total) {
            key[n] = '/';
            run = 0;
        } else {
            key[n] = (char)('a' + n % 26);
            run++;
        }
    }
    key[total] = '\0';
    return key;
}

START_TEST(test_refused_keys)
{
    char good[256];
    vfc_key(good, sizeof good, "upload.bin");
    char *src = vfc_pattern_file("src", 1000, 5);
    char *got = vfc_path(fx.files, "got-refused");
    vf_error_t err;
    /* A real upload, so the multipart calls are refused only for the key. */
    char *upload_id = NULL;
    VFC_OK(fx.ops->multipart_begin(fx.state, good, &upload_id, &err), err);

    for (size_t i = 0; i < sizeof refused_keys / sizeof refused_keys[0]; i++) {
        assert_key_refused(refused_keys[i].key, upload_id, src, got);
        if (refused_keys[i].lookalike)
            vfc_assert_missing(refused_keys[i].lookalike);
    }
    /* Over the limits: 1025 bytes, or a segment of 256. */
    char *too_long = long_key(1025, 200), *long_segment = long_key(300, 256);
    assert_key_refused(too_long, upload_id, src, got);
    assert_key_refused(long_segment, upload_id, src, got);
    free(too_long);
    free(long_segment);

    VFC_OK(fx.ops->multipart_abort(fx.state, good, upload_id, &err), err);
    vfc_assert_missing(good);
    free(upload_id);
    free(src);
    free(got);
}
END_TEST

/* The longest key the grammar allows (1024 bytes, segments of 255) works
 * in every operation. */
START_TEST(test_longest_key)
{
    char *key = long_key(1024, 255);
    char *src = vfc_pattern_file("src", 2000, 13);
    vf_error_t err;
    vf_storage_stat_t st;
    char *url = NULL;
    vfc_put_ok(key, src);
    VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);
    ck_assert_uint_eq(st.size, 2000);
    vfc_assert_object(key, src);
    VFC_OK(fx.ops->url(fx.state, key, NULL, &url, &err), err);
    free(url);
    vfc_remove_ok(key);
    vfc_assert_missing(key);

    char *id = NULL, *etag = NULL;
    VFC_OK(fx.ops->multipart_begin(fx.state, key, &id, &err), err);
    VFC_OK(fx.ops->multipart_write(fx.state, key, id, 1, "0123456789", 10, &etag, &err), err);
    vf_storage_part_t part = {1, etag};
    VFC_OK(fx.ops->multipart_complete(fx.state, key, id, &part, 1, &err), err);
    VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);
    ck_assert_uint_eq(st.size, 10);
    vfc_remove_ok(key);
    free(id);
    free(etag);
    free(src);
    free(key);
}
END_TEST

/* ----------------------------------------------------------- threads */

#define THREADS 4
#define ROUNDS 5

typedef struct worker {
    int index;
    char failure[1024];
} worker_t;

/* Record why the worker stopped; evaluates to the thread's result. */
#define WORKER_FAIL(w, ...) (snprintf((w)->failure, sizeof(w)->failure, __VA_ARGS__), (void *)NULL)

/* The smallest part but the last, and at least 64 KiB. */
static size_t thread_part_size(void)
{
    return fx.caps.min_part_size > 64 * KiB ? (size_t)fx.caps.min_part_size : 64 * KiB;
}

/* Whole objects, then one two-part upload, all on the shared state. */
static void *worker_run(void *arg)
{
    worker_t *w = arg;
    char src[600], got[600], key[300];
    vf_error_t err = {0};
    vf_storage_stat_t st;
    size_t size = 40 * KiB + (size_t)w->index * 1000;
    snprintf(src, sizeof src, "%s/w%d.src", fx.files, w->index);
    snprintf(got, sizeof got, "%s/w%d.got", fx.files, w->index);
    if (vft_write_pattern(src, size, 100 + (unsigned)w->index) != 0)
        return WORKER_FAIL(w, "cannot write %s", src);
    for (int round = 0; round < ROUNDS; round++) {
        snprintf(key, sizeof key, "%s/threads/w%d-%d.bin", fx.prefix, w->index, round);
        if (fx.ops->put_file(fx.state, key, src, &err) != 0 || fx.ops->stat(fx.state, key, &st, &err) != 0 ||
            fx.ops->get_file(fx.state, key, got, &err) != 0)
            return WORKER_FAIL(w, "%s: %s", key, err.message);
        if (st.size != size || !vft_files_equal(src, got))
            return WORKER_FAIL(w, "%s: read back other bytes", key);
        if (fx.ops->remove(fx.state, key, &err) != 0)
            return WORKER_FAIL(w, "%s: %s", key, err.message);
    }

    size_t part = thread_part_size();
    char *bytes = malloc(part + 10), *id = NULL, *e1 = NULL, *e2 = NULL;
    if (!bytes)
        return WORKER_FAIL(w, "out of memory");
    memset(bytes, 'a' + w->index, part + 10);
    snprintf(key, sizeof key, "%s/threads/upload-%d.bin", fx.prefix, w->index);
    int ret = fx.ops->multipart_begin(fx.state, key, &id, &err);
    if (ret == 0)
        ret = fx.ops->multipart_write(fx.state, key, id, 1, bytes, part, &e1, &err);
    if (ret == 0)
        ret = fx.ops->multipart_write(fx.state, key, id, 2, bytes + part, 10, &e2, &err);
    vf_storage_part_t parts[2] = {{1, e1}, {2, e2}};
    if (ret == 0)
        ret = fx.ops->multipart_complete(fx.state, key, id, parts, 2, &err);
    if (ret == 0)
        ret = fx.ops->stat(fx.state, key, &st, &err);
    if (ret == 0 && st.size != part + 10)
        snprintf(w->failure, sizeof w->failure, "%s: %llu bytes after complete", key, (unsigned long long)st.size);
    else if (ret == 0)
        ret = fx.ops->remove(fx.state, key, &err);
    if (ret != 0)
        snprintf(w->failure, sizeof w->failure, "%s: %d %s", key, ret, err.message);
    free(bytes);
    free(id);
    free(e1);
    free(e2);
    return NULL;
}

START_TEST(test_threads_share_state)
{
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker_t){.index = i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(!workers[i].failure[0], "thread %d: %s", i, workers[i].failure);
}
END_TEST

/* ------------------------------------------------------------- suite */

static TCase *new_case(Suite *suite, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, VFC_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(suite, tc);
    return tc;
}

Suite *vfc_storage_suite(const vfc_subject_t *s)
{
    subject = s;
    static char name[200]; /* Check keeps the pointer */
    snprintf(name, sizeof name, "storage contract: %s", s->label);
    Suite *suite = suite_create(name);
    TCase *tc = new_case(suite, "objects");
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_empty_object_and_types);
    tcase_add_test(tc, test_missing_objects);
    tcase_add_test(tc, test_null_error_pointer);
    tc = new_case(suite, "keys");
    tcase_add_test(tc, test_refused_keys);
    tcase_add_test(tc, test_longest_key);
    vfc_storage_add_multipart(new_case(suite, "multipart"));
    vfc_storage_add_capabilities(new_case(suite, "capabilities"));
    vfc_storage_add_prefix(new_case(suite, "remove_prefix"));
    tc = new_case(suite, "threads");
    tcase_add_test(tc, test_threads_share_state);
    return suite;
}
