/*
 * http.c - see http.h.
 *
 * Threads: the listening socket is dup()ed into every thread's evhttp, so a
 * thread can stop accepting on its own at shutdown, and a blocking database
 * call stalls only the connections of its own thread.
 *
 * Shutdown: SIGTERM/SIGINT on the main loop asks every thread to close its
 * listener; each thread then waits until the responses it owes are fully
 * written (or server.shutdown_timeout passes), frees its evhttp (closing
 * idle keep-alive connections) and leaves its loop.
 */
#include "config.h"
#include "http.h"
#include "cli.h"
#include "db.h"
#include "log.h"
#include "origin_check.h"
#include "password.h"
#include "queue.h"
#include "redis.h"
#include "sessions.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct vf_server vf_server_t;

typedef struct vf_http_thread {
    vf_server_t *srv;
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
} vf_http_thread_t;

struct vf_server {
    vf_app_t *app;
    vf_router_t *router;
    int listen_fd;
    int nthreads;
    vf_http_thread_t *threads;
    size_t evhttp_max_body;
};

/* ------------------------------------------------------------ request api */

const char *vf_req_param(const vf_req_t *r, size_t i)
{
    return i < r->match.nparams ? r->match.params[i] : NULL;
}

const char *vf_req_query(const vf_req_t *r, const char *name)
{
    return evhttp_find_header(&((vf_req_t *)r)->query, name);
}

const char *vf_req_header(const vf_req_t *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const unsigned char *vf_req_body(const vf_req_t *r, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    *len = evbuffer_get_length(in);
    return *len ? evbuffer_pullup(in, -1) : (const unsigned char *)"";
}

json_t *vf_req_json(vf_req_t *r)
{
    size_t len;
    const unsigned char *body = vf_req_body(r, &len);
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        char msg[256];
        if (j)
            snprintf(msg, sizeof msg, "JSON parse error - expected an object");
        else
            snprintf(msg, sizeof msg, "JSON parse error - %s (line %d, column %d)", jerr.text, jerr.line,
                     jerr.column);
        json_decref(j);
        vf_reply_msg(r, 400, "detail", msg);
        return NULL;
    }
    return j;
}

static int ip_trusted(const vf_config_t *cfg, const char *ip)
{
    for (size_t i = 0; i < cfg->server.trusted_proxies.n; i++)
        if (strcmp(cfg->server.trusted_proxies.items[i], ip) == 0)
            return 1;
    return 0;
}

const char *vf_req_client_ip(const vf_req_t *r, char *buf, size_t len)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
    if (conn)
        evhttp_connection_get_peer(conn, &peer, &port);
    snprintf(buf, len, "%s", peer ? peer : "unknown");
    const vf_config_t *cfg = r->ctx->app->cfg;
    if (!ip_trusted(cfg, buf))
        return buf;
    const char *xff = vf_req_header(r, "X-Forwarded-For");
    if (!xff)
        return buf;
    /* Walk from the right: the first hop we do not trust is the client. */
    char *copy = strdup(xff);
    if (!copy)
        return buf;
    char *end = copy + strlen(copy);
    while (end > copy) {
        char *comma = end;
        while (comma > copy && comma[-1] != ',')
            comma--;
        *end = '\0';
        char *hop = comma;
        while (*hop == ' ')
            hop++;
        char *tail = hop + strlen(hop);
        while (tail > hop && tail[-1] == ' ')
            *--tail = '\0';
        if (*hop) {
            snprintf(buf, len, "%s", hop);
            if (!ip_trusted(cfg, hop))
                break;
        }
        end = comma > copy ? comma - 1 : copy;
    }
    free(copy);
    return buf;
}

char *vf_req_cookie(const vf_req_t *r, const char *name)
{
    const char *h = vf_req_header(r, "Cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t seg = end ? (size_t)(end - h) : strlen(h);
        if (seg > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            const char *v = h + nlen + 1;
            size_t vlen = seg - nlen - 1;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            return strndup(v, vlen);
        }
        h = end;
    }
    return NULL;
}

/* ---------------------------------------------------------------- replies */

