/*
 * storage_contract_multipart.c - the multipart part of the storage
 * contract (semantics in storage.h): parts concatenate, nothing shows
 * before complete, a part written again is replaced by its last write,
 * order and gaps, wrong part lists change nothing, part size and count
 * limits as the capabilities declare them, unknown and finished uploads;
 * parts written from pieces (multipart_write_pieces, or the core's copy
 * into one block for a plugin without it) store what the flat write does.
 */
#include "config.h"
#include "core/plugins/storage_calls.h"
#include "tests/plugins/storage_contract_fixture.h"
#include "vftest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fx vfc_sfx

/* Up to this many parts are walked to test max_parts; past it the
 * limit is only read (S3 and storage_local allow 10000). */
#define MAX_PARTS_EXERCISED 1000
#define MAX_PARTS_BYTES_EXERCISED (16 * MiB)

typedef struct upload {
    char key[256];
    char *id;
    char **etags;      /* etags[n - 1]: part n's last etag */
    size_t nparts;     /* highest part written */
    size_t cap;
} upload_t;

static void upload_begin(upload_t *u, const char *name)
{
    vf_error_t err;
    memset(u, 0, sizeof *u);
    vfc_key(u->key, sizeof u->key, name);
    VFC_OK(fx.ops->multipart_begin(fx.state, u->key, &u->id, &err), err);
    ck_assert_msg(u->id && u->id[0], "multipart_begin gave no upload id");
}

static void remember_etag(upload_t *u, unsigned number, char *etag)
{
    if (number > u->cap) {
        size_t cap = number * 2 + 8;
        char **grown = realloc(u->etags, cap * sizeof *grown);
        ck_assert_ptr_nonnull(grown);
        memset(grown + u->cap, 0, (cap - u->cap) * sizeof *grown);
        u->etags = grown;
        u->cap = cap;
    }
    free(u->etags[number - 1]);
    u->etags[number - 1] = etag;
    if (number > u->nparts)
        u->nparts = number;
}

/* multipart_write of part `number` (1-based); 0 or its error. */
static int upload_try_part(upload_t *u, unsigned number, const char *bytes, size_t len, vf_error_t *err)
{
    char *etag = NULL;
    memset(err, 0, sizeof *err);
    int ret = fx.ops->multipart_write(fx.state, u->key, u->id, number, bytes, len, &etag, err);
    if (ret != 0) {
        ck_assert_msg(etag == NULL, "a failed multipart_write returned an etag");
        return ret;
    }
    ck_assert_msg(number >= 1, "multipart_write accepted part number 0");
    ck_assert_msg(etag && etag[0], "multipart_write gave no etag for part %u", number);
    remember_etag(u, number, etag);
    return 0;
}

static void upload_part(upload_t *u, unsigned number, const char *bytes, size_t len)
{
    vf_error_t err;
    int ret = upload_try_part(u, number, bytes, len, &err);
    ck_assert_msg(ret == 0, "part %u of %zu bytes: %d %s", number, len, ret, err.message);
}

/* complete() with parts 1..nparts and their last etags. */
static int upload_complete(upload_t *u, vf_error_t *err)
{
    vf_storage_part_t *parts = calloc(u->nparts ? u->nparts : 1, sizeof *parts);
    ck_assert_ptr_nonnull(parts);
    for (size_t i = 0; i < u->nparts; i++)
        parts[i] = (vf_storage_part_t){(unsigned)i + 1, u->etags[i]};
    memset(err, 0, sizeof *err);
    int ret = fx.ops->multipart_complete(fx.state, u->key, u->id, parts, u->nparts, err);
    free(parts);
    return ret;
}

static void upload_complete_ok(upload_t *u)
{
    vf_error_t err;
    int ret = upload_complete(u, &err);
    ck_assert_msg(ret == 0, "complete of %zu parts: %d %s", u->nparts, ret, err.message);
}

static void upload_abort_ok(upload_t *u)
{
    vf_error_t err;
    VFC_OK(fx.ops->multipart_abort(fx.state, u->key, u->id, &err), err);
}

static void upload_free(upload_t *u)
{
    for (size_t i = 0; i < u->cap; i++)
        free(u->etags[i]);
    free(u->etags);
    free(u->id);
    memset(u, 0, sizeof *u);
}

