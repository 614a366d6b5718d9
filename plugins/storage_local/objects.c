/*
 * objects.c - the whole-object operations of storage_local: put, get,
 * stat, remove, url and local_path.  Every write goes to a temporary file
 * in the destination directory which is synced and renamed over the old
 * object, so readers see the old or the new bytes, never a mixture.
 */
#include "storage_local.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <videoflix/content_type.h>

/* Attempts at put when a concurrent remove prunes the directory just
 * opened for it (the temporary file cannot be created in a removed one). */
#define SL_PUT_ATTEMPTS 16

/* Rename `from` (in fromfd) onto `leaf` (in dir) unless the leaf is a link
 * or a directory, then sync dir.  A raw -ENOENT means dir was pruned. */
static int move_onto_leaf(const sl_state_t *st, int fromfd, const char *from, int dir, const char *leaf,
                          const char *key, vf_error_t *err)
{
    struct stat sb;
    int ret = sl_stat_leaf(st, dir, leaf, key, &sb, err);
    if (ret < 0 && ret != -ENOENT)
        return ret;
    if (ret == 0 && S_ISDIR(sb.st_mode))
        return SL_FAIL(st, err, -EISDIR, "cannot store '%.200s': it is a directory", key);
    if (renameat(fromfd, from, dir, leaf) != 0) {
        int e = errno;
        return SL_FAIL(st, err, -e, "cannot move the new object onto '%.200s': %s", key, sl_strerror(e));
    }
    if (fsync(dir) != 0) {
        int e = errno;
        return SL_FAIL(st, err, -e, "cannot sync the directory of '%.200s': %s", key, sl_strerror(e));
    }
    return 0;
}

int sl_rename_onto_key(const sl_state_t *st, int fromfd, const char *from, const char *key, vf_error_t *err)
{
    for (int attempt = 0;; attempt++) {
        const char *leaf;
        int dir = sl_open_parent(st, key, true, &leaf, err);
        if (dir < 0)
            return dir;
        int ret = move_onto_leaf(st, fromfd, from, dir, leaf, key, err);
        close(dir);
        if (ret != -ENOENT || attempt + 1 >= SL_PUT_ATTEMPTS)
            return ret;
    }
}

/* Create a temporary file beside the key, in a directory that still exists;
 * returns its fd, the directory's fd in *dirfd and the key's leaf. */
static int create_temp_beside(const sl_state_t *st, const char *key, int *dirfd, const char **leaf,
                              char tmpname[32], vf_error_t *err)
{
    for (int attempt = 0;; attempt++) {
        int dir = sl_open_parent(st, key, true, leaf, err);
        if (dir < 0)
            return dir;
        int ret = sl_temp_name(tmpname);
        if (ret < 0) {
            close(dir);
            return SL_FAIL(st, err, ret, "cannot draw a random name: %s", sl_strerror(ret));
        }
        int fd = openat(dir, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            *dirfd = dir;
            return fd;
        }
        int e = errno;
        close(dir);
        if (e != ENOENT || attempt + 1 >= SL_PUT_ATTEMPTS)
            return SL_FAIL(st, err, -e, "cannot create a temporary file for '%.200s': %s", key, sl_strerror(e));
    }
}

int sl_put_file(void *state, const char *key, const char *path, vf_error_t *err)
{
    return sl_put_file_progress(state, key, path, NULL, NULL, err);
}

int sl_put_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress, void *progress_ud,
                         vf_error_t *err)
{
    const sl_state_t *st = state;
    int src = -1, dir = -1, tmp = -1;
    const char *leaf = NULL;
    char tmpname[32];
    bool tmp_exists = false;

    int ret = sl_key_check(st, key, err);
    if (ret < 0)
        return ret;
    if (!path)
        return SL_FAIL(st, err, -EINVAL, "no source file given for '%.200s'", key);
    /* Before any directory is made: a missing source leaves no trace. */
    src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot read %s: %s", path, sl_strerror(e));
        goto out;
    }
    struct stat sb;
    if (fstat(src, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ret = SL_FAIL(st, err, -EINVAL, "%s is not a regular file", path);
        goto out;
    }
    /* Asked before any directory is made: stopped now, nothing is left. */
    if (progress && progress(progress_ud, 0.0) != 0) {
        ret = SL_FAIL(st, err, -ECANCELED, "the copy of %s into '%.200s' was cancelled", path, key);
        goto out;
    }
    tmp = create_temp_beside(st, key, &dir, &leaf, tmpname, err);
    if (tmp < 0) {
        ret = tmp;
        goto out;
    }
    tmp_exists = true;
    if (fchmod(tmp, 0644) != 0 || (ret = sl_copy_fd(src, tmp, (uint64_t)sb.st_size, progress, progress_ud)) < 0 ||
        fsync(tmp) != 0) {
        int e = ret < 0 ? -ret : errno;
        ret = e == ECANCELED ? SL_FAIL(st, err, -e, "the copy of %s into '%.200s' was cancelled", path, key)
                             : SL_FAIL(st, err, -e, "cannot copy %s into '%.200s': %s", path, key, sl_strerror(e));
        goto out;
    }
    int closed = close(tmp);
    tmp = -1;
    if (closed != 0) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot write '%.200s': %s", key, sl_strerror(e));
        goto out;
    }
    /* The temporary file keeps its directory from being pruned meanwhile. */
    ret = move_onto_leaf(st, dir, tmpname, dir, leaf, key, err);
    if (ret < 0)
        goto out;
    tmp_exists = false;
