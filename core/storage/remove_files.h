/*
 * remove_files.h - the job that removes storage objects nothing refers to
 * any more (a replaced source's outputs and HLS stream, a deleted video's
 * files, the parts of an abandoned upload), queued in the same transaction
 * that stops referring to them.
 * Owns: the remove_files job type and its payload.
 * Must not: decide which objects are unreferenced (its callers do).
 */
#ifndef VF_STORAGE_REMOVE_FILES_H
#define VF_STORAGE_REMOVE_FILES_H

#include <jansson.h>

#include "runtime/app.h"

/* Payload: {"keys": ["videos/1/2/720p.mp4", ...],
 *           "prefixes": ["videos/1/2/hls/", ...],
 *           "multipart": [{"key": k, "upload_id": id}, ...]}
 * A prefix (a key followed by '/') stands for every object under it, removed
 * with the storage's remove_prefix (an HLS stream's unknown number of
 * segments).  A storage plugin without remove_prefix (ABI < 1.2) cannot
 * list what is under a prefix: the job logs a warning naming each such
 * prefix, leaves those objects for an operator to remove, and carries on
 * with the rest (failing would retry for ever what can never succeed).
 * A payload without "prefixes" (queued before they existed) is read as
 * before. */
#define VF_JOB_REMOVE_FILES "remove_files"

/* Inside the caller's open transaction: a remove_files job for `keys` and
 * `prefixes` (JSON arrays of strings, borrowed; either may be NULL) and,
 * when mp_key is not NULL, the abort of the multipart upload mp_id at
 * mp_key. */
int vf_remove_files_tx(vf_thread_ctx_t *ctx, json_t *keys, json_t *prefixes, const char *mp_key,
                       const char *mp_id);

/* Register the handler with the worker (vf_worker_register). */
void vf_remove_files_register_job(void);

#endif
