/*
 * upload.h - the tus 1.0 resumable upload endpoint under
 * /admin/api/uploads/ (core, creation, creation-with-upload, termination,
 * expiration; OPTIONS discovery), staff only.  docs/uploads.md has the
 * protocol details and the limits.
 * Owns: the tus headers, status codes and request checks.
 * Must not: touch storage or the database directly (upload_store.c does).
 */
#ifndef VF_UPLOAD_H
#define VF_UPLOAD_H

#include "http/router.h"

void vf_upload_routes(vf_router_t *router);

#endif
