/*
 * head.h - a request head (request line and header fields) as guard.c reads
 * it off the socket before evhttp does.  Parsed strictly: whatever passes
 * here, evhttp frames the same way (where its body starts and ends), and a
 * route's body gate can look at the headers before any body byte is read.
 * Owns: the grammar of a head, how its body is framed, the refusals a head
 * can earn.  Must not: allocate (except vf_http_head_value) or touch
 * connections.
 */
#ifndef VF_HTTP_HEAD_H
#define VF_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

/* More header fields than any browser or tus client sends. */
#define VF_HEAD_MAX_FIELDS 128

typedef struct vf_http_field {
    const char *name;
    size_t name_len;
    const char *value;      /* without surrounding blanks */
    size_t value_len;
} vf_http_field_t;

/* Points into the buffer it was parsed from. */
typedef struct vf_http_head {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor;              /* HTTP/1.<minor> */
    size_t nfields;
    vf_http_field_t fields[VF_HEAD_MAX_FIELDS];
} vf_http_head_t;

/* Why a request is refused before evhttp sees it. */
typedef enum {
    VF_REFUSE_NONE = 0,
    VF_REFUSE_MALFORMED,      /* 400: not a request line and header fields */
    VF_REFUSE_HEAD_TOO_LARGE, /* 431: more bytes or fields than a head may have */
    VF_REFUSE_METHOD,         /* 501: a method no route can have */
    VF_REFUSE_BAD_LENGTH,     /* 400: Content-Length is not a number */
    VF_REFUSE_TWO_LENGTHS,    /* 400: Content-Length given twice, differently */
    VF_REFUSE_LENGTH_CHUNKED, /* 400: Content-Length with Transfer-Encoding */
    VF_REFUSE_BAD_CODING,     /* 400: Transfer-Encoding that does not end in chunked */
    VF_REFUSE_CODING,         /* 501: a transfer coding other than chunked */
    VF_REFUSE_HEAD_BODY,      /* 400: a body on HEAD, which evhttp never reads */
    VF_REFUSE_TOO_LARGE,      /* 413: over the route's body limit */
    VF_REFUSE_BAD_CHUNK,      /* 400: a malformed chunked body */
    VF_REFUSE_TRAILER,        /* 400: trailer fields after a chunked body */
    VF_REFUSE_COUNT
} vf_refusal_t;

typedef enum { VF_BODY_NONE, VF_BODY_LENGTH, VF_BODY_CHUNKED } vf_body_kind_t;

typedef struct vf_body_framing {
    vf_body_kind_t kind;
    uint64_t length;        /* VF_BODY_LENGTH; UINT64_MAX when too large to count */
} vf_body_framing_t;

/* Parse buf[0..len): a request line, header fields, and the empty line that
 * ends the head (lines end in LF or CRLF, as evhttp reads them).  Refuses
 * what evhttp could read differently from us: obsolete line folding, blanks
 * before a colon, control bytes, anything but HTTP/1.0 and HTTP/1.1.
 * VF_REFUSE_NONE, VF_REFUSE_MALFORMED or VF_REFUSE_HEAD_TOO_LARGE. */
vf_refusal_t vf_http_head_parse(const char *buf, size_t len, vf_http_head_t *h);

/* The route method bit (VF_GET, ...) of the head's method, or 0 for one
 * the server does not serve. */
int vf_http_head_method(const vf_http_head_t *h);

/* How the body is framed (RFC 9112 section 6): none, Content-Length (one
 * number, however often it is repeated) or chunked (the only coding).
 * VF_REFUSE_NONE or the refusal. */
vf_refusal_t vf_http_head_framing(const vf_http_head_t *h, vf_body_framing_t *f);

/* The value of the first field `name` (case-insensitive), malloc()ed and
 * NUL-terminated; NULL when there is none (or memory is short). */
char *vf_http_head_value(const vf_http_head_t *h, const char *name);

#endif
