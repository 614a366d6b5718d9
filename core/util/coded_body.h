/*
 * coded_body.h - a response body that is made once and sent many times
 * (the catalogue, a rendered playlist), with its strong ETag and its
 * compressed forms, each made by the first request that accepts it and
 * kept as long as the body: compressed once per version, never per
 * request.  Concurrent first requests for the same coding wait for one
 * encoder rather than compress twice.
 * Owns: the encoded copies and their ETags.  Must not: own the plain
 * bytes (the caller keeps them alive as long as the vf_coded_body_t), or
 * know about requests.
 */
#ifndef VF_UTIL_CODED_BODY_H
#define VF_UTIL_CODED_BODY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "util/compress.h"

/* A quoted strong ETag, "\"<16 hex digits>\"" (FNV-1a of the bytes: it
 * only has to change when they do). */
#define VF_ETAG_SIZE 24
void vf_etag_of(const char *data, size_t len, char out[VF_ETAG_SIZE]);

struct vf_coded_copy;

typedef struct vf_coded_body {
    const char *data;          /* the plain body, not owned */
    size_t len;
    char etag[VF_ETAG_SIZE];
    _Atomic(struct vf_coded_copy *) coded[VF_CODING_COUNT];
    pthread_mutex_t lock;      /* held while one thread encodes */
} vf_coded_body_t;

/* Take the len bytes at data (which must outlive b) and their ETag.  0 or
 * a negative errno. */
int vf_coded_body_init(vf_coded_body_t *b, const char *data, size_t len);
void vf_coded_body_fini(vf_coded_body_t *b);

/* The body in `coding` (identity: the plain bytes), encoded on first use;
 * a coded ETag is the plain one with "-gzip"/"-br" before its closing
 * quote, so If-None-Match revalidates per encoding.  The bytes belong to
 * b.  0, or a negative errno (logged). */
int vf_coded_body_get(vf_coded_body_t *b, vf_coding_t coding, const char **data, size_t *len, const char **etag);

#endif
