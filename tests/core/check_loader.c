/*
 * check_loader.c - the plugin ABI handshake: a good plugin loads and is
 * usable; a wrong ABI version, a missing descriptor symbol, a wrong kind and
 * a missing file are each refused with one message naming the file.
 */
#include "config.h"
#include "vftest.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

static const char *fixture_dir(void) { return vft_env_or_skip("VF_TEST_PLUGIN_DIR"); }

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
    ck_assert_msg(strstr(err, "line 2: greeting must be a string") != NULL, "got: %s", err);
    config_destroy(&cfg);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("handshake");
    tcase_add_test(tc, good_plugin_loads_and_works);
    tcase_add_test(tc, wrong_abi_version_refused);
    tcase_add_test(tc, missing_symbol_refused);
    tcase_add_test(tc, wrong_kind_refused);
    tcase_add_test(tc, missing_file_refused);
    tcase_add_test(tc, relative_paths_refused);
    tcase_add_test(tc, create_error_reported);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(loader_suite)
