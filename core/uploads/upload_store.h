/*
 * upload_store.h - resumable uploads as data: the uploads table and the
 * storage plugin's multipart operations behind it.  core/upload.c speaks
 * tus over HTTP on top of this; core/video_lifecycle.c takes a finished
 * upload's object for a video.
 * Owns: upload ids, chunk acceptance (offset checks, part sizing, the
 * durable tail of bytes too short to be a part), completion, termination,
 * expiry.
 * Must not: read requests or reply (no HTTP here).
 *
 * Errors (negative errno) the HTTP layer maps to statuses:
 *   -ENOENT     no such upload for this owner (404)
 *   -ESTALE     the upload expired (410)
 *   -EBUSY      another request is writing to it right now (423)
 *   -ERANGE     Upload-Offset is not the upload's offset (409)
 *   -EOVERFLOW  the chunk would go past Upload-Length (400)
 *   -EFBIG      Upload-Length above upload.max_size (413)
 *   -EALREADY   the upload is complete; no more chunks (400)
 *   -EINPROGRESS the upload is not complete yet (video creation)
 *   others      storage or database failure (500/503)
 */
#ifndef VF_UPLOAD_STORE_H
#define VF_UPLOAD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/app.h"

#include <videoflix/storage.h>

#define VF_UPLOAD_ID_LEN 32

typedef struct vf_upload_info {
    char id[VF_UPLOAD_ID_LEN + 1];
    int64_t length;
    int64_t offset;
    int64_t expires_at;   /* seconds since the epoch */
    int complete;
    char *metadata;       /* malloc()ed; "" when none */
} vf_upload_info_t;

void vf_upload_info_clear(vf_upload_info_t *info);

/* 1 when `metadata` is a valid tus Upload-Metadata value: comma-separated
 * "key" or "key base64value" pairs, keys unique. */
int vf_upload_metadata_valid(const char *metadata);
/* The decoded value of one metadata key (malloc()ed), or NULL. */
char *vf_upload_metadata_get(const char *metadata, const char *key);

/* A fresh storage key for a source file: "sources/<32 hex digits>" plus
 * the extension of `filename` (when short and alphanumeric, lower-cased),
 * so that the stored source keeps its type.  malloc()ed; NULL on failure. */
char *vf_upload_new_source_key(const char *filename);

/* Part planning by the storage's capabilities (pure arithmetic):
 * the longest upload the storage can take in parts; the sum of held-back
 * bytes and a chunk from which a part is written (at least min_part_size,
 * at most max_part_size, so that an upload of `length` needs at most nine
 * tenths of max_parts); and into how many equal parts of *piece bytes (the
 * last may be shorter) `len` bytes are split so none is above max_part_size. */
uint64_t vf_upload_max_length(const vf_storage_caps_t *caps);
uint64_t vf_upload_part_threshold(const vf_storage_caps_t *caps, int64_t length);
size_t vf_upload_part_count(const vf_storage_caps_t *caps, size_t len, size_t *piece);

/* A new upload of `length` bytes for user `owner` (0 = none).  An empty
 * upload is complete at once. */
int vf_upload_create(vf_thread_ctx_t *ctx, int64_t owner, int64_t length, const char *metadata,
                     vf_upload_info_t *out, char *err, size_t errlen);
/* The upload's state (for HEAD). */
int vf_upload_get(vf_thread_ctx_t *ctx, const char *id, int64_t owner, vf_upload_info_t *out);
/* Accept the chunk at `offset`: the bytes of `npieces` pieces in order,
 * read where they are (a part goes to storage from them, through
 * multipart_write_pieces or one joined block for a plugin without it).
 * The bytes are durable (stored as a part or in the tail) when this
 * returns 0; the last chunk completes the multipart upload. */
int vf_upload_append(vf_thread_ctx_t *ctx, const char *id, int64_t owner, int64_t offset,
                     const vf_storage_piece_t *pieces, size_t npieces, vf_upload_info_t *out, char *err,
                     size_t errlen);
/* tus termination: forget the upload; its parts are removed by a job. */
int vf_upload_terminate(vf_thread_ctx_t *ctx, const char *id, int64_t owner);

/* Inside the caller's open transaction: lock the complete upload `id` of
 * `owner`, delete its row and hand its object's key (malloc()ed) to the
 * caller, who now owns that object. */
int vf_upload_take_tx(vf_thread_ctx_t *ctx, const char *id, int64_t owner, char **storage_key);

/* Expire up to `limit` uploads past their expires_at: each row is deleted
 * and a remove_files job for its parts enqueued in the same transaction.
 * Returns how many expired, or a negative errno. */
int vf_upload_expire_sweep(vf_thread_ctx_t *ctx, int limit);

#endif
