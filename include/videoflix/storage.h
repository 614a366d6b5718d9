/*
 * videoflix/storage.h - the storage plugin kind (storage_local, storage_s3).
 *
 * Objects are addressed by keys: relative paths such as "videos/clip.mp4"
 * (UTF-8, '/'-separated, no "." or ".." segments, no leading '/', no NUL or
 * backslash).  A plugin refuses any other key with -EINVAL.
 *
 * All operations are blocking and thread-safe.  Files move between storage
 * and local paths, so a large object is never held in memory; uploads that
 * arrive in pieces use the multipart operations, which keep no state in the
 * plugin between calls: the caller records the upload id and the parts.
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
    int expires;                       /* seconds for presigned URLs; 0 = plugin default */
    const char *content_disposition;   /* e.g. "inline"; NULL = none */
} vf_storage_url_opts_t;

typedef struct vf_storage_part {
    unsigned number;                   /* 1-based, consecutive */
    const char *etag;                  /* as returned by multipart_write */
} vf_storage_part_t;

typedef struct vf_storage_ops {
    uint32_t size;                     /* sizeof(vf_storage_ops_t) when built */

    /* Smallest part multipart_write accepts, except for the last part
     * (5 MiB for S3, 1 for local storage). */
    size_t min_part_size;

    /* Store the local file `path` under `key`, replacing any old object. */
    int (*put_file)(void *state, const char *key, const char *path, vf_error_t *err);
    /* Copy the object to the local file `path` (written atomically). */
    int (*get_file)(void *state, const char *key, const char *path, vf_error_t *err);
    /* -ENOENT when the object does not exist. */
    int (*stat)(void *state, const char *key, vf_storage_stat_t *out, vf_error_t *err);
    /* Removing a missing object succeeds. */
    int (*remove)(void *state, const char *key, vf_error_t *err);
    /* An absolute URL a browser can fetch: public, presigned or local media. */
    int (*url)(void *state, const char *key, const vf_storage_url_opts_t *opts,
               char **url, vf_error_t *err);
    /* The object's path on the local disk, for sendfile(); -ENOTSUP for
     * remote storage. */
    int (*local_path)(void *state, const char *key, char **path, vf_error_t *err);

    /* Multipart upload: begin -> write parts 1..n in order -> complete, or abort. */
    int (*multipart_begin)(void *state, const char *key, char **upload_id, vf_error_t *err);
    int (*multipart_write)(void *state, const char *key, const char *upload_id,
                           unsigned part_number, const void *data, size_t len,
                           char **etag, vf_error_t *err);
    int (*multipart_complete)(void *state, const char *key, const char *upload_id,
                              const vf_storage_part_t *parts, size_t nparts, vf_error_t *err);
    /* Aborting an unknown or finished upload succeeds. */
    int (*multipart_abort)(void *state, const char *key, const char *upload_id, vf_error_t *err);
} vf_storage_ops_t;

#ifdef __cplusplus
}
#endif
#endif
