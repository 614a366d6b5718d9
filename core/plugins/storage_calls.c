/*
 * storage_calls.c - see storage_calls.h.
 */
#include "config.h"
#include "plugins/storage_calls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*copy_progress_fn)(void *, const char *, const char *, vf_progress_fn, void *, vf_error_t *);
typedef int (*copy_fn)(void *, const char *, const char *, vf_error_t *);

static int copy(const vf_plugin_t *storage, copy_progress_fn with_progress, copy_fn plain, const char *key,
                const char *path, vf_progress_fn progress, void *ud, vf_error_t *err)
{
    if (with_progress)
        return with_progress(storage->state, key, path, progress, ud, err);
    if (progress && progress(ud, 0.0) != 0) {
        if (err)
            snprintf(err->message, sizeof err->message, "the copy of '%.200s' was cancelled", key);
        return -ECANCELED;
    }
    int ret = plain(storage->state, key, path, err);
    if (ret == 0 && progress)
        progress(ud, 100.0);
    return ret;
}

int vf_storage_put(const vf_plugin_t *storage, const char *key, const char *path, vf_progress_fn progress,
                   void *progress_ud, vf_error_t *err)
{
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    copy_progress_fn p = VF_HAS_FIELD(vf_storage_ops_t, ops, put_file_progress) ? ops->put_file_progress : NULL;
    return copy(storage, p, ops->put_file, key, path, progress, progress_ud, err);
}

int vf_storage_get(const vf_plugin_t *storage, const char *key, const char *path, vf_progress_fn progress,
                   void *progress_ud, vf_error_t *err)
{
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    copy_progress_fn p = VF_HAS_FIELD(vf_storage_ops_t, ops, get_file_progress) ? ops->get_file_progress : NULL;
    return copy(storage, p, ops->get_file, key, path, progress, progress_ud, err);
}

int vf_storage_takes_pieces(const vf_plugin_t *storage)
{
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    return VF_HAS_FIELD(vf_storage_ops_t, ops, multipart_write_pieces) && ops->multipart_write_pieces;
}

int vf_storage_write_pieces(const vf_plugin_t *storage, const char *key, const char *upload_id,
                            unsigned part_number, const vf_storage_piece_t *pieces, size_t npieces, char **etag,
                            vf_error_t *err)
{
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    if (vf_storage_takes_pieces(storage))
        return ops->multipart_write_pieces(storage->state, key, upload_id, part_number, pieces, npieces, etag, err);
    if (npieces <= 1)
        return ops->multipart_write(storage->state, key, upload_id, part_number, npieces ? pieces[0].base : "",
                                    npieces ? pieces[0].len : 0, etag, err);
    size_t len = 0;
    for (size_t i = 0; i < npieces; i++)
        len += pieces[i].len;
    unsigned char *block = malloc(len ? len : 1);
    if (!block) {
        if (err)
            snprintf(err->message, sizeof err->message, "out of memory joining part %u (%zu bytes)", part_number,
                     len);
        return -ENOMEM;
    }
    size_t at = 0;
    for (size_t i = 0; i < npieces; i++) {
        if (pieces[i].len)
            memcpy(block + at, pieces[i].base, pieces[i].len);
        at += pieces[i].len;
    }
    int ret = ops->multipart_write(storage->state, key, upload_id, part_number, block, len, etag, err);
    free(block);
    return ret;
}

int vf_storage_local_path(const vf_plugin_t *storage, const char *key, char **path, vf_error_t *err)
{
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    *path = NULL;
    if (!(storage->storage_caps.flags & VF_STORAGE_LOCAL_PATHS) || !ops->local_path) {
        if (err)
            snprintf(err->message, sizeof err->message, "%s keeps no objects on this host", storage->desc->name);
        return -ENOTSUP;
    }
    return ops->local_path(storage->state, key, path, err);
}

int vf_storage_removes_prefixes(const vf_plugin_t *storage)
{
    const vf_storage_ops_t *ops = vf_storage_ops(storage);
    return VF_HAS_FIELD(vf_storage_ops_t, ops, remove_prefix) && ops->remove_prefix;
}

int vf_storage_remove_prefix(const vf_plugin_t *storage, const char *prefix, vf_error_t *err)
{
    if (!vf_storage_removes_prefixes(storage)) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "%s cannot remove objects by prefix (remove_prefix, plugin ABI 1.2)", storage->desc->name);
        return -ENOTSUP;
    }
    return vf_storage_ops(storage)->remove_prefix(storage->state, prefix, err);
}
