/*
 * paging.c - see paging.h.
 */
#include "config.h"
#include "admin/paging.h"

#include "accounts/auth.h"
#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int vf_page_params(vf_req_t *r, int *limit, const char **cursor)
{
    if (vf_auth_require_staff(r) != 0)
        return -1;
    const char *l = vf_req_query(r, "limit");
    int64_t v = VF_PAGE_DEFAULT;
    if (l && (vf_parse_decimal(l, &v) != 0 || v < 1 || v > VF_PAGE_MAX)) {
        char msg[64];
        snprintf(msg, sizeof msg, "A number from 1 to %d.", VF_PAGE_MAX);
        vf_reply_field_error(r, 400, "limit", msg);
        return -1;
    }
    *limit = (int)v;
    const char *c = vf_req_query(r, "cursor");
    *cursor = c && *c ? c : NULL;
    return 0;
}

void vf_page_reply(vf_req_t *r, json_t *results, const char *next)
{
    json_t *page = json_pack("{s:o, s:o}", "results", results, "next",
                             next && *next ? json_string(next) : json_null());
    vf_reply_header(r, "Cache-Control", "no-store");
    vf_reply_json(r, page ? 200 : 500, page);
}

void vf_admin_reply_failure(vf_req_t *r, int ret, const char *what)
{
    if (ret == -ECONNRESET) {
        vf_reply_header(r, "Retry-After", "5");
        vf_reply_msg(r, 503, "detail", "The database or Redis is unreachable right now; try again shortly.");
        return;
    }
    vf_error("admin: %s: %s", what, strerror(ret < 0 ? -ret : ret));
    char msg[160];
    snprintf(msg, sizeof msg, "Could not %s.", what);
    vf_reply_msg(r, 500, "detail", msg);
}
