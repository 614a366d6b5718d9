/*
 * guard.c - judges every request from the bytes on its socket before evhttp
 * parses them: a body over its route's limit is refused from its
 * Content-Length, or from its chunk sizes as they arrive, before any of it
 * is held in memory, and a head evhttp would frame loosely (two different
 * lengths, a length with chunked) never reaches evhttp.
 * Owns: the byte stream between the socket and evhttp, the body limits of
 * the routes and their gates, which request of a connection is refused and
 * why.
 * Must not: answer requests (the dispatcher answers a refusal like any
 * other request) or keep connections (conn.c).
 *
 * Why here: evhttp (2.1.12) reads a whole body into memory before any
 * callback of ours runs, with one body limit for the whole server, and has
 * no hook between its head and its body for server requests.
 *
 * Design: each connection's socket bufferevent is made by us
 * (evhttp_set_bevcb), with an evbuffer callback on its input buffer.  That
 * callback runs inside the bufferevent's read, after the bytes are in the
 * buffer and before evhttp's read callback parses them, so:
 *  - Body bytes the guard already allowed pass untouched (no copy: the fast
 *    path of an upload).
 *  - Every other new byte (a head, a chunk-size line, the line ending a
 *    chunk) is moved out of evhttp's sight into `held` until the element is
 *    complete, then judged.  An accepted head goes back to the input buffer
 *    unchanged, so evhttp parses exactly the bytes the guard judged.
 *  - A refused head is replaced by a head the guard writes: the request
 *    line, Connection: close, and Origin and X-Request-Id when they were
 *    valid (for the answer's CORS headers and log line).  It has no body, so
 *    evhttp dispatches it at once.  Every byte after it is discarded as it
 *    arrives; conn.c lingers on the close (see there).
 *  - A chunked body over its limit, or malformed, is ended by the guard at a
 *    chunk boundary with a last chunk of its own; the rest is discarded.
 *  - The refusal itself travels beside evhttp, not through it: the guard
 *    counts the requests it hands to evhttp and notes the number of the
 *    refused one; evhttp dispatches a connection's requests in order, so
 *    the dispatcher knows it without anything a client could write (this
 *    evhttp keeps no trailer fields either).  It answers JSON (413 with the
 *    limit, 400, 431, 501) with Connection: close, before routing,
 *    authentication or anything else.
 *  - One request at a time: while a request handed to evhttp waits for its
 *    dispatch (pipelining), the next head is held and reading is suspended
 *    with a read watermark, so pipelined requests cannot pile up.
 * Bodies a route lets past server.max_body_size (uploads, up to their own
 * limit) are let in only when the route's gate admits the head (staff
 * access token); the handler still runs its full checks.
 *
 * What evhttp keeps is bounded by the limit of the request it reads; what
 * the guard holds, by the largest head (64 KiB, like evhttp's own limit) and
 * two reads while a pipelined request waits.
 */
#include "config.h"
#include "http/conn.h"
#include "http/head.h"
#include "util/block_pool.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* The same limit evhttp applies to heads (evhttp_set_max_headers_size). */
#define HEAD_MAX (64 * 1024)
/* "<hex digits> CRLF": no extensions (evhttp cannot read them). */
#define CHUNK_LINE_MAX 32
/* Held while a pipelined request waits: one head and two reads, for a
 * client that ignores the suspended reading (it cannot, but the bound
 * holds anyway). */
#define HOLD_MAX (HEAD_MAX + 64 * 1024)
/* Reading a body ahead of libevent (read_body_ahead): not for the last few
 * KiB, and at most this much per wake-up; a block with less room than
 * BLOCK_ROOM_MIN left is not read into any more. */
#define READ_AHEAD_MIN (64 * 1024)
#define READ_AHEAD_MAX (2 * VF_BLOCK_SIZE)
#define BLOCK_ROOM_MIN (64 * 1024)
/* Targets echoed into a refusal's head (longer ones are logged as "/"). */
#define TARGET_ECHO_MAX 2048

