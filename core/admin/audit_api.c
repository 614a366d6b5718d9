/*
 * audit_api.c - see audit_api.h.  The cursor is the id of the last row shown.
 */
#include "config.h"
#include "admin/audit_api.h"

#include "accounts/audit.h"
#include "accounts/auth.h"
#include "admin/paging.h"
#include "http/http.h"
#include "util/text.h"

#include <inttypes.h>
#include <stdio.h>

static void audit_list(vf_req_t *r)
{
    int limit;
    const char *cursor;
    if (vf_admin_page_params(r, &limit, &cursor) != 0)
        return;
    int64_t before = 0;
    if (cursor && vf_parse_id(cursor, &before) != 0) {
        vf_reply_field_error(r, 400, "cursor", "Not a cursor of this list.");
        return;
    }
    vf_audit_filter_t filter = {.action = vf_req_query(r, "action"),
                                .object_type = vf_req_query(r, "object_type"),
                                .object_id = vf_req_query(r, "object_id")};
    const char *actor = vf_req_query(r, "actor");
    if (actor && vf_parse_id(actor, &filter.actor_id) != 0) {
        vf_reply_field_error(r, 400, "actor", "A user id.");
        return;
    }
    json_t *rows = NULL;
    int64_t next = 0;
    int ret = vf_audit_list(r->ctx, &filter, before, limit, &rows, &next);
    if (ret < 0) {
        vf_admin_reply_failure(r, ret, "read the audit");
        return;
    }
    char next_s[24] = "";
    if (next)
        snprintf(next_s, sizeof next_s, "%" PRId64, next);
    vf_page_reply(r, rows, next_s);
}

void vf_admin_audit_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/admin/api/audit/", audit_list);
}
