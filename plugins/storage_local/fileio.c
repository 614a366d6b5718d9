/*
 * fileio.c - low-level file helpers of storage_local: copying between
 * descriptors without holding a file in memory, complete reads and writes,
 * syncing directories, random names.  They return 0 or a negative errno and
 * leave the sentence for the caller, which knows what was being done.
 */
#include "storage_local.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define SL_COPY_CHUNK (1u << 20)

/* read()/write() fallback for when copy_file_range() cannot be used
 * (another filesystem on an older kernel, a filesystem without support). */
static int copy_with_buffer(int in, int out)
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
    }
    ret = 0;
out:
    free(buf);
    return ret;
}

int sl_copy_fd(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, SL_COPY_CHUNK * 64, 0);
        if (n > 0)
            continue;
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        /* Both offsets have advanced past what was copied, so the
         * fallback picks up where copy_file_range stopped. */
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM)
            return copy_with_buffer(in, out);
        return -errno;
    }
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
