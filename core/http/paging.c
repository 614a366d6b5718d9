/*
 * paging.c - see paging.h.
 */
#include "config.h"
#include "http/paging.h"

#include "util/text.h"

#include <stdio.h>

int vf_page_params(vf_req_t *r, int *limit, const char **cursor)
{
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
