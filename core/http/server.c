/*
 * server.c - see server.h.
 *
 * Threads: the listening socket is dup()ed into every thread's evhttp, so a
 * thread can stop accepting on its own at shutdown, and a blocking database
 * call stalls only the connections of its own thread.
 *
 * Bytes: every connection's bufferevent is made by guard.c, which judges
 * each request's head and body framing before evhttp parses them (body
 * limits, ambiguous framing); a request it refused reaches dispatch()
 * without its body and is answered with the refusal alone.  conn.c keeps
 * what evhttp does not about a connection.
 *
 * Shutdown: SIGTERM/SIGINT on the main loop asks every thread to close its
 * listener; each thread then waits until the responses it owes are fully
 * written or their clients are gone (or server.shutdown_timeout passes),
 * frees its evhttp (closing idle keep-alive connections) and leaves its
 * loop.
 */
#include "config.h"
#include "http/server.h"
#include "http/conn.h"
#include "http/origin_check.h"
#include "http/path.h"
#include "http/server_internal.h"
#include "http/supervise.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* Request headers any route accepts from an allowed origin. */
#define CORS_ALLOW_HEADERS \
    "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, x-retry"

/* --------------------------------------------------------------- dispatch */

static int method_bit(enum evhttp_cmd_type cmd)
{
    return (int)cmd; /* evhttp's bits are the router's bits */
}

static void set_request_id(vf_req_t *r, vf_http_thread_t *t)
{
    const char *given = vf_req_header(r, "X-Request-Id");
    if (given && strlen(given) < sizeof r->request_id && strlen(given) >= 8 &&
        strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen(given)) {
        snprintf(r->request_id, sizeof r->request_id, "%s", given);
        return;
    }
    snprintf(r->request_id, sizeof r->request_id, "%08x%02x%06llx", t->id_salt, t->index & 0xff,
             (unsigned long long)(++t->counter & 0xffffff));
}

/* Browsers ask before a cross-origin request with credentials or custom
 * headers; a route may allow request headers of its own (tus). */
static void reply_preflight(vf_req_t *r)
{
    if (r->cors_allowed) {
        vf_reply_header(r, "Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, PATCH, POST, PUT");
        const char *allow = CORS_ALLOW_HEADERS;
        char extended[1024];
        if (r->match.cors_allow_headers) {
            snprintf(extended, sizeof extended, "%s, %s", allow, r->match.cors_allow_headers);
            allow = extended;
        }
        vf_reply_header(r, "Access-Control-Allow-Headers", allow);
        vf_reply_header(r, "Access-Control-Max-Age", "86400");
    }
    vf_reply_json(r, 200, json_object());
}

static void dispatch(struct evhttp_request *ev, void *arg)
{
    vf_http_thread_t *t = arg;
    vf_http_server_t *srv = t->srv;
    int refused_status = 0;
    char refusal[128];
    int refused = vf_http_conn_dispatched(t, ev, &refused_status, refusal, sizeof refusal);
    vf_req_t *r = calloc(1, sizeof *r);
    if (!r) {
        evhttp_send_error(ev, 500, "Out of memory");
        return;
    }
    t->inflight++;
    vf_metric_http_begin();
    r->ev = ev;
    r->ctx = &t->ctx;
    r->thread = t;
    r->start_us = vf_mono_us();
    r->method = method_bit(evhttp_request_get_command(ev));
    TAILQ_INIT(&r->query);
    set_request_id(r, t);

    const char *origin = vf_req_header(r, "Origin");
    r->cors_allowed = origin && vf_config_origin_allowed(srv->app->cfg, origin, strlen(origin));

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
    int path_ok = vf_http_path_decode(raw_path, &r->path) == 0;
    /* Refused by the guard before its body was read (body limit, framing):
     * nothing else of it is looked at, and the connection ends. */
    if (refused) {
        vf_reply_header(r, "Connection", "close");
        vf_reply_msg(r, refused_status, "detail", refusal);
        return;
    }
    if (!path_ok) {
        /* A NUL byte or a path we cannot read reaches no handler. */
        vf_reply_msg(r, r->path ? 404 : 400, "detail", r->path ? "Not found." : "Bad request path.");
        return;
    }
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (q && vf_query_parse(q, &r->query) != 0) {
        vf_reply_msg(r, 500, "detail", "Out of memory.");
        return;
    }
    int path_known = vf_router_match(srv->router, r->method, r->path, &r->match) == 0;
    if (r->method == VF_OPTIONS && vf_req_header(r, "Access-Control-Request-Method")) {
        reply_preflight(r);
        return;
    }
    if (!path_known) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    size_t limit = r->match.route && r->match.route->max_body ? r->match.route->max_body
                                                              : (size_t)srv->app->cfg->server.max_body_size;
    size_t body_len = evbuffer_get_length(evhttp_request_get_input_buffer(ev));
    if (body_len > limit) {
        char msg[128];
        snprintf(msg, sizeof msg, "Request body too large: the limit is %zu bytes.", limit);
        vf_reply_msg(r, 413, "detail", msg);
        return;
    }
    if (!r->match.route) {
        char allow[128];
        vf_methods_string(r->match.allowed | VF_OPTIONS, allow, sizeof allow);
        vf_reply_header(r, "Allow", allow);
        if (r->method == VF_OPTIONS) {
            vf_reply_json(r, 200, json_object());
            return;
        }
        char msg[96];
        snprintf(msg, sizeof msg, "Method \"%s\" not allowed.", vf_http_method_name(r->method));
        vf_reply_msg(r, 405, "detail", msg);
        return;
    }
    /* Cookies carry the session: no state changes from other sites' pages. */
    if (vf_origin_check(r) < 0)
        return;
    r->match.route->handler(r);
}

