/*
 * audit.h - the record of staff actions (sql/005_admin.sql): one call
 * that every admin action makes once it has succeeded, and the keyset read
 * behind GET /admin/api/audit/.
 * Owns: the admin_audit table.  Must not: decide what counts as an action
 * (the handlers do) or answer requests.
 */
#ifndef VF_AUDIT_H
#define VF_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "runtime/app.h"

/* Record that r's user did `action` ("video.update", "user.delete", ...)
 * to object_type/object_id, from r's client address.  detail: a small JSON
 * object (stolen; NULL: {}).  Runs on r->ctx->db, so inside the caller's
 * transaction when one is open.  0 or a negative errno, logged; the action
 * itself has happened either way. */
int vf_audit_record(vf_req_t *r, const char *action, const char *object_type, const char *object_id,
                    json_t *detail);
/* The same with an integer object id. */
int vf_audit_record_id(vf_req_t *r, const char *action, const char *object_type, int64_t object_id,
                       json_t *detail);

/* What a page of the audit may be narrowed to (NULL / 0: anything). */
typedef struct vf_audit_filter {
    int64_t actor_id;
    const char *action;
    const char *object_type;
    const char *object_id;
} vf_audit_filter_t;

/* Up to `limit` rows with id < before (0: from the newest), newest first,
 * as {"id", "at", "actor_id", "actor_email", "action", "object_type",
 * "object_id", "client_ip", "detail"}.  *next: the id to pass as `before`
 * for the following page, 0 when this is the last.  0 or a negative errno. */
int vf_audit_list(vf_thread_ctx_t *ctx, const vf_audit_filter_t *filter, int64_t before, int limit,
                  json_t **out, int64_t *next);

#endif