enum { G_HEAD, G_BODY, G_CHUNK_SIZE, G_CHUNK_DATA, G_CHUNK_END, G_TRAILER, G_DISCARD };

static const struct {
    int status;
    const char *message;
} refusals[VF_REFUSE_COUNT] = {
    [VF_REFUSE_MALFORMED] = {400, "Malformed request."},
    [VF_REFUSE_HEAD_TOO_LARGE] = {431, "Request header fields too large."},
    [VF_REFUSE_METHOD] = {501, "Method not implemented."},
    [VF_REFUSE_BAD_LENGTH] = {400, "Content-Length must be a number of bytes."},
    [VF_REFUSE_TWO_LENGTHS] = {400, "Content-Length is given twice with different values."},
    [VF_REFUSE_LENGTH_CHUNKED] = {400, "Content-Length and Transfer-Encoding cannot both be given."},
    [VF_REFUSE_BAD_CODING] = {400, "Transfer-Encoding must be chunked."},
    [VF_REFUSE_CODING] = {501, "Transfer codings other than chunked are not supported."},
    [VF_REFUSE_HEAD_BODY] = {400, "A HEAD request cannot have a body."},
    [VF_REFUSE_TOO_LARGE] = {413, NULL}, /* names the limit */
    [VF_REFUSE_BAD_CHUNK] = {400, "Malformed chunked body."},
    [VF_REFUSE_TRAILER] = {400, "Trailer fields are not accepted."},
};

/* --------------------------------------------------------------- limits */

void vf_guard_server_init(vf_http_server_t *srv)
{
    size_t least = (size_t)srv->app->cfg->server.max_body_size;
    for (size_t i = 0; i < srv->router->n; i++)
        if (srv->router->routes[i].max_body && srv->router->routes[i].max_body < least)
            least = srv->router->routes[i].max_body;
    srv->min_body_limit = least;
}

/* The body limit of the head's route: its own max_body, else
 * server.max_body_size; a gated route's larger limit only when its gate
 * admits the head.  Never above what evhttp itself accepts.  `declared` is
 * the Content-Length (UINT64_MAX: chunked, not known yet). */
static uint64_t body_limit(vf_http_conn_t *c, const vf_http_head_t *h, int method, uint64_t declared)
{
    vf_http_server_t *srv = c->thread->srv;
    if (declared <= srv->min_body_limit)
        return srv->min_body_limit; /* within every route's limit: no need to find the route */
    uint64_t server_max = (uint64_t)srv->app->cfg->server.max_body_size, limit = server_max;
    char *target = strndup(h->target, h->target_len);
    struct evhttp_uri *uri = target ? evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT) : NULL;
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    size_t len = 0;
    char *path = raw ? evhttp_uridecode(raw, 0, &len) : NULL;
    vf_route_match_t m;
    if (path && len == strlen(path) && vf_router_match(srv->router, method, path, &m) == 0) {
        const vf_route_t *route = m.route;
        if (route && route->max_body) {
            if (route->max_body <= server_max || !route->body_gate)
                limit = route->max_body;
            else if (route->body_gate(&c->thread->ctx, h))
                limit = route->max_body;
        }
        vf_route_match_free(&m);
    }
    free(path);
    if (uri)
        evhttp_uri_free(uri);
    free(target);
    return limit < srv->evhttp_max_body ? limit : srv->evhttp_max_body;
}

/* ------------------------------------------------------------- buffers */

/* Stop judging: nothing more reaches evhttp, and the client sees its
 * connection end (only when memory runs out). */
static void give_up(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_error("http: out of memory judging a request; closing its connection");
    c->guard.state = G_DISCARD;
    evbuffer_drain(in, evbuffer_get_length(in));
    evbuffer_drain(c->guard.held, evbuffer_get_length(c->guard.held));
    shutdown(c->fd, SHUT_RDWR);
}

