/*
 * check_loader.c - the plugin ABI handshake: a good plugin loads and is
 * usable, its capabilities read and its optional operations used; a plugin
 * built against the 1.0 headers loads with 1.0's fallbacks and nothing past
 * its `size` read; a wrong ABI version (major or newer minor), a missing
 * descriptor symbol, a wrong kind, a descriptor or operations table smaller
 * than 1.0's, a NULL required operation and a missing file are each refused
 * with one message naming the file.
 */
#include "config.h"
#include "vftest.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

#include "core/plugins/storage_calls.h"

static const char *fixture_dir(void) { return vft_env_or_skip("VF_TEST_PLUGIN_DIR"); }

static int cancel_always(void *ud, double percent)
{
    (void)ud;
    (void)percent;
    return 1;
}

static int progress_calls;
static int count_progress(void *ud, double percent)
{
    (void)ud;
    (void)percent;
    progress_calls++;
    return 0;
}

START_TEST(good_plugin_loads_and_works)
{
    config_t cfg;
    config_init(&cfg);
    ck_assert_int_eq(config_read_string(&cfg, "p = { greeting = \"hi\"; };"), CONFIG_TRUE);
    vf_plugin_t *p = NULL;
    char err[512] = "";
    int rc = vf_plugin_load(fixture_dir(), "fixture_good", VF_PLUGIN_STORAGE, config_lookup(&cfg, "p"), &p, err,
                            sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_str_eq(p->desc->name, "fixture_good");
    char *url = NULL;
    ck_assert_int_eq(vf_storage_ops(p)->url(p->state, "a/b.mp4", NULL, &url, NULL), 0);
    ck_assert_str_eq(url, "hi/a/b.mp4");
    free(url);

    /* Its own capabilities, not 1.0's fallbacks; local_path is NULL (optional). */
    ck_assert_ptr_null(vf_storage_ops(p)->local_path);
    ck_assert_uint_eq(p->storage_caps.flags, VF_STORAGE_URLS_EXPIRE);
    ck_assert_uint_eq(p->storage_caps.url_expires_default, 900);
    ck_assert_uint_eq(p->storage_caps.url_expires_max, 7200);
    ck_assert_uint_eq(p->storage_caps.max_parts, 77);
    ck_assert_uint_eq(p->storage_caps.min_part_size, 1000);
    ck_assert_uint_eq(p->storage_caps.max_part_size, 100000);
    vf_error_t verr = {0};
    char *path = NULL;
    ck_assert_int_eq(vf_storage_local_path(p, "a/b.mp4", &path, &verr), -ENOTSUP);
    ck_assert_ptr_null(path);
    /* remove_prefix is NULL (optional): not offered. */
    ck_assert_int_eq(vf_storage_removes_prefixes(p), 0);
    ck_assert_int_eq(vf_storage_remove_prefix(p, "a/", &verr), -ENOTSUP);

    /* Copies go through the cancellable 1.1 operation. */
    vf_storage_stat_t st;
    ck_assert_int_eq(vf_storage_put(p, "x/y.mp4", "/dev/null", NULL, NULL, &verr), 0);
    ck_assert_int_eq(vf_storage_ops(p)->stat(p->state, "x/y.mp4", &st, &verr), 0);
    ck_assert_str_eq(st.etag, "put_file_progress x/y.mp4");
    ck_assert_int_eq(vf_storage_put(p, "x/z.mp4", "/dev/null", cancel_always, NULL, &verr), -ECANCELED);
    ck_assert_int_eq(vf_storage_ops(p)->stat(p->state, "x/z.mp4", &st, &verr), 0);
    ck_assert_str_eq(st.etag, "put_file_progress x/z.mp4 cancelled");
    vf_plugin_free(&p);
    ck_assert_ptr_null(p);
    config_destroy(&cfg);
}
END_TEST

static void expect_refused(const char *name, vf_plugin_kind_t kind, const char *needle)
{
    vf_plugin_t *p = NULL;
    char err[512] = "";
    int rc = vf_plugin_load(fixture_dir(), name, kind, NULL, &p, err, sizeof err);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
    ck_assert_msg(strstr(err, name) != NULL, "message '%s' does not name the file", err);
}

START_TEST(wrong_abi_version_refused)
{
    expect_refused("fixture_bad_abi", VF_PLUGIN_STORAGE, "ABI version 2.0");
}
END_TEST

START_TEST(newer_minor_refused)
{
    char needle[64];
    snprintf(needle, sizeof needle, "ABI version %d.%d", VF_ABI_MAJOR, VF_ABI_MINOR + 1);
    expect_refused("fixture_newer_minor", VF_PLUGIN_STORAGE, needle);
}
END_TEST

START_TEST(small_descriptor_refused)
{
    char needle[96];
    snprintf(needle, sizeof needle, "descriptor is %zu bytes, expected at least %zu", VF_PLUGIN_DESC_SIZE_1_0 - 8,
             VF_PLUGIN_DESC_SIZE_1_0);
    expect_refused("fixture_small_desc", VF_PLUGIN_STORAGE, needle);
}
END_TEST

START_TEST(small_operations_table_refused)
{
    char needle[128];
    snprintf(needle, sizeof needle, "storage operations table is %zu bytes, expected at least %zu",
             VF_STORAGE_OPS_SIZE_1_0 - 8, VF_STORAGE_OPS_SIZE_1_0);
    expect_refused("fixture_small_ops", VF_PLUGIN_STORAGE, needle);
}
END_TEST

START_TEST(null_required_operation_refused)
{
    expect_refused("fixture_null_required", VF_PLUGIN_STORAGE, "lacks the storage operation 'stat', which is required");
}
END_TEST

/* A plugin without multipart_write_pieces gets parts in pieces through
 * multipart_write (the fixture's etag is "e"). */
static void expect_parts_joined(vf_plugin_t *p)
{
    ck_assert_int_eq(vf_storage_takes_pieces(p), 0);
    vf_storage_piece_t pieces[] = {{"ab", 2}, {NULL, 0}, {"c", 1}};
    char *etag = NULL;
    vf_error_t verr = {0};
    ck_assert_int_eq(vf_storage_write_pieces(p, "x/y.mp4", "id", 1, pieces, 3, &etag, &verr), 0);
    ck_assert_str_eq(etag, "e");
    free(etag);
}

/* A plugin without remove_prefix (older, or NULL): the core never calls
 * into it and says why it cannot remove a prefix. */
static void expect_no_remove_prefix(vf_plugin_t *p)
{
    vf_error_t verr = {0};
    ck_assert_int_eq(vf_storage_removes_prefixes(p), 0);
    ck_assert_int_eq(vf_storage_remove_prefix(p, "videos/1/2/hls/", &verr), -ENOTSUP);
    ck_assert_msg(strstr(verr.message, p->desc->name) && strstr(verr.message, "remove_prefix"), "message: %s",
                  verr.message);
}

/* Built against 1.0: accepted, nothing past its `size` read (the poison
 * there would crash), capabilities from 1.0's rules, copies through
 * put_file. */
START_TEST(abi_1_0_plugin_loads)
{
    vf_plugin_t *p = NULL;
    char err[512] = "";
    int rc = vf_plugin_load(fixture_dir(), "fixture_abi_1_0", VF_PLUGIN_STORAGE, NULL, &p, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_int_eq(p->desc->abi_minor, 0);
    ck_assert_uint_eq(vf_storage_ops(p)->size, VF_STORAGE_OPS_SIZE_1_0);
    /* local_path answers, so the storage is local and its URLs do not expire. */
    ck_assert_uint_eq(p->storage_caps.flags, VF_STORAGE_LOCAL_PATHS);
    ck_assert_uint_eq(p->storage_caps.min_part_size, 4096);
    ck_assert_uint_eq(p->storage_caps.max_parts, VF_STORAGE_MAX_PARTS_1_0);
    ck_assert_uint_eq(p->storage_caps.max_part_size, VF_STORAGE_MAX_PART_SIZE_1_0);
    char *path = NULL;
    vf_error_t verr = {0};
    ck_assert_int_eq(vf_storage_local_path(p, "a/b.mp4", &path, &verr), 0);
    ck_assert_str_eq(path, "/fixture/a/b.mp4");
    free(path);
    progress_calls = 0;
    vf_storage_stat_t st;
    ck_assert_int_eq(vf_storage_put(p, "x/y.mp4", "/dev/null", count_progress, NULL, &verr), 0);
    ck_assert_int_eq(vf_storage_ops(p)->stat(p->state, "x/y.mp4", &st, &verr), 0);
    ck_assert_str_eq(st.etag, "put_file x/y.mp4");
    ck_assert_int_eq(progress_calls, 2); /* asked before, told 100 after */
    /* Cancelled before it starts, a 1.0 copy does not run at all. */
    ck_assert_int_eq(vf_storage_put(p, "x/z.mp4", "/dev/null", cancel_always, NULL, &verr), -ECANCELED);
    ck_assert_int_eq(vf_storage_ops(p)->stat(p->state, "x/z.mp4", &st, &verr), 0);
    ck_assert_str_eq(st.etag, "put_file x/y.mp4");
    expect_parts_joined(p);
    expect_no_remove_prefix(p);
    vf_plugin_free(&p);
}
END_TEST

/* Built with the first 1.1 headers (its table ends before
 * multipart_write_pieces): loads, and parts in pieces go through
 * multipart_write (the poison in the field is never called). */
START_TEST(early_1_1_plugin_loads)
{
    vf_plugin_t *p = NULL;
    char err[512] = "";
    int rc = vf_plugin_load(fixture_dir(), "fixture_abi_1_1_early", VF_PLUGIN_STORAGE, NULL, &p, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_uint_eq(vf_storage_ops(p)->size, VF_STORAGE_OPS_SIZE_1_1);
    ck_assert_uint_eq(p->storage_caps.max_part_size, 100000); /* its capabilities were asked */
    expect_parts_joined(p);
    expect_no_remove_prefix(p);
    vf_plugin_free(&p);
}
END_TEST

START_TEST(missing_symbol_refused)
{
    expect_refused("fixture_no_symbol", VF_PLUGIN_STORAGE, "vf_plugin_desc");
}
END_TEST

START_TEST(wrong_kind_refused)
{
    expect_refused("fixture_wrong_kind", VF_PLUGIN_STORAGE, "is a encoder plugin, expected a storage plugin");
}
END_TEST

START_TEST(missing_file_refused)
{
    expect_refused("fixture_does_not_exist", VF_PLUGIN_STORAGE, "No such file");
}
END_TEST

START_TEST(relative_paths_refused)
{
    vf_plugin_t *p = NULL;
    char err[512] = "";
    ck_assert_int_eq(vf_plugin_load(fixture_dir(), "../fixture_good", VF_PLUGIN_STORAGE, NULL, &p, err, sizeof err),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "bare name or an absolute path"));
}
END_TEST

START_TEST(create_error_reported)
{
    config_t cfg;
    config_init(&cfg);
    ck_assert_int_eq(config_read_string(&cfg, "p = {\n greeting = 5;\n};"), CONFIG_TRUE);
    vf_plugin_t *p = NULL;
    char err[512] = "";
    int rc = vf_plugin_load(fixture_dir(), "fixture_good", VF_PLUGIN_STORAGE, config_lookup(&cfg, "p"), &p, err,
                            sizeof err);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_msg(strstr(err, "storage plugin 'fixture_good': line 2: fixture: 'greeting' must be a string") != NULL,
                  "got: %s", err);
    config_destroy(&cfg);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("handshake");
    tcase_add_test(tc, good_plugin_loads_and_works);
    tcase_add_test(tc, wrong_abi_version_refused);
    tcase_add_test(tc, newer_minor_refused);
    tcase_add_test(tc, small_descriptor_refused);
    tcase_add_test(tc, small_operations_table_refused);
    tcase_add_test(tc, null_required_operation_refused);
    tcase_add_test(tc, abi_1_0_plugin_loads);
    tcase_add_test(tc, early_1_1_plugin_loads);
    tcase_add_test(tc, missing_symbol_refused);
    tcase_add_test(tc, wrong_kind_refused);
    tcase_add_test(tc, missing_file_refused);
    tcase_add_test(tc, relative_paths_refused);
    tcase_add_test(tc, create_error_reported);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(loader_suite)