/* The size of a part that is not the last: the plugin's minimum, and at
 * least 64 KiB so that parts are not trivially small. */
static size_t full_part_size(void)
{
    return fx.caps.min_part_size > 64 * KiB ? (size_t)fx.caps.min_part_size : 64 * KiB;
}

/* Pattern bytes of `len`, and the same as a file to compare objects with. */
static char *pattern_bytes(const char *name, size_t len, unsigned seed, char **file)
{
    size_t got;
    *file = vfc_pattern_file(name, len, seed);
    char *bytes = vfc_read_all(*file, &got);
    ck_assert_uint_eq(got, len);
    return bytes;
}

START_TEST(test_concatenation)
{
    size_t sizes[3] = {full_part_size() + 1, full_part_size() + 7, 1000};
    size_t total = sizes[0] + sizes[1] + sizes[2];
    char *whole;
    char *bytes = pattern_bytes("whole", total, 8, &whole);
    upload_t u;
    vf_error_t err;
    upload_begin(&u, "multipart/whole.mp4");
    upload_part(&u, 1, bytes, sizes[0]);
    upload_part(&u, 2, bytes + sizes[0], sizes[1]);
    upload_part(&u, 3, bytes + sizes[0] + sizes[1], sizes[2]);
    vfc_assert_missing(u.key); /* nothing is visible before complete */
    upload_complete_ok(&u);
    vfc_assert_object(u.key, whole);
    vf_storage_stat_t st;
    VFC_OK(fx.ops->stat(fx.state, u.key, &st, &err), err);
    ck_assert_uint_eq(st.size, total);
    /* A finished upload: abort succeeds and keeps the object; writing or
     * completing again is -ENOENT. */
    upload_abort_ok(&u);
    vfc_assert_object(u.key, whole);
    ck_assert_int_eq(upload_try_part(&u, 4, "x", 1, &err), -ENOENT);
    ck_assert_msg(err.message[0], "writing to a completed upload failed without a message");
    VFC_FAILS(-ENOENT, upload_complete(&u, &err), err);
    vfc_assert_object(u.key, whole);
    vfc_remove_ok(u.key);
    upload_free(&u);
    free(bytes);
    free(whole);
}
END_TEST

/* A part sent again, as a client retrying after a lost answer does: with
 * the same bytes, or with others — the last write wins. */
START_TEST(test_part_written_again)
{
    size_t first = full_part_size(), last = 500;
    char *whole, *other_file;
    char *bytes = pattern_bytes("whole", first + last, 9, &whole);
    char *other = pattern_bytes("other", first + last, 10, &other_file);
    upload_t u;
    upload_begin(&u, "multipart/retried.mp4");
    upload_part(&u, 1, other, first);         /* replaced below */
    upload_part(&u, 1, bytes, first);
    upload_part(&u, 2, bytes + first, last);
    upload_part(&u, 2, bytes + first, last);  /* the same again */
    upload_complete_ok(&u);
    vfc_assert_object(u.key, whole);
    vfc_remove_ok(u.key);
    upload_free(&u);

    /* The last part replaced by other bytes of another length: only the
     * last write of each number counts. */
    char *expected = vfc_path(fx.files, "expected");
    FILE *f = fopen(expected, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, first, f), first);
    ck_assert_uint_eq(fwrite(other, 1, 10, f), 10);
    ck_assert_int_eq(fclose(f), 0);
    upload_begin(&u, "multipart/replaced.mp4");
    upload_part(&u, 1, bytes, first);
    upload_part(&u, 2, bytes + first, last);
    upload_part(&u, 2, other, 10);
    upload_complete_ok(&u);
    vfc_assert_object(u.key, expected);
    vfc_remove_ok(u.key);
    upload_free(&u);
    free(expected);
    free(bytes);
    free(other);
    free(whole);
    free(other_file);
}
END_TEST

/* Parts are numbered from 1; a part that would leave a gap may be refused
 * (-EINVAL with a message) or accepted, as the plugin likes.  A complete
 * whose list names a part never written, a stale etag or numbers other
 * than 1..n is refused and changes nothing; one that stops before the last
 * part written may be refused the same way or store just the listed parts. */