/* Append src to dst by copying, so that small pieces fill dst's last chain
 * instead of adding one chain each (a client sending a byte at a time). */
static int append_copy(struct evbuffer *dst, struct evbuffer *src)
{
    struct evbuffer_iovec v;
    while (evbuffer_get_length(src) > 0) {
        if (evbuffer_peek(src, -1, NULL, &v, 1) < 1 || evbuffer_add(dst, v.iov_base, v.iov_len) != 0)
            return -1;
        evbuffer_drain(src, v.iov_len);
    }
    return 0;
}

/* Move the last n bytes of `in` (the newest) to the end of `dst`, leaving
 * the bytes before them, which evhttp may still be reading, in place. */
static int take_tail(struct evbuffer *in, size_t n, struct evbuffer *dst)
{
    size_t len = evbuffer_get_length(in);
    if (n == 0)
        return 0;
    struct evbuffer *front = NULL;
    if (n < len) {
        front = evbuffer_new();
        /* (Its int result cannot tell a body over 2 GiB from a failure.) */
        if (front)
            evbuffer_remove_buffer(in, front, len - n);
        if (!front || evbuffer_get_length(in) != n) {
            if (front) {
                evbuffer_prepend_buffer(in, front);
                evbuffer_free(front);
            }
            return -1;
        }
    }
    int rc = evbuffer_get_length(dst) == 0 ? evbuffer_add_buffer(dst, in) : append_copy(dst, in);
    if (front) {
        if (evbuffer_prepend_buffer(in, front) != 0)
            rc = -1;
        evbuffer_free(front);
    }
    return rc;
}

/* Drop the last n bytes of `in`. */
static int drop_tail(struct evbuffer *in, size_t n)
{
    if (n >= evbuffer_get_length(in))
        return evbuffer_drain(in, evbuffer_get_length(in));
    struct evbuffer *tail = evbuffer_new();
    int rc = tail ? take_tail(in, n, tail) : -1;
    if (tail)
        evbuffer_free(tail);
    return rc;
}

/* ------------------------------------------------------------- refusals */

/* The request handed to evhttp last is refused: the dispatcher answers. */
static void note_refusal(vf_http_conn_t *c, vf_refusal_t why, uint64_t limit)
{
    c->refused = c->handed;
    c->refusal = (int)why;
    c->refusal_limit = limit;
    c->guard.state = G_DISCARD;
}

/* A field of the refused head worth keeping in its replacement. */
static void copy_field(struct evbuffer *out, const vf_http_head_t *h, const char *name, size_t max)
{
    for (size_t i = 0; i < h->nfields; i++) {
        const vf_http_field_t *f = &h->fields[i];
        if (f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0) {
            if (f->value_len <= max)
                evbuffer_add_printf(out, "%s: %.*s\r\n", name, (int)f->value_len, f->value);
            return;
        }
    }
}

/* The refused request's target goes into its replacement (for the access
 * log) only when evhttp will surely parse it: its refusal must be answered
 * by the dispatcher, not by evhttp's own error page. */
static int target_echoable(const vf_http_head_t *h)
{
    if (h->target_len > TARGET_ECHO_MAX)
        return 0;
    char *target = strndup(h->target, h->target_len);
    struct evhttp_uri *uri = target ? evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT) : NULL;
    free(target);
    if (!uri)
        return 0;
    evhttp_uri_free(uri);
    return 1;
}

/* Replace the head being judged (and everything after it) by a bodiless
 * head carrying the refusal.  h: the parsed head, or NULL when it is not
 * one. */
