/*
 * http.h - the request object every handler receives and the calls that
 * read it (request.c) and answer it (reply.c).  The threads that produce
 * requests are server.h's.
 * Owns: the request's lifetime: a handler answers exactly once, with one of
 * the vf_reply_* calls, which frees the request.
 * Must not: know any endpoint's meaning (handlers live in their modules).
 */
#ifndef VF_HTTP_H
#define VF_HTTP_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>

#include "http/router.h"
#include "runtime/app.h"

struct vf_http_thread;

typedef struct vf_req {
    struct evhttp_request *ev;
    vf_thread_ctx_t *ctx;
    struct vf_http_thread *thread;
    int method;                     /* VF_GET, ... */
    char *path;                     /* percent-decoded, without the query */
    struct evkeyvalq query;
    vf_route_match_t match;
    char request_id[40];
    int64_t start_us;
    int cors_allowed;               /* the Origin is in the allow-list */
    /* Set by auth when a user is authenticated. */
    int64_t user_id;
    int user_is_staff;
    char session_id[40];
} vf_req_t;

/* Route parameter i ("{id}" or "*"), or NULL. */
const char *vf_req_param(const vf_req_t *r, size_t i);
/* Parse a query string into (key, percent-decoded value) pairs.
 * Items without '=' or with an empty key are ignored, never an error, since
 * cache-busting query strings are common.  0 or -ENOMEM. */
int vf_query_parse(const char *query, struct evkeyvalq *out);
/* Query-string value (decoded), or NULL. */
const char *vf_req_query(const vf_req_t *r, const char *name);
/* Request header, or NULL. */
const char *vf_req_header(const vf_req_t *r, const char *name);
/* The request body (not NUL-terminated). */
const unsigned char *vf_req_body(const vf_req_t *r, size_t *len);
/* Parse the body as a JSON object.  On malformed JSON, answers 400
 * {"detail": "JSON parse error - ..."} itself and returns NULL; an empty
 * body gives an empty object. */
json_t *vf_req_json(vf_req_t *r);
/* The client's address: the peer, or the last untrusted hop of
 * X-Forwarded-For when the peer is a trusted proxy. */
const char *vf_req_client_ip(const vf_req_t *r, char *buf, size_t len);
/* Value of cookie `name`, malloc()ed, or NULL. */
char *vf_req_cookie(const vf_req_t *r, const char *name);

/* Add a response header (before replying). */
void vf_reply_header(vf_req_t *r, const char *name, const char *value);
/* Send a JSON body (stolen reference) and finish the request; r is freed. */
void vf_reply_json(vf_req_t *r, int status, json_t *body);
/* {"<key>": "<message>"} */
void vf_reply_msg(vf_req_t *r, int status, const char *key, const char *message);
/* {"<field>": ["<message>"]} (DRF's validation error shape) */
void vf_reply_field_error(vf_req_t *r, int status, const char *field, const char *message);
/* Any body: takes the evbuffer's contents; content_type may be NULL. */
void vf_reply_buffer(vf_req_t *r, int status, const char *content_type, struct evbuffer *body);

/* Run fn(arg) on the loop thread that owns r (for work finished on another
 * thread, e.g. password hashing).  Safe to call from any thread. */
int vf_req_run_in_loop(vf_req_t *r, void (*fn)(void *arg), void *arg);

/* ----------------------------------------------------------- streams */

/* A response that goes on until it is ended (Server-Sent Events; stream.c).
 * All of these are called on the loop thread that owns the request. */
typedef struct vf_stream vf_stream_t;
/* Bytes evhttp may hold unwritten for one stream. */
#define VF_STREAM_MAX_BUFFERED (256 * 1024)
/* Answer 200 with a chunked body of content_type; r now belongs to the
 * stream.  on_stop(arg) is called when the server stops, and must end the
 * stream.  NULL after answering 500. */
vf_stream_t *vf_reply_stream_start(vf_req_t *r, const char *content_type, void (*on_stop)(void *arg), void *arg);
/* 0 once the client has gone (nothing more can be written). */
int vf_stream_alive(const vf_stream_t *s);
/* How many more bytes may be handed over now without passing
 * VF_STREAM_MAX_BUFFERED unwritten (0 for a client that does not read). */
size_t vf_stream_room(const vf_stream_t *s);
/* Write the chunk's contents (drained).  0, or -EPIPE when the client left. */
int vf_stream_send(vf_stream_t *s, struct evbuffer *chunk);
/* The loop the stream lives on (for its timers and wake-up events). */
struct event_base *vf_stream_base(const vf_stream_t *s);
/* Finish the response and free everything of it. */
void vf_stream_end(vf_stream_t *s);

/* Every response to an allowed origin carries these (errors included). */
void vf_http_add_cors(vf_req_t *r);

#endif
