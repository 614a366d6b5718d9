/*
 * block_pool.h - large memory blocks kept for reuse, shared by reference.
 *
 * Why: memory touched for the first time costs a page fault per 4 KiB
 * (about 80 us each on a VM), which made reading upload bodies in large
 * fresh pieces slower than libevent's small reads.  Blocks given back here
 * are handed out again with their pages already in place.
 *
 * A block is filled from its front (vf_block_room, vf_block_fill); every
 * holder of bytes in it (a reader, an evbuffer chain referring to a piece)
 * holds a reference, and the last one gives the block back.  At most
 * VF_BLOCK_POOL_KEEP idle blocks are kept; more are freed.  Thread-safe.
 * Owns: the idle blocks.  Must not: know what the bytes are.
 */
#ifndef VF_UTIL_BLOCK_POOL_H
#define VF_UTIL_BLOCK_POOL_H

#include <stddef.h>

#define VF_BLOCK_SIZE (1024 * 1024)
#define VF_BLOCK_POOL_KEEP 24

typedef struct vf_block vf_block_t;

/* An empty block with one reference, or NULL when out of memory. */
vf_block_t *vf_block_get(void);
void vf_block_ref(vf_block_t *b);
/* Drops a reference; the last one gives the block back. */
void vf_block_unref(vf_block_t *b);
/* Where the next bytes go, and how many fit. */
unsigned char *vf_block_room(vf_block_t *b, size_t *len);
/* n bytes were written at vf_block_room. */
void vf_block_fill(vf_block_t *b, size_t n);
/* Idle blocks held now (for tests). */
int vf_block_pool_idle(void);

#endif
