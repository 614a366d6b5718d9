/*
 * storage_contract_caps.c - what a storage plugin says about itself, held
 * against what it does: URLs (absolute; expiring exactly when declared),
 * local paths (offered exactly when declared), the capabilities' own
 * consistency, and the 1.1 copies with progress that stop on request and
 * leave nothing half-written.
 */
#include "config.h"
#include "tests/plugins/storage_contract_fixture.h"
#include "vftest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define fx vfc_sfx

/* Large enough for a copy to report progress more than once. */
#define COPY_SIZE (8 * MiB + 5)
/* Seconds an expiring URL is asked to live in the expiry test. */
#define SHORT_EXPIRY 2

/* An absolute http(s) URL with a host and no raw space. */
static void assert_absolute_url(const char *url)
{
    ck_assert_ptr_nonnull(url);
    size_t scheme = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    ck_assert_msg(scheme && url[scheme] && url[scheme] != '/', "'%s' is not an absolute http(s) URL", url);
    ck_assert_msg(!strchr(url, ' '), "'%s' has a raw space", url);
}

static char *url_ok(const char *key, const vf_storage_url_opts_t *opts)
{
    vf_error_t err;
    char *url = NULL;
    VFC_OK(fx.ops->url(fx.state, key, opts, &url, &err), err);
    assert_absolute_url(url);
    return url;
}

START_TEST(test_url)
{
    char key[256], absent[256];
    vfc_key(key, sizeof key, "videos/a b é.mp4");
    char *src = vfc_pattern_file("src", 5000, 6);
    vfc_put_ok(key, src);
    vf_storage_url_opts_t opts = {.expires = 60, .content_disposition = "inline"};
    free(url_ok(key, NULL));
    free(url_ok(key, &opts));
    /* The object need not exist. */
    free(url_ok(vfc_key(absent, sizeof absent, "not/yet.mp4"), NULL));
    vfc_remove_ok(key);
    free(src);
}
END_TEST

/* local_path answers for `key`: true with an absolute path, or false with
 * -ENOTSUP and a message (or no operation at all). */
static bool local_path_offered(const char *key, char **path)
{
    *path = NULL;
    if (!fx.ops->local_path)
        return false;
    vf_error_t err = {0};
    int ret = fx.ops->local_path(fx.state, key, path, &err);
    if (ret == -ENOTSUP) {
        ck_assert_msg(err.message[0], "local_path answered -ENOTSUP without a message");
        ck_assert_ptr_null(*path);
        return false;
    }
    ck_assert_msg(ret == 0, "local_path(%s) returned %d: %s", key, ret, err.message);
    ck_assert_msg(*path && (*path)[0] == '/', "local_path(%s) gave '%s', not an absolute path", key,
                  *path ? *path : "(null)");
    return true;
}

START_TEST(test_local_path)
{
    char key[256], absent[256];
    char *src = vfc_pattern_file("src", 7000, 7);
    vfc_put_ok(vfc_key(key, sizeof key, "local/one.mp4"), src);
    vfc_key(absent, sizeof absent, "local/not-yet.mp4");
    bool declared = fx.caps.flags & VF_STORAGE_LOCAL_PATHS;
    char *path = NULL, *absent_path = NULL;
    ck_assert_msg(local_path_offered(key, &path) == declared, "local_path %s, but the capabilities say %s",
                  path ? "works" : "is not offered", declared ? "it is" : "it is not");
    /* The same answer for an object that does not exist yet. */
    ck_assert_int_eq(local_path_offered(absent, &absent_path), declared);
    if (declared) {
        ck_assert_msg(vft_files_equal(src, path), "local_path(%s) = %s does not hold the object", key, path);
        ck_assert_str_ne(path, absent_path);
    }
    free(path);
    free(absent_path);
    vfc_remove_ok(key);
    free(src);
}
END_TEST

