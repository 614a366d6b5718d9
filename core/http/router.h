/*
 * router.h - maps a method and a decoded path to a handler.
 * Patterns are written with the API's trailing slash ("/content/{id}/");
 * a request path with or without that slash matches the same route.  "{x}"
 * captures one segment, a final "*" captures the rest of the path.
 * Owns: the route table and matching.  Must not: read requests or reply.
 */
#ifndef VF_ROUTER_H
#define VF_ROUTER_H

#include <stddef.h>

#define VF_ROUTE_MAX_PARAMS 4

/* Methods, as a bit mask (the same bits as evhttp_cmd_type). */
enum {
    VF_GET = 1 << 0,
    VF_POST = 1 << 1,
    VF_HEAD = 1 << 2,
    VF_PUT = 1 << 3,
    VF_DELETE = 1 << 4,
    VF_OPTIONS = 1 << 5,
    VF_PATCH = 1 << 8,
};

struct vf_req;
typedef void (*vf_handler_fn)(struct vf_req *r);

struct vf_thread_ctx;
struct vf_http_head;
/* Whether a request may send its route a body larger than
 * server.max_body_size (up to the route's max_body), judged from its head
 * alone before any of the body is read (http/head.h); the handler still
 * runs all its checks.  1: yes. */
typedef int (*vf_body_gate_fn)(struct vf_thread_ctx *ctx, const struct vf_http_head *head);

typedef struct vf_route {
    int methods;
    char *pattern;
    vf_handler_fn handler;
    size_t max_body;     /* 0: the server's max_body_size */
    /* When set, a body over server.max_body_size only for heads it admits. */
    vf_body_gate_fn body_gate;
    /* CORS for browsers on other origins: request headers a preflight may
     * allow and response headers scripts may read, beyond the defaults
     * every route has (NULL: none). */
    const char *cors_allow_headers;
    const char *cors_expose_headers;
} vf_route_t;

typedef struct vf_router {
    vf_route_t *routes;
    size_t n;
} vf_router_t;

typedef struct vf_route_match {
    const vf_route_t *route;          /* NULL: no route for this method */
    int allowed;                      /* methods of every route matching the path */
    size_t nparams;
    char *params[VF_ROUTE_MAX_PARAMS];/* malloc()ed, percent-decoded already */
    /* The CORS extras of the routes matching the path, whatever the
     * method (a preflight names the method it asks about). */
    const char *cors_allow_headers;
    const char *cors_expose_headers;
} vf_route_match_t;

vf_router_t *vf_router_new(void);
void vf_router_free(vf_router_t **r);
int vf_router_add(vf_router_t *r, int methods, const char *pattern, vf_handler_fn handler);
/* The same with its own body limit (uploads). */
int vf_router_add_limited(vf_router_t *r, int methods, const char *pattern, vf_handler_fn handler,
                          size_t max_body);
/* Give every route of `pattern` these CORS extras (see vf_route_t);
 * -ENOENT when no route has that pattern. */
int vf_router_set_cors(vf_router_t *r, const char *pattern, const char *allow_headers,
                       const char *expose_headers);
/* Give every route of `pattern` a body gate (see vf_body_gate_fn);
 * -ENOENT when no route has that pattern. */
int vf_router_set_body_gate(vf_router_t *r, const char *pattern, vf_body_gate_fn gate);
/* 0 when some route matches the path (m->route may still be NULL: 405). */
int vf_router_match(const vf_router_t *r, int method, const char *path, vf_route_match_t *m);
void vf_route_match_free(vf_route_match_t *m);
/* "GET, HEAD, POST" into buf. */
void vf_methods_string(int methods, char *buf, size_t len);

#endif
