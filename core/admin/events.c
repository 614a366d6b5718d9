/*
 * events.c - see events.h: the hub and the endpoint.
 *
 * Threads.  A client (one open stream) lives on the loop thread that
 * received its request: its stream, its heartbeat timer and its wake-up
 * event are used there only, and it is freed there.  The feed thread (or any
 * other) only appends to a client's backlog under hub.lock and activates
 * its wake-up event, also under the lock; a client is unlinked under the
 * lock before its events are freed, so no thread activates a freed event.
 *
 * Backpressure.  A client's backlog holds at most admin.events_backlog
 * events; on overflow the oldest go and the client gets a `resync` event
 * instead.  Events leave the backlog only while evhttp holds less than
 * VF_STREAM_MAX_BUFFERED unwritten bytes for it; otherwise they wait and
 * the wake-up is retried shortly.  A client that does not read costs at
 * most those two bounds.
 *
 * A client that goes away, or whose session is revoked, is noticed at its
 * next event or heartbeat and freed.  A stream ends when the access token
 * it was opened with expires (after an `expired` event): the token is
 * checked once, at the start, so a stream must not outlive it; the page
 * renews its session and opens a new one.
 */
#include "config.h"
#include "admin/events.h"

#include "accounts/auth.h"
#include "accounts/sessions.h"
#include "http/http.h"
#include "util/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_FULL_MS 200     /* a client with a full output buffer is tried again after */
#define RECONNECT_MS 3000     /* EventSource's wait before reconnecting */

typedef struct item {
    struct item *next;
    size_t len;
    char text[];              /* a whole SSE frame */
} item_t;

typedef struct client {
    struct client *next, *prev; /* hub.clients, under hub.lock */
    /* The loop thread's. */
    vf_stream_t *stream;
    struct event *wake, *beat, *expire;
    vf_thread_ctx_t *ctx;
    char session_id[40];
    /* Under hub.lock. */
    item_t *head, *tail;
    int count;
    int lost;
    int woken;
} client_t;

static struct {
    pthread_mutex_t lock;
    client_t *clients;
    int nclients;
    int backlog;
    int heartbeat;
    int started;
} hub = {.lock = PTHREAD_MUTEX_INITIALIZER};

static item_t *frame(const char *event, const char *data)
{
    int n = snprintf(NULL, 0, "event: %s\ndata: %s\n\n", event, data);
    item_t *it = n > 0 ? malloc(sizeof *it + (size_t)n + 1) : NULL;
    if (!it)
        return NULL;
    snprintf(it->text, (size_t)n + 1, "event: %s\ndata: %s\n\n", event, data);
    /* One data line: a newline inside would end the field early. */
    for (char *p = it->text + strlen("event: ") + strlen(event) + strlen("\ndata: "); p < it->text + n - 2; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    it->len = (size_t)n;
    it->next = NULL;
    return it;
}

/* Called with hub.lock held. */
static void push_locked(client_t *c, item_t *it)
{
    while (c->count >= hub.backlog && c->head) {
        item_t *old = c->head;
        c->head = old->next;
        if (!c->head)
            c->tail = NULL;
        free(old);
        c->count--;
        c->lost = 1;
    }
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->count++;
    if (!c->woken) {
        c->woken = 1;
        event_active(c->wake, EV_TIMEOUT, 0);
    }
}

void vf_admin_events_publish(const char *event, const char *data)
{
    pthread_mutex_lock(&hub.lock);
    for (client_t *c = hub.clients; c; c = c->next) {
        item_t *it = frame(event, data);
        if (it)
            push_locked(c, it);
        else
            c->lost = 1;
    }
    pthread_mutex_unlock(&hub.lock);
}

int vf_admin_events_clients(void)
{
    pthread_mutex_lock(&hub.lock);
    int n = hub.nclients;
    pthread_mutex_unlock(&hub.lock);
    return n;
}

/* ------------------------------------------------------ the loop thread */

static void client_close(client_t *c)
{
    pthread_mutex_lock(&hub.lock);
    if (c->prev)
        c->prev->next = c->next;
    else if (hub.clients == c)
        hub.clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub.nclients--;
    item_t *it = c->head;
    c->head = c->tail = NULL;
    pthread_mutex_unlock(&hub.lock);
    while (it) {
        item_t *next = it->next;
        free(it);
        it = next;
    }
    event_free(c->wake);
    event_free(c->beat);
    event_free(c->expire);
    vf_stream_end(c->stream);
    free(c);
}

static void on_stop(void *arg) { client_close(arg); }

/* 1 when the client may go on; 0 after closing it (gone, or its session
 * revoked). */
static int client_check(client_t *c)
{
    if (vf_stream_alive(c->stream) && !vf_sessions_is_revoked(c->ctx, c->session_id))
        return 1;
    client_close(c);
    return 0;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_t *c = arg;
    if (!client_check(c))
        return;
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        /* Still woken: try again shortly rather than never. */
        struct timeval later = {0, RETRY_FULL_MS * 1000};
        event_add(c->wake, &later);
        return;
    }
    size_t room = vf_stream_room(c->stream);
    pthread_mutex_lock(&hub.lock);
    c->woken = 0;
    if (c->lost && room > 64) {
        evbuffer_add_printf(out, "event: resync\ndata: {}\n\n");
        c->lost = 0;
    }
    while (c->head && evbuffer_get_length(out) + c->head->len <= room) {
        item_t *it = c->head;
        c->head = it->next;
        if (!c->head)
            c->tail = NULL;
        c->count--;
        evbuffer_add(out, it->text, it->len);
        free(it);
    }
    int waiting = c->head != NULL || c->lost;
    if (waiting)
        c->woken = 1; /* the retry below will run: no need to activate again */
    pthread_mutex_unlock(&hub.lock);
    if (evbuffer_get_length(out) > 0)
        vf_stream_send(c->stream, out);
    evbuffer_free(out);
    if (waiting) {
        struct timeval later = {0, RETRY_FULL_MS * 1000};
        event_add(c->wake, &later);
    }
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_t *c = arg;
    if (!client_check(c))
        return;
    if (vf_stream_room(c->stream) < 16)
        return; /* not reading: a comment would only wait too */
    struct evbuffer *out = evbuffer_new();
    if (out && evbuffer_add_printf(out, ": keep-alive\n\n") > 0)
        vf_stream_send(c->stream, out);
    if (out)
        evbuffer_free(out);
}