static void refuse_head(vf_http_conn_t *c, struct evbuffer *in, const vf_http_head_t *h, vf_refusal_t why,
                        uint64_t limit)
{
    vf_guard_t *g = &c->guard;
    struct evbuffer *head = evbuffer_new();
    int method = h ? vf_http_head_method(h) : 0;
    int ok = head != NULL;
    if (ok && method && target_echoable(h))
        ok = evbuffer_add_printf(head, "%.*s %.*s HTTP/1.1\r\n", (int)h->method_len, h->method,
                                 (int)h->target_len, h->target) > 0;
    else if (ok)
        ok = evbuffer_add_printf(head, "%s / HTTP/1.1\r\n", method == VF_HEAD ? "HEAD" : "GET") > 0;
    if (ok && h) {
        /* The answer needs them: CORS for a browser on an allowed origin,
         * the id a proxy assigned for the access log. */
        copy_field(head, h, "Origin", 1024);
        copy_field(head, h, "X-Request-Id", 64);
    }
    ok = ok && evbuffer_add(head, "Connection: close\r\n\r\n", 21) == 0;
    /* After the head's pointers are no longer needed. */
    evbuffer_drain(g->held, evbuffer_get_length(g->held));
    if (!ok || evbuffer_add_buffer(in, head) != 0) {
        if (head)
            evbuffer_free(head);
        give_up(c, in);
        return;
    }
    evbuffer_free(head);
    c->handed++;
    note_refusal(c, why, limit);
}

/* End a chunked body the guard stops reading: a last chunk (unless evhttp
 * is already past it) and the empty line after it. */
static void refuse_body(vf_http_conn_t *c, struct evbuffer *in, vf_refusal_t why)
{
    vf_guard_t *g = &c->guard;
    evbuffer_drain(g->held, evbuffer_get_length(g->held));
    int ok = g->state == G_TRAILER ? evbuffer_add(in, "\r\n", 2) == 0 : evbuffer_add(in, "0\r\n\r\n", 5) == 0;
    if (!ok) {
        give_up(c, in);
        return;
    }
    note_refusal(c, why, g->limit);
}

/* ---------------------------------------------------------------- heads */

/* Suspend reading until the request waiting in evhttp is dispatched; what
 * arrived meanwhile stays held.  A read high watermark of one byte over a
 * non-empty input buffer stops the bufferevent reading, whatever evhttp
 * enables. */
static void hold(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_guard_t *g = &c->guard;
    if (evbuffer_get_length(g->held) > HOLD_MAX) {
        refuse_head(c, in, NULL, VF_REFUSE_HEAD_TOO_LARGE, 0);
        return;
    }
    if (!g->holding) {
        g->holding = 1;
        bufferevent_setwatermark(c->bev, EV_READ, 0, 1);
    }
}

/* Empty lines before a request line are ignored (RFC 9112 section 2.2):
 * some clients end a body with an extra CRLF.  0 when more bytes are needed
 * to know. */
static int skip_empty_lines(vf_guard_t *g)
{
    unsigned char two[2];
    for (;;) {
        size_t have = evbuffer_copyout(g->held, two, 2) < 0 ? 0 : evbuffer_get_length(g->held);
        if (have == 0 || (two[0] == '\r' && have == 1))
            return 0;
        if (two[0] == '\n')
            evbuffer_drain(g->held, 1);
        else if (two[0] == '\r' && two[1] == '\n')
            evbuffer_drain(g->held, 2);
        else
            return 1;
    }
}

/* Look for the empty line ending the head, from where the last look
 * stopped.  Its length into *len, or 0 while it is incomplete. */