START_TEST(test_order_and_lists)
{
    size_t first = full_part_size();
    char *whole;
    char *bytes = pattern_bytes("whole", first + 100, 11, &whole);
    upload_t u;
    vf_error_t err;

    upload_begin(&u, "multipart/gaps.bin");
    VFC_FAILS(-EINVAL, upload_try_part(&u, 0, bytes, first, &err), err);
    for (unsigned gap = 2; gap <= 3; gap++) { /* part 2 first; part 3 after 1 */
        int ret = upload_try_part(&u, gap, bytes, first, &err);
        ck_assert_msg(ret == 0 || (ret == -EINVAL && err.message[0]),
                      "part %u leaving a gap gave %d (%s): accept it or refuse it with -EINVAL", gap, ret,
                      err.message);
        if (gap == 2)
            upload_part(&u, 1, bytes, first);
    }
    upload_abort_ok(&u);
    vfc_assert_missing(u.key);
    upload_free(&u);

    upload_begin(&u, "multipart/ordered.bin");
    upload_part(&u, 1, bytes, first);
    upload_part(&u, 2, bytes + first, 100);

    char *e1 = u.etags[0], *e2 = u.etags[1];
    vf_storage_part_t swapped[] = {{1, e2}, {2, e1}};
    vf_storage_part_t misnumbered[] = {{1, e1}, {3, e2}};
    vf_storage_part_t no_etag[] = {{1, e1}, {2, NULL}};
    vf_storage_part_t long_list[] = {{1, e1}, {2, e2}, {3, e2}};
    vf_storage_part_t good[] = {{1, e1}, {2, e2}};
    const struct {
        const vf_storage_part_t *parts;
        size_t n;
        const char *what;
    } wrong[] = {
        {swapped, 2, "swapped etags"}, {misnumbered, 2, "a gap in the numbers"}, {no_etag, 2, "a NULL etag"},
        {long_list, 3, "a part never written"}, {good, 0, "an empty list"},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        memset(&err, 0, sizeof err);
        int ret = fx.ops->multipart_complete(fx.state, u.key, u.id, wrong[i].parts, wrong[i].n, &err);
        ck_assert_msg(ret == -EINVAL, "complete with %s returned %d, expected -EINVAL (%s)", wrong[i].what, ret,
                      err.message);
        ck_assert_msg(err.message[0], "complete with %s failed without a message", wrong[i].what);
        vfc_assert_missing(u.key);
    }
    upload_complete_ok(&u);
    vfc_assert_object(u.key, whole);
    vfc_remove_ok(u.key);
    upload_free(&u);

    upload_begin(&u, "multipart/short-list.bin");
    upload_part(&u, 1, bytes, first);
    upload_part(&u, 2, bytes + first, 100);
    vf_storage_part_t only_first[] = {{1, u.etags[0]}};
    memset(&err, 0, sizeof err);
    int ret = fx.ops->multipart_complete(fx.state, u.key, u.id, only_first, 1, &err);
    if (ret == 0) {
        char *part1 = vfc_pattern_file("part1", first, 11); /* the first `first` bytes of `whole` */
        vfc_assert_object(u.key, part1);
        free(part1);
    } else {
        ck_assert_msg(ret == -EINVAL && err.message[0],
                      "complete with a list missing the last part gave %d (%s): store part 1 or refuse with -EINVAL",
                      ret, err.message);
        vfc_assert_missing(u.key);
        upload_complete_ok(&u);
        vfc_assert_object(u.key, whole);
    }
    vfc_remove_ok(u.key);
    upload_free(&u);
    free(bytes);
    free(whole);
}
END_TEST

/* A part of exactly min_part_size bytes may come before others.  One byte
 * less, when the minimum is above 1, is refused with -EINVAL by
 * multipart_write or at the latest by multipart_complete, and no object
 * appears.  The last part may be as small as one byte. */
