/*
 * storage_calls.h - calling a storage plugin's operations that are optional
 * or newer than 1.0, with the fallback each one has, so that no caller in
 * the core tests `size` or NULL itself.
 * Owns: choosing between put_file_progress and put_file (and get_*),
 * between multipart_write_pieces and multipart_write, whether
 * local_path may be asked at all, and whether remove_prefix is there.
 * Must not: decide what a failure means for the caller.
 */
#ifndef VF_STORAGE_CALLS_H
#define VF_STORAGE_CALLS_H

#include "plugins/loader.h"

/* Copy `path` into storage under `key` (get: the object to `path`).  With a
 * 1.1 plugin the copy reports progress and stops with -ECANCELED when
 * `progress` (may be NULL) returns non-zero; a 1.0 plugin's copy cannot be
 * stopped, so `progress` is only asked before it starts and told 100 at
 * the end. */
int vf_storage_put(const vf_plugin_t *storage, const char *key, const char *path, vf_progress_fn progress,
                   void *progress_ud, vf_error_t *err);
int vf_storage_get(const vf_plugin_t *storage, const char *key, const char *path, vf_progress_fn progress,
                   void *progress_ud, vf_error_t *err);

/* 1 when the plugin takes a part as pieces (multipart_write_pieces), so a
 * caller holding one in pieces need not join them first. */
int vf_storage_takes_pieces(const vf_plugin_t *storage);
/* Write part `part_number` from `npieces` pieces: through
 * multipart_write_pieces when the plugin has it, else through
 * multipart_write, with the pieces copied into one block when there are
 * several (one piece is passed as it is). */
int vf_storage_write_pieces(const vf_plugin_t *storage, const char *key, const char *upload_id,
                            unsigned part_number, const vf_storage_piece_t *pieces, size_t npieces, char **etag,
                            vf_error_t *err);

/* The object's local path (malloc()ed), or -ENOTSUP without asking the
 * plugin when its capabilities do not include local paths. */
int vf_storage_local_path(const vf_plugin_t *storage, const char *key, char **path, vf_error_t *err);

/* 1 when the plugin removes objects by prefix (remove_prefix, ABI 1.2). */
int vf_storage_removes_prefixes(const vf_plugin_t *storage);
/* Remove every object under `prefix` (a key followed by '/'), or -ENOTSUP
 * with a message naming the plugin when it cannot. */
int vf_storage_remove_prefix(const vf_plugin_t *storage, const char *prefix, vf_error_t *err);

#endif