static int find_head_end(vf_guard_t *g, size_t *len)
{
    size_t total = evbuffer_get_length(g->held);
    size_t upto = total < HEAD_MAX ? total : HEAD_MAX;
    while (g->scanned < upto) {
        struct evbuffer_ptr at;
        struct evbuffer_iovec v[8];
        if (evbuffer_ptr_set(g->held, &at, g->scanned, EVBUFFER_PTR_SET) != 0)
            return 0;
        int nv = evbuffer_peek(g->held, (ev_ssize_t)(upto - g->scanned), &at, v, 8);
        if (nv <= 0)
            return 0;
        for (int i = 0; i < nv && i < 8 && g->scanned < upto; i++) {
            const char *p = v[i].iov_base, *end = p + v[i].iov_len;
            if ((size_t)(end - p) > upto - g->scanned)
                end = p + (upto - g->scanned);
            while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nl ? nl : end;
                if (stop > p) {
                    g->line_bytes += (size_t)(stop - p);
                    g->last = stop[-1];
                }
                g->scanned += (size_t)(stop - p);
                if (!nl)
                    break;
                g->scanned++;
                /* An empty line (LF, or CRLF) after the request line. */
                if (g->line_bytes == 0 || (g->line_bytes == 1 && g->last == '\r')) {
                    *len = g->scanned;
                    return 1;
                }
                g->line_bytes = 0;
                p = nl + 1;
            }
        }
    }
    return 0;
}

/* Judge the complete head buf[0..len): VF_REFUSE_NONE with how its body is
 * framed and its limit, or the refusal (*parsed: h holds the head). */
static vf_refusal_t judge_complete(vf_http_conn_t *c, const char *buf, size_t len, vf_http_head_t *h,
                                   vf_body_framing_t *f, uint64_t *limit, int *parsed)
{
    *limit = 0;
    vf_refusal_t why = vf_http_head_parse(buf, len, h);
    *parsed = why == VF_REFUSE_NONE;
    int method = why == VF_REFUSE_NONE ? vf_http_head_method(h) : 0;
    if (why == VF_REFUSE_NONE && !method)
        why = VF_REFUSE_METHOD;
    if (why == VF_REFUSE_NONE)
        why = vf_http_head_framing(h, f);
    if (why == VF_REFUSE_NONE && f->kind != VF_BODY_NONE) {
        *limit = body_limit(c, h, method, f->kind == VF_BODY_LENGTH ? f->length : UINT64_MAX);
        if (f->kind == VF_BODY_LENGTH && f->length > *limit)
            why = VF_REFUSE_TOO_LARGE;
    }
    return why;
}

/* An accepted head is with evhttp: judge its body next. */
static void accepted(vf_http_conn_t *c, const vf_body_framing_t *f, uint64_t limit)
{
    vf_guard_t *g = &c->guard;
    c->handed++;
    g->limit = limit;
    g->remaining = f->length;
    g->chunked_total = 0;
    g->state = f->kind == VF_BODY_LENGTH ? G_BODY : f->kind == VF_BODY_CHUNKED ? G_CHUNK_SIZE : G_HEAD;
}

/* Judge the head at the start of `held`.  0 when it needs more bytes. */
static int judge_head(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_guard_t *g = &c->guard;
    if (c->handed > c->dispatched) {
        hold(c, in);
        return 0;
    }
    if (g->scanned == 0 && !skip_empty_lines(g))
        return 0;
    size_t len = 0;
    if (!find_head_end(g, &len)) {
        if (evbuffer_get_length(g->held) <= HEAD_MAX)
            return 0;
        refuse_head(c, in, NULL, VF_REFUSE_HEAD_TOO_LARGE, 0);
        return 1;
    }
    g->scanned = g->line_bytes = 0;
    const char *buf = (const char *)evbuffer_pullup(g->held, (ev_ssize_t)len);
    if (!buf) {
        give_up(c, in);
        return 1;
    }
    vf_http_head_t h;
    vf_body_framing_t f = {VF_BODY_NONE, 0};
    uint64_t limit;
    int parsed;
    vf_refusal_t why = judge_complete(c, buf, len, &h, &f, &limit, &parsed);
    if (why != VF_REFUSE_NONE) {
        refuse_head(c, in, parsed ? &h : NULL, why, limit);
        return 1;
    }
    if (evbuffer_remove_buffer(g->held, in, len) < 0) {
        give_up(c, in);
        return 1;
    }
    accepted(c, &f, limit);
    return 1;
}

