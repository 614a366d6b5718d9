/*
 * check_storage_local.c - the storage_local plugin, loaded through the core's
 * loader and run against real temporary directories: its settings, object
 * round trips, refusal of keys and links that lead out of the root,
 * atomic writes, URLs, multipart uploads across processes, and concurrent use.
 */
#include "config.h"
#include "tests/plugins/storage_contract.h"
#include "plugins/storage_local/part_digest.h"
#include "vftest.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <libconfig.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <videoflix/storage.h>

#define MiB (1024 * 1024)

static struct {
    char *dir;     /* everything the test makes lives here */
    char root[512];
    char outside[512];
    vf_plugin_t *plugin;
    const vf_storage_ops_t *ops;
    void *state;
} fx;

static char *pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < len);
    return buf;
}

static vf_plugin_t *load_with(const char *config_text, char *err, size_t errlen)
{
    return vft_plugin_load("storage_local", VF_PLUGIN_STORAGE, config_text, err, errlen);
}

static void setup(void)
{
    char cfg[1024], err[1024];
    fx.dir = vft_tmpdir("check-storage-local");
    ck_assert_ptr_nonnull(fx.dir);
    pathf(fx.root, sizeof fx.root, "%s/media/root", fx.dir); /* two levels the plugin must create */
    pathf(fx.outside, sizeof fx.outside, "%s/outside", fx.dir);
    ck_assert_int_eq(mkdir(fx.outside, 0755), 0);
    pathf(cfg, sizeof cfg, "root = \"%s\";", fx.root);
    fx.plugin = load_with(cfg, err, sizeof err);
    ck_assert_msg(fx.plugin != NULL, "load failed: %s", err);
    fx.ops = vf_storage_ops(fx.plugin);
    fx.state = fx.plugin->state;
}

static void teardown(void)
{
    vft_plugin_free(fx.plugin);
    vft_rmrf(fx.dir);
    free(fx.dir);
    memset(&fx, 0, sizeof fx);
}

/* Counting files below a directory, optionally only those whose name contains `needle`. */
static const char *count_needle;
static int count_found;
static int count_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (ftw->level > 0 && (!count_needle || strstr(path + ftw->base, count_needle)))
        count_found++;
    return 0;
}
static int count_below(const char *dir, const char *needle)
{
    count_needle = needle;
    count_found = 0;
    ck_assert_int_eq(nftw(dir, count_entry, 16, FTW_PHYS), 0);
    return count_found;
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

static void put_ok(const char *key, const char *src)
{
    vf_error_t err = {0};
    int ret = fx.ops->put_file(fx.state, key, src, &err);
    ck_assert_msg(ret == 0, "put %s: %d %s", key, ret, err.message);
}

static void put_text(const char *key, const char *text)
{
    char src[600];
    write_text(pathf(src, sizeof src, "%s/src.txt", fx.dir), text);
    put_ok(key, src);
}

/* Multipart helpers. */
typedef struct part_data {
    char *bytes;
    size_t len;
} part_data_t;

/* Parts of a pattern file: the file is written whole, then read back in slices. */
static void make_parts(const char *whole, part_data_t *parts, const size_t *sizes, size_t n, unsigned seed)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sizes[i];
    ck_assert_int_eq(vft_write_pattern(whole, total, seed), 0);
    FILE *f = fopen(whole, "rb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++) {
        parts[i].len = sizes[i];
        parts[i].bytes = malloc(sizes[i] ? sizes[i] : 1);
        ck_assert_ptr_nonnull(parts[i].bytes);
        ck_assert_uint_eq(fread(parts[i].bytes, 1, sizes[i], f), sizes[i]);
    }
    fclose(f);
}

static void free_parts(part_data_t *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i].bytes);
}

static char *write_part(const char *key, const char *id, unsigned number, const part_data_t *part)
{
    vf_error_t err = {0};
    char *etag = NULL;
    int ret = fx.ops->multipart_write(fx.state, key, id, number, part->bytes, part->len, &etag, &err);
    ck_assert_msg(ret == 0, "part %u: %d %s", number, ret, err.message);
    ck_assert_ptr_nonnull(etag);
    return etag;
}

static char *begin(const char *key)
{
    vf_error_t err = {0};
    char *id = NULL;
    int ret = fx.ops->multipart_begin(fx.state, key, &id, &err);
    ck_assert_msg(ret == 0, "begin: %d %s", ret, err.message);
    ck_assert_uint_eq(strlen(id), 32);
    ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
    return id;
}

static void assert_object_equals(const char *key, const char *expected_file)
{
    char got[600];
    vf_error_t err = {0};
    int ret = fx.ops->get_file(fx.state, key, pathf(got, sizeof got, "%s/got-object", fx.dir), &err);
    ck_assert_msg(ret == 0, "get %s: %d %s", key, ret, err.message);
    ck_assert(vft_files_equal(expected_file, got));
}

static int uploads_entries(void)
{
    char dir[600];
    pathf(dir, sizeof dir, "%s/.uploads", fx.root);
    return exists(dir) ? count_below(dir, NULL) : 0;
}

/* --- descriptor and settings ------------------------------------------------ */

START_TEST(test_descriptor_reports_storage)
{
    ck_assert_int_eq(fx.plugin->desc->kind, VF_PLUGIN_STORAGE);
    ck_assert_str_eq(fx.plugin->desc->name, "storage_local");
    ck_assert_uint_ge(fx.ops->size, sizeof(vf_storage_ops_t));
    ck_assert_uint_eq(fx.ops->min_part_size, 1);
    struct stat sb;
    ck_assert_int_eq(stat(fx.root, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));

    char cfg[1024], err[1024] = "";
    pathf(cfg, sizeof cfg, "root = \"%s\";", fx.root);
    ck_assert_ptr_null(vft_plugin_load("storage_local", VF_PLUGIN_ENCODER, cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "is a storage plugin"), "%s", err);
}
END_TEST

START_TEST(test_config_missing_root)
{
    char err[1024] = "";
    ck_assert_ptr_null(load_with("public_url = \"http://example.com/media/\";", err, sizeof err));
    ck_assert_msg(strstr(err, "line 1") && strstr(err, "'root'"), "%s", err);
}
END_TEST

START_TEST(test_config_unknown_key)
{
    char cfg[1024], err[1024] = "";
    pathf(cfg, sizeof cfg, "root = \"%s\";\ncolour = 3;", fx.root);
    ck_assert_ptr_null(load_with(cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "line 3") && strstr(err, "colour"), "%s", err);
}
END_TEST

