/*
 * metrics_server.c - see metrics_server.h.  Scrapes are rare (every few
 * seconds) and cheap, so one thread serves them one at a time; a slow
 * Redis read in a collector delays only the scrape.
 * Must not: take requests meant for the API (anything but GET or HEAD
 * /metrics is 404/405), or share a connection with another thread.
 */
#include "config.h"
#include "http/metrics_server.h"
#include "util/log.h"
#include "util/metrics_series.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vf_metrics_server {
    vf_thread_ctx_t ctx;
    const char *role;
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_check;
    atomic_int stopping;
    pthread_t thread;
    int started;
};

static void serve_metrics(struct evhttp_request *req, void *arg)
{
    vf_metrics_server_t *s = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    vf_metrics_text_t text = {0};
    vf_metrics_render_all(&text, s->role, &s->ctx);
    struct evbuffer *body = evbuffer_new();
    if (text.failed || !body || evbuffer_add(body, text.data, text.len) != 0) {
        vf_metrics_text_free(&text);
        if (body)
            evbuffer_free(body);
        evhttp_send_error(req, 500, "Out of memory");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* evhttp would write the body for HEAD too: announce it, send none. */
    if (cmd == EVHTTP_REQ_HEAD) {
        char len[32];
        snprintf(len, sizeof len, "%zu", text.len);
        evhttp_add_header(h, "Content-Length", len);
        evbuffer_drain(body, evbuffer_get_length(body));
    }
    vf_metrics_text_free(&text);
    evhttp_send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}

static void not_found(struct evhttp_request *req, void *arg)
{
    (void)arg;
    evhttp_send_error(req, 404, "Not Found");
}

/* A loopbreak sent before the loop starts would be forgotten by it: the
 * thread looks at the flag itself. */
static void check_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vf_metrics_server_t *s = arg;
    if (atomic_load(&s->stopping))
        event_base_loopbreak(s->base);
}

static void *run(void *arg)
{
    vf_metrics_server_t *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

static void server_free(vf_metrics_server_t *s)
{
    if (s->stop_check)
        event_free(s->stop_check);
    if (s->http)
        evhttp_free(s->http);
    if (s->base)
        event_base_free(s->base);
    vf_thread_ctx_fini(&s->ctx);
    free(s);
}

int vf_metrics_server_start(vf_app_t *app, const char *listen, const char *role, vf_metrics_server_t **out)
{
    *out = NULL;
    if (!listen || !listen[0])
        return 0;
    char host[256];
    int port;
    if (vf_metrics_listen_parse(listen, host, sizeof host, &port) < 0) {
        vf_error("metrics: '%s' is not host:port", listen);
        return -EINVAL;
    }
    /* The stop comes from another thread: the base must have locks. */
    if (evthread_use_pthreads() != 0) {
        vf_error("metrics: libevent has no thread support");
        return -ENOSYS;
    }
    vf_metrics_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->role = role;
    if (vf_thread_ctx_init(&s->ctx, app, -1) < 0 || !(s->base = event_base_new()) ||
        !(s->http = evhttp_new(s->base)) || !(s->stop_check = event_new(s->base, -1, EV_PERSIST, check_stop, s)) ||
        event_add(s->stop_check, &(struct timeval){0, 100000}) != 0) {
        vf_error("metrics: out of memory");
        server_free(s);
        return -ENOMEM;
    }
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(s->http, 30);
    evhttp_set_max_body_size(s->http, 0);
    if (evhttp_set_cb(s->http, "/metrics", serve_metrics, s) != 0) {
        server_free(s);
        return -ENOMEM;
    }
    evhttp_set_gencb(s->http, not_found, NULL);
    if (!evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port)) {
        vf_error("metrics: cannot listen on %s: %s", listen, strerror(errno));
        server_free(s);
        return -EADDRNOTAVAIL;
    }
    /* The thread takes no process signals: the worker waits for SIGTERM
     * with sigtimedwait after blocking it, and a thread started earlier
     * with it unblocked would get the default action (death). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        vf_error("metrics: cannot start the thread: %s", strerror(rc));
        server_free(s);
        return -rc;
    }
    s->started = 1;
    vf_info("metrics: serving http://%s/metrics", listen);
    *out = s;
    return 0;
}

void vf_metrics_server_stop(vf_metrics_server_t **ps)
{
    vf_metrics_server_t *s = *ps;
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stopping, 1);
        pthread_join(s->thread, NULL);
    }
    server_free(s);
    *ps = NULL;
}
