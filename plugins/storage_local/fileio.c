/*
 * fileio.c - low-level file helpers of storage_local: copying between
 * descriptors without holding a file in memory (in chunks, so progress can
 * be told and a copy stopped), complete reads and writes,
 * syncing directories, random names.  They return 0 or a negative errno and
 * leave the sentence for the caller, which knows what was being done.
 */
#include "storage_local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#define SL_COPY_CHUNK (1u << 20)
/* Pieces per pwritev call: the system's limit (1024 on Linux), else the
 * least POSIX allows. */
#ifdef IOV_MAX
#define SL_IOV_BATCH IOV_MAX
#else
#define SL_IOV_BATCH 16
#endif

/* Progress of a copy: told after every chunk, so a multi-GiB copy can be
 * stopped within one chunk (a second or less on any disk worth using). */
typedef struct copy_progress {
    uint64_t total, done;
    vf_progress_fn fn;
    void *ud;
} copy_progress_t;

static int advance(copy_progress_t *cp, size_t n)
{
    cp->done += n;
    if (!cp->fn)
        return 0;
    double pct = cp->total ? 100.0 * (double)cp->done / (double)cp->total : 100.0;
    return cp->fn(cp->ud, pct > 100.0 ? 100.0 : pct) != 0 ? -ECANCELED : 0;
}

/* read()/write() fallback for when copy_file_range() cannot be used
 * (another filesystem on an older kernel, a filesystem without support). */
static int copy_with_buffer(int in, int out, copy_progress_t *cp)
{
    char *buf = malloc(SL_COPY_CHUNK);
    int ret = -ENOMEM;
    if (!buf)
        goto out;
    for (;;) {
        ssize_t n = read(in, buf, SL_COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                ret = -errno;
                goto out;
            }
            done += w;
        }
        if ((ret = advance(cp, (size_t)n)) < 0)
            goto out;
    }
    ret = 0;
out:
    free(buf);
    return ret;
}

int sl_copy_fd(int in, int out, uint64_t total, vf_progress_fn progress, void *progress_ud)
{
    copy_progress_t cp = {total, 0, progress, progress_ud};
    if (progress && progress(progress_ud, 0.0) != 0)
        return -ECANCELED;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, SL_COPY_CHUNK * 8, 0);
        if (n > 0) {
            int ret = advance(&cp, (size_t)n);
            if (ret < 0)
                return ret;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        /* Both offsets have advanced past what was copied, so the
         * fallback picks up where copy_file_range stopped. */
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM)
            return copy_with_buffer(in, out, &cp);
        return -errno;
    }
}

int sl_copy_range(int in, off_t offset, uint64_t len, int out)
{
    while (len > 0) {
        size_t want = len < SL_COPY_CHUNK * 8 ? (size_t)len : SL_COPY_CHUNK * 8;
        ssize_t n = copy_file_range(in, &offset, out, NULL, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
            /* Same file system, so rare; a plain buffer then. */
            char *buf = malloc(SL_COPY_CHUNK);
            if (!buf)
                return -ENOMEM;
            size_t chunk = want < SL_COPY_CHUNK ? want : SL_COPY_CHUNK;
            int ret = sl_read_all_at(in, buf, chunk, offset);
            if (ret == 0) {
                ssize_t w = write(out, buf, chunk);
                ret = w == (ssize_t)chunk ? 0 : w < 0 ? -errno : -EIO;
            }
            free(buf);
            if (ret < 0)
                return ret;
            n = (ssize_t)chunk;
            offset += (off_t)chunk;
        } else if (n < 0) {
            return -errno;
        } else if (n == 0) {
            return -EIO; /* shorter than the parts say */
        }
        len -= (uint64_t)n;
    }
    return 0;
}

int sl_write_all_at(int fd, const void *buf, size_t len, off_t offset)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return 0;
}

int sl_write_pieces_at(int fd, const vf_storage_piece_t *pieces, size_t npieces, off_t offset)
{
    struct iovec iov[SL_IOV_BATCH];
    size_t next = 0, skip = 0; /* the first piece not yet written whole, and its bytes already written */
    while (next < npieces) {
        int n = 0;
        for (size_t k = next; k < npieces && n < SL_IOV_BATCH; k++) {
            size_t off = k == next ? skip : 0;
            if (pieces[k].len > off)
                iov[n++] = (struct iovec){(char *)pieces[k].base + off, pieces[k].len - off};
        }
        if (n == 0)
            return 0; /* only empty pieces left */
        ssize_t done = pwritev(fd, iov, n, offset);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return -errno;
        if (done == 0)
            return -EIO;
        offset += done;
        /* Step over what was written: whole pieces, then part of one. */
        size_t left = (size_t)done;
        while (next < npieces && pieces[next].len - skip <= left) {
            left -= pieces[next].len - skip;
            next++;
            skip = 0;
        }
        skip += left;
    }
    return 0;
}

int sl_read_all_at(int fd, void *buf, size_t len, off_t offset)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* shorter than fstat said: changed under us */
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return 0;
}

int sl_fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == path ? strdup("/") : slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return -ENOMEM;
    int ret = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        ret = -errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    return ret;
}

int sl_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw)
        return -EINVAL;
    for (size_t got = 0; got < nbytes;) {
        ssize_t n = getrandom(raw + got, nbytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        got += (size_t)n;
    }
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return 0;
}

int sl_temp_name(char out[32])
{
    static const char prefix[] = ".vf-tmp-";
    memcpy(out, prefix, sizeof prefix - 1);
    return sl_random_hex(out + sizeof prefix - 1, 8);
}

const char *sl_strerror(int errnum)
{
    if (errnum < 0)
        errnum = -errnum;
    /* Unlike strerror(), strerrordesc_np() never writes to a shared buffer. */
    const char *text = strerrordesc_np(errnum);
    return text ? text : "unknown error";
}
