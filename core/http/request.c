/*
 * request.c - reading a request: route parameters, the query, headers,
 * cookies, the body (raw or as a JSON object), the client's address behind
 * trusted proxies, and handing work back to the request's loop thread.
 * Must not: reply, except the 400 of a malformed JSON body.
 */
#include "config.h"
#include "http/cookie.h"
#include "http/json_body.h"
#include "http/server_internal.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vf_query_parse(const char *query, struct evkeyvalq *out)
{
    char *copy = strdup(query);
    if (!copy)
        return -ENOMEM;
    int ret = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, "&", &save); item; item = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        /* "?123" and "?v" (cache busters) name no value: nothing reads them. */
        if (!eq || !*item)
            continue;
        /* As libevent's own parser: keys as sent, values percent-decoded
         * with '+' kept (clients send a literal '+' in e-mail addresses). */
        char *key = strdup(item);
        char *value = evhttp_uridecode(eq + 1, 0, NULL);
        if (!key || !value || evhttp_add_header(out, key, value) != 0) {
            /* A key or value with a line break cannot be a header: skip it,
             * as a route that reads it would not accept it anyway. */
            if (!key || !value)
                ret = -ENOMEM;
        }
        free(key);
        free(value);
        if (ret < 0)
            break;
    }
    free(copy);
    return ret;
}

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
    char msg[256];
    json_t *j = vf_json_body_parse(body, len, msg, sizeof msg);
    if (!j)
        vf_reply_msg(r, 400, "detail", msg);
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
    return vf_cookie_value(vf_req_header(r, "Cookie"), name);
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
