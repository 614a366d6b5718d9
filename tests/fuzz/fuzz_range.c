/*
 * fuzz_range.c - the conditional and range headers of GET /media/ and
 * /content/ (http/range.c), the HTTP dates they carry (util/timeutil.c),
 * and, each line taken as one, Accept-Encoding (http/accept_encoding.c).  Input: 8 bytes of object size, 8 bytes of mtime, then
 * the header values Range, If-Range, If-None-Match and If-Modified-Since,
 * one per line (a missing line is an absent header).  The ETag is made the
 * way media.c makes it.
 * Checks: a satisfiable range lies inside the object; a date that parses
 * prints and parses back to the same second; a coding is chosen only when
 * the header names it or "*".
 */
#include "config.h"
#include "fuzz.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "http/accept_encoding.h"
#include "http/range.h"
#include "util/timeutil.h"

static int names(const char *header, const char *what)
{
    for (const char *p = header; *p; p++)
        if (strncasecmp(p, what, strlen(what)) == 0)
            return 1;
    return 0;
}

static void check_coding(const char *header)
{
    vf_coding_t c = vf_accepted_coding(header);
    FUZZ_CHECK(c == VF_CODING_IDENTITY || c == VF_CODING_GZIP || c == VF_CODING_BR);
    if (c == VF_CODING_BR)
        FUZZ_CHECK(names(header, "br") || strchr(header, '*'));
    if (c == VF_CODING_GZIP)
        FUZZ_CHECK(names(header, "gzip") || strchr(header, '*'));
}

static void check_date(const char *text)
{
    int64_t when = vf_time_parse_http(text);
    if (when < 0)
        return;
    char again[64];
    vf_time_http(when, again, sizeof again);
    FUZZ_CHECK(vf_time_parse_http(again) == when);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16 || size > 4096)
        return 0;
    uint64_t object_size;
    int64_t mtime;
    memcpy(&object_size, data, 8);
    memcpy(&mtime, data + 8, 8);
    object_size >>= data[0] & 63; /* small sizes as often as huge ones */
    char *text = fuzz_string(data + 16, size - 16);
    char *h[4];
    fuzz_fields(text, h, 4);
    const char *range = h[0], *if_range = h[1], *inm = h[2], *ims = h[3];

    char etag[80];
    snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", object_size, (uint64_t)mtime,
             (uint64_t)data[1]);
    int not_modified = vf_not_modified(inm, ims, etag, mtime);
    FUZZ_CHECK(not_modified == 0 || not_modified == 1);
    if (inm) {
        FUZZ_CHECK(not_modified == vf_etag_list_matches(inm, etag));
    }
    /* Our own tag matches itself, weak or strong, and "*" matches it. */
    char weak[90];
    snprintf(weak, sizeof weak, " W/%s,", etag);
    FUZZ_CHECK(vf_etag_list_matches(etag, etag) == 1 && vf_etag_list_matches(weak, etag) == 1);
    FUZZ_CHECK(vf_etag_list_matches("*", etag) == 1);
    if (if_range) {
        int holds = vf_if_range_holds(if_range, etag, mtime);
        FUZZ_CHECK(holds == 0 || holds == 1);
        check_date(if_range);
    }
    if (range) {
        uint64_t first = 0, last = 0;
        vf_range_kind_t kind = vf_range_parse(range, object_size, &first, &last);
        if (kind == VF_RANGE_ONE)
            FUZZ_CHECK(object_size > 0 && first <= last && last < object_size);
        else
            FUZZ_CHECK(kind == VF_RANGE_NONE || kind == VF_RANGE_UNSATISFIABLE);
    }
    if (ims)
        check_date(ims);
    for (int i = 0; i < 4; i++)
        if (h[i])
            check_coding(h[i]);
    free(text);
    return 0;
}