/* The access token the stream was opened with has expired: say so (the
 * page renews its session first) and end the stream. */
static void on_expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_t *c = arg;
    struct evbuffer *out = vf_stream_room(c->stream) >= 32 ? evbuffer_new() : NULL;
    if (out && evbuffer_add_printf(out, "event: expired\ndata: {}\n\n") > 0)
        vf_stream_send(c->stream, out);
    if (out)
        evbuffer_free(out);
    client_close(c);
}

/* GET /admin/api/events/ */
static void events_stream(vf_req_t *r)
{
    if (vf_auth_require_staff(r) != 0)
        return;
    int64_t expires = vf_auth_access_expires(r);
    pthread_mutex_lock(&hub.lock);
    int started = hub.started, heartbeat = hub.heartbeat;
    pthread_mutex_unlock(&hub.lock);
    if (!started) {
        vf_reply_header(r, "Retry-After", "5");
        vf_reply_msg(r, 503, "detail", "Live events are not available on this server.");
        return;
    }
    client_t *c = calloc(1, sizeof *c);
    if (!c) {
        vf_reply_msg(r, 500, "detail", "Out of memory.");
        return;
    }
    c->ctx = r->ctx;
    snprintf(c->session_id, sizeof c->session_id, "%s", r->session_id);
    c->stream = vf_reply_stream_start(r, "text/event-stream; charset=utf-8", on_stop, c);
    if (!c->stream) {
        free(c);
        return;
    }
    struct event_base *base = vf_stream_base(c->stream);
    c->wake = event_new(base, -1, 0, on_wake, c);
    c->beat = event_new(base, -1, EV_PERSIST, on_beat, c);
    c->expire = event_new(base, -1, 0, on_expire, c);
    struct timeval every = {heartbeat, 0};
    int64_t left = expires - (int64_t)time(NULL);
    struct timeval until = {left > 0 ? (time_t)left : 0, 0};
    struct evbuffer *hello = evbuffer_new();
    if (!c->wake || !c->beat || !c->expire || !hello || event_add(c->beat, &every) != 0 ||
        event_add(c->expire, &until) != 0 ||
        evbuffer_add_printf(hello, "retry: %d\nevent: hello\ndata: {\"heartbeat\": %d}\n\n", RECONNECT_MS,
                            heartbeat) < 0) {
        vf_error("events: cannot set up a client (out of memory)");
        if (hello)
            evbuffer_free(hello);
        if (c->wake)
            event_free(c->wake);
        if (c->beat)
            event_free(c->beat);
        if (c->expire)
            event_free(c->expire);
        vf_stream_end(c->stream);
        free(c);
        return;
    }
    vf_stream_send(c->stream, hello);
    evbuffer_free(hello);
    pthread_mutex_lock(&hub.lock);
    c->next = hub.clients;
    if (hub.clients)
        hub.clients->prev = c;
    hub.clients = c;
    hub.nclients++;
    pthread_mutex_unlock(&hub.lock);
}

void vf_admin_events_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/admin/api/events/", events_stream);
}

int vf_admin_events_start(vf_app_t *app)
{
    pthread_mutex_lock(&hub.lock);
    hub.backlog = app->cfg->admin.events_backlog;
    hub.heartbeat = app->cfg->admin.events_heartbeat;
    pthread_mutex_unlock(&hub.lock);
    int ret = vf_admin_feed_start(app);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&hub.lock);
    hub.started = 1;
    pthread_mutex_unlock(&hub.lock);
    return 0;
}

void vf_admin_events_stop(void)
{
    pthread_mutex_lock(&hub.lock);
    hub.started = 0;
    pthread_mutex_unlock(&hub.lock);
    vf_admin_feed_stop();
}