out:
    if (tmp >= 0)
        close(tmp);
    if (tmp_exists)
        unlinkat(dir, tmpname, 0);
    if (dir >= 0)
        close(dir);
    if (src >= 0)
        close(src);
    return ret;
}

/* Open a stored object for reading: a regular file, reached without links. */
static int open_object(const sl_state_t *st, const char *key, struct stat *sb, vf_error_t *err)
{
    const char *leaf;
    int ret = sl_key_check(st, key, err);
    if (ret < 0)
        return ret;
    int dir = sl_open_parent(st, key, false, &leaf, err);
    if (dir < 0)
        return dir;
    /* O_NONBLOCK: a FIFO planted below the root must not hang the open. */
    int fd = openat(dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    if (fd < 0 && e == ELOOP)
        ret = SL_FAIL(st, err, -EINVAL,
                      "the key '%.200s' names a symbolic link; storage_local follows no links below its root", key);
    else if (fd < 0 && e == ENOENT)
        ret = SL_FAIL(st, err, -ENOENT, "no object '%.200s'", key);
    else if (fd < 0)
        ret = SL_FAIL(st, err, -e, "cannot open '%.200s': %s", key, sl_strerror(e));
    else if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode))
        ret = SL_FAIL(st, err, -ENOENT, "no object '%.200s': it is a directory or a special file", key);
    else
        ret = fd;
    if (ret < 0 && fd >= 0)
        close(fd);
    close(dir);
    return ret;
}

int sl_get_file(void *state, const char *key, const char *path, vf_error_t *err)
{
    return sl_get_file_progress(state, key, path, NULL, NULL, err);
}

int sl_get_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress, void *progress_ud,
                         vf_error_t *err)
{
    const sl_state_t *st = state;
    char *tmppath = NULL;
    int tmp = -1;
    struct stat sb;

    int obj = open_object(st, key, &sb, err);
    if (obj < 0)
        return obj;
    int ret = -EINVAL;
    if (!path) {
        ret = SL_FAIL(st, err, -EINVAL, "no destination file given for '%.200s'", key);
        goto out;
    }
    if (asprintf(&tmppath, "%s.vf-tmp-XXXXXX", path) < 0) {
        tmppath = NULL;
        ret = SL_FAIL(st, err, -ENOMEM, "out of memory");
        goto out;
    }
    tmp = mkostemp(tmppath, O_CLOEXEC);
    if (tmp < 0) {
        int e = errno;
        free(tmppath);
        tmppath = NULL;
        ret = SL_FAIL(st, err, -e, "cannot create a temporary file beside %s: %s", path, sl_strerror(e));
        goto out;
    }
    ret = fchmod(tmp, 0644) == 0 ? 0 : -errno;
    if (ret == 0)
        ret = sl_copy_fd(obj, tmp, (uint64_t)sb.st_size, progress, progress_ud);
    if (ret == 0 && fsync(tmp) != 0)
        ret = -errno;
    if (ret < 0) {
        int e = -ret;
        ret = e == ECANCELED ? SL_FAIL(st, err, -e, "the copy of '%.200s' to %s was cancelled", key, path)
                             : SL_FAIL(st, err, -e, "cannot copy '%.200s' to %s: %s", key, path, sl_strerror(e));
        goto out;
    }
    int closed = close(tmp);
    tmp = -1;
    if (closed != 0 || rename(tmppath, path) != 0) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot write %s: %s", path, sl_strerror(e));
        goto out;
    }
    free(tmppath);
    tmppath = NULL;
    ret = sl_fsync_dir_of(path);
    if (ret < 0)
        ret = SL_FAIL(st, err, ret, "cannot sync the directory of %s: %s", path, sl_strerror(ret));
out:
    if (tmp >= 0)
        close(tmp);
    if (tmppath)
        unlink(tmppath);
    free(tmppath);
    close(obj);
    return ret;
}