START_TEST(test_config_wrong_types)
{
    char cfg[1024], err[1024] = "";
    ck_assert_ptr_null(load_with("root = 5;", err, sizeof err));
    ck_assert_msg(strstr(err, "line 2") && strstr(err, "'root'") && strstr(err, "string"), "%s", err);

    pathf(cfg, sizeof cfg, "root = \"%s\";\n\npublic_url = true;", fx.root);
    ck_assert_ptr_null(load_with(cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "line 4") && strstr(err, "public_url"), "%s", err);

    pathf(cfg, sizeof cfg, "root = \"%s\";\npublic_url = \"ftp://example.com/\";", fx.root);
    ck_assert_ptr_null(load_with(cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "line 3") && strstr(err, "http"), "%s", err);
}
END_TEST

START_TEST(test_config_file_location_and_bad_root)
{
    char path[600], text[1024], err[1024] = "";
    pathf(path, sizeof path, "%s/videoflix.conf", fx.dir);
    pathf(text, sizeof text, "storage = {\n  root = \"%s\";\n  bogus = true;\n};\n", fx.root);
    write_text(path, text);
    config_t cfg;
    config_init(&cfg);
    ck_assert_int_eq(config_read_file(&cfg, path), CONFIG_TRUE);
    vf_plugin_t *p = NULL;
    const char *plugin_dir = getenv("VF_PLUGIN_DIR"); /* as vft_plugin_load finds it */
    int ret = vf_plugin_load(plugin_dir ? plugin_dir : ".", "storage_local", VF_PLUGIN_STORAGE,
                             config_lookup(&cfg, "storage"), &p, err, sizeof err);
    config_destroy(&cfg);
    ck_assert_int_eq(ret, -EINVAL);
    pathf(text, sizeof text, "%s:3:", path);
    ck_assert_msg(strstr(err, text) && strstr(err, "bogus"), "%s", err);

    /* A root that exists as a file cannot be used. */
    char cfgtext[1024], file[600];
    write_text(pathf(file, sizeof file, "%s/plain-file", fx.dir), "x");
    pathf(cfgtext, sizeof cfgtext, "root = \"%s\";", file);
    ck_assert_ptr_null(load_with(cfgtext, err, sizeof err));
    ck_assert_msg(strstr(err, "line 2") && strstr(err, "root"), "%s", err);
}
END_TEST

/* --- whole objects ---------------------------------------------------------- */

START_TEST(test_round_trip_and_remove)
{
    char src[600], src2[600], got[600], path[600];
    const size_t size = 5 * MiB + 123;
    ck_assert_int_eq(vft_write_pattern(pathf(src, sizeof src, "%s/src.bin", fx.dir), size, 1), 0);
    ck_assert_int_eq(vft_write_pattern(pathf(src2, sizeof src2, "%s/src2.bin", fx.dir), size, 2), 0);
    pathf(got, sizeof got, "%s/got.bin", fx.dir);
    const char *key = "videos/2024/clip.mp4";
    vf_error_t err = {0};

    put_ok(key, src);
    vf_storage_stat_t st;
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), 0);
    ck_assert_uint_eq(st.size, size);
    ck_assert_int_ge(st.mtime, (int64_t)time(NULL) - 60);
    ck_assert_str_eq(st.content_type, "video/mp4");
    size_t etag_len = strlen(st.etag);
    ck_assert(etag_len > 2 && st.etag[0] == '"' && st.etag[etag_len - 1] == '"');

    ck_assert_int_eq(fx.ops->get_file(fx.state, key, got, &err), 0);
    ck_assert(vft_files_equal(src, got));

    char *local = NULL;
    ck_assert_int_eq(fx.ops->local_path(fx.state, key, &local, &err), 0);
    ck_assert_str_eq(local, pathf(path, sizeof path, "%s/%s", fx.root, key));
    ck_assert(vft_files_equal(src, local));
    struct stat sb;
    ck_assert_int_eq(stat(local, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0644);
    ck_assert_int_eq(stat(pathf(path, sizeof path, "%s/videos/2024", fx.root), &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0755);
    free(local);

    /* Replacing the object changes its bytes and its ETag. */
    put_ok(key, src2);
    vf_storage_stat_t st2;
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st2, &err), 0);
    ck_assert_str_ne(st.etag, st2.etag);
    ck_assert_int_eq(fx.ops->get_file(fx.state, key, got, &err), 0);
    ck_assert(vft_files_equal(src2, got));

    /* Removal takes the emptied directories but keeps the root and non-empty ones. */
    put_text("videos/keep/other.txt", "kept");
    ck_assert_int_eq(fx.ops->remove(fx.state, key, &err), 0);
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), -ENOENT);
    ck_assert(!exists(pathf(path, sizeof path, "%s/videos/2024", fx.root)));
    ck_assert(exists(pathf(path, sizeof path, "%s/videos/keep/other.txt", fx.root)));
    ck_assert_int_eq(fx.ops->remove(fx.state, "videos/keep/other.txt", &err), 0);
    ck_assert(!exists(pathf(path, sizeof path, "%s/videos", fx.root)));
    ck_assert(exists(fx.root));
    ck_assert_int_eq(count_below(fx.root, NULL), 0);

    /* Idempotent: a missing object, or a missing directory, is already removed. */
    ck_assert_int_eq(fx.ops->remove(fx.state, key, &err), 0);
    ck_assert_int_eq(fx.ops->remove(fx.state, "never/was/here.mp4", &err), 0);
    ck_assert_int_eq(fx.ops->get_file(fx.state, key, got, &err), -ENOENT);
}
END_TEST