/* The common case, judged where it lies: the input buffer holds nothing but
 * new bytes, and they start with a whole head in one piece.  The length of
 * that head when it is accepted (evhttp parses exactly those bytes), else
 * 0: the bytes take the way through `held`. */
static size_t head_in_place(vf_http_conn_t *c, struct evbuffer *in)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
        return 0;
    const char *buf = v.iov_base, *p = buf;
    size_t avail = v.iov_len < HEAD_MAX ? v.iov_len : HEAD_MAX, len = 0;
    if (*buf == '\r' || *buf == '\n')
        return 0; /* empty lines first */
    for (const char *nl; !len && (nl = memchr(p, '\n', avail - (size_t)(p - buf))) != NULL; p = nl + 1) {
        size_t rest = avail - (size_t)(nl + 1 - buf);
        if (rest >= 1 && nl[1] == '\n')
            len = (size_t)(nl + 2 - buf);
        else if (rest >= 2 && nl[1] == '\r' && nl[2] == '\n')
            len = (size_t)(nl + 3 - buf);
    }
    vf_http_head_t h;
    vf_body_framing_t f = {VF_BODY_NONE, 0};
    uint64_t limit;
    int parsed;
    if (!len || judge_complete(c, buf, len, &h, &f, &limit, &parsed) != VF_REFUSE_NONE)
        return 0;
    accepted(c, &f, limit);
    return len;
}

/* ------------------------------------------------------------- chunked */

/* "<hex digits>" and the end of the line.  0 when it needs more bytes. */
static int judge_chunk_size(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_guard_t *g = &c->guard;
    char line[CHUNK_LINE_MAX + 1];
    ev_ssize_t have = evbuffer_copyout(g->held, line, CHUNK_LINE_MAX);
    if (have < 0) {
        give_up(c, in);
        return 1;
    }
    const char *lf = memchr(line, '\n', (size_t)have);
    if (!lf) {
        if (have < CHUNK_LINE_MAX)
            return 0;
        refuse_body(c, in, VF_REFUSE_BAD_CHUNK);
        return 1;
    }
    size_t digits = 0;
    uint64_t size = 0;
    for (; line + digits < lf; digits++) {
        char ch = line[digits];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        size = size >> 60 ? UINT64_MAX >> 4 : size * 16 + (uint64_t)d;
    }
    const char *rest = line + digits;
    if (digits == 0 || !(rest == lf || (rest + 1 == lf && *rest == '\r'))) {
        refuse_body(c, in, VF_REFUSE_BAD_CHUNK);
        return 1;
    }
    if (size > g->limit - g->chunked_total) {
        refuse_body(c, in, VF_REFUSE_TOO_LARGE);
        return 1;
    }
    if (evbuffer_remove_buffer(g->held, in, (size_t)(lf - line) + 1) < 0) {
        give_up(c, in);
        return 1;
    }
    g->chunked_total += size;
    g->remaining = size;
    g->state = size ? G_CHUNK_DATA : G_TRAILER;
    return 1;
}

/* The line end after a chunk's data, or the empty line ending the body
 * (trailer fields are refused).  0 when it needs more bytes. */
static int judge_line_end(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_guard_t *g = &c->guard;
    unsigned char two[2] = {0, 0};
    ev_ssize_t have = evbuffer_copyout(g->held, two, 2);
    if (have < 1)
        return 0;
    size_t n = two[0] == '\n' ? 1 : two[0] == '\r' && have == 2 && two[1] == '\n' ? 2 : 0;
    if (n == 0 && two[0] == '\r' && have == 1)
        return 0;
    if (n == 0) {
        refuse_body(c, in, g->state == G_TRAILER ? VF_REFUSE_TRAILER : VF_REFUSE_BAD_CHUNK);
        return 1;
    }
    if (evbuffer_remove_buffer(g->held, in, n) < 0) {
        give_up(c, in);
        return 1;
    }
    g->state = g->state == G_TRAILER ? G_HEAD : G_CHUNK_SIZE;
    return 1;
}

