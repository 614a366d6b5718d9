/*
 * conn.h - a client connection as core/http/ sees it beyond what evhttp
 * keeps (conn.c), and the guard that judges its bytes before evhttp parses
 * them (guard.c).  Nothing outside core/http/ may use it.
 */
#ifndef VF_HTTP_CONN_H
#define VF_HTTP_CONN_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server_internal.h"

/* What guard.c knows about one connection's byte stream. */
typedef struct vf_guard {
    int state;
    uint64_t remaining;      /* body or chunk bytes still to let through */
    uint64_t limit;          /* body limit of the request being read */
    uint64_t chunked_total;  /* chunk bytes of that request so far */
    struct evbuffer *held;   /* bytes evhttp must not see before they are judged */
    size_t scanned;          /* bytes of `held` looked at for the end of a head */
    size_t line_bytes;       /* bytes of the head line being scanned */
    char last;               /* its last byte */
    int busy;                /* moving bytes itself: the callbacks that causes are its own */
    int holding;             /* reading suspended while a request waits for its dispatch */
    struct vf_block *block;  /* the pool block body bytes are read into (one reference) */
} vf_guard_t;

typedef struct vf_http_conn {
    vf_http_thread_t *thread;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    evutil_socket_t fd;
    struct evbuffer_cb_entry *input_cb;
    int writing;             /* responses handed to evhttp, not yet fully written */
    bufferevent_event_cb evhttp_eventcb; /* evhttp's, while ours stands in (conn.c) */
    uint64_t handed;         /* requests the guard handed to evhttp, refusals included */
    uint64_t dispatched;     /* of those, dispatched (evhttp keeps their order) */
    uint64_t refused;        /* the number of the one the guard refused; 0: none */
    int refusal;             /* why (vf_refusal_t) */
    uint64_t refusal_limit;  /* the body limit it broke */
    vf_guard_t guard;
} vf_http_conn_t;

/* ---------------------------------------------------------------- conn.c */

/* The loop thread running on this OS thread (set once by the thread). */
void vf_http_conn_enter_thread(vf_http_thread_t *t);
vf_http_thread_t *vf_http_conn_thread(void);
/* The record of the connection bev belongs to, made when its first bytes
 * arrive; evhttp's close callback frees it.  NULL when out of memory or when
 * evhttp has not adopted bev. */
vf_http_conn_t *vf_http_conn_new(vf_http_thread_t *t, struct bufferevent *bev);
/* The record of evcon, or NULL. */
vf_http_conn_t *vf_http_conn_of(vf_http_thread_t *t, struct evhttp_connection *evcon);
/* evhttp hands request ev to the dispatcher: the guard may judge the next
 * one.  1 when the guard refused ev, with the status and message of its
 * answer. */
int vf_http_conn_dispatched(vf_http_thread_t *t, struct evhttp_request *ev, int *status, char *msg,
                            size_t len);
/* Before evhttp_send_reply: count the response finished when its last byte
 * is written or its connection ends, whichever comes first.  The
 * connection's record, or NULL. */
vf_http_conn_t *vf_http_conn_reply_begins(vf_http_thread_t *t, struct evhttp_request *ev);
/* After evhttp_send_reply: a half-close cannot cut the response short. */
void vf_http_conn_reply_sent(vf_http_conn_t *c);
/* Thread teardown, after evhttp_free: lingering sockets closed, table freed. */
void vf_http_conn_fini_thread(vf_http_thread_t *t);

/* --------------------------------------------------------------- guard.c */

/* evhttp_set_bevcb: a socket bufferevent whose input the guard watches. */
struct bufferevent *vf_guard_bufferevent(struct event_base *base, void *arg);
/* Judge what was held back while a request waited for its dispatch. */
void vf_guard_resume(vf_http_conn_t *c);
/* 1 once the guard refused a request on c: what follows is discarded. */
int vf_guard_refused(const vf_http_conn_t *c);
void vf_guard_fini(vf_guard_t *g);
/* The smallest body limit of any route. */
void vf_guard_server_init(vf_http_server_t *srv);
/* The status and message of a refusal (vf_refusal_t). */
void vf_guard_refusal_text(int why, uint64_t limit, int *status, char *msg, size_t len);

#endif