START_TEST(test_stat_content_types)
{
    static const struct {
        const char *key, *type;
    } cases[] = {
        {"a/v.mp4", "video/mp4"},
        {"a/t.JPG", "image/jpeg"},
        {"a/t.jpeg", "image/jpeg"},
        {"a/t.png", "image/png"},
        {"a/t.webp", "image/webp"},
        {"hls/index.m3u8", "application/vnd.apple.mpegurl"},
        {"hls/seg1.ts", "video/mp2t"},
        {"dash/seg1.m4s", "video/iso.segment"},
        {"meta.json", "application/json"},
        {"notes.txt", "text/plain; charset=utf-8"},
        {"blob", "application/octet-stream"},
        {"dir.mp4/blob.bin", "application/octet-stream"},
    };
    vf_error_t err = {0};
    vf_storage_stat_t st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_text(cases[i].key, "hello");
        ck_assert_int_eq(fx.ops->stat(fx.state, cases[i].key, &st, &err), 0);
        ck_assert_str_eq(st.content_type, cases[i].type);
        ck_assert_uint_eq(st.size, 5);
    }
    /* A directory or a missing name is not an object. */
    ck_assert_int_eq(fx.ops->stat(fx.state, "a", &st, &err), -ENOENT);
    ck_assert_int_eq(fx.ops->stat(fx.state, "a/none.mp4", &st, &err), -ENOENT);
    ck_assert_int_eq(fx.ops->stat(fx.state, "a/v.mp4/below", &st, &err), -ENOENT);
    ck_assert_int_eq(fx.ops->remove(fx.state, "a", &err), -EISDIR);
}
END_TEST

/* --- keys that could escape the root ------------------------------------------ */

/* Every operation refuses `key` with -EINVAL and a message.  Operations on
 * an existing upload are refused for keys that are wrong as text; for keys
 * that only meet a link on disk, the link is met when the upload completes. */
static void assert_refused(const char *key, bool textual)
{
    char src[600], got[600];
    write_text(pathf(src, sizeof src, "%s/src.txt", fx.dir), "payload");
    pathf(got, sizeof got, "%s/got.txt", fx.dir);
    vf_error_t err;
    vf_storage_stat_t st;
    char *out = NULL;
    vf_storage_part_t part = {1, "p1-1-0"};

#define REFUSED(call)                                                                              \
    do {                                                                                           \
        memset(&err, 0, sizeof err);                                                               \
        int r_ = (call);                                                                           \
        ck_assert_msg(r_ == -EINVAL, "%s on key '%s' gave %d (%s)", #call, key, r_, err.message);  \
        ck_assert_msg(err.message[0] != '\0', "%s on key '%s': no message", #call, key);           \
    } while (0)
    REFUSED(fx.ops->put_file(fx.state, key, src, &err));
    REFUSED(fx.ops->get_file(fx.state, key, got, &err));
    REFUSED(fx.ops->stat(fx.state, key, &st, &err));
    REFUSED(fx.ops->remove(fx.state, key, &err));
    REFUSED(fx.ops->local_path(fx.state, key, &out, &err));
    REFUSED(fx.ops->multipart_begin(fx.state, key, &out, &err));
    ck_assert(!exists(got));
    if (!textual)
        return;
    REFUSED(fx.ops->multipart_write(fx.state, key, "0123456789abcdef0123456789abcdef", 1, "x", 1, &out, &err));
    REFUSED(fx.ops->multipart_complete(fx.state, key, "0123456789abcdef0123456789abcdef", &part, 1, &err));
    REFUSED(fx.ops->multipart_abort(fx.state, key, "0123456789abcdef0123456789abcdef", &err));
#undef REFUSED
}

START_TEST(test_escaping_keys_refused)
{
    static const char *const keys[] = {
        "../escape.mp4", "videos/../../escape.mp4", "videos/..", "..", ".", "./a.mp4", "a/./b.mp4",
        "/etc/passwd", "/abs.mp4", "a//b.mp4", "videos/", "", "back\\slash.mp4", "..\\x", "a\tb.mp4",
        "a\nb", "del\x7f.mp4", "bad\xff-utf8.mp4", "over\xc0\xaflong.mp4", ".uploads/x.mp4",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_refused(keys[i], true);
    vf_error_t err;
    char *url = NULL;
    ck_assert_int_eq(fx.ops->url(fx.state, "../x.mp4", NULL, &url, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->put_file(fx.state, NULL, "/dev/null", &err), -EINVAL);
    ck_assert_int_eq(count_below(fx.outside, NULL), 0);
    ck_assert_int_eq(count_below(fx.dir, "escape"), 0);
    ck_assert_int_eq(count_below(fx.root, NULL), 0);
}
END_TEST

START_TEST(test_symlinks_refused)
{
    char path[600], target[600], secret[600];
    write_text(pathf(secret, sizeof secret, "%s/secret.txt", fx.outside), "secret");
    put_text("videos/inside.mp4", "inside");
    /* A link at the top, one in a nested directory, a file link, and one pointing back inside. */
    ck_assert_int_eq(symlink(fx.outside, pathf(path, sizeof path, "%s/link", fx.root)), 0);
    ck_assert_int_eq(symlink(fx.outside, pathf(path, sizeof path, "%s/videos/sub", fx.root)), 0);
    ck_assert_int_eq(symlink(secret, pathf(path, sizeof path, "%s/videos/evil.mp4", fx.root)), 0);
    ck_assert_int_eq(symlink(pathf(target, sizeof target, "%s/videos", fx.root),
                             pathf(path, sizeof path, "%s/alias", fx.root)), 0);

    static const char *const keys[] = {
        "link/x.mp4", "link/secret.txt", "link/deeper/x.mp4", "videos/sub/x.mp4", "videos/sub/secret.txt",
        "videos/evil.mp4", "alias/inside.mp4", "link",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_refused(keys[i], false);
    vf_error_t err = {0};

    /* Nothing was written, read through or removed outside the root. */
    ck_assert_int_eq(count_below(fx.outside, NULL), 1);
    char got[600];
    write_text(pathf(got, sizeof got, "%s/expect.txt", fx.dir), "secret");
    ck_assert(vft_files_equal(secret, got));
    ck_assert(exists(pathf(path, sizeof path, "%s/videos/evil.mp4", fx.root)));
    ck_assert(exists(pathf(path, sizeof path, "%s/link", fx.root)));
    /* A link made while an upload is under way is met when it completes. */
    const char *key = "later/upload.bin";
    char *id = begin(key);
    part_data_t part = {"payload", 7};
    char *e1 = write_part(key, id, 1, &part);
    ck_assert_int_eq(symlink(fx.outside, pathf(path, sizeof path, "%s/later", fx.root)), 0);
    vf_storage_part_t list[] = {{1, e1}};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, list, 1, &err), -EINVAL);
    ck_assert_int_eq(count_below(fx.outside, NULL), 1);
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, id, &err), 0);
    ck_assert_int_eq(uploads_entries(), 0);
    free(e1);
    free(id);

    /* The real object is still reachable by its own key. */
    vf_storage_stat_t st;
    ck_assert_int_eq(fx.ops->stat(fx.state, "videos/inside.mp4", &st, &err), 0);
}
END_TEST

/* remove_prefix empties the prefix's folder and prunes what it leaves
 * empty, removes links inside as links (never what they point to), refuses
 * a prefix reached through a link and the folder of unfinished uploads. */
START_TEST(test_remove_prefix_files_and_links)
{
    char path[600], secret[600];
    vf_error_t err = {0};
    write_text(pathf(secret, sizeof secret, "%s/secret.txt", fx.outside), "secret");
    put_text("videos/7/2/hls/master.m3u8", "m");
    put_text("videos/7/2/hls/720p/0.m4s", "s");
    put_text("videos/7/2/hls/720p/deeper/1.m4s", "s");
    put_text("videos/7/2/720p.mp4", "mp4");
    ck_assert_int_eq(symlink(fx.outside, pathf(path, sizeof path, "%s/videos/7/2/hls/720p/out", fx.root)), 0);
    ck_assert_int_eq(symlink(secret, pathf(path, sizeof path, "%s/videos/7/2/hls/evil.m4s", fx.root)), 0);
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, "videos/7/2/hls/", &err), 0);
    ck_assert(!exists(pathf(path, sizeof path, "%s/videos/7/2/hls", fx.root)));
    ck_assert(exists(pathf(path, sizeof path, "%s/videos/7/2/720p.mp4", fx.root)));
    ck_assert_int_eq(count_below(fx.outside, NULL), 1);
    ck_assert(exists(secret));

    /* The last object of a folder gone: the emptied parents go too, not the root. */
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, "videos/7/", &err), 0);
    ck_assert(!exists(pathf(path, sizeof path, "%s/videos", fx.root)));
    ck_assert(exists(fx.root));

    /* A prefix through a link, or naming one, is refused; nothing outside moves. */
    ck_assert_int_eq(symlink(fx.outside, pathf(path, sizeof path, "%s/link", fx.root)), 0);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, "link/", &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "symbolic link"), "message: %s", err.message);
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, "link/x/", &err), -EINVAL);
    ck_assert_int_eq(count_below(fx.outside, NULL), 1);
    ck_assert(exists(pathf(path, sizeof path, "%s/link", fx.root)));

    /* Unfinished uploads are not objects: their folder is no prefix. */
    char *id = begin("up/load.bin");
    int pending = uploads_entries();
    ck_assert_int_gt(pending, 0);
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, ".uploads/", &err), -EINVAL);
    ck_assert_int_eq(uploads_entries(), pending);
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, "up/load.bin", id, &err), 0);
    free(id);
    /* A prefix naming a file holds nothing. */
    put_text("videos/8/file", "f");
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, "videos/8/file/", &err), 0);
    ck_assert(exists(pathf(path, sizeof path, "%s/videos/8/file", fx.root)));
}
END_TEST