/* The plugin's own capabilities make sense together and with its URLs. */
START_TEST(test_declared_capabilities)
{
    if (!fx.declared_caps) {
        fprintf(stderr, "%s: no capabilities operation (a 1.0 plugin); the core assumes 1.0 behaviour\n",
                fx.inst.plugin->desc->name);
        return;
    }
    const vf_storage_caps_t *c = &fx.caps;
    ck_assert_msg(!(c->flags & ~(VF_STORAGE_LOCAL_PATHS | VF_STORAGE_URLS_EXPIRE)), "unknown flags %#x", c->flags);
    ck_assert_uint_eq(c->min_part_size, fx.ops->min_part_size);
    ck_assert_uint_eq(c->reserved, 0);
    char key[256];
    vfc_key(key, sizeof key, "urls/expiring.bin");
    char *src = vfc_pattern_file("src", 1000, 14);
    vfc_put_ok(key, src);
    vf_error_t err;
    char *url = NULL;
    if (!(c->flags & VF_STORAGE_URLS_EXPIRE)) {
        ck_assert_msg(c->url_expires_default == 0 && c->url_expires_max == 0,
                      "URLs do not expire, yet url_expires_default is %u and url_expires_max %u",
                      c->url_expires_default, c->url_expires_max);
        /* Any lifetime asked for is fine: it is not used. */
        free(url_ok(key, &(vf_storage_url_opts_t){.expires = INT_MAX}));
    } else {
        ck_assert_msg(c->url_expires_default >= 1 && c->url_expires_default <= c->url_expires_max,
                      "url_expires_default %u is not within 1..url_expires_max (%u)", c->url_expires_default,
                      c->url_expires_max);
        free(url_ok(key, &(vf_storage_url_opts_t){.expires = (int)c->url_expires_max}));
        if (c->url_expires_max < INT_MAX) {
            vf_storage_url_opts_t longer = {.expires = (int)c->url_expires_max + 1};
            VFC_FAILS(-EINVAL, fx.ops->url(fx.state, key, &longer, &url, &err), err);
            ck_assert_ptr_null(url);
        }
        /* An expiring URL works at once and stops working after its time. */
        url = url_ok(key, &(vf_storage_url_opts_t){.expires = SHORT_EXPIRY});
        vft_response_t resp = {0};
        ck_assert_msg(vft_http("GET", url, NULL, NULL, &resp) == 0, "GET %s got no answer", url);
        ck_assert_msg(resp.status == 200, "GET %s: HTTP %ld", url, resp.status);
        size_t len;
        char *bytes = vfc_read_all(src, &len);
        ck_assert_msg(resp.body_len == len && memcmp(resp.body, bytes, len) == 0, "GET %s gave other bytes", url);
        free(bytes);
        vft_response_free(&resp);
        sleep(SHORT_EXPIRY + 2);
        ck_assert_msg(vft_http("GET", url, NULL, NULL, &resp) == 0, "GET %s got no answer", url);
        ck_assert_msg(resp.status >= 400 && resp.status < 500, "GET %s after it expired: HTTP %ld", url,
                      resp.status);
        vft_response_free(&resp);
        free(url);
    }
    vfc_remove_ok(key);
    free(src);
}
END_TEST

/* ------------------------------------------------ copies with progress */

static bool has_put_progress(void)
{
    return VF_HAS_FIELD(vf_storage_ops_t, fx.ops, put_file_progress) && fx.ops->put_file_progress;
}

static bool has_get_progress(void)
{
    return VF_HAS_FIELD(vf_storage_ops_t, fx.ops, get_file_progress) && fx.ops->get_file_progress;
}

static void note_missing(const char *op)
{
    fprintf(stderr, "%s: no %s; the core cannot stop its copies\n", fx.inst.plugin->desc->name, op);
}

/* Where a copy is stopped: at its first report, or at its last — the one
 * that reaches the final share an uncancelled run reported (every report
 * comes while the copy can still be stopped). */
static vfc_progress_t stop_at(bool first, double final_share)
{
    return first ? (vfc_progress_t){.cancel_at_call = 1} : (vfc_progress_t){.cancel_from = final_share};
}

static int put_stopped(const char *key, const char *src, vfc_progress_t p, vf_error_t *err)
{
    memset(err, 0, sizeof *err);
    int ret = fx.ops->put_file_progress(fx.state, key, src, vfc_record_progress, &p, err);
    ck_assert_msg(p.cancelled, "the put ended without being stopped");
    return ret;
}