START_TEST(test_minimum_part_size)
{
    size_t min = (size_t)fx.caps.min_part_size;
    ck_assert_uint_eq(fx.caps.min_part_size, fx.ops->min_part_size);
    char *whole;
    char *bytes = pattern_bytes("whole", min + 3, 12, &whole);
    upload_t u;
    vf_error_t err;
    upload_begin(&u, "multipart/minimum.bin");
    upload_part(&u, 1, bytes, min);
    upload_part(&u, 2, bytes + min, 3);
    upload_complete_ok(&u);
    vfc_assert_object(u.key, whole);
    vfc_remove_ok(u.key);
    upload_free(&u);

    if (min > 1) {
        upload_begin(&u, "multipart/too-small.bin");
        upload_part(&u, 1, bytes, min - 1);
        int ret = upload_try_part(&u, 2, bytes + min - 1, 4, &err);
        if (ret == 0)
            ret = upload_complete(&u, &err);
        ck_assert_msg(ret == -EINVAL, "a first part of %zu bytes (one below min_part_size) gave %d, not -EINVAL (%s)",
                      min - 1, ret, err.message);
        ck_assert_msg(err.message[0], "refused without a message");
        vfc_assert_missing(u.key);
        upload_abort_ok(&u);
        upload_free(&u);
    }

    char *one_file;
    char *one = pattern_bytes("one", 1, 13, &one_file);
    upload_begin(&u, "multipart/one-byte.bin");
    upload_part(&u, 1, one, 1);
    upload_complete_ok(&u);
    vfc_assert_object(u.key, one_file);
    vfc_remove_ok(u.key);
    upload_free(&u);
    free(one);
    free(one_file);
    free(bytes);
    free(whole);
}
END_TEST

/* max_parts and max_part_size hold as declared, where walking up to them
 * takes little (a storage with S3's limits is only read). */
START_TEST(test_part_limits)
{
    ck_assert_msg(fx.caps.max_parts >= 1, "max_parts is 0");
    ck_assert_msg(fx.caps.max_part_size >= fx.caps.min_part_size, "max_part_size %llu < min_part_size %llu",
                  (unsigned long long)fx.caps.max_part_size, (unsigned long long)fx.caps.min_part_size);
    upload_t u;
    vf_error_t err;
    size_t min = (size_t)fx.caps.min_part_size;
    int walked = 0;
    if (fx.caps.max_parts <= MAX_PARTS_EXERCISED && fx.caps.max_parts * min <= MAX_PARTS_BYTES_EXERCISED) {
        char *part = calloc(1, min);
        ck_assert_ptr_nonnull(part);
        upload_begin(&u, "multipart/most-parts.bin");
        for (unsigned n = 1; n <= fx.caps.max_parts; n++)
            upload_part(&u, n, part, min);
        VFC_FAILS(-EINVAL, upload_try_part(&u, fx.caps.max_parts + 1, part, min, &err), err);
        upload_complete_ok(&u);
        vf_storage_stat_t st;
        VFC_OK(fx.ops->stat(fx.state, u.key, &st, &err), err);
        ck_assert_uint_eq(st.size, (uint64_t)fx.caps.max_parts * min);
        vfc_remove_ok(u.key);
        upload_free(&u);
        free(part);
        walked++;
    }
    if (fx.caps.max_part_size < MAX_PARTS_BYTES_EXERCISED) {
        size_t max = (size_t)fx.caps.max_part_size;
        char *part = calloc(1, max + 1);
        ck_assert_ptr_nonnull(part);
        upload_begin(&u, "multipart/largest-part.bin");
        upload_part(&u, 1, part, max);
        int ret = upload_try_part(&u, 2, part, max + 1, &err);
        if (ret == 0)
            ret = upload_complete(&u, &err);
        ck_assert_msg(ret == -EINVAL, "a part of max_part_size + 1 bytes gave %d, not -EINVAL (%s)", ret,
                      err.message);
        vfc_assert_missing(u.key);
        upload_abort_ok(&u);
        upload_free(&u);
        free(part);
        walked++;
    }
    if (!walked)
        fprintf(stderr, "%s: max_parts %u and max_part_size %llu are too large to walk; only read\n",
                fx.inst.plugin->desc->name, fx.caps.max_parts, (unsigned long long)fx.caps.max_part_size);
}
END_TEST