START_TEST(test_key_length_limit)
{
    char key[1100];
    vf_error_t err = {0};
    char *url = NULL;

    /* Segments within NAME_MAX: 4 x 250 + 4 slashes + 20 = 1024. */
    char seg250[251];
    memset(seg250, 'k', 250);
    seg250[250] = '\0';
    pathf(key, sizeof key, "%s/%s/%s/%s/%.20s", seg250, seg250, seg250, seg250, "yyyyyyyyyyyyyyyyyyyy");
    ck_assert_uint_eq(strlen(key), 1024);
    put_text(key, "long");
    vf_storage_stat_t st;
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), 0);
    ck_assert_int_eq(fx.ops->remove(fx.state, key, &err), 0);

    strcat(key, "z");
    ck_assert_uint_eq(strlen(key), 1025);
    ck_assert_int_eq(fx.ops->url(fx.state, key, NULL, &url, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "1024"), "%s", err.message);
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), -EINVAL);

    char seg256[257];
    memset(seg256, 'n', 256);
    seg256[256] = '\0';
    ck_assert_int_eq(fx.ops->url(fx.state, seg256, NULL, &url, &err), -EINVAL);
    ck_assert_int_eq(count_below(fx.root, NULL), 0);
}
END_TEST

/* --- atomic writes ------------------------------------------------------------- */

START_TEST(test_put_and_get_leave_no_temporaries)
{
    char src[600], missing[600], got[600];
    vf_error_t err = {0};
    ck_assert_int_eq(vft_write_pattern(pathf(src, sizeof src, "%s/src.bin", fx.dir), 3 * MiB, 7), 0);

    /* A missing source fails before anything is made below the root. */
    pathf(missing, sizeof missing, "%s/no-such-file", fx.dir);
    ck_assert_int_eq(fx.ops->put_file(fx.state, "videos/a.mp4", missing, &err), -ENOENT);
    ck_assert_msg(strstr(err.message, "no-such-file"), "%s", err.message);
    ck_assert_int_eq(count_below(fx.root, NULL), 0);
    /* A directory is not a source. */
    ck_assert_int_eq(fx.ops->put_file(fx.state, "videos/a.mp4", fx.outside, &err), -EINVAL);
    ck_assert_int_eq(count_below(fx.root, NULL), 0);

    put_ok("videos/a.mp4", src);
    put_ok("videos/a.mp4", src);
    ck_assert_int_eq(count_below(fx.root, ".vf-tmp-"), 0);
    ck_assert_int_eq(count_below(fx.root, NULL), 2); /* videos and videos/a.mp4 */

    /* Storing onto a directory fails after the copy: its temporary file must go. */
    ck_assert_int_eq(fx.ops->put_file(fx.state, "videos", src, &err), -EISDIR);
    ck_assert_int_eq(count_below(fx.root, ".vf-tmp-"), 0);
    /* Storing below a file fails. */
    ck_assert_int_eq(fx.ops->put_file(fx.state, "videos/a.mp4/b.mp4", src, &err), -ENOTDIR);
    ck_assert_int_eq(count_below(fx.root, NULL), 2);

    /* get replaces an existing file whole, and a failed get leaves the old one. */
    write_text(pathf(got, sizeof got, "%s/got.bin", fx.dir), "old content");
    ck_assert_int_eq(fx.ops->get_file(fx.state, "videos/a.mp4", got, &err), 0);
    ck_assert(vft_files_equal(src, got));
    write_text(got, "old content");
    ck_assert_int_eq(fx.ops->get_file(fx.state, "videos/missing.mp4", got, &err), -ENOENT);
    char expect[600];
    write_text(pathf(expect, sizeof expect, "%s/expect.txt", fx.dir), "old content");
    ck_assert(vft_files_equal(expect, got));
    /* get onto a directory fails after the copy: its temporary file must go. */
    ck_assert_int_ne(fx.ops->get_file(fx.state, "videos/a.mp4", fx.outside, &err), 0);
    ck_assert_int_eq(count_below(fx.dir, ".vf-tmp-"), 0);
}
END_TEST

