/*
 * router.c - see router.h.  Routes are few, so matching is a linear walk in
 * registration order; the first route whose pattern and method match wins.
 */
#include "config.h"
#include "http/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vf_router_t *vf_router_new(void) { return calloc(1, sizeof(vf_router_t)); }

void vf_router_free(vf_router_t **pr)
{
    vf_router_t *r = *pr;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->routes[i].pattern);
    free(r->routes);
    free(r);
    *pr = NULL;
}

int vf_router_add_limited(vf_router_t *r, int methods, const char *pattern, vf_handler_fn handler,
                          size_t max_body)
{
    vf_route_t *nr = realloc(r->routes, (r->n + 1) * sizeof *nr);
    if (!nr)
        return -1;
    r->routes = nr;
    /* HEAD is answered wherever GET is. */
    if (methods & VF_GET)
        methods |= VF_HEAD;
    nr[r->n] = (vf_route_t){.methods = methods, .pattern = strdup(pattern), .handler = handler, .max_body = max_body};
    if (!nr[r->n].pattern)
        return -1;
    r->n++;
    return 0;
}

int vf_router_add(vf_router_t *r, int methods, const char *pattern, vf_handler_fn handler)
{
    return vf_router_add_limited(r, methods, pattern, handler, 0);
}

/* Compare one pattern with a path; collect parameters on success. */
static int match_pattern(const char *pat, const char *path, vf_route_match_t *m)
{
    size_t np = 0;
    const char *p = pat, *s = path;
    while (*p) {
        if (*p == '*') {
            if (np >= VF_ROUTE_MAX_PARAMS)
                goto fail;
            m->params[np++] = strdup(s);
            s += strlen(s);
            p++;
            break;
        }
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t seg = strcspn(s, "/");
            if (!close || seg == 0 || np >= VF_ROUTE_MAX_PARAMS)
                goto fail;
            m->params[np++] = strndup(s, seg);
            s += seg;
            p = close + 1;
            continue;
        }
        if (*p != *s) {
            /* The trailing slash is optional. */
            if (*p == '/' && p[1] == '\0' && *s == '\0')
                break;
            goto fail;
        }
        p++;
        s++;
    }
    if (*s != '\0')
        goto fail;
    m->nparams = np;
    return 1;
fail:
    for (size_t i = 0; i < np; i++) {
        free(m->params[i]);
        m->params[i] = NULL;
    }
    return 0;
}

int vf_router_match(const vf_router_t *r, int method, const char *path, vf_route_match_t *m)
{
    memset(m, 0, sizeof *m);
    int found = 0;
    for (size_t i = 0; i < r->n; i++) {
        vf_route_match_t tmp = {0};
        if (!match_pattern(r->routes[i].pattern, path, &tmp))
            continue;
        found = 1;
        m->allowed |= r->routes[i].methods;
        if (!m->cors_allow_headers)
            m->cors_allow_headers = r->routes[i].cors_allow_headers;
        if (!m->cors_expose_headers)
            m->cors_expose_headers = r->routes[i].cors_expose_headers;
        if (!m->route && (r->routes[i].methods & method)) {
            m->route = &r->routes[i];
            m->nparams = tmp.nparams;
            memcpy(m->params, tmp.params, sizeof tmp.params);
        } else
            vf_route_match_free(&tmp);
    }
    return found ? 0 : -1;
}

int vf_router_set_cors(vf_router_t *r, const char *pattern, const char *allow_headers,
                       const char *expose_headers)
{
    int found = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->routes[i].pattern, pattern) != 0)
            continue;
        r->routes[i].cors_allow_headers = allow_headers;
        r->routes[i].cors_expose_headers = expose_headers;
        found = 1;
    }
    return found ? 0 : -ENOENT;
}

int vf_router_set_body_gate(vf_router_t *r, const char *pattern, vf_body_gate_fn gate)
{
    int found = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->routes[i].pattern, pattern) == 0) {
            r->routes[i].body_gate = gate;
            found = 1;
        }
    }
    return found ? 0 : -ENOENT;
}

void vf_route_match_free(vf_route_match_t *m)
{
    for (size_t i = 0; i < m->nparams; i++) {
        free(m->params[i]);
        m->params[i] = NULL;
    }
    m->nparams = 0;
}

void vf_methods_string(int methods, char *buf, size_t len)
{
    static const struct {
        int bit;
        const char *name;
    } names[] = {{VF_DELETE, "DELETE"}, {VF_GET, "GET"},     {VF_HEAD, "HEAD"}, {VF_OPTIONS, "OPTIONS"},
                 {VF_PATCH, "PATCH"},   {VF_POST, "POST"},   {VF_PUT, "PUT"}};
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(methods & names[i].bit))
            continue;
        int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", names[i].name);
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
    }
}
