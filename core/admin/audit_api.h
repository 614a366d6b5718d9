/*
 * audit_api.h - GET /admin/api/audit/: the audit table, newest first, in
 * keyset pages, narrowed by ?actor=ID, ?action=, ?object_type=, ?object_id=.
 * Owns: that endpoint's answers.  Must not: write audit rows (accounts/audit.c).
 */
#ifndef VF_ADMIN_AUDIT_API_H
#define VF_ADMIN_AUDIT_API_H

#include "http/router.h"

void vf_admin_audit_routes(vf_router_t *router);

#endif
