/*
 * range.h - conditional requests and byte ranges (RFC 9110 sections 13 and
 * 14) for a representation with a known ETag, Last-Modified and size.
 * Owns: parsing If-None-Match, If-Modified-Since, If-Range and Range and
 * what they decide.  Must not: read a request or reply (catalog/media.c and
 * catalog/content.c pass the header values and answer).
 */
#ifndef VF_HTTP_RANGE_H
#define VF_HTTP_RANGE_H

#include <stdint.h>

/* 1 when an If-None-Match header value matches etag (weak comparison, as
 * for GET and HEAD; "*" matches anything). */
int vf_etag_list_matches(const char *if_none_match, const char *etag);

/* 1 when GET/HEAD should answer 304: If-None-Match (either may be NULL)
 * matches etag, or, without If-None-Match, the representation last
 * modified at mtime (seconds) is not newer than If-Modified-Since. */
int vf_not_modified(const char *if_none_match, const char *if_modified_since, const char *etag,
                    int64_t mtime);

/* 1 when an If-Range header value allows the range: a strong ETag equal to
 * etag, or exactly the Last-Modified date. */
int vf_if_range_holds(const char *if_range, const char *etag, int64_t mtime);

typedef enum { VF_RANGE_NONE, VF_RANGE_ONE, VF_RANGE_UNSATISFIABLE } vf_range_kind_t;

/* One "bytes=first-last", "bytes=first-" or "bytes=-suffix" range of a
 * representation of `size` bytes: VF_RANGE_ONE with [*first, *last]
 * inside it, or VF_RANGE_UNSATISFIABLE (416).  Anything else (other units,
 * several ranges, bad syntax) is VF_RANGE_NONE, as RFC 9110 allows: the
 * whole representation is sent. */
vf_range_kind_t vf_range_parse(const char *range, uint64_t size, uint64_t *first, uint64_t *last);

#endif
