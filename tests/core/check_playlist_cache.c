/*
 * check_playlist_cache.c - the per-process cache of rendered HLS
 * playlists (core/catalog/playlist_cache.c): an entry per key, found
 * again while younger than the time to live and not otherwise; a new
 * version is another entry; the bounds in entries and bytes hold, the
 * least recently used going first; a reference held by a response keeps
 * an evicted entry's bytes; the encodings are made once per entry; and
 * threads putting and getting at once agree.
 */
#include "config.h"
#include "catalog/playlist_cache.h"
#include "vftest.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static vf_playlist_key_t key_of(int64_t video, const char *quality, uint64_t version)
{
    vf_playlist_key_t k = {.video_id = video, .generation = 1, .version = version};
    snprintf(k.quality, sizeof k.quality, "%s", quality);
    return k;
}

static vf_playlist_t *put_text(const vf_playlist_key_t *k, const char *text)
{
    vf_playlist_t *p = NULL;
    ck_assert_int_eq(vf_playlist_cache_put(k, strdup(text), strlen(text), 0, &p), 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void teardown(void) { vf_playlist_cache_clear(); }

START_TEST(found_by_key_and_version)
{
    vf_playlist_key_t k = key_of(7, "720p", 3);
    ck_assert_ptr_null(vf_playlist_cache_get(&k, 0));
    vf_playlist_release(put_text(&k, "#EXTM3U\n"));
    vf_playlist_t *p = vf_playlist_cache_get(&k, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->body.len, 8);
    ck_assert_int_eq(memcmp(p->body.data, "#EXTM3U\n", 8), 0);
    vf_playlist_release(p);
    vf_playlist_key_t other = key_of(7, "720p", 4), master = key_of(7, "", 3), video = key_of(8, "720p", 3);
    ck_assert_ptr_null(vf_playlist_cache_get(&other, 0));
    ck_assert_ptr_null(vf_playlist_cache_get(&master, 0));
    ck_assert_ptr_null(vf_playlist_cache_get(&video, 0));
}
END_TEST

START_TEST(entries_age_out)
{
    vf_playlist_key_t k = key_of(1, "360p", 1);
    vf_playlist_release(put_text(&k, "a"));
    vf_playlist_t *p = vf_playlist_cache_get(&k, 200000);
    ck_assert_ptr_nonnull(p);
    vf_playlist_release(p);
    usleep(250000);
    ck_assert_ptr_null(vf_playlist_cache_get(&k, 200000));
    size_t entries, bytes;
    vf_playlist_cache_size(&entries, &bytes);
    ck_assert_uint_eq(entries, 0); /* an aged entry is dropped when met */
}
END_TEST

START_TEST(bounded_least_recently_used_first)
{
    vf_playlist_key_t first = key_of(1, "120p", 1), second = key_of(2, "120p", 1);
    vf_playlist_release(put_text(&first, "first"));
    vf_playlist_release(put_text(&second, "second"));
    /* A response still writing the second one holds it. */
    vf_playlist_t *held = vf_playlist_cache_get(&second, 0);
    /* The first is used again: the second is now the least recent. */
    vf_playlist_release(vf_playlist_cache_get(&first, 0));
    for (int i = 0; i < VF_PLAYLIST_CACHE_ENTRIES - 1; i++) {
        vf_playlist_key_t k = key_of(100 + i, "120p", 1);
        vf_playlist_release(put_text(&k, "filler"));
    }
    size_t entries, bytes;
    vf_playlist_cache_size(&entries, &bytes);
    ck_assert_uint_eq(entries, VF_PLAYLIST_CACHE_ENTRIES);
    ck_assert_ptr_null(vf_playlist_cache_get(&second, 0));
    vf_playlist_t *p = vf_playlist_cache_get(&first, 0);
    ck_assert_ptr_nonnull(p);
    vf_playlist_release(p);
    ck_assert_int_eq(memcmp(held->body.data, "second", 6), 0);
    vf_playlist_release(held);

    /* Bytes: one big playlist pushes out as many as it needs. */
    size_t big = VF_PLAYLIST_CACHE_BYTES / 2 + 1;
    char *text = malloc(big);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', big);
    vf_playlist_key_t k1 = key_of(5000, "1080p", 1), k2 = key_of(5001, "1080p", 1);
    vf_playlist_t *out = NULL;
    ck_assert_int_eq(vf_playlist_cache_put(&k1, text, big, 1, &out), 0);
    vf_playlist_release(out);
    text = malloc(big);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', big);
    ck_assert_int_eq(vf_playlist_cache_put(&k2, text, big, 1, &out), 0);
    ck_assert_int_eq(out->ended, 1);
    vf_playlist_release(out);
    vf_playlist_cache_size(&entries, &bytes);
    ck_assert_uint_le(bytes, VF_PLAYLIST_CACHE_BYTES);
    ck_assert_ptr_null(vf_playlist_cache_get(&k1, 0));
    p = vf_playlist_cache_get(&k2, 0);
    ck_assert_ptr_nonnull(p);
    vf_playlist_release(p);
}
END_TEST

START_TEST(encoded_once_per_entry)
{
    vf_playlist_key_t k = key_of(9, "240p", 2);
    char text[4096];
    size_t len = 0;
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "#EXTINF:4.000,\n%d.m4s\n", i);
    vf_playlist_t *p = put_text(&k, text);
    const char *a, *b, *etag_a, *etag_b, *plain_etag;
    size_t alen, blen, plen;
    ck_assert_int_eq(vf_coded_body_get(&p->body, VF_CODING_GZIP, &a, &alen, &etag_a), 0);
    ck_assert_int_eq(vf_coded_body_get(&p->body, VF_CODING_GZIP, &b, &blen, &etag_b), 0);
    ck_assert_ptr_eq(a, b); /* the same bytes: not encoded again */
    ck_assert_uint_lt(alen, len);
    ck_assert_int_eq(vf_coded_body_get(&p->body, VF_CODING_IDENTITY, &b, &plen, &plain_etag), 0);
    ck_assert_str_ne(etag_a, plain_etag);
    char *decoded = NULL;
    size_t dlen = 0;
    ck_assert_int_eq(vft_decode("gzip", a, alen, &decoded, &dlen), 0);
    ck_assert_uint_eq(dlen, len);
    ck_assert_int_eq(memcmp(decoded, text, len), 0);
    free(decoded);
    vf_playlist_release(p);
}
END_TEST

static void *hammer(void *arg)
{
    int seed = (int)(intptr_t)arg;
    for (int i = 0; i < 3000; i++) {
        vf_playlist_key_t k = key_of((seed * 7 + i) % 1500, "720p", (uint64_t)(i % 3));
        vf_playlist_t *p = vf_playlist_cache_get(&k, 0);
        if (!p) {
            char text[64];
            snprintf(text, sizeof text, "#EXTM3U %" PRId64 " %" PRIu64 "\n", k.video_id, k.version);
            p = put_text(&k, text);
        }
        char want[64];
        snprintf(want, sizeof want, "#EXTM3U %" PRId64 " %" PRIu64 "\n", k.video_id, k.version);
        if (p->body.len != strlen(want) || memcmp(p->body.data, want, p->body.len) != 0)
            return (void *)1;
        vf_playlist_release(p);
    }
    return NULL;
}

START_TEST(threads_agree)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        ck_assert_int_eq(pthread_join(t[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
    size_t entries, bytes;
    vf_playlist_cache_size(&entries, &bytes);
    ck_assert_uint_le(entries, VF_PLAYLIST_CACHE_ENTRIES);
}
END_TEST

static Suite *playlist_cache_suite(void)
{
    Suite *s = suite_create("playlist_cache");
    TCase *tc = tcase_create("cache");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, found_by_key_and_version);
    tcase_add_test(tc, entries_age_out);
    tcase_add_test(tc, bounded_least_recently_used_first);
    tcase_add_test(tc, encoded_once_per_entry);
    tcase_add_test(tc, threads_agree);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(playlist_cache_suite)
