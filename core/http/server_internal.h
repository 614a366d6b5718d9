/*
 * server_internal.h - what the three parts of core/http/ share and nothing
 * outside it may use: a loop thread, the server that owns the threads, and
 * the end of a request's life.  server.c runs the threads, request.c reads
 * requests, reply.c answers them, conn.c and guard.c watch connections.
 */
#ifndef VF_HTTP_SERVER_INTERNAL_H
#define VF_HTTP_SERVER_INTERNAL_H

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdint.h>

#include "http/http.h"
#include "http/server.h"

typedef struct vf_http_thread {
    vf_http_server_t *srv;
    int index;
    pthread_t tid;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev;
    struct event *drain_ev;
    vf_thread_ctx_t ctx;
    int inflight;            /* requests whose response is not yet written */
    int64_t drain_deadline_us;
    uint64_t counter;
    uint32_t id_salt;
    struct vf_http_conn **conns; /* by socket (conn.c) */
    size_t nconns;
    struct vf_linger *lingering; /* refused connections read to their end (conn.c) */
    int tearing_down;        /* evhttp_free is closing what is left */
    struct vf_stream *streams; /* open streamed responses (stream.c) */
} vf_http_thread_t;

struct vf_http_server {
    vf_app_t *app;
    const vf_router_t *router;
    int listen_fd;
    int nthreads;
    vf_http_thread_t *threads;
    size_t evhttp_max_body;
    size_t min_body_limit;   /* no route refuses a body this size (guard.c) */
    struct event_base *main_base;       /* while vf_http_server_run runs */
    struct vf_supervise *supervise;     /* readiness, watchdog, SIGHUP (supervise.h) */
};

/* Free what a request holds (its reply was given). */
void vf_req_release(vf_req_t *r);
/* End every open stream of the thread (the server stops). */
void vf_http_streams_stop(vf_http_thread_t *t);

/* "GET", "POST", ... for the access log and 405 messages. */
const char *vf_http_method_name(int method);
/* Count r in the metrics as answered with status (reply.c). */
void vf_req_count(const vf_req_t *r, int status);

#endif