START_TEST(test_abort)
{
    upload_t u;
    vf_error_t err;
    upload_begin(&u, "multipart/aborted.bin");
    upload_part(&u, 1, "some bytes", 10);
    upload_abort_ok(&u);
    /* The upload is now unknown: aborting it again succeeds; writing to it
     * or completing it is -ENOENT. */
    upload_abort_ok(&u);
    VFC_FAILS(-ENOENT, upload_try_part(&u, 2, "x", 1, &err), err);
    VFC_FAILS(-ENOENT, upload_complete(&u, &err), err);
    vfc_assert_missing(u.key);
    upload_free(&u);
}
END_TEST

/* ------------------------------------------------ parts from pieces */

/* Pieces over `len` bytes: sizes cycle through 0 (an empty piece) and
 * 1..max_piece, so cuts fall everywhere; malloc()ed, count in *n. */
static vf_storage_piece_t *cut_into_pieces(const char *bytes, size_t len, size_t max_piece, size_t *n)
{
    size_t cap = 2 * len + 2, at = 0, k = 0;
    vf_storage_piece_t *pieces = calloc(cap, sizeof *pieces);
    ck_assert_ptr_nonnull(pieces);
    for (unsigned step = 0; at < len; step++) {
        size_t want = step % 7 == 3 ? 0 : 1 + (step * 2654435761u) % max_piece;
        if (want > len - at)
            want = len - at;
        ck_assert_uint_lt(k, cap);
        pieces[k++] = (vf_storage_piece_t){want ? bytes + at : NULL, want};
        at += want;
    }
    pieces[k++] = (vf_storage_piece_t){NULL, 0}; /* an empty piece at the end too */
    *n = k;
    return pieces;
}

/* Part `number` written from pieces the way the core writes it: through
 * the plugin's multipart_write_pieces, or copied into one block for a
 * plugin without it. */
static char *upload_pieces(upload_t *u, unsigned number, const vf_storage_piece_t *pieces, size_t n)
{
    vf_error_t err;
    char *etag = NULL;
    memset(&err, 0, sizeof err);
    int ret = vf_storage_write_pieces(fx.inst.plugin, u->key, u->id, number, pieces, n, &etag, &err);
    ck_assert_msg(ret == 0, "part %u from %zu pieces: %d %s", number, n, ret, err.message);
    ck_assert_msg(etag && etag[0], "no etag for part %u written from pieces", number);
    remember_etag(u, number, etag);
    return etag;
}

/* The same parts from many small pieces (more than IOV_MAX, empty ones
 * among them) and flat: the same objects, the same etags. */
START_TEST(test_pieces_store_what_flat_stores)
{
    size_t first = full_part_size(), last = 1500;
    char *whole;
    char *bytes = pattern_bytes("whole", first + last, 11, &whole);
    size_t n1, n2;
    vf_storage_piece_t *p1 = cut_into_pieces(bytes, first, 4096, &n1);
    vf_storage_piece_t *p2 = cut_into_pieces(bytes + first, last, 1, &n2); /* byte by byte */
    ck_assert_uint_gt(n2, 1024);

    upload_t flat, cut;
    upload_begin(&flat, "pieces/flat.mp4");
    upload_part(&flat, 1, bytes, first);
    upload_part(&flat, 2, bytes + first, last);
    upload_begin(&cut, "pieces/cut.mp4");
    const char *e1 = upload_pieces(&cut, 1, p1, n1);
    const char *e2 = upload_pieces(&cut, 2, p2, n2);
    ck_assert_str_eq(e1, flat.etags[0]);
    ck_assert_str_eq(e2, flat.etags[1]);
    vfc_assert_missing(cut.key);
    upload_complete_ok(&flat);
    upload_complete_ok(&cut);
    vfc_assert_object(flat.key, whole);
    vfc_assert_object(cut.key, whole);

    /* One piece, and one part of a single non-empty piece among empty ones. */
    vf_storage_piece_t sparse[] = {{NULL, 0}, {bytes, first + last}, {NULL, 0}};
    upload_t one;
    upload_begin(&one, "pieces/one.mp4");
    upload_pieces(&one, 1, sparse, 3);
    upload_complete_ok(&one);
    vfc_assert_object(one.key, whole);

    vfc_remove_ok(flat.key);
    vfc_remove_ok(cut.key);
    vfc_remove_ok(one.key);
    upload_free(&flat);
    upload_free(&cut);
    upload_free(&one);
    free(p1);
    free(p2);
    free(bytes);
    free(whole);
}
END_TEST