/* ---------------------------------------------------------------- threads */

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vf_http_thread_t *t = arg;
    if (t->inflight > 0 && vf_mono_us() < t->drain_deadline_us)
        return;
    if (t->inflight > 0)
        vf_warn("http: thread %d: %d requests still open after the shutdown timeout", t->index, t->inflight);
    event_base_loopbreak(t->base);
}

static void stop_thread(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vf_http_thread_t *t = arg;
    if (t->bound) {
        evhttp_del_accept_socket(t->http, t->bound);
        t->bound = NULL;
    }
    vf_http_streams_stop(t);
    t->drain_deadline_us = vf_mono_us() + (int64_t)t->srv->app->cfg->server.shutdown_timeout * 1000000;
    struct timeval every = {0, 20000};
    t->drain_ev = event_new(t->base, -1, EV_PERSIST, drain_check, t);
    if (!t->drain_ev || event_add(t->drain_ev, &every) != 0)
        event_base_loopbreak(t->base);
}

static void *thread_main(void *arg)
{
    vf_http_thread_t *t = arg;
    vf_http_conn_enter_thread(t);
    event_base_dispatch(t->base);
    return NULL;
}

static int thread_setup(vf_http_server_t *srv, vf_http_thread_t *t, int index)
{
    t->srv = srv;
    t->index = index;
    if (getrandom(&t->id_salt, sizeof t->id_salt, 0) != sizeof t->id_salt)
        t->id_salt = (uint32_t)vf_now_us();
    if (vf_thread_ctx_init(&t->ctx, srv->app, index) != 0)
        return -1;
    t->base = event_base_new();
    if (!t->base)
        return -1;
    t->http = evhttp_new(t->base);
    if (!t->http)
        return -1;
    evhttp_set_allowed_methods(t->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(t->http, (ev_ssize_t)srv->evhttp_max_body);
    evhttp_set_max_headers_size(t->http, 64 * 1024);
    evhttp_set_timeout(t->http, 120);
    evhttp_set_gencb(t->http, dispatch, t);
    evhttp_set_bevcb(t->http, vf_guard_bufferevent, t);
    int fd = dup(srv->listen_fd);
    if (fd < 0)
        return -1;
    evutil_make_socket_closeonexec(fd);
    t->bound = evhttp_accept_socket_with_handle(t->http, fd);
    if (!t->bound) {
        close(fd);
        return -1;
    }
    t->stop_ev = event_new(t->base, -1, 0, stop_thread, t);
    return t->stop_ev ? 0 : -1;
}

static void thread_teardown(vf_http_thread_t *t)
{
    if (t->drain_ev)
        event_free(t->drain_ev);
    if (t->stop_ev)
        event_free(t->stop_ev);
    t->tearing_down = 1;
    if (t->http)
        evhttp_free(t->http);
    vf_http_conn_fini_thread(t);
    if (t->base)
        event_base_free(t->base);
    vf_thread_ctx_fini(&t->ctx);
}

static int open_listener(const vf_config_t *cfg)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->server.port);
    int rc = getaddrinfo(cfg->server.listen_address, port, &hints, &res);
    if (rc != 0) {
        vf_error("http: cannot resolve %s: %s", cfg->server.listen_address, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    /* Accepted sockets inherit TCP_NODELAY: a response written in pieces
     * must not wait for the client's delayed ACK. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        vf_error("http: cannot listen on %s:%d: %s", cfg->server.listen_address, cfg->server.port,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    vf_http_server_t *srv = arg;
    vf_info("http: %s received, finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    vf_supervise_stopping(srv->supervise);
    event_base_loopbreak(srv->main_base);
    for (int i = 0; i < srv->nthreads; i++)
        event_active(srv->threads[i].stop_ev, 0, 0);
    /* The socket stops listening once every thread's dup() is closed too. */
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
    }
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

vf_http_server_t *vf_http_server_new(vf_app_t *app, const vf_router_t *router)
{
    const vf_config_t *cfg = app->cfg;
    if (evthread_use_pthreads() != 0) {
        vf_error("http: libevent has no pthreads support");
        return NULL;
    }
    vf_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        vf_error("http: out of memory");
        return NULL;
    }
    srv->app = app;
    srv->router = router;
    srv->evhttp_max_body = (size_t)cfg->server.max_body_size;
    if ((size_t)cfg->upload.chunk_max + 65536 > srv->evhttp_max_body)
        srv->evhttp_max_body = (size_t)cfg->upload.chunk_max + 65536;
    vf_guard_server_init(srv);
    srv->listen_fd = open_listener(cfg);
    if (srv->listen_fd < 0)
        goto fail;
    int nthreads = cfg->server.threads > 0 ? cfg->server.threads : cpu_count();
    srv->threads = calloc((size_t)nthreads, sizeof *srv->threads);
    if (!srv->threads) {
        vf_error("http: out of memory");
        goto fail;
    }
    for (int i = 0; i < nthreads; i++) {
        srv->nthreads = i + 1;
        if (thread_setup(srv, &srv->threads[i], i) != 0) {
            vf_error("http: cannot set up thread %d", i);
            goto fail;
        }
    }
    return srv;
fail:
    vf_http_server_free(&srv);
    return NULL;
}