/* --- URLs and local paths ------------------------------------------------------- */

START_TEST(test_url_encoding)
{
    vf_error_t err = {0};
    char *url = NULL;
    ck_assert_int_eq(fx.ops->url(fx.state, "videos/my clip \xc3\xa9.mp4", NULL, &url, &err), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:8000/media/videos/my%20clip%20%C3%A9.mp4");
    free(url);
    ck_assert_int_eq(fx.ops->url(fx.state, "a-b_c.d~e/f?g#h%i&j+k=l'm.mp4", NULL, &url, &err), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:8000/media/a-b_c.d~e/f%3Fg%23h%25i%26j%2Bk%3Dl%27m.mp4");
    free(url);

    /* A configured prefix gains the '/' it lacks; the object need not exist. */
    char cfg[1024], errtext[1024];
    pathf(cfg, sizeof cfg, "root = \"%s\";\npublic_url = \"https://cdn.example.com/m\";", fx.root);
    vf_plugin_t *p = load_with(cfg, errtext, sizeof errtext);
    ck_assert_msg(p != NULL, "%s", errtext);
    vf_storage_url_opts_t opts = {.expires = 60, .content_disposition = "inline"};
    ck_assert_int_eq(vf_storage_ops(p)->url(p->state, "thumbs/1.jpg", &opts, &url, &err), 0);
    ck_assert_str_eq(url, "https://cdn.example.com/m/thumbs/1.jpg");
    free(url);
    vft_plugin_free(p);

    char *local = NULL, expect[1200];
    ck_assert_int_eq(fx.ops->local_path(fx.state, "not/yet/there.mp4", &local, &err), 0);
    ck_assert_str_eq(local, pathf(expect, sizeof expect, "%s/not/yet/there.mp4", fx.root));
    free(local);
}
END_TEST

/* --- multipart -------------------------------------------------------------------- */

START_TEST(test_multipart_three_parts)
{
    char whole[600];
    const size_t sizes[] = {MiB + 17, 700 * 1024, 3};
    part_data_t parts[3];
    make_parts(pathf(whole, sizeof whole, "%s/whole.bin", fx.dir), parts, sizes, 3, 11);

    const char *key = "uploads/2024/big.mp4";
    char *id = begin(key);
    ck_assert_int_eq(uploads_entries(), 2);
    vf_storage_part_t list[3];
    char *etags[3];
    for (unsigned i = 0; i < 3; i++) {
        etags[i] = write_part(key, id, i + 1, &parts[i]);
        list[i] = (vf_storage_part_t){i + 1, etags[i]};
    }
    vf_storage_stat_t st;
    vf_error_t err = {0};
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), -ENOENT); /* nothing visible before complete */
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, list, 3, &err), 0);
    assert_object_equals(key, whole);
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), 0);
    ck_assert_uint_eq(st.size, MiB + 17 + 700 * 1024 + 3);
    ck_assert_int_eq(uploads_entries(), 0);

    /* Finished: aborting it still succeeds, writing to it does not. */
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, id, &err), 0);
    char *etag = NULL;
    ck_assert_int_eq(fx.ops->multipart_write(fx.state, key, id, 4, "x", 1, &etag, &err), -ENOENT);
    assert_object_equals(key, whole);

    for (int i = 0; i < 3; i++)
        free(etags[i]);
    free(id);
    free_parts(parts, 3);
}
END_TEST

START_TEST(test_multipart_order_and_retry)
{
    char whole[600];
    const size_t sizes[] = {4096, 5000, 1};
    part_data_t parts[3];
    make_parts(pathf(whole, sizeof whole, "%s/whole.bin", fx.dir), parts, sizes, 3, 12);
    const char *key = "u/ordered.bin";
    vf_error_t err = {0};
    char *etag = NULL;
    char *id = begin(key);
#define WRITE(n, bytes, len) fx.ops->multipart_write(fx.state, key, id, (n), (bytes), (len), &etag, &err)

    /* Part 2 before part 1, part 0, and a gap are refused. */
    ck_assert_int_eq(WRITE(2, parts[1].bytes, parts[1].len), -EINVAL);
    ck_assert_msg(strstr(err.message, "order"), "%s", err.message);
    ck_assert_int_eq(WRITE(0, parts[0].bytes, parts[0].len), -EINVAL);
    char *e1 = write_part(key, id, 1, &parts[0]);
    ck_assert_int_eq(WRITE(3, parts[2].bytes, parts[2].len), -EINVAL);

    /* The last part again, same bytes: the same etag and nothing appended. */
    char *e1again = write_part(key, id, 1, &parts[0]);
    ck_assert_str_eq(e1, e1again);
    /* The last part again with other bytes, of the same or another length:
     * the last write wins, with a new etag. */
    part_data_t other = {parts[1].bytes, parts[0].len - 1};
    char *e1other = write_part(key, id, 1, &other);
    ck_assert_str_ne(e1, e1other);
    char *e1back = write_part(key, id, 1, &parts[0]);
    ck_assert_str_eq(e1, e1back);
    char *e2 = write_part(key, id, 2, &parts[1]);
    char *e3 = write_part(key, id, 3, &parts[2]);
    char *e3again = write_part(key, id, 3, &parts[2]);
    ck_assert_str_eq(e3, e3again);
#undef WRITE

    /* An etag a later write replaced no longer completes the upload. */
    vf_storage_part_t stale[] = {{1, e1other}, {2, e2}, {3, e3}};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, stale, 3, &err), -EINVAL);
    vf_storage_part_t list[] = {{1, e1}, {2, e2}, {3, e3}};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, list, 3, &err), 0);
    assert_object_equals(key, whole);
    ck_assert_int_eq(uploads_entries(), 0);

    free(e1), free(e1again), free(e1other), free(e1back), free(e2), free(e3), free(e3again), free(id);
    free_parts(parts, 3);
}
END_TEST