int sl_stat(void *state, const char *key, vf_storage_stat_t *out, vf_error_t *err)
{
    const sl_state_t *st = state;
    const char *leaf;
    struct stat sb;

    int ret = sl_key_check(st, key, err);
    if (ret < 0)
        return ret;
    int dir = sl_open_parent(st, key, false, &leaf, err);
    if (dir < 0)
        return dir;
    ret = sl_stat_leaf(st, dir, leaf, key, &sb, err);
    close(dir);
    if (ret < 0)
        return ret;
    if (!S_ISREG(sb.st_mode))
        return SL_FAIL(st, err, -ENOENT, "no object '%.200s': it is a directory or a special file", key);

    memset(out, 0, sizeof *out);
    out->size = (uint64_t)sb.st_size;
    out->mtime = (int64_t)sb.st_mtim.tv_sec;
    /* A rewrite changes the inode (rename) and usually the mtime; the
     * nanoseconds catch two writes within one second. */
    uint64_t mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
    snprintf(out->etag, sizeof out->etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)sb.st_size,
             mtime_ns, (uint64_t)sb.st_ino);
    snprintf(out->content_type, sizeof out->content_type, "%s", vf_content_type_for_key(key));
    return 0;
}

/* Best effort: the objects are already gone, and a directory a concurrent
 * put is filling simply stays. */
void sl_prune_empty_dirs(const sl_state_t *st, const char *key, size_t ndirs)
{
    for (size_t depth = ndirs; depth >= 1; depth--) {
        vf_error_t ignored;
        char name[SL_SEGMENT_MAX + 1];
        int parent = sl_open_dirs(st, key, depth - 1, false, &ignored);
        if (parent < 0)
            return;
        sl_key_segment(key, depth - 1, name);
        int removed = unlinkat(parent, name, AT_REMOVEDIR);
        int e = errno;
        if (removed == 0)
            (void)fsync(parent); /* durability of a prune is not worth failing remove() for */
        close(parent);
        if (removed != 0 && e != ENOENT)
            return;
    }
}

int sl_remove(void *state, const char *key, vf_error_t *err)
{
    const sl_state_t *st = state;
    const char *leaf;
    struct stat sb;

    int ret = sl_key_check(st, key, err);
    if (ret < 0)
        return ret;
    int dir = sl_open_parent(st, key, false, &leaf, err);
    if (dir == -ENOENT)
        return 0;
    if (dir < 0)
        return dir;
    ret = sl_stat_leaf(st, dir, leaf, key, &sb, err);
    if (ret == 0 && S_ISDIR(sb.st_mode))
        ret = SL_FAIL(st, err, -EISDIR, "cannot remove '%.200s': it is a directory, not an object", key);
    if (ret == 0 && unlinkat(dir, leaf, 0) != 0 && errno != ENOENT) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot remove '%.200s': %s", key, sl_strerror(e));
    }
    if (ret == 0 && fsync(dir) != 0) {
        int e = errno;
        ret = SL_FAIL(st, err, -e, "cannot sync the directory of '%.200s': %s", key, sl_strerror(e));
    }
    close(dir);
    if (ret == -ENOENT)
        ret = 0; /* already gone; its emptied directories may still be pruned */
    if (ret == 0)
        sl_prune_empty_dirs(st, key, sl_key_segments(key) - 1);
    return ret;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

int sl_url(void *state, const char *key, const vf_storage_url_opts_t *opts, char **url, vf_error_t *err)
{
    const sl_state_t *st = state;
    (void)opts; /* the core serves local media itself: no expiry, no disposition in the URL */

    int ret = sl_key_check(st, key, err);
    if (ret < 0)
        return ret;
    size_t prefix = strlen(st->public_url);
    char *out = malloc(prefix + 3 * strlen(key) + 1);
    if (!out)
        return SL_FAIL(st, err, -ENOMEM, "out of memory");
    memcpy(out, st->public_url, prefix);
    char *w = out + prefix;
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        if (unreserved(*c) || *c == '/') {
            *w++ = (char)*c;
        } else {
            *w++ = '%';
            *w++ = hex[*c >> 4];
            *w++ = hex[*c & 15];
        }
    }
    *w = '\0';
    *url = out;
    return 0;
}

int sl_check_reachable(const sl_state_t *st, const char *key, vf_error_t *err)
{
    const char *leaf;
    struct stat sb;
    int ret = sl_key_check(st, key, err);
    if (ret < 0)
        return ret;
    int dir = sl_open_parent(st, key, false, &leaf, err);
    if (dir < 0)
        return dir == -ENOENT ? 0 : dir;
    ret = sl_stat_leaf(st, dir, leaf, key, &sb, err);
    close(dir);
    return ret == -ENOENT ? 0 : ret;
}

int sl_local_path(void *state, const char *key, char **path, vf_error_t *err)
{
    const sl_state_t *st = state;
    int ret = sl_check_reachable(st, key, err);
    if (ret < 0)
        return ret;
    if (asprintf(path, "%s/%s", st->root, key) < 0) {
        *path = NULL;
        return SL_FAIL(st, err, -ENOMEM, "out of memory");
    }
    return 0;
}
