/*
 * check_block_pool.c - the pool of reused blocks the guard reads upload
 * bodies into: a block comes back empty and is handed out again (the same
 * memory, its pages already in place), it goes back only when its last
 * reference is dropped, at most VF_BLOCK_POOL_KEEP idle blocks are kept,
 * and references taken and dropped on several threads at once balance.
 */
#include "config.h"
#include "util/block_pool.h"
#include "vftest.h"

#include <pthread.h>
#include <string.h>

START_TEST(a_block_is_reused_after_its_last_reference)
{
    int idle = vf_block_pool_idle();
    vf_block_t *b = vf_block_get();
    ck_assert_ptr_nonnull(b);
    size_t room;
    unsigned char *at = vf_block_room(b, &room);
    ck_assert_uint_eq(room, VF_BLOCK_SIZE);
    memset(at, 'x', 1000);
    vf_block_fill(b, 1000);
    unsigned char *next = vf_block_room(b, &room);
    ck_assert_ptr_eq(next, at + 1000);
    ck_assert_uint_eq(room, VF_BLOCK_SIZE - 1000);
    vf_block_ref(b); /* a piece of it, referred to by a buffer */
    vf_block_unref(b);
    ck_assert_int_eq(vf_block_pool_idle(), idle); /* the piece still holds it */
    vf_block_unref(b);
    ck_assert_int_eq(vf_block_pool_idle(), idle + 1);
    vf_block_t *again = vf_block_get();
    ck_assert_ptr_eq(again, b);
    ck_assert_ptr_eq(vf_block_room(again, &room), at);
    ck_assert_uint_eq(room, VF_BLOCK_SIZE);
    vf_block_unref(again);
}
END_TEST

START_TEST(at_most_keep_idle_blocks_are_kept)
{
    enum { N = VF_BLOCK_POOL_KEEP + 8 };
    vf_block_t *b[N];
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(b[i] = vf_block_get());
    for (int i = 0; i < N; i++)
        vf_block_unref(b[i]);
    ck_assert_int_eq(vf_block_pool_idle(), VF_BLOCK_POOL_KEEP);
}
END_TEST

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        vf_block_t *b = vf_block_get();
        if (!b)
            return (void *)1;
        vf_block_ref(b);
        vf_block_ref(b);
        vf_block_unref(b);
        vf_block_unref(b);
        vf_block_unref(b);
    }
    return NULL;
}

START_TEST(threads_balance_their_references)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *failed = NULL;
        ck_assert_int_eq(pthread_join(t[i], &failed), 0);
        ck_assert_ptr_null(failed);
    }
    int idle = vf_block_pool_idle();
    ck_assert_int_ge(idle, 1);
    ck_assert_int_le(idle, VF_BLOCK_POOL_KEEP);
}
END_TEST

static Suite *block_pool_suite(void)
{
    Suite *s = suite_create("block_pool");
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, a_block_is_reused_after_its_last_reference);
    tcase_add_test(tc, at_most_keep_idle_blocks_are_kept);
    tcase_add_test(tc, threads_balance_their_references);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(block_pool_suite)
