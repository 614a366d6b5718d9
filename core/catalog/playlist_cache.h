/*
 * playlist_cache.h - rendered HLS playlists kept per process, shared by
 * the server threads: one entry per (video, generation, quality, stream
 * version), so serving a playlist again costs a lookup, and its gzip and
 * Brotli bodies are made once per entry (util/coded_body.c).
 *
 * An entry is used while it is younger than the caller's time to live (a
 * third of media.url_expires when it holds presigned URLs) and its
 * version is the one the catalogue names; a new version is a new key, and
 * the old entry ages out.  The cache holds at most VF_PLAYLIST_CACHE_ENTRIES
 * entries and VF_PLAYLIST_CACHE_BYTES bytes of playlists, dropping the
 * least recently used first.  Entries are reference counted: a response still
 * being written keeps its bytes.
 * Owns: the entries and their lifetime.  Must not: render playlists, read
 * the database or know about requests (hls_serve.c does).
 */
#ifndef VF_PLAYLIST_CACHE_H
#define VF_PLAYLIST_CACHE_H

#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>

#include "util/coded_body.h"

/* Its bounds: the least recently used entries go first. */
#define VF_PLAYLIST_CACHE_ENTRIES 1024
#define VF_PLAYLIST_CACHE_BYTES (32u << 20)

typedef struct vf_playlist_key {
    int64_t video_id;
    int64_t generation;
    char quality[32];         /* "" for the master playlist */
    uint64_t version;
} vf_playlist_key_t;

typedef struct vf_playlist {
    vf_coded_body_t body;     /* the text, its ETag and its encodings */
    int ended;                /* will not change: every stream has ended */
} vf_playlist_t;

/* A reference to the entry for key when it is younger than ttl_us (0: no
 * limit), or NULL. */
vf_playlist_t *vf_playlist_cache_get(const vf_playlist_key_t *key, int64_t ttl_us);

/* Keep text (malloc()ed, len bytes; taken whatever the result) as key's
 * entry, replacing one there; a reference to it into *out.  0 or
 * -ENOMEM. */
int vf_playlist_cache_put(const vf_playlist_key_t *key, char *text, size_t len, int ended, vf_playlist_t **out);

void vf_playlist_release(vf_playlist_t *p);

/* Append len bytes at data, which p owns, to buf without copying; the
 * buffer holds a reference until they are written.  0 or -ENOMEM.  (The
 * signature of vf_shared_reply_t.add_reference.) */
int vf_playlist_add_reference(void *p, struct evbuffer *buf, const char *data, size_t len);

/* Drop every entry (at exit, and for tests). */
void vf_playlist_cache_clear(void);

/* How many entries and bytes of playlists the cache holds now. */
void vf_playlist_cache_size(size_t *entries, size_t *bytes);

#endif