/* An earlier part written again after later ones (its answer and the
 * caller's commit were lost while the next part went on): the last write
 * wins there too, and completing puts every part in its place. */
START_TEST(test_multipart_earlier_part_rewritten)
{
    char whole[600];
    const size_t sizes[] = {3000, 2000, 1000};
    part_data_t parts[3];
    make_parts(pathf(whole, sizeof whole, "%s/whole.bin", fx.dir), parts, sizes, 3, 21);
    const char *key = "u/rewritten.bin";
    vf_error_t err = {0};
    char *id = begin(key);
    part_data_t wrong1 = {parts[2].bytes, 700};
    part_data_t wrong2 = {parts[0].bytes, 2500};
    char *w1 = write_part(key, id, 1, &wrong1);
    char *w2 = write_part(key, id, 2, &wrong2);
    char *e3 = write_part(key, id, 3, &parts[2]);
    char *e1 = write_part(key, id, 1, &parts[0]); /* now out of place */
    char *e2 = write_part(key, id, 2, &parts[1]);
    /* A separate process sees the same parts (the sidecar is the truth). */
    char cfg[1024], errtext[1024];
    pathf(cfg, sizeof cfg, "root = \"%s\";", fx.root);
    vf_plugin_t *other = load_with(cfg, errtext, sizeof errtext);
    ck_assert_msg(other != NULL, "%s", errtext);
    vf_storage_part_t old_list[] = {{1, w1}, {2, w2}, {3, e3}};
    ck_assert_int_eq(vf_storage_ops(other)->multipart_complete(other->state, key, id, old_list, 3, &err), -EINVAL);
    vf_storage_part_t list[] = {{1, e1}, {2, e2}, {3, e3}};
    ck_assert_int_eq(vf_storage_ops(other)->multipart_complete(other->state, key, id, list, 3, &err), 0);
    vft_plugin_free(other);
    assert_object_equals(key, whole);
    ck_assert_int_eq(uploads_entries(), 0);
    free(w1), free(w2), free(e1), free(e2), free(e3), free(id);
    free_parts(parts, 3);
}
END_TEST

/* --- capabilities and cancellable copies ------------------------------------------ */

START_TEST(test_capabilities)
{
    const vf_storage_caps_t *caps = &fx.plugin->storage_caps;
    ck_assert_uint_eq(caps->flags, VF_STORAGE_LOCAL_PATHS);
    ck_assert_uint_eq(caps->url_expires_default, 0);
    ck_assert_uint_eq(caps->max_parts, 10000);
    ck_assert_uint_eq(caps->min_part_size, 1);
    ck_assert_uint_eq(caps->min_part_size, fx.ops->min_part_size);
    ck_assert(caps->max_part_size >= (uint64_t)5 << 30);
    ck_assert_uint_ge(fx.ops->size, VF_STORAGE_OPS_SIZE_1_1);
    ck_assert_ptr_nonnull(fx.ops->put_file_progress);
    ck_assert_ptr_nonnull(fx.ops->get_file_progress);
}
END_TEST

typedef struct stopper {
    int calls;
    double last;
    double stop_at; /* percent from which to answer "stop" */
} stopper_t;

static int stop_after(void *ud, double percent)
{
    stopper_t *s = ud;
    ck_assert(percent >= s->last && percent <= 100.0);
    s->last = percent;
    s->calls++;
    return percent >= s->stop_at;
}

START_TEST(test_copies_report_progress_and_stop)
{
    char src[600], got[600], expect[600];
    vf_error_t err = {0};
    const size_t size = 40 * MiB + 5; /* several chunks */
    ck_assert_int_eq(vft_write_pattern(pathf(src, sizeof src, "%s/big.bin", fx.dir), size, 31), 0);
    pathf(got, sizeof got, "%s/got.bin", fx.dir);

    stopper_t run = {0, 0, 101};
    ck_assert_int_eq(fx.ops->put_file_progress(fx.state, "v/big.bin", src, stop_after, &run, &err), 0);
    ck_assert_int_gt(run.calls, 2);
    ck_assert(run.last == 100.0);

    /* Stopped half-way: -ECANCELED, the old object unchanged, no temporary file. */
    put_text("v/kept.bin", "old");
    stopper_t half = {0, 0, 50};
    ck_assert_int_eq(fx.ops->put_file_progress(fx.state, "v/kept.bin", src, stop_after, &half, &err), -ECANCELED);
    ck_assert_msg(strstr(err.message, "cancelled"), "%s", err.message);
    ck_assert(half.last < 100.0);
    write_text(pathf(expect, sizeof expect, "%s/expect.txt", fx.dir), "old");
    assert_object_equals("v/kept.bin", expect);
    ck_assert_int_eq(count_below(fx.root, ".vf-tmp-"), 0);
    /* Stopped before it began: no object, no directory made. */
    stopper_t at_once = {0, 0, 0};
    ck_assert_int_eq(fx.ops->put_file_progress(fx.state, "new/dir/x.bin", src, stop_after, &at_once, &err),
                     -ECANCELED);
    char path[600];
    ck_assert(!exists(pathf(path, sizeof path, "%s/new", fx.root)));

    /* get: the same, and an existing destination is left as it was. */
    stopper_t all = {0, 0, 101};
    ck_assert_int_eq(fx.ops->get_file_progress(fx.state, "v/big.bin", got, stop_after, &all, &err), 0);
    ck_assert(vft_files_equal(src, got));
    ck_assert(all.last == 100.0);
    write_text(got, "previous");
    stopper_t stop = {0, 0, 30};
    ck_assert_int_eq(fx.ops->get_file_progress(fx.state, "v/big.bin", got, stop_after, &stop, &err), -ECANCELED);
    write_text(expect, "previous");
    ck_assert(vft_files_equal(expect, got));
    ck_assert_int_eq(count_below(fx.dir, ".vf-tmp-"), 0);
}
END_TEST

