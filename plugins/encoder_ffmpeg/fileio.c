/*
 * fileio.c - see fileio.h.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* All of buf into fd.  0 or a negative errno. */
static int write_all(int fd, const void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

/* Up to len bytes of fd (fewer only at its end).  Bytes read, or a
 * negative errno. */
static ssize_t read_some(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int ffe_read_file(const char *path, size_t max, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int ret = 0;
    unsigned char *data = NULL;
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        ret = -EFBIG;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    if (!(data = malloc(size ? size : 1))) {
        ret = -ENOMEM;
        goto out;
    }
    /* a file that shrank while read: what is there */
    ssize_t n = read_some(fd, data, size);
    if (n < 0) {
        ret = (int)n;
        goto out;
    }
    *buf = data;
    *len = (size_t)n;
    data = NULL;
out:
    free(data);
    close(fd);
    return ret;
}

int ffe_write_file(const char *path, const void *buf, size_t len, int append)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0)
        return -errno;
    int ret = write_all(fd, buf, len);
    if (close(fd) != 0 && ret == 0)
        ret = -errno;
    return ret;
}

int ffe_copy_file(const char *from, const char *to, int append)
{
    int ret = 0;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (in < 0 || out < 0) {
        ret = -errno;
        goto out;
    }
    char buf[65536];
    for (ssize_t n; ret == 0 && (n = read_some(in, buf, sizeof buf)) != 0;)
        ret = n < 0 ? (int)n : write_all(out, buf, (size_t)n);
out:
    if (out >= 0 && close(out) != 0 && ret == 0)
        ret = -errno;
    if (in >= 0)
        close(in);
    return ret;
}

int ffe_replace_file(const char *path, const void *buf, size_t len)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -ENOMEM;
    int ret = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        free(tmp);
        return ret;
    }
    ret = write_all(fd, buf, len);
    if (close(fd) != 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, path) != 0)
        ret = -errno;
    if (ret < 0)
        unlink(tmp);
    free(tmp);
    return ret;
}