/* Retries of a part from pieces: the same bytes cut differently, and
 * other bytes (flat, then from pieces) — the last write wins. */
START_TEST(test_pieces_retry)
{
    size_t first = full_part_size(), last = 3000;
    char *whole, *other_file;
    char *bytes = pattern_bytes("whole", first + last, 12, &whole);
    char *other = pattern_bytes("other", first + last, 13, &other_file);
    size_t na, nb, no;
    vf_storage_piece_t *a = cut_into_pieces(bytes, first, 9000, &na);
    vf_storage_piece_t *b = cut_into_pieces(bytes, first, 300, &nb);
    vf_storage_piece_t *o = cut_into_pieces(other + first, last, 100, &no);
    upload_t u;
    upload_begin(&u, "pieces/retried.mp4");
    upload_pieces(&u, 1, o, no);                  /* replaced below */
    char *e1 = strdup(upload_pieces(&u, 1, a, na));
    ck_assert_str_eq(upload_pieces(&u, 1, b, nb), e1);   /* the same bytes, cut otherwise */
    upload_part(&u, 2, other, last);              /* replaced below */
    size_t nl;
    vf_storage_piece_t *l = cut_into_pieces(bytes + first, last, 700, &nl);
    upload_pieces(&u, 2, l, nl);
    upload_complete_ok(&u);
    vfc_assert_object(u.key, whole);
    vfc_remove_ok(u.key);
    upload_free(&u);
    free(e1);
    free(a);
    free(b);
    free(o);
    free(l);
    free(bytes);
    free(other);
    free(whole);
    free(other_file);
}
END_TEST

/* The operation itself, where the plugin has it: a piece without bytes
 * but with a length is refused and stores nothing; an unknown upload is
 * -ENOENT.  A plugin without it is written to through the core's copy
 * (the tests above), which is what the core does. */
START_TEST(test_pieces_refusals)
{
    if (!vf_storage_takes_pieces(fx.inst.plugin)) {
        ck_assert_msg(!VF_HAS_FIELD(vf_storage_ops_t, fx.ops, multipart_write_pieces) ||
                          !fx.ops->multipart_write_pieces,
                      "the core does not see the plugin's multipart_write_pieces");
        return;
    }
    upload_t u;
    vf_error_t err;
    char *etag = NULL;
    upload_begin(&u, "pieces/refused.mp4");
    vf_storage_piece_t bad[] = {{"abc", 3}, {NULL, 5}};
    VFC_FAILS(-EINVAL, fx.ops->multipart_write_pieces(fx.state, u.key, u.id, 1, bad, 2, &etag, &err), err);
    ck_assert_ptr_null(etag);
    upload_part(&u, 1, "abc", 3);
    upload_complete_ok(&u);
    char *expected = vfc_path(fx.files, "abc");
    FILE *f = fopen(expected, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs("abc", f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    vfc_assert_object(u.key, expected);
    /* Completed: the upload is unknown now. */
    vf_storage_piece_t good[] = {{"x", 1}};
    VFC_FAILS(-ENOENT, fx.ops->multipart_write_pieces(fx.state, u.key, u.id, 2, good, 1, &etag, &err), err);
    ck_assert_ptr_null(etag);
    vfc_remove_ok(u.key);
    upload_free(&u);
    free(expected);
}
END_TEST

void vfc_storage_add_multipart(TCase *tc)
{
    tcase_add_test(tc, test_pieces_store_what_flat_stores);
    tcase_add_test(tc, test_pieces_retry);
    tcase_add_test(tc, test_pieces_refusals);
    tcase_add_test(tc, test_concatenation);
    tcase_add_test(tc, test_part_written_again);
    tcase_add_test(tc, test_order_and_lists);
    tcase_add_test(tc, test_minimum_part_size);
    tcase_add_test(tc, test_part_limits);
    tcase_add_test(tc, test_abort);
}
