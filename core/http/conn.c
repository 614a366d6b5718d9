/*
 * conn.c - a client connection beyond what evhttp keeps of it.
 *
 * Owns: the per-thread table of connections (by socket), their end, the
 * count of responses still being written on each, a half-close not cutting
 * a response short, and the lingering close of a connection whose request
 * the guard refused.
 * Must not: parse requests (guard.c) or answer them (reply.c).
 *
 * Life: a record is made when the first bytes of a connection arrive
 * (guard.c asks), and freed by evhttp's close callback, which evhttp calls
 * exactly once for a server connection that carried bytes: when it frees it
 * (an error, a timeout, Connection: close, evhttp_free) or resets it.  A
 * connection that never sent a byte has no record, so nothing can leak.
 *
 * Responses in flight: the thread counts a request finished when evhttp
 * reports its response written (on_complete).  When the client goes away
 * first, evhttp frees the request with the connection and never reports it,
 * so the close callback counts those responses finished instead; a
 * connection carries one response at a time, but the count does not assume
 * it.  A request whose connection ended before its handler answered is
 * counted by reply.c (it has no connection any more).
 *
 * A half-close during a response: evhttp keeps reading while it writes, to
 * notice a client that leaves, and takes a read EOF for one: it frees the
 * connection with the response unsent (headers out, the file segment not).
 * But a client may shut down its sending side once its request is sent
 * (HTTP allows it) and still read.  So while a response is written, the
 * bufferevent's event callback is ours: a read EOF alone is ignored (the
 * bufferevent has stopped reading by then) and the response goes out; any
 * other event goes to evhttp's callback.  evhttp puts its own callbacks
 * back when the response is done, sees the EOF again when it reads for the
 * next request, and closes.  (Pausing reading instead would cost two
 * epoll_ctl calls per request.)
 *
 * Lingering close: after a refusal the client may still be sending the body
 * it was refused.  Closing a socket with unread bytes makes the kernel send
 * a reset, which can destroy the refusal before the client reads it.  So the
 * socket of a refused connection is kept open (a dup() taken in the close
 * callback, before evhttp closes its own descriptor and sends the FIN) and
 * read and discarded until the client closes, is idle for a second, or five
 * seconds pass.
 */
#include "config.h"
#include "http/conn.h"
#include "util/timeutil.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define LINGER_TOTAL_US (5 * 1000000)
#define LINGER_IDLE_S 1

typedef struct vf_linger {
    struct vf_linger *next, *prev;
    vf_http_thread_t *thread;
    struct event *ev;
    evutil_socket_t fd;
    int64_t until_us;
} vf_linger_t;

static __thread vf_http_thread_t *this_thread;

void vf_http_conn_enter_thread(vf_http_thread_t *t) { this_thread = t; }

vf_http_thread_t *vf_http_conn_thread(void) { return this_thread; }

/* ------------------------------------------------------------ lingering */

static void linger_end(vf_linger_t *l)
{
    vf_http_thread_t *t = l->thread;
    if (l->prev)
        l->prev->next = l->next;
    else
        t->lingering = l->next;
    if (l->next)
        l->next->prev = l->prev;
    if (l->ev)
        event_free(l->ev);
    close(l->fd);
    free(l);
}

static void linger_read(evutil_socket_t fd, short what, void *arg)
{
    vf_linger_t *l = arg;
    int done = !(what & EV_READ) || vf_mono_us() >= l->until_us;
    char buf[16384];
    /* A bounded amount per wake-up, so one sender cannot hold the loop. */
    for (int i = 0; !done && i < 16; i++) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0)
            continue;
        done = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
        break;
    }
    if (done)
        linger_end(l);
}

static void linger_start(vf_http_thread_t *t, evutil_socket_t fd)
{
    vf_linger_t *l = calloc(1, sizeof *l);
    if (!l)
        return;
    /* The same open socket: non-blocking like evhttp's descriptor. */
    l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    struct timeval idle = {LINGER_IDLE_S, 0};
    l->ev = l->fd >= 0 ? event_new(t->base, l->fd, EV_READ | EV_PERSIST, linger_read, l) : NULL;
    if (!l->ev || event_add(l->ev, &idle) != 0) {
        if (l->ev)
            event_free(l->ev);
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return;
    }
    l->thread = t;
    l->until_us = vf_mono_us() + LINGER_TOTAL_US;
    l->next = t->lingering;
    if (l->next)
        l->next->prev = l;
    t->lingering = l;
}

/* ---------------------------------------------------------------- table */

