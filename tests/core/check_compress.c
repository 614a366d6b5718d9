/*
 * check_compress.c - content codings: which one Accept-Encoding allows
 * (q-values, "*", a coding refused with q=0, malformed headers answered
 * without encoding), and gzip and Brotli bodies that decode to the input,
 * the empty body included.
 */
#include "config.h"
#include "http/accept_encoding.h"
#include "util/compress.h"
#include "vftest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(accept_encoding_picks_the_coding)
{
    static const struct {
        const char *header;
        vf_coding_t want;
    } cases[] = {
        {NULL, VF_CODING_IDENTITY},
        {"", VF_CODING_IDENTITY},
        {"identity", VF_CODING_IDENTITY},
        {"gzip", VF_CODING_GZIP},
        {"x-gzip", VF_CODING_GZIP},
        {"GZIP", VF_CODING_GZIP},
        {"br", VF_CODING_BR},
        {"gzip, deflate, br", VF_CODING_BR},          /* browsers */
        {"gzip, deflate, br, zstd", VF_CODING_BR},
        {"br;q=0, gzip", VF_CODING_GZIP},
        {"br;q=0.5, gzip;q=0.8", VF_CODING_GZIP},
        {"br;q=0.8, gzip;q=0.8", VF_CODING_BR},       /* a tie: the smaller */
        {"gzip;q=0", VF_CODING_IDENTITY},
        {"*", VF_CODING_BR},
        {"*;q=0", VF_CODING_IDENTITY},
        {"gzip;q=1.0, *;q=0", VF_CODING_GZIP},
        {"deflate", VF_CODING_IDENTITY},
        {" gzip ; q=0.5 ", VF_CODING_GZIP},
        {"gzip;q=2", VF_CODING_IDENTITY},             /* malformed: no coding */
        {"gzip;q=0.1234", VF_CODING_IDENTITY},
        {"gzip;level=1", VF_CODING_IDENTITY},
        {",,, ,gzip", VF_CODING_GZIP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(vf_accepted_coding(cases[i].header) == cases[i].want, "Accept-Encoding: %s gave %d, not %d",
                      cases[i].header ? cases[i].header : "(none)", vf_accepted_coding(cases[i].header),
                      cases[i].want);
}
END_TEST

static void round_trip(vf_coding_t coding, const char *text, size_t len)
{
    unsigned char *enc = NULL;
    size_t enc_len = 0;
    ck_assert_int_eq(vf_compress(coding, text, len, &enc, &enc_len), 0);
    ck_assert_ptr_nonnull(enc);
    char *dec = NULL;
    size_t dec_len = 0;
    ck_assert_int_eq(vft_decode(vf_coding_name(coding), enc, enc_len, &dec, &dec_len), 0);
    ck_assert_uint_eq(dec_len, len);
    ck_assert(memcmp(dec, text, len) == 0);
    if (len > 10000)
        ck_assert_uint_lt(enc_len, len / 5); /* a catalogue-like body shrinks */
    free(enc);
    free(dec);
}

START_TEST(gzip_and_brotli_decode_to_the_input)
{
    size_t cap = 200 * 1024, len = 0;
    char *json = malloc(cap);
    ck_assert_ptr_nonnull(json);
    json[len++] = '[';
    for (int i = 0; len < cap - 512; i++)
        len += (size_t)snprintf(json + len, cap - len,
                                "%s{\"id\": %d, \"title\": \"Film %d\", \"category\": \"Drama\", "
                                "\"video_file\": \"http://127.0.0.1:8000/media/videos/%d/source.mp4\"}",
                                i ? ", " : "", i, i * 7919 % 1000, i);
    json[len++] = ']';
    for (vf_coding_t c = VF_CODING_GZIP; c < VF_CODING_COUNT; c++) {
        round_trip(c, json, len);
        round_trip(c, "", 0);
        round_trip(c, "x", 1);
    }
    unsigned char *out = NULL;
    size_t out_len = 0;
    ck_assert_int_eq(vf_compress(VF_CODING_IDENTITY, "x", 1, &out, &out_len), -EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_ptr_null(vf_coding_name(VF_CODING_IDENTITY));
    ck_assert_str_eq(vf_coding_name(VF_CODING_BR), "br");
    free(json);
}
END_TEST

static Suite *compress_suite(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("codings");
    tcase_add_test(tc, accept_encoding_picks_the_coding);
    tcase_add_test(tc, gzip_and_brotli_decode_to_the_input);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(compress_suite)
