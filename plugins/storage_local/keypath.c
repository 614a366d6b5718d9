/*
 * keypath.c - turning a key into a place below the root, safely.
 *
 * A key is first checked as text, by the host's key grammar (the same for
 * every storage), and ".uploads/" is kept for unfinished uploads.  Then the
 * directories it names are opened one component at a time with
 * openat(O_NOFOLLOW) starting from a descriptor of the root, rather than
 * checked with realpath(): a check followed by a separate open could be
 * raced by a concurrent rename or symlink swap, while a walk of descriptors
 * never leaves the tree it started in.  Any symlink below the root is
 * refused, even one pointing inside it: links are never needed by the
 * store, and refusing them all keeps the rule simple to audit.  The root
 * itself may be a symlink; it is resolved once when the plugin starts.
 */
#include "storage_local.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Attempts at opening a directory that a concurrent remove() keeps pruning. */
#define SL_WALK_ATTEMPTS 16

int sl_key_check(const sl_state_t *st, const char *key, vf_error_t *err)
{
    int ret = st->host->key_check(key, err);
    if (ret < 0)
        return ret;
    size_t n = strlen(SL_UPLOADS_DIR);
    if (strncmp(key, SL_UPLOADS_DIR, n) == 0 && key[n] == '/')
        return SL_FAIL(st, err, -EINVAL, "the key '%.200s' is inside %s, which holds unfinished uploads", key,
                       SL_UPLOADS_DIR);
    return 0;
}

size_t sl_key_segments(const char *key)
{
    size_t n = 1;
    for (const char *c = key; *c; c++)
        n += *c == '/';
    return n;
}

void sl_key_segment(const char *key, size_t index, char name[SL_SEGMENT_MAX + 1])
{
    const char *seg = key;
    for (size_t i = 0; i < index; i++)
        seg = strchr(seg, '/') + 1;
    size_t n = strcspn(seg, "/");
    memcpy(name, seg, n);
    name[n] = '\0';
}

static int open_subdir(const sl_state_t *st, int dirfd, const char *name, bool create, const char *key,
                       vf_error_t *err)
{
    bool made = false;
    for (int attempt = 0; attempt < SL_WALK_ATTEMPTS; attempt++) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            /* mkdirat's mode is filtered by the umask; the store promises 0755. */
            if (made && fchmod(fd, 0755) != 0) {
                int e = errno;
                close(fd);
                return SL_FAIL(st, err, -e, "cannot set the mode of directory '%s' of key '%.200s': %s", name, key,
                               sl_strerror(e));
            }
            return fd;
        }
        int e = errno;
        if (e == ELOOP || e == ENOTDIR) {
            struct stat sb;
            if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
                return SL_FAIL(st, err, -EINVAL,
                               "the key '%.200s' passes through the symbolic link '%s'; "
                               "storage_local follows no links below its root",
                               key, name);
            if (!create)
                return SL_FAIL(st, err, -ENOENT, "no object '%.200s': '%s' is not a directory", key, name);
            return SL_FAIL(st, err, -ENOTDIR, "cannot store '%.200s': '%s' is a file, not a directory", key, name);
        }
        if (e != ENOENT)
            return SL_FAIL(st, err, -e, "cannot open directory '%s' of key '%.200s': %s", name, key, sl_strerror(e));
        if (!create)
            return SL_FAIL(st, err, -ENOENT, "no object '%.200s'", key);
        if (mkdirat(dirfd, name, 0755) == 0) {
            made = true;
            /* The new entry must survive a crash along with the file put below it. */
            if (fsync(dirfd) != 0) {
                e = errno;
                return SL_FAIL(st, err, -e, "cannot sync the directory holding '%s': %s", name, sl_strerror(e));
            }
        } else if (errno == ENOENT) {
            /* dirfd itself was pruned by a concurrent remove: start over. */
            return -EAGAIN;
        } else if (errno != EEXIST) {
            e = errno;
            return SL_FAIL(st, err, -e, "cannot create directory '%s' of key '%.200s': %s", name, key,
                           sl_strerror(e));
        }
        /* Made by us or by a concurrent put; a concurrent remove may still
         * prune it before the next openat, hence the loop. */
    }
    return SL_FAIL(st, err, -EAGAIN, "directory '%s' of key '%.200s' kept disappearing while it was created", name,
                   key);
}

static int walk_from_root(const sl_state_t *st, const char *key, size_t ndirs, bool create, vf_error_t *err)
{
    int fd = open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return SL_FAIL(st, err, -e, "cannot open the storage root %s: %s", st->root, sl_strerror(e));
    }
    for (size_t i = 0; i < ndirs; i++) {
        char name[SL_SEGMENT_MAX + 1];
        sl_key_segment(key, i, name);
        int next = open_subdir(st, fd, name, create, key, err);
        close(fd);
        if (next < 0)
            return next;
        fd = next;
    }
    return fd;
}

int sl_open_dirs(const sl_state_t *st, const char *key, size_t ndirs, bool create, vf_error_t *err)
{
    for (int attempt = 0; attempt < SL_WALK_ATTEMPTS; attempt++) {
        int fd = walk_from_root(st, key, ndirs, create, err);
        if (fd != -EAGAIN)
            return fd;
    }
    return SL_FAIL(st, err, -EAGAIN, "the directories of key '%.200s' kept disappearing while they were created",
                   key);
}

int sl_open_parent(const sl_state_t *st, const char *key, bool create, const char **leaf, vf_error_t *err)
{
    const char *slash = strrchr(key, '/');
    *leaf = slash ? slash + 1 : key;
    return sl_open_dirs(st, key, sl_key_segments(key) - 1, create, err);
}

int sl_stat_leaf(const sl_state_t *st, int dirfd, const char *leaf, const char *key, struct stat *sb,
                 vf_error_t *err)
{
    if (fstatat(dirfd, leaf, sb, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        if (e == ENOENT)
            return SL_FAIL(st, err, -ENOENT, "no object '%.200s'", key);
        return SL_FAIL(st, err, -e, "cannot look up '%.200s': %s", key, sl_strerror(e));
    }
    if (S_ISLNK(sb->st_mode))
        return SL_FAIL(st, err, -EINVAL,
                       "the key '%.200s' names a symbolic link; storage_local follows no links below its root", key);
    return 0;
}
