/*
 * part_digest.h - the fingerprint in a multipart part's ETag: tells a
 * retried part (the same bytes again, its answer lost) from a different one.
 * Not cryptographic: a part is only ever compared with another write of the
 * same upload by the same uploader.  Fed in pieces of any size, so a part
 * handed over as several buffers gives the same value as one buffer.
 * Owns: nothing but the state below; no I/O.
 */
#ifndef VF_STORAGE_LOCAL_PART_DIGEST_H
#define VF_STORAGE_LOCAL_PART_DIGEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_digest {
    uint64_t lane[4];
    unsigned char pending[32]; /* bytes of a block not yet complete */
    size_t npending;
    uint64_t total;
} sl_digest_t;

void sl_digest_init(sl_digest_t *d);
void sl_digest_update(sl_digest_t *d, const void *data, size_t len);
uint64_t sl_digest_final(const sl_digest_t *d);

#endif