static int table_put(vf_http_thread_t *t, evutil_socket_t fd, vf_http_conn_t *c)
{
    if ((size_t)fd >= t->nconns) {
        size_t n = t->nconns ? t->nconns : 64;
        while (n <= (size_t)fd)
            n *= 2;
        vf_http_conn_t **grown = realloc(t->conns, n * sizeof *grown);
        if (!grown)
            return -1;
        for (size_t i = t->nconns; i < n; i++)
            grown[i] = NULL;
        t->conns = grown;
        t->nconns = n;
    }
    t->conns[fd] = c;
    return 0;
}

/* evhttp's close callback: the end of the connection's record. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    vf_http_conn_t *c = arg;
    vf_http_thread_t *t = c->thread;
    /* Their requests were freed with the connection: never completed. */
    t->inflight -= c->writing;
    if (vf_guard_refused(c) && !t->tearing_down)
        linger_start(t, c->fd);
    if (c->input_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
    if ((size_t)c->fd < t->nconns && t->conns[c->fd] == c)
        t->conns[c->fd] = NULL;
    vf_guard_fini(&c->guard);
    free(c);
}

vf_http_conn_t *vf_http_conn_new(vf_http_thread_t *t, struct bufferevent *bev)
{
    void *cbarg = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (!cbarg || fd < 0)
        return NULL;
    vf_http_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->guard.held = evbuffer_new();
    if (!c->guard.held || table_put(t, fd, c) != 0) {
        vf_guard_fini(&c->guard);
        free(c);
        return NULL;
    }
    c->thread = t;
    c->bev = bev;
    c->evcon = cbarg; /* evhttp gives its connection as the bufferevent's argument */
    c->fd = fd;
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    return c;
}

vf_http_conn_t *vf_http_conn_of(vf_http_thread_t *t, struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    vf_http_conn_t *c = fd >= 0 && (size_t)fd < t->nconns ? t->conns[fd] : NULL;
    return c && c->evcon == evcon ? c : NULL;
}

int vf_http_conn_dispatched(vf_http_thread_t *t, struct evhttp_request *ev, int *status, char *msg, size_t len)
{
    vf_http_conn_t *c = vf_http_conn_of(t, evhttp_request_get_connection(ev));
    if (!c)
        return 0;
    int refused = 0;
    if (c->dispatched < c->handed) {
        c->dispatched++;
        refused = c->refused == c->dispatched;
    }
    if (refused)
        vf_guard_refusal_text(c->refusal, c->refusal_limit, status, msg, len);
    vf_guard_resume(c);
    return refused;
}

/* ----------------------------------------------------------- responses */

static void on_complete_conn(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    vf_http_conn_t *c = arg;
    c->writing--;
    c->thread->inflight--;
}

static void on_complete_thread(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    vf_http_thread_t *t = arg;
    t->inflight--;
}

vf_http_conn_t *vf_http_conn_reply_begins(vf_http_thread_t *t, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    if (!evcon) {
        t->inflight--; /* the client is gone: nothing left to write */
        return NULL;
    }
    vf_http_conn_t *c = vf_http_conn_of(t, evcon);
    if (c) {
        c->writing++;
        evhttp_request_set_on_complete_cb(ev, on_complete_conn, c);
    } else {
        evhttp_request_set_on_complete_cb(ev, on_complete_thread, t);
    }
    return c;
}

/* evhttp's event callback, the same for every connection: kept once more
 * beside each record, for an event that finds no record. */
static bufferevent_event_cb evhttp_event_cb;

/* The event callback while a response is written (see the top). */
static void on_event_writing(struct bufferevent *bev, short what, void *arg)
{
    vf_http_thread_t *t = vf_http_conn_thread();
    vf_http_conn_t *c = t ? vf_http_conn_of(t, arg) : NULL;
    if (what == (BEV_EVENT_READING | BEV_EVENT_EOF) && c)
        return;
    bufferevent_event_cb evhttp_cb = c ? c->evhttp_eventcb : __atomic_load_n(&evhttp_event_cb, __ATOMIC_RELAXED);
    if (evhttp_cb)
        evhttp_cb(bev, what, arg); /* may free c */
}

void vf_http_conn_reply_sent(vf_http_conn_t *c)
{
    if (!c)
        return;
    bufferevent_data_cb readcb, writecb;
    bufferevent_event_cb eventcb;
    void *arg;
    bufferevent_getcb(c->bev, &readcb, &writecb, &eventcb, &arg);
    if (eventcb == on_event_writing || arg != c->evcon)
        return;
    c->evhttp_eventcb = eventcb;
    __atomic_store_n(&evhttp_event_cb, eventcb, __ATOMIC_RELAXED);
    bufferevent_setcb(c->bev, readcb, writecb, on_event_writing, arg);
}

void vf_http_conn_fini_thread(vf_http_thread_t *t)
{
    while (t->lingering)
        linger_end(t->lingering);
    free(t->conns);
    t->conns = NULL;
    t->nconns = 0;
}
