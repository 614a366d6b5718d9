/*
 * coded_body.c - see coded_body.h.
 */
#include "config.h"
#include "util/coded_body.h"
#include "util/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vf_coded_copy {
    unsigned char *data;
    size_t len;
    char etag[VF_ETAG_SIZE + 8]; /* the plain ETag marked with the coding */
} coded_copy_t;

void vf_etag_of(const char *data, size_t len, char out[VF_ETAG_SIZE])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(out, VF_ETAG_SIZE, "\"%016llx\"", (unsigned long long)h);
}

int vf_coded_body_init(vf_coded_body_t *b, const char *data, size_t len)
{
    memset(b, 0, sizeof *b);
    int rc = pthread_mutex_init(&b->lock, NULL);
    if (rc != 0)
        return -rc;
    b->data = data;
    b->len = len;
    vf_etag_of(data, len, b->etag);
    for (int i = 0; i < VF_CODING_COUNT; i++)
        atomic_init(&b->coded[i], NULL);
    return 0;
}

void vf_coded_body_fini(vf_coded_body_t *b)
{
    for (int i = 0; i < VF_CODING_COUNT; i++) {
        coded_copy_t *c = atomic_load(&b->coded[i]);
        if (c)
            free(c->data);
        free(c);
    }
    pthread_mutex_destroy(&b->lock);
}

static int encode(const vf_coded_body_t *b, vf_coding_t coding, coded_copy_t **out)
{
    coded_copy_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int ret = vf_compress(coding, b->data, b->len, &c->data, &c->len);
    if (ret < 0) {
        free(c);
        return ret;
    }
    size_t n = strlen(b->etag);
    snprintf(c->etag, sizeof c->etag, "%.*s-%s\"", (int)(n > 1 ? n - 1 : 0), b->etag, vf_coding_name(coding));
    *out = c;
    return 0;
}

int vf_coded_body_get(vf_coded_body_t *b, vf_coding_t coding, const char **data, size_t *len, const char **etag)
{
    if (coding <= VF_CODING_IDENTITY || coding >= VF_CODING_COUNT) {
        *data = b->data;
        *len = b->len;
        *etag = b->etag;
        return 0;
    }
    coded_copy_t *c = atomic_load_explicit(&b->coded[coding], memory_order_acquire);
    if (!c) {
        pthread_mutex_lock(&b->lock);
        c = atomic_load_explicit(&b->coded[coding], memory_order_acquire);
        int ret = c ? 0 : encode(b, coding, &c);
        if (ret == 0)
            atomic_store_explicit(&b->coded[coding], c, memory_order_release);
        pthread_mutex_unlock(&b->lock);
        if (ret < 0) {
            vf_error("cannot encode a body of %zu bytes as %s: %s", b->len, vf_coding_name(coding), strerror(-ret));
            return ret;
        }
    }
    *data = (const char *)c->data;
    *len = c->len;
    *etag = c->etag;
    return 0;
}
