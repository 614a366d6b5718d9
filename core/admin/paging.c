/*
 * paging.c - see paging.h.
 */
#include "config.h"
#include "admin/paging.h"

#include "accounts/auth.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int vf_admin_page_params(vf_req_t *r, int *limit, const char **cursor)
{
    if (vf_auth_require_staff(r) != 0)
        return -1;
    return vf_page_params(r, limit, cursor);
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
