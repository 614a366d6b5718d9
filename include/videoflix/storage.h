/*
 * videoflix/storage.h - the storage plugin kind (storage_local, storage_s3).
 *
 * Objects are addressed by keys: relative paths such as "videos/clip.mp4"
 * whose grammar is host->key_check's (plugin.h): UTF-8, '/'-separated
 * segments of 1..255 bytes, at most 1024 bytes, no "." or ".." segment, no
 * leading '/', no control character or backslash.  Every operation taking a
 * key refuses any other key (NULL included) with -EINVAL.
 *
 * Threads: every operation blocks until done and is thread-safe; the core
 * calls them from worker threads (the HTTP server's worker pool, the job
 * worker's slots), never from an event-loop thread.  Files move between
 * storage and local paths, so a large object is never held in memory;
 * uploads that arrive in pieces use the multipart operations, which keep no
 * state in the plugin between calls: the caller records the upload id and
 * the parts, and successive calls may come from other threads or processes.
 *
 * Required operations (the loader refuses a NULL one, naming it): put_file,
 * get_file, stat, remove, url, multipart_begin, multipart_write,
 * multipart_complete, multipart_abort.  Optional (NULL = not offered):
 * local_path, and everything appended in 1.1 (capabilities,
 * put_file_progress, get_file_progress, multipart_write_pieces) and 1.2
 * (remove_prefix).
 *
 * Multipart semantics:
 *   - begin -> write parts -> complete, or abort at any time;
 *   - parts are numbered from 1 (1..max_parts) and the caller writes them
 *     in increasing order, part n after part n - 1; a plugin may refuse a
 *     part that would leave a gap with -EINVAL (storage_local does; S3
 *     accepts any order), so a caller must not skip numbers;
 *   - a part number already written may be written again (a retry after a
 *     lost answer or a failed commit, with the same or other bytes): the
 *     last write wins, and its etag replaces the one returned before;
 *   - every part but the last is at least capabilities' min_part_size (the
 *     1.0 field min_part_size), no part is larger than max_part_size, and
 *     there are at most max_parts parts;
 *   - complete lists parts 1..n with the etags of their last writes; a
 *     list naming a part never written, an etag other than a part's latest,
 *     or numbers other than 1..n is refused with -EINVAL and changes
 *     nothing; parts written after n are refused as well by some plugins
 *     (storage_local) and left out of the object by others (S3 completes
 *     with the parts listed), so a caller lists every part it wrote;
 *   - nothing is visible under the key before complete succeeds; complete
 *     replaces any old object at once;
 *   - writing to, or completing, an unknown, completed or aborted upload
 *     gives -ENOENT; aborting one succeeds.
 */
#ifndef VIDEOFLIX_STORAGE_H
#define VIDEOFLIX_STORAGE_H

#include <videoflix/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vf_storage_stat {
    uint64_t size;
    int64_t mtime;            /* seconds since the epoch */
    char etag[128];           /* quoted, as in an HTTP ETag header */
    char content_type[128];
} vf_storage_stat_t;

typedef struct vf_storage_url_opts {
    int expires;                       /* seconds for expiring URLs; 0 = the plugin's default */
    const char *content_disposition;   /* e.g. "inline"; NULL = none */
} vf_storage_url_opts_t;

/* One piece of a part handed over in pieces (multipart_write_pieces): the
 * layout of struct iovec, with a pointer to read-only bytes. */
typedef struct vf_storage_piece {
    const void *base;                  /* may be NULL only when len is 0 */
    size_t len;
} vf_storage_piece_t;

typedef struct vf_storage_part {
    unsigned number;                   /* 1-based, consecutive */
    const char *etag;                  /* as returned by the part's last multipart_write */
} vf_storage_part_t;

/* ---- 1.1: capabilities, declared by the plugin instead of guessed ---- */

/* local_path() hands out paths of files on this host (the core may serve
 * them itself and give them to an encoder). */