START_TEST(test_put_with_progress)
{
    if (!has_put_progress()) {
        note_missing("put_file_progress");
        return;
    }
    char key[256], old_key[256];
    char *src = vfc_pattern_file("src", COPY_SIZE, 15);
    char *old = vfc_pattern_file("old", 3000, 16);
    vf_error_t err;
    vfc_progress_t p = {0};
    vfc_key(key, sizeof key, "progress/put.mp4");
    VFC_OK(fx.ops->put_file_progress(fx.state, key, src, vfc_record_progress, &p, &err), err);
    vfc_assert_progress_sane(&p, "put_file_progress");
    vfc_assert_object(key, src);
    vfc_remove_ok(key);
    /* No progress function at all is fine too. */
    VFC_OK(fx.ops->put_file_progress(fx.state, key, src, NULL, NULL, &err), err);
    vfc_remove_ok(key);

    /* Stopped at the first report and at the last: no object; stopped
     * while replacing an object: the old one stays. */
    vfc_put_ok(vfc_key(old_key, sizeof old_key, "progress/kept.mp4"), old);
    for (int first = 1; first >= 0; first--) {
        VFC_FAILS(-ECANCELED, put_stopped(key, src, stop_at(first, p.last), &err), err);
        vfc_assert_missing(key);
        VFC_FAILS(-ECANCELED, put_stopped(old_key, src, stop_at(first, p.last), &err), err);
        vfc_assert_object(old_key, old);
    }
    vfc_remove_ok(old_key);
    free(src);
    free(old);
}
END_TEST

static int get_stopped(const char *key, const char *dest, vfc_progress_t p, vf_error_t *err)
{
    memset(err, 0, sizeof *err);
    int ret = fx.ops->get_file_progress(fx.state, key, dest, vfc_record_progress, &p, err);
    ck_assert_msg(p.cancelled, "the get ended without being stopped");
    return ret;
}

START_TEST(test_get_with_progress)
{
    if (!has_get_progress()) {
        note_missing("get_file_progress");
        return;
    }
    char key[256], absent[256];
    char *src = vfc_pattern_file("src", COPY_SIZE, 17);
    char *dest = vfc_pattern_file("dest", 4000, 18);
    char *dest_copy = vfc_pattern_file("dest-copy", 4000, 18);
    vf_error_t err;
    vfc_put_ok(vfc_key(key, sizeof key, "progress/get.mp4"), src);
    char *got = vfc_path(fx.files, "got-progress");
    vfc_progress_t p = {0};
    VFC_OK(fx.ops->get_file_progress(fx.state, key, got, vfc_record_progress, &p, &err), err);
    vfc_assert_progress_sane(&p, "get_file_progress");
    ck_assert_msg(vft_files_equal(src, got), "get_file_progress copied other bytes");
    ck_assert_int_eq(unlink(got), 0);
    int entries = vfc_entries(fx.files);

    /* Stopped at the first report and at the last: the destination is as
     * it was and no temporary file stays beside it. */
    for (int first = 1; first >= 0; first--) {
        VFC_FAILS(-ECANCELED, get_stopped(key, dest, stop_at(first, p.last), &err), err);
        ck_assert_msg(vft_files_equal(dest, dest_copy), "a get stopped at its %s report changed its destination",
                      first ? "first" : "last");
        VFC_FAILS(-ECANCELED, get_stopped(key, got, stop_at(first, p.last), &err), err);
        ck_assert_msg(!vfc_exists(got), "a get stopped at its %s report left %s", first ? "first" : "last", got);
    }
    ck_assert_int_eq(vfc_entries(fx.files), entries);
    VFC_FAILS(-ENOENT, fx.ops->get_file_progress(fx.state, vfc_key(absent, sizeof absent, "progress/none"), got,
                                                 NULL, NULL, &err),
              err);
    ck_assert_msg(!vfc_exists(got), "get_file_progress of a missing object left %s", got);
    vfc_remove_ok(key);
    free(got);
    free(src);
    free(dest);
    free(dest_copy);
}
END_TEST

void vfc_storage_add_capabilities(TCase *tc)
{
    tcase_add_test(tc, test_url);
    tcase_add_test(tc, test_local_path);
    tcase_add_test(tc, test_declared_capabilities);
    tcase_add_test(tc, test_put_with_progress);
    tcase_add_test(tc, test_get_with_progress);
}
