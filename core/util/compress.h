/*
 * compress.h - HTTP content codings of a body made once: gzip (zlib) and
 * Brotli (libbrotlienc).  Used for responses that are built once and sent
 * many times (the catalogue), never per request.
 * Owns: the codings' names and settings.  Must not: know about requests.
 */
#ifndef VF_UTIL_COMPRESS_H
#define VF_UTIL_COMPRESS_H

#include <stddef.h>

typedef enum vf_coding {
    VF_CODING_IDENTITY,
    VF_CODING_GZIP,
    VF_CODING_BR,
    VF_CODING_COUNT
} vf_coding_t;

/* "gzip", "br", or NULL for identity: the Content-Encoding value. */
const char *vf_coding_name(vf_coding_t coding);

/* The len bytes at in, encoded with coding (not identity) into a new
 * malloc'd *out of *out_len bytes.  0, -ENOMEM, or -EIO when the library
 * fails. */
int vf_compress(vf_coding_t coding, const void *in, size_t len, unsigned char **out, size_t *out_len);

#endif