START_TEST(test_multipart_complete_wrong_list)
{
    char whole[600];
    const size_t sizes[] = {100, 200};
    part_data_t parts[2];
    make_parts(pathf(whole, sizeof whole, "%s/whole.bin", fx.dir), parts, sizes, 2, 13);
    const char *key = "u/listed.bin";
    vf_error_t err = {0};
    char *id = begin(key);
    char *e1 = write_part(key, id, 1, &parts[0]);
    char *e2 = write_part(key, id, 2, &parts[1]);

    vf_storage_part_t short_list[] = {{1, e1}};
    vf_storage_part_t swapped[] = {{1, e2}, {2, e1}};
    vf_storage_part_t misnumbered[] = {{1, e1}, {3, e2}};
    vf_storage_part_t no_etag[] = {{1, e1}, {2, NULL}};
    vf_storage_part_t long_list[] = {{1, e1}, {2, e2}, {3, e2}};
    vf_storage_part_t good[] = {{1, e1}, {2, e2}};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, short_list, 1, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, swapped, 2, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, misnumbered, 2, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, no_etag, 2, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, long_list, 3, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, good, 0, &err), -EINVAL);
    /* Another key cannot take over this upload. */
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, "u/other.bin", id, good, 2, &err), -EINVAL);
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, "u/other.bin", id, &err), -EINVAL);
    vf_storage_stat_t st;
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), -ENOENT);
    ck_assert_int_eq(uploads_entries(), 2);

    /* The refused lists left the upload intact. */
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, good, 2, &err), 0);
    assert_object_equals(key, whole);
    free(e1), free(e2), free(id);
    free_parts(parts, 2);
}
END_TEST

START_TEST(test_multipart_abort_and_ids)
{
    const char *key = "u/aborted.bin";
    vf_error_t err = {0};
    char *etag = NULL;
    char *id = begin(key);
    part_data_t part = {"some bytes", 10};
    char *e1 = write_part(key, id, 1, &part);
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, id, &err), 0);
    ck_assert_int_eq(uploads_entries(), 0);
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, id, &err), 0);
    ck_assert_int_eq(fx.ops->multipart_write(fx.state, key, id, 2, "x", 1, &etag, &err), -ENOENT);
    vf_storage_part_t list[] = {{1, e1}};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, list, 1, &err), -ENOENT);
    vf_storage_stat_t st;
    ck_assert_int_eq(fx.ops->stat(fx.state, key, &st, &err), -ENOENT);

    /* Unknown but well-formed ids abort fine; malformed ones are refused before any path is built. */
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, "0123456789abcdef0123456789abcdef", &err), 0);
    static const char *const bad_ids[] = {
        "../../../../etc/passwd", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef", "",
        "0123456789abcdef0123456789abcdef0", "0123456789abcdef/123456789abcdef", "0123456789abcdef0123456789abcde.",
    };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, bad_ids[i], &err), -EINVAL);
        ck_assert_int_eq(fx.ops->multipart_write(fx.state, key, bad_ids[i], 1, "x", 1, &etag, &err), -EINVAL);
        ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, bad_ids[i], list, 1, &err), -EINVAL);
    }
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, NULL, &err), -EINVAL);
    free(e1);
    free(id);
}
END_TEST

/* What a crashed process leaves: bytes of a part the sidecar does not list
 * (dropped), a half-written sidecar line (ignored), a damaged sidecar. */
START_TEST(test_multipart_unacknowledged_bytes_dropped)
{
    char whole[600], data[600];
    const size_t sizes[] = {3000, 4000};
    part_data_t parts[2];
    make_parts(pathf(whole, sizeof whole, "%s/whole.bin", fx.dir), parts, sizes, 2, 14);
    const char *key = "u/crash.bin";
    vf_error_t err = {0};
    char *id = begin(key);
    char *e1 = write_part(key, id, 1, &parts[0]);
    FILE *f = fopen(pathf(data, sizeof data, "%s/.uploads/%s", fx.root, id), "ab");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("torn write", 1, 10, f), 10);
    ck_assert_int_eq(fclose(f), 0);
    /* ...and a sidecar line cut short by the crash. */
    char sidecar[700];
    f = fopen(pathf(sidecar, sizeof sidecar, "%s.parts", data), "ab");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("part 2 40", 1, 9, f), 9);
    ck_assert_int_eq(fclose(f), 0);
    char *e2 = write_part(key, id, 2, &parts[1]);
    vf_storage_part_t list[] = {{1, e1}, {2, e2}};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, list, 2, &err), 0);
    assert_object_equals(key, whole);

    /* A damaged sidecar makes parts fail with -EIO, and abort still clears the upload. */
    char *id2 = begin(key);
    f = fopen(pathf(sidecar, sizeof sidecar, "%s/.uploads/%s.parts", fx.root, id2), "ab");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs("garbage line\n", f), 0);
    ck_assert_int_eq(fclose(f), 0);
    char *etag = NULL;
    ck_assert_int_eq(fx.ops->multipart_write(fx.state, key, id2, 1, "x", 1, &etag, &err), -EIO);
    ck_assert_msg(strstr(err.message, "damaged"), "%s", err.message);
    ck_assert_int_eq(fx.ops->multipart_abort(fx.state, key, id2, &err), 0);
    ck_assert_int_eq(uploads_entries(), 0);
    free(e1), free(e2), free(id), free(id2);
    free_parts(parts, 2);
}
END_TEST

