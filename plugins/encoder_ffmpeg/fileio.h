/*
 * fileio.h - whole-file reads and copies with every error reported.
 * Owns: those loops (EINTR, short reads and writes) and nothing about what
 * the files mean.
 */
#ifndef FFE_FILEIO_H
#define FFE_FILEIO_H

#include <stddef.h>

/* Read all of `path` (at most `max` bytes, else -EFBIG) into *buf
 * (malloc()ed, the caller frees it).  0 or a negative errno. */
int ffe_read_file(const char *path, size_t max, unsigned char **buf, size_t *len);

/* len bytes of buf into the file at `path`, created if missing, after what
 * it holds (append) or instead of it.  0 or a negative errno. */
int ffe_write_file(const char *path, const void *buf, size_t len, int append);

/* Copy `from` into `to`: appended when `append`, else `to` is truncated.
 * `to` is created (0644) when missing.  0 or a negative errno. */
int ffe_copy_file(const char *from, const char *to, int append);

/* Replace `path` by `len` bytes: written to "<path>.tmp", then renamed over
 * it, so the file is never seen half written.  0 or a negative errno (the
 * temporary removed). */
int ffe_replace_file(const char *path, const void *buf, size_t len);

#endif
