/*
 * remove_files.h - the job that removes storage objects nothing refers to
 * any more (a replaced source's outputs, a deleted video's files, the parts
 * of an abandoned upload), queued in the same transaction that stops
 * referring to them.
 * Owns: the remove_files job type and its payload.
 * Must not: decide which objects are unreferenced (its callers do).
 */
#ifndef VF_STORAGE_REMOVE_FILES_H
#define VF_STORAGE_REMOVE_FILES_H

#include <jansson.h>

#include "runtime/app.h"

/* Payload: {"keys": ["videos/1/2/720p.mp4", ...],
 *           "multipart": [{"key": k, "upload_id": id}, ...]} */
#define VF_JOB_REMOVE_FILES "remove_files"

/* Inside the caller's open transaction: a remove_files job for `keys`
 * (a JSON array of strings, borrowed; may be NULL) and, when mp_key is not
 * NULL, the abort of the multipart upload mp_id at mp_key. */
int vf_remove_files_tx(vf_thread_ctx_t *ctx, json_t *keys, const char *mp_key, const char *mp_id);

/* Register the handler with the worker (vf_worker_register). */
void vf_remove_files_register_job(void);

#endif