/* Successive parts handled by different processes, each with its own plugin instance. */
START_TEST(test_multipart_across_processes)
{
    char whole[600], cfg[1024];
    const size_t sizes[] = {64 * 1024, 64 * 1024, 10};
    part_data_t parts[3];
    make_parts(pathf(whole, sizeof whole, "%s/whole.bin", fx.dir), parts, sizes, 3, 15);
    const char *key = "u/shared.bin";
    char *id = begin(key);
    char *etags[3] = {NULL, NULL, NULL};
    pathf(cfg, sizeof cfg, "root = \"%s\";", fx.root);

    for (unsigned i = 0; i < 3; i++) {
        int pipefd[2];
        ck_assert_int_eq(pipe(pipefd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            char errtext[1024];
            vf_error_t err = {0};
            char *etag = NULL;
            vf_plugin_t *p = load_with(cfg, errtext, sizeof errtext);
            if (!p || vf_storage_ops(p)->multipart_write(p->state, key, id, i + 1, parts[i].bytes, parts[i].len,
                                                         &etag, &err) != 0)
                _exit(1);
            ssize_t w = write(pipefd[1], etag, strlen(etag));
            _exit(w == (ssize_t)strlen(etag) ? 0 : 1);
        }
        close(pipefd[1]);
        char buf[128] = "";
        ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
        close(pipefd[0]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_int_gt(n, 0);
        etags[i] = strndup(buf, (size_t)n);
    }
    vf_storage_part_t list[] = {{1, etags[0]}, {2, etags[1]}, {3, etags[2]}};
    vf_error_t err = {0};
    ck_assert_int_eq(fx.ops->multipart_complete(fx.state, key, id, list, 3, &err), 0);
    assert_object_equals(key, whole);
    for (int i = 0; i < 3; i++)
        free(etags[i]);
    free(id);
    free_parts(parts, 3);
}
END_TEST

/* --- threads ------------------------------------------------------------------------ */

#define THREADS 4
#define ROUNDS 40

typedef struct worker {
    int index;
    int failures;
    char message[600];
} worker_t;

/* Objects of all threads share one directory, so one thread's remove keeps
 * pruning the directory another thread's put is about to use. */
static void *worker_run(void *arg)
{
    worker_t *w = arg;
    char src[600], got[600], key[64];
    pathf(src, sizeof src, "%s/w%d.src", fx.dir, w->index);
    pathf(got, sizeof got, "%s/w%d.got", fx.dir, w->index);
    if (vft_write_pattern(src, 10000 + (size_t)w->index, (unsigned)w->index) != 0) {
        w->failures++;
        return NULL;
    }
    for (int round = 0; round < ROUNDS; round++) {
        vf_error_t err = {0};
        vf_storage_stat_t st;
        snprintf(key, sizeof key, "shared/dir/w%d-%d.bin", w->index, round);
        int ret = fx.ops->put_file(fx.state, key, src, &err);
        if (ret == 0)
            ret = fx.ops->stat(fx.state, key, &st, &err);
        if (ret == 0 && st.size != 10000 + (uint64_t)w->index)
            ret = -EIO;
        if (ret == 0)
            ret = fx.ops->get_file(fx.state, key, got, &err);
        if (ret == 0 && !vft_files_equal(src, got))
            ret = -EIO;
        if (ret == 0)
            ret = fx.ops->remove(fx.state, key, &err);
        if (ret != 0) {
            w->failures++;
            snprintf(w->message, sizeof w->message, "%s: %d %s", key, ret, err.message);
        }
    }
    return NULL;
}

START_TEST(test_concurrent_threads)
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
        ck_assert_msg(workers[i].failures == 0, "worker %d: %d failures, last %s", i, workers[i].failures,
                      workers[i].message);
    ck_assert_int_eq(count_below(fx.root, NULL), 0);
}
END_TEST

/* The part fingerprint: the same bytes give the same value however they are
 * cut into pieces; a change of any one bit, or of the length, changes it. */
static uint64_t digest_of(const unsigned char *data, size_t len, size_t piece)
{
    sl_digest_t d;
    sl_digest_init(&d);
    for (size_t at = 0; at < len; at += piece)
        sl_digest_update(&d, data + at, len - at < piece ? len - at : piece);
    return sl_digest_final(&d);
}

START_TEST(test_part_digest)
{
    enum { LEN = 4099 };
    static unsigned char data[LEN + 8];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    uint64_t whole = digest_of(data, LEN, LEN);
    const size_t pieces[] = {1, 3, 7, 8, 31, 32, 33, 4096};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        ck_assert_msg(digest_of(data, LEN, pieces[i]) == whole, "pieces of %zu bytes differ", pieces[i]);
    const size_t positions[] = {0, 7, 8, 31, 32, 63, 2048, LEN - 5, LEN - 1};
    for (size_t i = 0; i < sizeof positions / sizeof *positions; i++)
        for (int bit = 0; bit < 8; bit++) {
            data[positions[i]] ^= (unsigned char)(1u << bit);
            ck_assert_msg(digest_of(data, LEN, LEN) != whole, "bit %d of byte %zu not seen", bit, positions[i]);
            data[positions[i]] ^= (unsigned char)(1u << bit);
        }
    /* Two flips of the same bit in words of the same lane do not cancel. */
    data[0] ^= 0x80;
    data[32] ^= 0x80;
    ck_assert(digest_of(data, LEN, LEN) != whole);
    data[0] ^= 0x80;
    data[32] ^= 0x80;
    /* Zero bytes added at the end count. */
    memset(data + LEN, 0, 8);
    ck_assert(digest_of(data, LEN + 1, LEN + 1) != digest_of(data, LEN, LEN));
    ck_assert(digest_of(data, 0, 1) != digest_of(data + LEN, 1, 1));
}
END_TEST

static Suite *storage_local_suite(void)
{
    Suite *s = suite_create("storage_local");
    TCase *tc = tcase_create("plugin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_descriptor_reports_storage);
    tcase_add_test(tc, test_config_missing_root);
    tcase_add_test(tc, test_config_unknown_key);
    tcase_add_test(tc, test_config_wrong_types);
    tcase_add_test(tc, test_config_file_location_and_bad_root);
    tcase_add_test(tc, test_round_trip_and_remove);
    tcase_add_test(tc, test_stat_content_types);
    tcase_add_test(tc, test_escaping_keys_refused);
    tcase_add_test(tc, test_symlinks_refused);
    tcase_add_test(tc, test_remove_prefix_files_and_links);
    tcase_add_test(tc, test_key_length_limit);
    tcase_add_test(tc, test_put_and_get_leave_no_temporaries);
    tcase_add_test(tc, test_url_encoding);
    tcase_add_test(tc, test_multipart_three_parts);
    tcase_add_test(tc, test_multipart_order_and_retry);
    tcase_add_test(tc, test_multipart_earlier_part_rewritten);
    tcase_add_test(tc, test_capabilities);
    tcase_add_test(tc, test_copies_report_progress_and_stop);
    tcase_add_test(tc, test_multipart_complete_wrong_list);
    tcase_add_test(tc, test_part_digest);
    tcase_add_test(tc, test_multipart_abort_and_ids);
    tcase_add_test(tc, test_multipart_unacknowledged_bytes_dropped);
    tcase_add_test(tc, test_multipart_across_processes);
    tcase_add_test(tc, test_concurrent_threads);
    suite_add_tcase(s, tc);
    return s;
}

/* The contract every storage plugin passes, with a root of its own per test. */
static Suite *storage_local_contract(void)
{
    static const vfc_subject_t subject = {"storage_local", "storage_local",
                                          "root = \"${VF_CONTRACT_WORKDIR}/objects\";"};
    return vfc_storage_suite(&subject);
}

VFC_MAIN(storage_local_suite, storage_local_contract)
