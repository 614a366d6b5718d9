/*
 * storage_local.h - internals shared by the files of the storage_local
 * plugin: its state, the settings reader, key checking and the walk below
 * the root, file helpers, and the operations the descriptor publishes.
 */
#ifndef SL_STORAGE_LOCAL_H
#define SL_STORAGE_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <videoflix/storage.h>

#define SL_NAME "storage_local"
#define SL_SEGMENT_MAX 255       /* the key grammar's longest segment (host->key_check) */
#define SL_KEY_MAX 1024          /* the key grammar's longest key */
#define SL_MAX_PARTS 10000       /* parts of one multipart upload */
#define SL_UPLOADS_DIR ".uploads" /* reserved first segment: multipart temporaries */

/* Immutable after create(), so every operation may share it across threads. */
typedef struct sl_state {
    const vf_host_api_t *host;
    char *root;        /* absolute, symlinks resolved, no trailing '/' */
    char *public_url;  /* absolute http(s) URL ending with '/' */
} sl_state_t;

#define SL_FAIL(st, err, code, ...) ((st)->host->error((err), (code), __VA_ARGS__))

/* settings.c: read the config group, create the root; fills st->root and
 * st->public_url. */
int sl_settings_load(sl_state_t *st, const config_setting_t *cfg, vf_error_t *err);

/* keypath.c: the host's key grammar, plus the reserved ".uploads/". */
int sl_key_check(const sl_state_t *st, const char *key, vf_error_t *err);
/* The number of '/'-separated segments of a checked key. */
size_t sl_key_segments(const char *key);
/* Copy segment `index` (0-based) of a checked key into name. */
void sl_key_segment(const char *key, size_t index, char name[SL_SEGMENT_MAX + 1]);
/* Open the directory made of the first `ndirs` segments of a checked key,
 * starting at the root and never following a symlink; with `create`,
 * missing directories are made (0755).  Returns a directory fd or a
 * negative errno: -ENOENT when missing, -EINVAL for a symlink. */
int sl_open_dirs(const sl_state_t *st, const char *key, size_t ndirs, bool create, vf_error_t *err);
/* The same for the directory holding the key's last segment, whose name is
 * returned in *leaf (a pointer into key). */
int sl_open_parent(const sl_state_t *st, const char *key, bool create, const char **leaf,
                   vf_error_t *err);
/* lstat of `leaf` inside dirfd.  Returns 0 (filled *sb), -ENOENT, or
 * -EINVAL when it is a symlink. */
int sl_stat_leaf(const sl_state_t *st, int dirfd, const char *leaf, const char *key,
                 struct stat *sb, vf_error_t *err);

/* fileio.c; each returns 0 or a negative errno, leaving messages to callers. */
/* Copy `in` to `out` from their current offsets; `progress` (may be NULL)
 * is told the share of `total` bytes copied after each chunk, and a
 * non-zero answer stops the copy with -ECANCELED. */
int sl_copy_fd(int in, int out, uint64_t total, vf_progress_fn progress, void *progress_ud);
/* Append `len` bytes of `in` from `offset` to `out` (at its offset). */
int sl_copy_range(int in, off_t offset, uint64_t len, int out);
int sl_write_all_at(int fd, const void *buf, size_t len, off_t offset);
/* The pieces' bytes one after the other from `offset` (pwritev, in batches
 * of at most IOV_MAX pieces, resumed after short writes). */
int sl_write_pieces_at(int fd, const vf_storage_piece_t *pieces, size_t npieces, off_t offset);
int sl_read_all_at(int fd, void *buf, size_t len, off_t offset);
int sl_fsync_dir_of(const char *path);
/* nbytes random bytes as 2*nbytes lowercase hex digits plus a NUL. */
int sl_random_hex(char *out, size_t nbytes);
/* A temporary name for a file being written into a directory of the store. */
int sl_temp_name(char out[32]);
/* strerror() that is safe from any thread. */
const char *sl_strerror(int errnum);

/* objects.c */
int sl_put_file(void *state, const char *key, const char *path, vf_error_t *err);
int sl_get_file(void *state, const char *key, const char *path, vf_error_t *err);
int sl_put_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress, void *progress_ud,
                         vf_error_t *err);
int sl_get_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress, void *progress_ud,
                         vf_error_t *err);
int sl_stat(void *state, const char *key, vf_storage_stat_t *out, vf_error_t *err);
int sl_remove(void *state, const char *key, vf_error_t *err);
int sl_url(void *state, const char *key, const vf_storage_url_opts_t *opts, char **url,
           vf_error_t *err);
int sl_local_path(void *state, const char *key, char **path, vf_error_t *err);
/* A checked key whose existing part contains no symlink (the rest may be
 * missing): 0 or -EINVAL.  The path may change later; operations walk it
 * again. */
int sl_check_reachable(const sl_state_t *st, const char *key, vf_error_t *err);
/* Remove the first `ndirs` directories of a checked key, deepest first,
 * while they are empty (remove: the key's parents; remove_prefix: the
 * prefix's own directory too). */
void sl_prune_empty_dirs(const sl_state_t *st, const char *key, size_t ndirs);
/* Also used by multipart_complete: rename `from` (inside fromfd) onto the
 * key, creating its directories, then make both names durable. */
int sl_rename_onto_key(const sl_state_t *st, int fromfd, const char *from, const char *key,
                       vf_error_t *err);

/* prefix.c: every object under "<key>/", the emptied directories with them. */
int sl_remove_prefix(void *state, const char *prefix, vf_error_t *err);

/* multipart.c */
int sl_multipart_begin(void *state, const char *key, char **upload_id, vf_error_t *err);
int sl_multipart_write(void *state, const char *key, const char *upload_id, unsigned part_number,
                       const void *data, size_t len, char **etag, vf_error_t *err);
int sl_multipart_write_pieces(void *state, const char *key, const char *upload_id, unsigned part_number,
                              const vf_storage_piece_t *pieces, size_t npieces, char **etag, vf_error_t *err);
int sl_multipart_complete(void *state, const char *key, const char *upload_id,
                          const vf_storage_part_t *parts, size_t nparts, vf_error_t *err);
int sl_multipart_abort(void *state, const char *key, const char *upload_id, vf_error_t *err);

#endif
