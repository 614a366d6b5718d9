/*
 * block_pool.c - see block_pool.h.
 */
#include "config.h"
#include "util/block_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct vf_block {
    vf_block_t *next;        /* the idle list, under pool.lock */
    atomic_int refs;
    size_t used;
    unsigned char data[VF_BLOCK_SIZE];
};

static struct {
    pthread_mutex_t lock;
    vf_block_t *idle;
    int nidle;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

vf_block_t *vf_block_get(void)
{
    pthread_mutex_lock(&pool.lock);
    vf_block_t *b = pool.idle;
    if (b) {
        pool.idle = b->next;
        pool.nidle--;
    }
    pthread_mutex_unlock(&pool.lock);
    if (!b && !(b = malloc(sizeof *b)))
        return NULL;
    b->next = NULL;
    b->used = 0;
    atomic_init(&b->refs, 1);
    return b;
}

void vf_block_ref(vf_block_t *b) { atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed); }

void vf_block_unref(vf_block_t *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_lock(&pool.lock);
    if (pool.nidle < VF_BLOCK_POOL_KEEP) {
        b->next = pool.idle;
        pool.idle = b;
        pool.nidle++;
        b = NULL;
    }
    pthread_mutex_unlock(&pool.lock);
    free(b);
}

unsigned char *vf_block_room(vf_block_t *b, size_t *len)
{
    *len = VF_BLOCK_SIZE - b->used;
    return b->data + b->used;
}

void vf_block_fill(vf_block_t *b, size_t n) { b->used += n; }

int vf_block_pool_idle(void)
{
    pthread_mutex_lock(&pool.lock);
    int n = pool.nidle;
    pthread_mutex_unlock(&pool.lock);
    return n;
}
