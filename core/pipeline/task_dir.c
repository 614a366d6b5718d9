/*
 * task_dir.c - see task_dir.h.
 *
 * Who may remove a task directory.  Several workers may share one work
 * directory (threads of one process, processes on one host, hosts on a
 * network file system), and a worker killed with SIGKILL cleans nothing.
 * A directory is removed only when its owner is provably dead, and the
 * proof is a lock: the owner holds flock(LOCK_EX) on `<dir>/.owner` for as
 * long as it uses the directory, and a sweeper removes a directory only
 * while it holds that lock itself.  The kernel drops a flock when the last
 * descriptor of its open file goes, so a killed process releases it at
 * once, and no one can take it from a live owner.  Chosen over recording
 * host, boot id and pid because those prove death only on the host that
 * wrote them (a sweeper on another host sharing the directory could decide
 * nothing) and pids are reused; a flock on NFS is forwarded to the server
 * as a byte-range lock (hence a lock file opened for writing, not the
 * directory) and ends with the dead client's lease.  It is also not the
 * PostgreSQL advisory lock of the task: that one goes with the connection,
 * so a PostgreSQL restart frees it while the task still runs.  A work
 * directory must therefore not be shared between hosts over a file system
 * whose locks are local only (NFS mounted with nolock or local_lock=all).
 *
 * Races: an owner locks, then checks that the lock file it locked is still
 * the one at the path (a sweeper may have removed the directory between
 * the owner's mkdir and its lock); the sweeper likewise.  The descriptor is
 * close-on-exec, so encoder processes do not keep the lock.
 */
#include "config.h"
#include "pipeline/task_dir.h"

#include "util/log.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define OWNER_FILE ".owner"
/* A sweeper holds a dead owner's lock only while it removes the files. */
#define TAKE_TRIES 50
#define TAKE_PAUSE_US 100000

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    if (rc != 0 && errno != ENOENT)
        vf_warn("pipeline: cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* The same, keeping the top directory and its lock file. */
static int remove_content(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    if (ftw->level == 0 || (ftw->level == 1 && strcmp(path + ftw->base, OWNER_FILE) == 0))
        return 0;
    return remove_entry(path, sb, flag, ftw);
}

/* Open and lock `<dir>/.owner` (created when missing) without waiting.
 * The descriptor, -EWOULDBLOCK when someone holds it, -ESTALE when the
 * directory was replaced or removed meanwhile, or another negative errno. */
static int lock_owner_file(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, OWNER_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == ENOENT ? -ESTALE : -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
        close(fd);
        return e;
    }
    struct stat held, now;
    if (fstat(fd, &held) != 0 || lstat(path, &now) != 0 || held.st_dev != now.st_dev || held.st_ino != now.st_ino) {
        close(fd);
        return -ESTALE;
    }
    return fd;
}

int vf_task_dir_take(vf_task_dir_t *td, const char *path, int (*cancelled)(void *), void *ud, char *err,
                     size_t errlen)
{
    td->lock_fd = -1;
    if (!(td->path = strdup(path)))
        return -ENOMEM;
    int fd = -ESTALE;
    for (int i = 0; i < TAKE_TRIES; i++) {
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            fd = -errno;
            break;
        }
        fd = lock_owner_file(path);
        if (fd >= 0 || (fd != -EWOULDBLOCK && fd != -ESTALE))
            break;
        if (cancelled && cancelled(ud))
            break;
        vf_sleep_us(TAKE_PAUSE_US);
    }
    if (fd < 0) {
        if (fd == -EWOULDBLOCK || fd == -ESTALE)
            fd = -EBUSY;
        snprintf(err, errlen, fd == -EBUSY ? "the work directory %s is in use by a live process"
                                           : "cannot take the work directory %s: %s",
                 path, strerror(-fd));
        free(td->path);
        td->path = NULL;
        return fd;
    }
    td->lock_fd = fd;
    /* What a dead owner left. */
    nftw(path, remove_content, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

void vf_task_dir_release(vf_task_dir_t *td)
{
    if (td->lock_fd >= 0) {
        nftw(td->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        close(td->lock_fd);
    }
    td->lock_fd = -1;
    free(td->path);
    td->path = NULL;
}

int vf_task_dir_sweep(const char *work_dir)
{
    DIR *d = opendir(work_dir);
    if (!d)
        return -errno;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, VF_TASK_DIR_PREFIX, strlen(VF_TASK_DIR_PREFIX)) != 0)
            continue;
        char path[4096];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s", work_dir, e->d_name) >= (int)sizeof path ||
            lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        int fd = lock_owner_file(path);
        if (fd == -EWOULDBLOCK) {
            vf_debug("pipeline: %s is in use by a live process; kept", path);
            continue;
        }
        if (fd == -ESTALE)
            continue; /* removed meanwhile */
        if (fd < 0) {
            /* No proof that the owner is dead: leave it. */
            vf_warn("pipeline: cannot lock %s to check its owner: %s", path, strerror(-fd));
            continue;
        }
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        close(fd);
        vf_info("pipeline: removed %s, left by a process that is gone", path);
        removed++;
    }
    closedir(d);
    return removed;
}
