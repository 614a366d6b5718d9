/*
 * stream.c - responses that go on until the server ends them (Server-Sent
 * Events): the head, then chunks, then the end.
 *
 * Threads: a stream belongs to the loop thread that received its request;
 * every call here is made on that thread.  Other threads hand work to it
 * through events of that loop (event_active), never by calling these.
 *
 * A client that goes away: evhttp notices the connection's end (a read EOF
 * or a failed write) and frees the connection, leaving the request with no
 * connection (evhttp does that for a request whose answer is still being
 * given).  vf_stream_alive() then says 0, and vf_stream_end() frees the
 * request.  No byte reaches a closed stream.
 *
 * A client that does not read: vf_stream_room() says how much more may be
 * handed to evhttp (its output buffer stays under VF_STREAM_MAX_BUFFERED),
 * so the caller keeps, and bounds, what waits.
 *
 * Owns: the thread's list of open streams and ending them all when the
 * server stops.  Must not: know what is streamed.
 */
#include "config.h"
#include "http/http.h"

#include "http/conn.h"
#include "http/server_internal.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>

/* An hour without the client sending a byte (it never does) ends the
 * stream; EventSource reconnects by itself.  Also how long a client may
 * leave written bytes unread. */
#define STREAM_TIMEOUT_S 3600

struct vf_stream {
    vf_req_t *r;
    struct vf_stream *next, *prev;   /* the thread's open streams */
    void (*on_stop)(void *arg);
    void *arg;
};

vf_stream_t *vf_reply_stream_start(vf_req_t *r, const char *content_type, void (*on_stop)(void *arg), void *arg)
{
    vf_stream_t *s = calloc(1, sizeof *s);
    if (!s) {
        vf_reply_msg(r, 500, "detail", "Out of memory.");
        return NULL;
    }
    s->r = r;
    s->on_stop = on_stop;
    s->arg = arg;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Accel-Buffering", "no"); /* a proxy must pass events on at once */
    evhttp_add_header(h, "X-Request-Id", r->request_id);
    vf_http_add_cors(r);
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
    if (evcon)
        evhttp_connection_set_timeout(evcon, STREAM_TIMEOUT_S);
    vf_http_thread_t *t = r->thread;
    vf_http_conn_reply_begins(t, r->ev);
    vf_req_count(r, 200);
    if (t->srv->app->cfg->server.access_log)
        vf_info("%s %s 200 stream %lldus id=%s", vf_http_method_name(r->method), r->path ? r->path : "-",
                (long long)(vf_mono_us() - r->start_us), r->request_id);
    evhttp_send_reply_start(r->ev, 200, "OK");
    s->next = t->streams;
    if (t->streams)
        t->streams->prev = s;
    t->streams = s;
    return s;
}

int vf_stream_alive(const vf_stream_t *s) { return evhttp_request_get_connection(s->r->ev) != NULL; }

size_t vf_stream_room(const vf_stream_t *s)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(s->r->ev);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    size_t queued = bev ? evbuffer_get_length(bufferevent_get_output(bev)) : VF_STREAM_MAX_BUFFERED;
    return queued < VF_STREAM_MAX_BUFFERED ? VF_STREAM_MAX_BUFFERED - queued : 0;
}

int vf_stream_send(vf_stream_t *s, struct evbuffer *chunk)
{
    if (!vf_stream_alive(s))
        return -EPIPE;
    evhttp_send_reply_chunk(s->r->ev, chunk);
    return 0;
}

struct event_base *vf_stream_base(const vf_stream_t *s) { return s->r->thread->base; }

void vf_stream_end(vf_stream_t *s)
{
    vf_http_thread_t *t = s->r->thread;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    /* Writes the last chunk, or frees the request when the client is gone. */
    evhttp_send_reply_end(s->r->ev);
    vf_req_release(s->r);
    free(s);
}

void vf_http_streams_stop(vf_http_thread_t *t)
{
    while (t->streams) {
        vf_stream_t *s = t->streams;
        s->on_stop(s->arg); /* ends s */
        if (t->streams == s)
            vf_stream_end(s); /* an owner that forgot must not hang the loop */
    }
}
