/*
 * reply.c - answering a request: headers, CORS, JSON bodies and the error
 * shapes of the API contract, the access log line, and the end of the
 * request's life (conn.c counts it finished when the last byte is written
 * or the client is gone, and keeps a half-closed client's response whole).
 * Must not: read the request body or decide what an endpoint answers.
 */
#include "config.h"
#include "http/conn.h"
#include "http/server_internal.h"
#include "util/log.h"
#include "util/metrics_series.h"
#include "util/timeutil.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vf_reply_header(vf_req_t *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

/* What scripts on an allowed origin may read of every response. */
#define CORS_EXPOSE_HEADERS "Content-Length, Content-Range, ETag, Location, X-Request-Id"

void vf_http_add_cors(vf_req_t *r)
{
    if (!r->cors_allowed)
        return;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    if (evhttp_find_header(h, "Access-Control-Allow-Origin"))
        return;
    evhttp_add_header(h, "Access-Control-Allow-Origin", vf_req_header(r, "Origin"));
    evhttp_add_header(h, "Access-Control-Allow-Credentials", "true");
    const char *extra = r->match.cors_expose_headers;
    if (extra) {
        char expose[1024];
        snprintf(expose, sizeof expose, "%s, %s", CORS_EXPOSE_HEADERS, extra);
        evhttp_add_header(h, "Access-Control-Expose-Headers", expose);
    } else {
        evhttp_add_header(h, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    evhttp_add_header(h, "Vary", "Origin");
}

void vf_req_release(vf_req_t *r)
{
    evhttp_clear_headers(&r->query);
    vf_route_match_free(&r->match);
    free(r->path);
    free(r);
}

void vf_req_count(const vf_req_t *r, int status)
{
    vf_metric_http_done(vf_http_method_name(r->method), r->match.route ? r->match.route->pattern : NULL, status,
                        r->start_us);
}

const char *vf_http_method_name(int m)
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

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    }
    return status < 400 ? "OK" : "Error";
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
    vf_http_conn_t *conn = vf_http_conn_reply_begins(t, r->ev);
    vf_req_count(r, status);
    if (t->srv->app->cfg->server.access_log) {
        char client[64];
        vf_access_entry_t entry = {vf_http_method_name(r->method), r->path, status, bytes,
                                   (long long)(vf_mono_us() - r->start_us), r->request_id,
                                   vf_req_client_ip(r, client, sizeof client)};
        vf_log_access(&entry);
    }
    evhttp_send_reply(r->ev, status, reason_phrase(status), body);
    vf_http_conn_reply_sent(conn);
    vf_req_release(r);
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