#define VF_STORAGE_LOCAL_PATHS (1u << 0)
/* url() makes URLs that stop working after a while (presigned URLs); the
 * core then makes them again before they expire. */
#define VF_STORAGE_URLS_EXPIRE (1u << 1)

typedef struct vf_storage_caps {
    /* Set by the caller: how many bytes of this structure it has.  The
     * caller fills every field with its fallback first; the plugin
     * overwrites the fields it knows that `size` covers. */
    uint32_t size;
    uint32_t flags;                /* VF_STORAGE_LOCAL_PATHS, VF_STORAGE_URLS_EXPIRE */
    uint32_t url_expires_default;  /* seconds a URL lives when url() gets expires = 0; 0 without URLS_EXPIRE */
    uint32_t url_expires_max;      /* the longest `expires` url() accepts; 0 without URLS_EXPIRE */
    uint32_t max_parts;            /* most parts one multipart upload may have */
    uint32_t reserved;             /* 0 */
    uint64_t min_part_size;        /* smallest part but the last */
    uint64_t max_part_size;        /* largest part */
} vf_storage_caps_t;

#define VF_STORAGE_CAPS_SIZE_1_1 VF_SIZE_THROUGH(vf_storage_caps_t, max_part_size)

typedef struct vf_storage_ops {
    uint32_t size;                     /* sizeof(vf_storage_ops_t) when built */

    /* Smallest part multipart_write accepts, except for the last part
     * (5 MiB for S3, 1 for local storage).  A 1.1 plugin reports the same
     * number in capabilities. */
    size_t min_part_size;

    /* Store the local file `path` under `key`, replacing any old object at
     * once (readers see the old or the new object).  -ENOENT (or another
     * errno) when `path` cannot be read.  Required. */
    int (*put_file)(void *state, const char *key, const char *path, vf_error_t *err);
    /* Copy the object to the local file `path`, written atomically: on
     * failure `path` is left as it was and no temporary file stays.
     * -ENOENT when the object does not exist.  Required. */
    int (*get_file)(void *state, const char *key, const char *path, vf_error_t *err);
    /* Fill *out (not NULL).  -ENOENT when the object does not exist.  Required. */
    int (*stat)(void *state, const char *key, vf_storage_stat_t *out, vf_error_t *err);
    /* Removing a missing object succeeds.  Required. */
    int (*remove)(void *state, const char *key, vf_error_t *err);
    /* An absolute URL a browser can fetch: public, presigned or local media.
     * `opts` may be NULL (no expiry asked for, no disposition).  The object
     * need not exist.  Required. */
    int (*url)(void *state, const char *key, const vf_storage_url_opts_t *opts,
               char **url, vf_error_t *err);
    /* The object's path on the local disk, for sendfile() and encoders; the
     * object need not exist yet.  Optional: NULL, or -ENOTSUP for every key,
     * when the storage is remote; a 1.1 plugin that sets it declares
     * VF_STORAGE_LOCAL_PATHS. */
    int (*local_path)(void *state, const char *key, char **path, vf_error_t *err);

    /* Multipart upload (see the semantics above).  All four required. */
    int (*multipart_begin)(void *state, const char *key, char **upload_id, vf_error_t *err);
    /* `data` may be NULL only when len is 0. */
    int (*multipart_write)(void *state, const char *key, const char *upload_id,
                           unsigned part_number, const void *data, size_t len,
                           char **etag, vf_error_t *err);
    int (*multipart_complete)(void *state, const char *key, const char *upload_id,
                              const vf_storage_part_t *parts, size_t nparts, vf_error_t *err);
    int (*multipart_abort)(void *state, const char *key, const char *upload_id, vf_error_t *err);

    /* ---- appended in 1.1 (read only when `size` covers them) ---- */

    /* Fill the fields of *caps that caps->size covers.  Called once, right
     * after create; the answer holds for the life of the state.  Optional:
     * without it the core assumes 1.0 behaviour (local paths when
     * local_path works, URLs expire when it does not, min_part_size as
     * above, at most 10000 parts of at most 5 GiB). */
    int (*capabilities)(void *state, vf_storage_caps_t *caps);
    /* put_file and get_file for long copies: `progress` (may be NULL) is
     * called at least once a second with the share of bytes moved, never
     * going backwards; a non-zero return stops the copy, which returns
     * -ECANCELED and leaves nothing half-written (no partial object, no
     * partial or temporary file, any old object or `path` as they were).
     * Every report comes while the copy can still be stopped: a stop
     * asked for at the last report (even at 100) still stores nothing.
     * Optional: without them the core calls put_file / get_file, which
     * cannot be stopped. */
    int (*put_file_progress)(void *state, const char *key, const char *path,
                             vf_progress_fn progress, void *progress_ud, vf_error_t *err);
    int (*get_file_progress)(void *state, const char *key, const char *path,
                             vf_progress_fn progress, void *progress_ud, vf_error_t *err);

    /* ---- appended later in 1.1 (read only when `size` covers it) ---- */

    /* multipart_write of a part given as `npieces` pieces: the part's bytes
     * are the pieces' bytes in order, as if they had been copied into one
     * block and passed to multipart_write, with every rule of that
     * operation (part numbers, sizes, a retry of the same part number
     * allowed with the last write winning, the same etag for the same
     * bytes however they are cut into pieces, -ENOENT for an unknown
     * upload).  It exists so that a caller holding a part as many small
     * buffers (an HTTP body as it arrived) needs no second copy of it:
     * the plugin reads the pieces where they are and keeps no pointer
     * into them after it returns.  `pieces` may be NULL only when npieces
     * is 0 (an empty part); a piece may be empty; there may be any number
     * of pieces (more than IOV_MAX too).  Same threads as every operation:
     * called from a worker thread, never an event loop; it blocks until the
     * part is as durable as multipart_write makes it.  Optional: without it
     * the core copies the pieces into one block for multipart_write. */
    int (*multipart_write_pieces)(void *state, const char *key, const char *upload_id, unsigned part_number,
                                  const vf_storage_piece_t *pieces, size_t npieces, char **etag,
                                  vf_error_t *err);

    /* ---- appended in 1.2 (read only when `size` covers it) ---- */

    /* Remove every object whose key starts with `prefix`, which is a key
     * followed by '/' (e.g. "videos/7/2/hls/"), however many there are
     * (S3: listed, then removed in batches with DeleteObjects).  Nothing
     * under the prefix succeeds.  On failure some objects may be gone and
     * others not; calling it again finishes the work.  Optional: without it
     * the core cannot remove HLS streams (it removes the keys it knows). */
    int (*remove_prefix)(void *state, const char *prefix, vf_error_t *err);
} vf_storage_ops_t;

#define VF_STORAGE_OPS_SIZE_1_0 VF_SIZE_THROUGH(vf_storage_ops_t, multipart_abort)
/* The first 1.1 table (before multipart_write_pieces): plugins built with
 * those headers still load, without the pieces operation. */
#define VF_STORAGE_OPS_SIZE_1_1 VF_SIZE_THROUGH(vf_storage_ops_t, get_file_progress)
#define VF_STORAGE_OPS_SIZE_1_2 VF_SIZE_THROUGH(vf_storage_ops_t, remove_prefix)

/* What a 1.0 plugin is assumed to allow (S3's limits, which storage_local
 * shares for the part count). */
#define VF_STORAGE_MAX_PARTS_1_0 10000u
#define VF_STORAGE_MAX_PART_SIZE_1_0 ((uint64_t)5 << 30)

#if defined(__LP64__)
VF_STATIC_ASSERT(VF_STORAGE_OPS_SIZE_1_0 == 96, "vf_storage_ops_t 1.0 is 96 bytes");
#endif

#ifdef __cplusplus
}
#endif
#endif
