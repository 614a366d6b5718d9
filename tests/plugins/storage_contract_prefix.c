/*
 * storage_contract_prefix.c - remove_prefix (ABI 1.2), for a plugin that
 * offers it: every object under "<key>/" goes, however many there are (more
 * than one DeleteObjects batch of 1000 and more than one page of an S3
 * listing), nothing beside the prefix goes ("hls/" is not "hlsx"), a prefix
 * with nothing under it succeeds, and a prefix that is not a key followed
 * by '/' is refused with -EINVAL.  A plugin without the operation has
 * nothing to check here: the case says so and passes.
 */
#include "config.h"
#include "tests/plugins/storage_contract_fixture.h"
#include "vftest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fx vfc_sfx

/* Objects under the prefix: 1100 makes two S3 batches (1000 and 100) and
 * two pages of a listing, which is what batching and continuation need;
 * 2500 (three of each) took 28 s of PUTs against the S3 test server. */
#define PREFIX_OBJECTS 1100
/* Threads putting them (the S3 test server takes writes one at a time, but
 * signing, checking and connecting overlap). */
#define PREFIX_PUTTERS 4
/* Renditions the objects are spread over, like an HLS stream's folders. */
#define PREFIX_FOLDERS 2

static bool offers_remove_prefix(void)
{
    return VF_HAS_FIELD(vf_storage_ops_t, fx.ops, remove_prefix) && fx.ops->remove_prefix;
}

/* Key i of the stream under `hls` ("<hls>720p/17.m4s"), and the master
 * playlist for the last one; false when it does not fit. */
static bool format_stream_key(char *buf, size_t len, const char *hls, int i)
{
    int n = i == PREFIX_OBJECTS - 1 ? snprintf(buf, len, "%smaster.m3u8", hls)
                                    : snprintf(buf, len, "%s%s/%d.m4s", hls, i % PREFIX_FOLDERS ? "360p" : "720p",
                                               i / PREFIX_FOLDERS);
    return n > 0 && (size_t)n < len;
}

static void stream_key(char *buf, size_t len, const char *hls, int i)
{
    ck_assert(format_stream_key(buf, len, hls, i));
}

typedef struct putter {
    const char *hls, *src;
    int first;
    char failure[800];
} putter_t;

/* Every PREFIX_PUTTERS-th object from p->first (Check's assertions belong
 * to the test's own thread: a failure is recorded instead). */
static void *put_some(void *arg)
{
    putter_t *p = arg;
    char key[256];
    vf_error_t err = {0};
    for (int i = p->first; i < PREFIX_OBJECTS && !p->failure[0]; i += PREFIX_PUTTERS) {
        if (!format_stream_key(key, sizeof key, p->hls, i) || fx.ops->put_file(fx.state, key, p->src, &err) != 0)
            snprintf(p->failure, sizeof p->failure, "put %.200s: %s", key, err.message);
    }
    return NULL;
}

/* The objects of a stream put from a few bytes each: the count, not the
 * bytes, is what the operation must cope with. */
static void put_stream(const char *hls, const char *src)
{
    pthread_t threads[PREFIX_PUTTERS];
    putter_t putters[PREFIX_PUTTERS];
    for (int t = 0; t < PREFIX_PUTTERS; t++) {
        putters[t] = (putter_t){.hls = hls, .src = src, .first = t};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, put_some, &putters[t]), 0);
    }
    for (int t = 0; t < PREFIX_PUTTERS; t++)
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    for (int t = 0; t < PREFIX_PUTTERS; t++)
        ck_assert_msg(!putters[t].failure[0], "%s", putters[t].failure);
}

