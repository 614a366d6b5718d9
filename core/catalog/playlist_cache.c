/*
 * playlist_cache.c - see playlist_cache.h.  One mutex guards the table and
 * the recency list; it is held for a lookup or an insertion only, never
 * while a playlist is rendered or encoded.
 */
#include "config.h"
#include "catalog/playlist_cache.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 256 /* a power of two */

typedef struct entry {
    vf_playlist_t pub;        /* first: the two pointers convert */
    atomic_int refs;
    vf_playlist_key_t key;
    int64_t made_us;          /* monotonic */
    char *text;
    struct entry *next_in_bucket;
    struct entry *newer, *older; /* the recency list */
} entry_t;

static struct {
    pthread_mutex_t lock;
    entry_t *buckets[BUCKETS];
    entry_t *newest, *oldest;
    size_t count, bytes;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void entry_free(entry_t *e)
{
    vf_coded_body_fini(&e->pub.body);
    free(e->text);
    free(e);
}

void vf_playlist_release(vf_playlist_t *p)
{
    entry_t *e = (entry_t *)p;
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        entry_free(e);
}

static void entry_ref(entry_t *e) { atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed); }

static void release_reference(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    vf_playlist_release(arg);
}

int vf_playlist_add_reference(void *p, struct evbuffer *buf, const char *data, size_t len)
{
    entry_ref(p);
    if (evbuffer_add_reference(buf, data, len, release_reference, p) != 0) {
        vf_playlist_release(p);
        return -ENOMEM;
    }
    return 0;
}

static size_t bucket_of(const vf_playlist_key_t *k)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    uint64_t parts[3] = {(uint64_t)k->video_id, (uint64_t)k->generation, k->version};
    for (int i = 0; i < 3; i++) {
        h ^= parts[i];
        h *= 0x100000001b3ULL;
    }
    for (const char *q = k->quality; *q; q++) {
        h ^= (unsigned char)*q;
        h *= 0x100000001b3ULL;
    }
    return (size_t)(h ^ (h >> 32)) & (BUCKETS - 1);
}

static int same_key(const vf_playlist_key_t *a, const vf_playlist_key_t *b)
{
    return a->video_id == b->video_id && a->generation == b->generation && a->version == b->version &&
           strcmp(a->quality, b->quality) == 0;
}

/* With cache.lock held: out of the table and the list; the caller
 * releases the table's reference. */
static void unlink_entry(entry_t *e)
{
    entry_t **p = &cache.buckets[bucket_of(&e->key)];
    while (*p && *p != e)
        p = &(*p)->next_in_bucket;
    if (*p)
        *p = e->next_in_bucket;
    if (e->newer)
        e->newer->older = e->older;
    else
        cache.newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        cache.oldest = e->newer;
    e->newer = e->older = NULL;
    cache.count--;
    cache.bytes -= e->pub.body.len;
}

/* With cache.lock held. */
static void make_newest(entry_t *e)
{
    if (cache.newest == e)
        return;
    if (e->newer)
        e->newer->older = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else if (cache.oldest == e)
        cache.oldest = e->newer;
    e->newer = NULL;
    e->older = cache.newest;
    if (cache.newest)
        cache.newest->newer = e;
    cache.newest = e;
    if (!cache.oldest)
        cache.oldest = e;
}

static entry_t *find(const vf_playlist_key_t *key)
{
    for (entry_t *e = cache.buckets[bucket_of(key)]; e; e = e->next_in_bucket)
        if (same_key(&e->key, key))
            return e;
    return NULL;
}

vf_playlist_t *vf_playlist_cache_get(const vf_playlist_key_t *key, int64_t ttl_us)
{
    entry_t *stale = NULL, *found = NULL;
    pthread_mutex_lock(&cache.lock);
    entry_t *e = find(key);
    if (e && ttl_us > 0 && vf_mono_us() - e->made_us >= ttl_us) {
        unlink_entry(e);
        stale = e;
    } else if (e) {
        make_newest(e);
        entry_ref(e);
        found = e;
    }
    pthread_mutex_unlock(&cache.lock);
    if (stale)
        vf_playlist_release(&stale->pub);
    return found ? &found->pub : NULL;
}

int vf_playlist_cache_put(const vf_playlist_key_t *key, char *text, size_t len, int ended, vf_playlist_t **out)
{
    *out = NULL;
    entry_t *e = calloc(1, sizeof *e);
    if (!e) {
        free(text);
        return -ENOMEM;
    }
    if (vf_coded_body_init(&e->pub.body, text, len) < 0) {
        free(text);
        free(e);
        return -ENOMEM;
    }
    e->text = text;
    e->key = *key;
    e->pub.ended = ended;
    e->made_us = vf_mono_us();
    atomic_init(&e->refs, 2); /* the table's and the caller's */

    entry_t *dropped = NULL; /* chained through next_in_bucket once unlinked */
    pthread_mutex_lock(&cache.lock);
    entry_t *old = find(key);
    if (old) {
        unlink_entry(old);
        old->next_in_bucket = dropped;
        dropped = old;
    }
    size_t b = bucket_of(key);
    e->next_in_bucket = cache.buckets[b];
    cache.buckets[b] = e;
    cache.count++;
    cache.bytes += len;
    make_newest(e);
    while (cache.oldest != e && (cache.count > VF_PLAYLIST_CACHE_ENTRIES || cache.bytes > VF_PLAYLIST_CACHE_BYTES)) {
        entry_t *victim = cache.oldest;
        unlink_entry(victim);
        victim->next_in_bucket = dropped;
        dropped = victim;
    }
    pthread_mutex_unlock(&cache.lock);
    while (dropped) {
        entry_t *next = dropped->next_in_bucket;
        vf_playlist_release(&dropped->pub);
        dropped = next;
    }
    *out = &e->pub;
    return 0;
}

void vf_playlist_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    entry_t *e = cache.newest;
    memset(cache.buckets, 0, sizeof cache.buckets);
    cache.newest = cache.oldest = NULL;
    cache.count = cache.bytes = 0;
    pthread_mutex_unlock(&cache.lock);
    while (e) {
        entry_t *next = e->older;
        vf_playlist_release(&e->pub);
        e = next;
    }
}

void vf_playlist_cache_size(size_t *entries, size_t *bytes)
{
    pthread_mutex_lock(&cache.lock);
    *entries = cache.count;
    *bytes = cache.bytes;
    pthread_mutex_unlock(&cache.lock);
}
