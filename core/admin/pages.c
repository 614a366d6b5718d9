/*
 * pages.c - see pages.h.  Files are looked up by a path of plain names
 * (letters, digits, '.', '-', '_' and '/', no segment starting with '.'),
 * opened without following a symbolic link at the end, and must be regular
 * files: nothing outside admin.static_dir can be named.
 */
#include "config.h"
#include "admin/pages.h"

#include "accounts/auth.h"
#include "http/http.h"
#include "util/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGNIN_PAGE "signin.html"
#define INDEX_PAGE "videos.html"

static int name_is_plain(const char *p)
{
    if (!*p || strlen(p) > 200 || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/") !=
                                      strlen(p))
        return 0;
    for (const char *s = p; s; s = strchr(s, '/')) {
        if (*s == '/')
            s++;
        if (*s == '.' || *s == '/' || *s == '\0')
            return 0;
    }
    return 1;
}

static const char *dot_or(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot : "";
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".ico", "image/x-icon"},
        {".map", "application/json"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot_or(name), types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static void security_headers(vf_req_t *r)
{
    vf_reply_header(r, "Content-Security-Policy", VF_ADMIN_CSP);
    vf_reply_header(r, "X-Content-Type-Options", "nosniff");
    vf_reply_header(r, "X-Frame-Options", "DENY");
    vf_reply_header(r, "Referrer-Policy", "same-origin");
    vf_reply_header(r, "Cache-Control", "no-cache");
}

/* GET /admin/ and /admin/<file> */
static void page_get(vf_req_t *r)
{
    const char *name = r->match.nparams ? vf_req_param(r, 0) : "";
    if (!name || !*name)
        name = INDEX_PAGE;
    const char *type = name_is_plain(name) ? content_type(name) : NULL;
    if (!type) {
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    /* A page for a visitor who is not (or no longer) signed in as staff:
     * the sign-in page, which signs in, refreshes or says why not. */
    if (strcmp(dot_or(name), ".html") == 0 &&
        !vf_auth_staff_token(r->ctx->app->cfg, vf_req_header(r, "Authorization"), vf_req_header(r, "Cookie")))
        name = SIGNIN_PAGE;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->ctx->app->cfg->admin.static_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        else if (errno != ENOENT)
            vf_warn("admin: %s: %s", path, strerror(errno));
        vf_reply_msg(r, 404, "detail", "Not found.");
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (!body || evbuffer_add_file(body, fd, 0, st.st_size) != 0) {
        /* A failed evbuffer_add_file leaves the descriptor open (libevent
         * 2.1 frees its segment only on success). */
        if (body)
            evbuffer_free(body);
        close(fd);
        vf_reply_msg(r, 500, "detail", "The page could not be read.");
        return;
    }
    security_headers(r);
    vf_reply_buffer(r, 200, type, body);
    evbuffer_free(body);
}

void vf_admin_pages_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET | VF_HEAD, "/admin/", page_get);
    vf_router_add(router, VF_GET | VF_HEAD, "/admin/*", page_get);
}