/* ---------------------------------------------------------------- judge */

/* Judge what `held` has, handing accepted bytes to `in`, until it is empty
 * or waits for more. */
static void judge(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_guard_t *g = &c->guard;
    for (;;) {
        size_t avail = evbuffer_get_length(g->held);
        if (avail == 0)
            return;
        switch (g->state) {
        case G_BODY:
        case G_CHUNK_DATA: {
            size_t k = avail < g->remaining ? avail : (size_t)g->remaining;
            if (evbuffer_remove_buffer(g->held, in, k) < 0) {
                give_up(c, in);
                return;
            }
            g->remaining -= k;
            if (g->remaining == 0)
                g->state = g->state == G_BODY ? G_HEAD : G_CHUNK_END;
            break;
        }
        case G_HEAD:
            if (!judge_head(c, in))
                return;
            break;
        case G_CHUNK_SIZE:
            if (!judge_chunk_size(c, in))
                return;
            break;
        case G_CHUNK_END:
        case G_TRAILER:
            if (!judge_line_end(c, in))
                return;
            break;
        default: /* G_DISCARD */
            evbuffer_drain(g->held, avail);
            return;
        }
    }
}

/* Between requests a connection holds no block: an idle keep-alive
 * connection costs no MiB. */
static void release_block(vf_guard_t *g)
{
    if (g->block)
        vf_block_unref(g->block);
    g->block = NULL;
}

static void piece_done(const void *data, size_t len, void *block)
{
    (void)data;
    (void)len;
    vf_block_unref(block);
}

/* Read the rest of an allowed body straight from the socket, in large
 * pieces, into blocks of the pool that evhttp's buffer then refers to (no
 * copy).  Why: libevent 2.1 reads a socket 4 KiB per wake-up (its
 * EVBUFFER_MAX_READ), three system calls each, which made a 16 MiB upload
 * chunk take about 35 ms to arrive on loopback; and pieces of fresh memory
 * cost more in page faults than that saves, so the blocks are reused ones
 * (block_pool.h).  Called inside the bufferevent's read with `busy` set, so
 * the callbacks the additions cause are ours; never past the body's end, so
 * the next head still takes the judged way; at most READ_AHEAD_MAX per
 * wake-up, so the loop's other connections get their turn.  End of file and
 * errors are left for the bufferevent's next read, which sees them again. */
static void read_body_ahead(vf_http_conn_t *c, struct evbuffer *in)
{
    vf_guard_t *g = &c->guard;
    size_t budget = READ_AHEAD_MAX;
    while (g->state == G_BODY && g->remaining >= READ_AHEAD_MIN && budget > 0) {
        size_t room = 0;
        unsigned char *at = g->block ? vf_block_room(g->block, &room) : NULL;
        if (room < BLOCK_ROOM_MIN) {
            release_block(g);
            if (!(g->block = vf_block_get()))
                return; /* libevent reads on, in its own small pieces */
            at = vf_block_room(g->block, &room);
        }
        size_t want = g->remaining < budget ? (size_t)g->remaining : budget;
        if (want > room)
            want = room;
        ssize_t got = read(c->fd, at, want);
        if (got <= 0)
            return;
        vf_block_ref(g->block);
        if (evbuffer_add_reference(in, at, (size_t)got, piece_done, g->block) != 0) {
            vf_block_unref(g->block);
            give_up(c, in);
            return;
        }
        vf_block_fill(g->block, (size_t)got);
        g->remaining -= (uint64_t)got;
        budget -= (size_t)got;
        if (g->remaining == 0) {
            g->state = G_HEAD;
            release_block(g);
        }
        if ((size_t)got < want)
            return; /* the socket is drained for now */
    }
}

