/*
 * check_head.c - the request-head grammar the guard judges heads by
 * (core/http/head.c): what parses, what is refused and why, how a body is
 * framed.  Pure functions: no server, no services.
 */
#include "config.h"
#include "vftest.h"

#include "core/http/head.h"
#include "core/http/router.h"

#include <stdint.h>
#include <string.h>

static vf_http_head_t head;

static vf_refusal_t parse(const char *text) { return vf_http_head_parse(text, strlen(text), &head); }

/* Parse (must succeed) and frame. */
static vf_refusal_t framing(const char *text, vf_body_framing_t *f)
{
    ck_assert_msg(parse(text) == VF_REFUSE_NONE, "does not parse: %s", text);
    return vf_http_head_framing(&head, f);
}

START_TEST(parses_heads)
{
    ck_assert_int_eq(parse("POST /a/b?c=d HTTP/1.1\r\nHost: x\r\nContent-Type:  application/json \t\r\n"
                           "X-Empty:\r\n\r\n"),
                     VF_REFUSE_NONE);
    ck_assert_uint_eq(head.method_len, 4);
    ck_assert_int_eq(memcmp(head.method, "POST", 4), 0);
    ck_assert_uint_eq(head.target_len, 8);
    ck_assert_int_eq(head.minor, 1);
    ck_assert_uint_eq(head.nfields, 3);
    char *ct = vf_http_head_value(&head, "content-type"), *empty = vf_http_head_value(&head, "X-EMPTY");
    ck_assert_str_eq(ct, "application/json");
    ck_assert_str_eq(empty, "");
    ck_assert_ptr_null(vf_http_head_value(&head, "Cookie"));
    free(ct);
    free(empty);
    ck_assert_int_eq(vf_http_head_method(&head), VF_POST);

    /* Bare LF line ends, as evhttp reads them; HTTP/1.0; obs-text. */
    ck_assert_int_eq(parse("GET / HTTP/1.0\nX-Name: caf\xc3\xa9\n\n"), VF_REFUSE_NONE);
    ck_assert_int_eq(head.minor, 0);
    ck_assert_int_eq(parse("BREW / HTTP/1.1\r\n\r\n"), VF_REFUSE_NONE);
    ck_assert_int_eq(vf_http_head_method(&head), 0);
    ck_assert_int_eq(parse("get / HTTP/1.1\r\n\r\n"), VF_REFUSE_NONE);
    ck_assert_int_eq(vf_http_head_method(&head), 0); /* methods are case-sensitive */
}
END_TEST

START_TEST(refuses_loose_heads)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n",                /* no empty line */
        "GET / HTTP/1.1\r\nHost: x\r\n\r\nextra",       /* bytes after it */
        "GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",  /* obsolete folding */
        "GET / HTTP/1.1\r\nX-A : 1\r\n\r\n",            /* blank before the colon */
        "GET / HTTP/1.1\r\n: 1\r\n\r\n",                /* no name */
        "GET / HTTP/1.1\r\nX-A 1\r\n\r\n",              /* no colon */
        "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",          /* a bare CR */
        "GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n",     /* a control byte */
        "GET / HTTP/1.1\r\nX\x7f: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n", /* evhttp skips no tab there */
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.10\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET /a b HTTP/1.1\r\n\r\n",
        "GET /\r\n\r\n",
        "\r\n\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(bad[i]) == VF_REFUSE_MALFORMED, "accepted: %s", bad[i]);

    char many[16384] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i <= VF_HEAD_MAX_FIELDS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: %d\r\n", i, i);
    strcat(many, "\r\n");
    ck_assert_int_eq(parse(many), VF_REFUSE_HEAD_TOO_LARGE);
}
END_TEST

START_TEST(frames_bodies)
{
    vf_body_framing_t f;
    ck_assert_int_eq(framing("GET / HTTP/1.1\r\n\r\n", &f), VF_REFUSE_NONE);
    ck_assert_int_eq(f.kind, VF_BODY_NONE);
    ck_assert_int_eq(framing("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &f), VF_REFUSE_NONE);
    ck_assert_int_eq(f.kind, VF_BODY_NONE);
    ck_assert_int_eq(framing("POST / HTTP/1.1\r\ncontent-length: 0012\r\nContent-Length: 12\r\n\r\n", &f),
                     VF_REFUSE_NONE);
    ck_assert_int_eq(f.kind, VF_BODY_LENGTH);
    ck_assert_uint_eq(f.length, 12);
    ck_assert_int_eq(framing("PATCH / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &f),
                     VF_REFUSE_NONE);
    ck_assert_uint_eq(f.length, UINT64_MAX);
    ck_assert_int_eq(framing("POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n", &f), VF_REFUSE_NONE);
    ck_assert_int_eq(f.kind, VF_BODY_CHUNKED);
    ck_assert_int_eq(framing("HEAD / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &f), VF_REFUSE_NONE);
    ck_assert_int_eq(f.kind, VF_BODY_NONE);

    static const struct {
        const char *head;
        vf_refusal_t why;
    } refused[] = {
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", VF_REFUSE_TWO_LENGTHS},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", VF_REFUSE_LENGTH_CHUNKED},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", VF_REFUSE_LENGTH_CHUNKED},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", VF_REFUSE_CODING},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", VF_REFUSE_BAD_CODING},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", VF_REFUSE_BAD_CODING},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", VF_REFUSE_BAD_CODING},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", VF_REFUSE_BAD_CODING},
        {"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", VF_REFUSE_BAD_CODING},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         VF_REFUSE_BAD_CODING},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", VF_REFUSE_BAD_LENGTH},
        {"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", VF_REFUSE_BAD_LENGTH},
        {"POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n", VF_REFUSE_BAD_LENGTH},
        {"POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n", VF_REFUSE_BAD_LENGTH},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", VF_REFUSE_BAD_LENGTH},
        {"HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", VF_REFUSE_HEAD_BODY},
        {"HEAD / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", VF_REFUSE_HEAD_BODY},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        ck_assert_msg(framing(refused[i].head, &f) == refused[i].why, "%s", refused[i].head);
}
END_TEST

static Suite *head_suite(void)
{
    Suite *s = suite_create("head");
    TCase *tc = tcase_create("head");
    tcase_add_test(tc, parses_heads);
    tcase_add_test(tc, refuses_loose_heads);
    tcase_add_test(tc, frames_bodies);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(head_suite)
