/*
 * origin_check.c - see origin_check.h.
 */
#include "config.h"
#include "http/origin_check.h"
#include "http/router.h"

#include <string.h>
#include <strings.h>

/* "scheme://host[:port]" of a URL: its length, or 0 when it has none. */
static size_t origin_length(const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return 0;
    const char *host = sep + 3;
    size_t n = strcspn(host, "/?#");
    return n ? (size_t)(host - url) + n : 0;
}

static int is_trusted(const vf_config_t *cfg, const char *origin, size_t len)
{
    if (vf_config_origin_allowed(cfg, origin, len))
        return 1;
    const char *self = cfg->server.public_origin;
    size_t self_len = origin_length(self);
    return self_len == len && strncasecmp(self, origin, len) == 0;
}

int vf_origin_allowed(const vf_config_t *cfg, const char *origin, const char *referer)
{
    if (origin && *origin)
        /* "null" (sandboxed frames, file: pages) matches nothing. */
        return is_trusted(cfg, origin, strlen(origin));
    if (referer && *referer) {
        size_t n = origin_length(referer);
        return n > 0 && is_trusted(cfg, referer, n);
    }
    return 1;
}

int vf_origin_check(vf_req_t *r)
{
    if (r->method == VF_GET || r->method == VF_HEAD || r->method == VF_OPTIONS)
        return 0;
    if (vf_origin_allowed(r->ctx->app->cfg, vf_req_header(r, "Origin"), vf_req_header(r, "Referer")))
        return 0;
    vf_reply_msg(r, 403, "detail", "CSRF Failed: Origin checking failed - the request comes from a site that "
                                   "is not trusted.");
    return -1;
}