/* The last n bytes of `in` have just arrived. */
static void take(vf_http_conn_t *c, struct evbuffer *in, size_t n)
{
    vf_guard_t *g = &c->guard;
    if (g->state == G_HEAD && c->handed == c->dispatched && evbuffer_get_length(g->held) == 0 &&
        n == evbuffer_get_length(in)) {
        n -= head_in_place(c, in);
        if (n == 0)
            return;
    }
    if ((g->state == G_BODY || g->state == G_CHUNK_DATA) && evbuffer_get_length(g->held) == 0) {
        /* Allowed body bytes stay where they are. */
        size_t k = n < g->remaining ? n : (size_t)g->remaining;
        g->remaining -= k;
        n -= k;
        if (g->remaining == 0) {
            g->state = g->state == G_BODY ? G_HEAD : G_CHUNK_END;
            release_block(g);
        }
        if (n == 0) {
            read_body_ahead(c, in);
            return;
        }
    }
    if (g->state == G_DISCARD) {
        if (drop_tail(in, n) != 0)
            give_up(c, in);
        return;
    }
    if (take_tail(in, n, g->held) != 0) {
        give_up(c, in);
        return;
    }
    judge(c, in);
}

static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    vf_http_conn_t *c = arg;
    if (c->guard.busy || info->n_added == 0)
        return;
    c->guard.busy = 1;
    take(c, in, info->n_added);
    c->guard.busy = 0;
}

/* The first bytes of a connection: its record is made now (evhttp has
 * adopted the bufferevent), and judges from here on. */
static void on_first_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    if (info->n_added == 0)
        return;
    vf_http_thread_t *t = vf_http_conn_thread();
    vf_http_conn_t *c = t ? vf_http_conn_new(t, bev) : NULL;
    if (c) {
        /* Safe inside the callback: the list walk has its next entry. */
        evbuffer_remove_cb(in, on_first_input, bev);
        c->input_cb = evbuffer_add_cb(in, on_input, c);
    }
    if (!c || !c->input_cb) {
        /* Nothing unjudged may reach evhttp: the connection ends (its
         * record, if any, with it). */
        vf_error("http: out of memory for a new connection; closing it");
        evbuffer_drain(in, evbuffer_get_length(in));
        shutdown(bufferevent_getfd(bev), SHUT_RDWR);
        return;
    }
    on_input(in, info, c);
}

struct bufferevent *vf_guard_bufferevent(struct event_base *base, void *arg)
{
    (void)arg;
    /* The options evhttp would use itself (it closes the socket). */
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (bev && !evbuffer_add_cb(bufferevent_get_input(bev), on_first_input, bev)) {
        bufferevent_free(bev);
        bev = NULL;
    }
    return bev;
}

void vf_guard_resume(vf_http_conn_t *c)
{
    vf_guard_t *g = &c->guard;
    if (c->handed > c->dispatched || g->busy)
        return;
    if (g->holding) {
        g->holding = 0;
        bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    }
    if (evbuffer_get_length(g->held) == 0)
        return;
    /* Outside a read the bufferevent keeps its input's end frozen. */
    struct evbuffer *in = bufferevent_get_input(c->bev);
    g->busy = 1;
    evbuffer_unfreeze(in, 0);
    judge(c, in);
    evbuffer_freeze(in, 0);
    g->busy = 0;
}

int vf_guard_refused(const vf_http_conn_t *c) { return c->guard.state == G_DISCARD; }

void vf_guard_fini(vf_guard_t *g)
{
    if (g->held)
        evbuffer_free(g->held);
    g->held = NULL;
    release_block(g);
}

void vf_guard_refusal_text(int why, uint64_t limit, int *status, char *msg, size_t len)
{
    if (why <= VF_REFUSE_NONE || why >= VF_REFUSE_COUNT)
        why = VF_REFUSE_MALFORMED;
    *status = refusals[why].status;
    if (refusals[why].message)
        snprintf(msg, len, "%s", refusals[why].message);
    else
        snprintf(msg, len, "Request body too large: the limit is %" PRIu64 " bytes.", limit);
}