int vf_http_stop_signals(int how)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    int err = pthread_sigmask(how, &stop, NULL);
    if (err != 0)
        vf_error("http: cannot %s SIGTERM and SIGINT: %s", how == SIG_BLOCK ? "block" : "unblock", strerror(err));
    return err ? -1 : 0;
}

int vf_http_server_run(vf_http_server_t *srv)
{
    const vf_config_t *cfg = srv->app->cfg;
    int ret = -1;
    struct event *sigterm = NULL, *sigint = NULL;
    struct event_base *main_base = event_base_new();
    if (!main_base)
        goto out;
    srv->main_base = main_base;
    sigterm = evsignal_new(main_base, SIGTERM, on_signal, srv);
    sigint = evsignal_new(main_base, SIGINT, on_signal, srv);
    if (!sigterm || !sigint || event_add(sigterm, NULL) != 0 || event_add(sigint, NULL) != 0)
        goto out;
    /* `serve` blocked them until now; one that came meanwhile is handled. */
    if (vf_http_stop_signals(SIG_UNBLOCK) < 0)
        goto out;
    int started = 0;
    for (; started < srv->nthreads; started++)
        if (pthread_create(&srv->threads[started].tid, NULL, thread_main, &srv->threads[started]) != 0)
            break;
    vf_info("http: listening on http://%s:%d/ with %d threads", cfg->server.listen_address, cfg->server.port,
            srv->nthreads);
    if (started == srv->nthreads)
        srv->supervise = vf_supervise_start(main_base, srv->app);
    if (started == srv->nthreads && srv->supervise) {
        /* Readiness, watchdog and SIGHUP run here until a stop signal
         * breaks the loop. */
        event_base_dispatch(main_base);
        ret = 0;
    } else {
        if (started != srv->nthreads)
            vf_error("http: cannot start threads");
        for (int i = 0; i < started; i++)
            event_active(srv->threads[i].stop_ev, 0, 0);
    }
    for (int i = 0; i < started; i++)
        pthread_join(srv->threads[i].tid, NULL);
out:
    vf_supervise_free(&srv->supervise);
    srv->main_base = NULL;
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (main_base)
        event_base_free(main_base);
    return ret;
}

void vf_http_server_free(vf_http_server_t **psrv)
{
    vf_http_server_t *srv = *psrv;
    if (!srv)
        return;
    for (int i = 0; i < srv->nthreads; i++)
        thread_teardown(&srv->threads[i]);
    free(srv->threads);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    free(srv);
    *psrv = NULL;
}