START_TEST(test_remove_prefix)
{
    if (!offers_remove_prefix()) {
        fprintf(stderr, "%s: remove_prefix is not offered (optional since ABI 1.2): nothing to check\n",
                fx.inst.plugin->desc->name);
        return;
    }
    char hls[160], key[256], sibling[256], rendition[256], other_gen[256], missing[200];
    vf_error_t err;
    vf_storage_stat_t st;
    char *src = vfc_pattern_file("segment", 16, 21);
    char *keep = vfc_pattern_file("keep", 300, 22);
    snprintf(hls, sizeof hls, "%s/videos/1/2/hls/", fx.prefix);
    put_stream(hls, src);
    /* Beside the prefix: a name that merely starts like it, the MP4 of the
     * same generation, and the stream of another generation. */
    vfc_put_ok(vfc_key(sibling, sizeof sibling, "videos/1/2/hlsx"), keep);
    vfc_put_ok(vfc_key(rendition, sizeof rendition, "videos/1/2/720p.mp4"), keep);
    vfc_put_ok(vfc_key(other_gen, sizeof other_gen, "videos/1/3/hls/720p/0.m4s"), keep);
    /* Both ends of the stream are there before. */
    stream_key(key, sizeof key, hls, 0);
    VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);
    stream_key(key, sizeof key, hls, PREFIX_OBJECTS - 1);
    VFC_OK(fx.ops->stat(fx.state, key, &st, &err), err);

    VFC_OK(fx.ops->remove_prefix(fx.state, hls, &err), err);
    /* Every 10th object and the last: a listing's order is not the order
     * of i, so any batch or page left behind shows among them. */
    for (int i = 0; i < PREFIX_OBJECTS; i += 10) {
        stream_key(key, sizeof key, hls, i);
        vfc_assert_missing(key);
    }
    stream_key(key, sizeof key, hls, PREFIX_OBJECTS - 1);
    vfc_assert_missing(key);
    vfc_assert_object(sibling, keep);
    vfc_assert_object(rendition, keep);
    vfc_assert_object(other_gen, keep);

    /* Done again, or under a prefix that never held anything: success. */
    VFC_OK(fx.ops->remove_prefix(fx.state, hls, &err), err);
    snprintf(missing, sizeof missing, "%s/never/stored/", fx.prefix);
    VFC_OK(fx.ops->remove_prefix(fx.state, missing, &err), err);
    ck_assert_int_eq(fx.ops->remove_prefix(fx.state, missing, NULL), 0);
    vfc_assert_object(rendition, keep);

    vfc_remove_ok(sibling);
    vfc_remove_ok(rendition);
    vfc_remove_ok(other_gen);
    free(src);
    free(keep);
}
END_TEST

START_TEST(test_remove_prefix_refused)
{
    if (!offers_remove_prefix()) {
        fprintf(stderr, "%s: remove_prefix is not offered (optional since ABI 1.2): nothing to refuse\n",
                fx.inst.plugin->desc->name);
        return;
    }
    char kept[256], p[12][300];
    vf_error_t err;
    char *src = vfc_pattern_file("kept", 100, 23);
    vfc_put_ok(vfc_key(kept, sizeof kept, "videos/9/1/hls/0.m4s"), src);
    /* No trailing '/', a doubled one, "." and ".." segments, a leading '/',
     * a backslash, a control character: each a way out of, or around, the
     * prefix a caller meant. */
    snprintf(p[0], sizeof p[0], "%s/videos/9/1/hls", fx.prefix);
    snprintf(p[1], sizeof p[1], "%s/videos/9/1/hls//", fx.prefix);
    snprintf(p[2], sizeof p[2], "%s/videos/9/1/x/../hls/", fx.prefix);
    snprintf(p[3], sizeof p[3], "%s/videos/9/1/./hls/", fx.prefix);
    snprintf(p[4], sizeof p[4], "/%s/videos/9/1/hls/", fx.prefix);
    snprintf(p[5], sizeof p[5], "%s\\videos/9/1/hls/", fx.prefix);
    snprintf(p[6], sizeof p[6], "%s/videos/9/1/\x01/", fx.prefix);
    snprintf(p[7], sizeof p[7], "%s", "/");
    snprintf(p[8], sizeof p[8], "%s", "");
    snprintf(p[9], sizeof p[9], "%s", "../");
    snprintf(p[10], sizeof p[10], "%s//", fx.prefix);
    snprintf(p[11], sizeof p[11], "%s/videos/9/1/hls/0.m4s", fx.prefix);
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        VFC_FAILS(-EINVAL, fx.ops->remove_prefix(fx.state, p[i], &err), err);
        ck_assert_int_eq(fx.ops->remove_prefix(fx.state, p[i], NULL), -EINVAL);
    }
    VFC_FAILS(-EINVAL, fx.ops->remove_prefix(fx.state, NULL, &err), err);
    vfc_assert_object(kept, src);
    vfc_remove_ok(kept);
    free(src);
}
END_TEST

void vfc_storage_add_prefix(TCase *tc)
{
    tcase_add_test(tc, test_remove_prefix);
    tcase_add_test(tc, test_remove_prefix_refused);
}