void vf_reply_header(vf_req_t *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

void vf_http_add_cors(vf_req_t *r)
{
    if (!r->cors_allowed)
        return;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (evhttp_find_header(h, "Access-Control-Allow-Origin"))
        return;
    evhttp_add_header(h, "Access-Control-Allow-Origin", vf_req_header(r, "Origin"));
    evhttp_add_header(h, "Access-Control-Allow-Credentials", "true");
    evhttp_add_header(h, "Access-Control-Expose-Headers",
                      "Content-Length, Content-Range, ETag, Location, Upload-Offset, Upload-Length, "
                      "Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, X-Request-Id");
    evhttp_add_header(h, "Vary", "Origin");
}

static void on_complete(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    vf_http_thread_t *t = arg;
    t->inflight--;
}

static void req_free(vf_req_t *r)
{
    evhttp_clear_headers(&r->query);
    vf_route_match_free(&r->match);
    free(r->path);
    free(r);
}

static const char *method_name(int m)
{
    switch (m) {
    case VF_GET: return "GET";
    case VF_POST: return "POST";
    case VF_HEAD: return "HEAD";
    case VF_PUT: return "PUT";
    case VF_DELETE: return "DELETE";
    case VF_OPTIONS: return "OPTIONS";
    case VF_PATCH: return "PATCH";
    }
    return "OTHER";
}

void vf_reply_buffer(vf_req_t *r, int status, const char *content_type, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (content_type && !evhttp_find_header(h, "Content-Type"))
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id", r->request_id);
    vf_http_add_cors(r);
    size_t bytes = body ? evbuffer_get_length(body) : 0;
    const char *lenhdr = evhttp_find_header(h, "Content-Length");
    if (lenhdr)
        bytes = (size_t)strtoull(lenhdr, NULL, 10);
    /* evhttp writes a body even for HEAD: announce its length, send none. */
    if (r->method == VF_HEAD && body && evbuffer_get_length(body) > 0) {
        if (!lenhdr) {
            char len[32];
            snprintf(len, sizeof len, "%zu", bytes);
            evhttp_add_header(h, "Content-Length", len);
        }
        evbuffer_drain(body, evbuffer_get_length(body));
    }

    vf_http_thread_t *t = r->thread;
    if (evhttp_request_get_connection(r->ev))
        evhttp_request_set_on_complete_cb(r->ev, on_complete, t);
    else
        t->inflight--; /* the client is gone: nothing left to write */
    if (t->srv->app->cfg->server.access_log)
        vf_info("%s %s %d %zuB %lldus id=%s", method_name(r->method), r->path ? r->path : "-", status,
                bytes, (long long)(vf_mono_us() - r->start_us), r->request_id);
    const char *reason = NULL;
    switch (status) {
    case 200: reason = "OK"; break;
    case 201: reason = "Created"; break;
    case 204: reason = "No Content"; break;
    case 206: reason = "Partial Content"; break;
    case 302: reason = "Found"; break;
    case 304: reason = "Not Modified"; break;
    case 400: reason = "Bad Request"; break;
    case 401: reason = "Unauthorized"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 409: reason = "Conflict"; break;
    case 410: reason = "Gone"; break;
    case 412: reason = "Precondition Failed"; break;
    case 413: reason = "Payload Too Large"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 416: reason = "Range Not Satisfiable"; break;
    case 429: reason = "Too Many Requests"; break;
    case 500: reason = "Internal Server Error"; break;
    case 503: reason = "Service Unavailable"; break;
    default: reason = status < 400 ? "OK" : "Error"; break;
    }
    evhttp_send_reply(r->ev, status, reason, body);
    req_free(r);
}

void vf_reply_json(vf_req_t *r, int status, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    int ok = buf && text && evbuffer_add(buf, text, strlen(text)) == 0;
    free(text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "private, no-cache");
    vf_reply_buffer(r, ok ? status : 500, "application/json; charset=utf-8", buf);
    if (buf)
        evbuffer_free(buf);
}

void vf_reply_msg(vf_req_t *r, int status, const char *key, const char *message)
{
    vf_reply_json(r, status, json_pack("{ss}", key, message));
}

void vf_reply_field_error(vf_req_t *r, int status, const char *field, const char *message)
{
    vf_reply_json(r, status, json_pack("{s[s]}", field, message));
}

typedef struct loop_call {
    void (*fn)(void *);
    void *arg;
} loop_call_t;

static void run_loop_call(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    loop_call_t *c = arg;
    c->fn(c->arg);
    free(c);
}

int vf_req_run_in_loop(vf_req_t *r, void (*fn)(void *arg), void *arg)
{
    loop_call_t *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->arg = arg;
    struct timeval now = {0, 0};
    if (event_base_once(r->thread->base, -1, EV_TIMEOUT, run_loop_call, c, &now) != 0) {
        free(c);
        return -EIO;
    }
    return 0;
}

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

static void reply_preflight(vf_req_t *r)
{
    if (r->cors_allowed) {
        vf_reply_header(r, "Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, PATCH, POST, PUT");
        const char *allow = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, x-retry";
        char tus[512];
        if (strncmp(r->path, "/admin/api/uploads", 18) == 0) {
            snprintf(tus, sizeof tus, "%s, tus-resumable, upload-length, upload-offset, upload-metadata, "
                     "upload-defer-length, upload-concat, x-http-method-override", allow);
            allow = tus;
        }
        vf_reply_header(r, "Access-Control-Allow-Headers", allow);
        vf_reply_header(r, "Access-Control-Max-Age", "86400");
    }
    vf_reply_json(r, 200, json_object());
}

static void dispatch(struct evhttp_request *ev, void *arg)
{
    vf_http_thread_t *t = arg;
    vf_server_t *srv = t->srv;
    vf_req_t *r = calloc(1, sizeof *r);
    if (!r) {
        evhttp_send_error(ev, 500, "Out of memory");
        return;
    }
    t->inflight++;
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
    size_t decoded_len = 0;
    r->path = raw_path ? evhttp_uridecode(raw_path, 0, &decoded_len) : NULL;
    if (!r->path || decoded_len != strlen(r->path) || r->path[0] != '/') {
        /* A NUL byte or a path we cannot read reaches no handler. */
        vf_reply_msg(r, r->path ? 404 : 400, "detail", r->path ? "Not found." : "Bad request path.");
        return;
    }
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (q && evhttp_parse_query_str(q, &r->query) != 0) {
        vf_reply_msg(r, 400, "detail", "Malformed query string.");
        return;
    }
    if (r->method == VF_OPTIONS && vf_req_header(r, "Access-Control-Request-Method")) {
        reply_preflight(r);
        return;
    }
    if (vf_router_match(srv->router, r->method, r->path, &r->match) != 0) {
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
        snprintf(msg, sizeof msg, "Method \"%s\" not allowed.", method_name(r->method));
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
    t->drain_deadline_us = vf_mono_us() + (int64_t)t->srv->app->cfg->server.shutdown_timeout * 1000000;
    struct timeval every = {0, 20000};
    t->drain_ev = event_new(t->base, -1, EV_PERSIST, drain_check, t);
    if (!t->drain_ev || event_add(t->drain_ev, &every) != 0)
        event_base_loopbreak(t->base);
}

static void *thread_main(void *arg)
{
    vf_http_thread_t *t = arg;
    event_base_dispatch(t->base);
    return NULL;
}

static int thread_setup(vf_server_t *srv, vf_http_thread_t *t, int index)
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
    if (t->http)
        evhttp_free(t->http);
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
    vf_server_t *srv = arg;
    vf_info("http: %s received, finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
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

int vf_cmd_serve(vf_app_t *app, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const vf_config_t *cfg = app->cfg;
    int ret = 1;
    struct event_base *main_base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    vf_server_t srv = {.app = app, .listen_fd = -1};
    vf_outbox_relay_t *relay = NULL;

    signal(SIGPIPE, SIG_IGN);
    char err[1024];
    if (vf_app_load_plugins(app, 1, 0, err, sizeof err) < 0) {
        vf_error("%s", err);
        return 1;
    }
    if (evthread_use_pthreads() != 0) {
        vf_error("http: libevent has no pthreads support");
        return 1;
    }
    srv.router = vf_router_new();
    if (!srv.router)
        return 1;
    vf_routes_register(srv.router);
    srv.evhttp_max_body = (size_t)cfg->server.max_body_size;
    if ((size_t)cfg->upload.chunk_max + 65536 > srv.evhttp_max_body)
        srv.evhttp_max_body = (size_t)cfg->upload.chunk_max + 65536;

    srv.listen_fd = open_listener(cfg);
    if (srv.listen_fd < 0)
        goto out;
    srv.nthreads = cfg->server.threads > 0 ? cfg->server.threads : cpu_count();
    srv.threads = calloc((size_t)srv.nthreads, sizeof *srv.threads);
    if (!srv.threads)
        goto out;
    for (int i = 0; i < srv.nthreads; i++) {
        if (thread_setup(&srv, &srv.threads[i], i) != 0) {
            vf_error("http: cannot set up thread %d", i);
            srv.nthreads = i + 1;
            goto out_threads;
        }
    }
    main_base = event_base_new();
    if (!main_base)
        goto out_threads;
    sigterm = evsignal_new(main_base, SIGTERM, on_signal, &srv);
    sigint = evsignal_new(main_base, SIGINT, on_signal, &srv);
    if (!sigterm || !sigint || event_add(sigterm, NULL) != 0 || event_add(sigint, NULL) != 0)
        goto out_threads;

    /* Jobs recorded while Redis was away reach it from here too. */
    relay = vf_outbox_relay_start(app);
    if (!relay)
        vf_warn("http: outbox relay not started; workers still push pending jobs");
    int started = 0;
    for (; started < srv.nthreads; started++)
        if (pthread_create(&srv.threads[started].tid, NULL, thread_main, &srv.threads[started]) != 0)
            break;
    vf_info("http: listening on http://%s:%d/ with %d threads", cfg->server.listen_address, cfg->server.port,
            srv.nthreads);
    if (started == srv.nthreads) {
        /* One signal is enough: the loop returns after the first one. */
        event_base_loop(main_base, EVLOOP_ONCE);
        ret = 0;
    } else {
        vf_error("http: cannot start threads");
        for (int i = 0; i < started; i++)
            event_active(srv.threads[i].stop_ev, 0, 0);
    }
    for (int i = 0; i < started; i++)
        pthread_join(srv.threads[i].tid, NULL);
    /* Background helpers that handlers started on demand. */
    vf_outbox_relay_stop(&relay);
    vf_password_pool_stop();
    vf_sessions_stop();
    vf_info("http: stopped");

out_threads:
    for (int i = 0; i < srv.nthreads; i++)
        thread_teardown(&srv.threads[i]);
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (main_base)
        event_base_free(main_base);
    free(srv.threads);
    if (srv.listen_fd >= 0)
        close(srv.listen_fd);
    vf_router_free(&srv.router);
    return ret;
}
