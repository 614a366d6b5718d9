/*
 * prefix.c - remove_prefix for storage_local: every object under a
 * "<key>/" prefix is a file below the directory the key names, so the
 * directory is emptied depth first and removed, then its emptied parents
 * are pruned as remove() prunes them.
 *
 * Owns: the walk that empties a directory of the store.  Must not: follow
 * a link.  The prefix's own directories are opened from the root with
 * O_NOFOLLOW (keypath.c), and below it every entry is first unlinked as it
 * is (a symbolic link goes as a link, whatever it points to); only an entry
 * the kernel says is a directory is opened, again with O_NOFOLLOW, so a
 * link swapped in meanwhile is never entered.
 */
#include "storage_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A directory deeper than the key grammar allows (1024 bytes, so at most
 * 512 segments) was not made by the store: the walk stops there. */
#define SL_WALK_DEPTH_MAX (SL_KEY_MAX / 2 + 1)

static int empty_dir(const sl_state_t *st, int fd, const char *prefix, int depth, vf_error_t *err);

/* Remove `name` in the directory `dir`: a file or link at once, a
 * directory once emptied.  A name already gone is no error. */
static int remove_entry(const sl_state_t *st, int dir, const char *name, const char *prefix, int depth,
                        vf_error_t *err)
{
    if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
        return 0;
    /* Linux says EISDIR for a directory; POSIX allows EPERM. */
    if (errno != EISDIR && errno != EPERM) {
        int e = errno;
        return SL_FAIL(st, err, -e, "cannot remove '%s' under '%.200s': %s", name, prefix, sl_strerror(e));
    }
    int sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        int e = errno;
        if (e == ENOENT)
            return 0;
        return SL_FAIL(st, err, -e, "cannot open directory '%s' under '%.200s': %s", name, prefix, sl_strerror(e));
    }
    int ret = empty_dir(st, sub, prefix, depth + 1, err); /* takes sub */
    if (ret < 0)
        return ret;
    /* ENOTEMPTY: a concurrent put stored a new object here after the walk
     * passed; that object was written after the removal and may stay. */
    if (unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
        int e = errno;
        return SL_FAIL(st, err, -e, "cannot remove directory '%s' under '%.200s': %s", name, prefix,
                       sl_strerror(e));
    }
    return 0;
}

/* Remove everything in the directory `fd` (which this call closes), then
 * sync it.  Passes repeat until one finds the directory empty, since
 * readdir may skip entries while the directory changes under it. */
static int empty_dir(const sl_state_t *st, int fd, const char *prefix, int depth, vf_error_t *err)
{
    if (depth > SL_WALK_DEPTH_MAX) {
        close(fd);
        return SL_FAIL(st, err, -ELOOP, "the directories under '%.200s' are nested deeper than any key", prefix);
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return SL_FAIL(st, err, -e, "cannot read a directory under '%.200s': %s", prefix, sl_strerror(e));
    }
    int ret = 0;
    for (int found = 1; found && ret == 0;) {
        found = 0;
        rewinddir(d);
        errno = 0;
        struct dirent *e;
        while (ret == 0 && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            found = 1;
            ret = remove_entry(st, dirfd(d), e->d_name, prefix, depth, err);
            errno = 0;
        }
        if (ret == 0 && errno != 0) {
            int en = errno;
            ret = SL_FAIL(st, err, -en, "cannot read a directory under '%.200s': %s", prefix, sl_strerror(en));
        }
    }
    if (ret == 0 && fsync(dirfd(d)) != 0) {
        int en = errno;
        ret = SL_FAIL(st, err, -en, "cannot sync a directory under '%.200s': %s", prefix, sl_strerror(en));
    }
    closedir(d);
    return ret;
}

/* The key a prefix names ("a/b/" -> "a/b", malloc()ed into *key): 0, or
 * -EINVAL unless the prefix is a valid key followed by one '/' and lies
 * outside the reserved directory of unfinished uploads. */
static int prefix_key(const sl_state_t *st, const char *prefix, char **key, vf_error_t *err)
{
    size_t n = prefix ? strlen(prefix) : 0;
    *key = NULL;
    if (n < 2 || prefix[n - 1] != '/' || n - 1 > SL_KEY_MAX)
        return SL_FAIL(st, err, -EINVAL, "the prefix '%.200s' is not a key followed by '/'",
                       prefix ? prefix : "(NULL)");
    char *k = strndup(prefix, n - 1);
    if (!k)
        return SL_FAIL(st, err, -ENOMEM, "out of memory");
    vf_error_t why = {0};
    int ret = 0;
    if (sl_key_check(st, k, &why) < 0)
        ret = SL_FAIL(st, err, -EINVAL, "the prefix '%.200s' is not a key followed by '/': %s", prefix, why.message);
    else if (strcmp(k, SL_UPLOADS_DIR) == 0)
        ret = SL_FAIL(st, err, -EINVAL, "the prefix '%.200s' is %s, which holds unfinished uploads", prefix,
                      SL_UPLOADS_DIR);
    if (ret < 0)
        free(k);
    else
        *key = k;
    return ret;
}

int sl_remove_prefix(void *state, const char *prefix, vf_error_t *err)
{
    const sl_state_t *st = state;
    char *key = NULL;
    int ret = prefix_key(st, prefix, &key, err);
    if (ret < 0)
        return ret;
    size_t ndirs = sl_key_segments(key);
    int fd = sl_open_dirs(st, key, ndirs, false, err);
    if (fd == -ENOENT) /* no such directory (or a file of that name): nothing under the prefix */
        ret = 0;
    else if (fd < 0)
        ret = fd;
    else if ((ret = empty_dir(st, fd, prefix, 0, err)) == 0)
        sl_prune_empty_dirs(st, key, ndirs);
    free(key);
    return ret;
}
