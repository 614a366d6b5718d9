/*
 * content_cache.h - the catalogue: every video's API object serialised once
 * and shared by all server threads, so GET /content/, GET /content/<id>/ and
 * the video-url lookup cost no database round trip while nothing changes.
 *
 * Owns: building the serialisation, its lifetime (reference counted, so a
 * response still being written keeps its bytes), and invalidation across
 * processes: sql/003_videos.sql notifies channel vf_catalog on every change
 * to videos or video_renditions, and one thread per process LISTENs for it.
 * A catalogue is used only while (1) no notification arrived since it was
 * read, (2) it is younger than a third of media.url_expires when the
 * storage's URLs expire (presigned S3), and (3) the listening connection was
 * up the whole time; while it is down, a catalogue lives half a second.
 * While the database cannot give a new one, the last catalogue is served
 * for up to server.catalog_max_stale seconds more (docs/content.md).
 * Must not: know about requests or authentication.
 */
#ifndef VF_CONTENT_CACHE_H
#define VF_CONTENT_CACHE_H

#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/app.h"
#include "util/coded_body.h"

/* The channel the migration's trigger notifies. */
#define VF_CATALOG_CHANNEL "vf_catalog"

typedef struct vf_catalog_video {
    int64_t id;
    size_t json_off;          /* the video's object inside the body */
    size_t json_len;
    char etag[VF_ETAG_SIZE];  /* quoted strong ETag of the object */
    char *source_key;         /* NULL while the video has no source */
    size_t nrenditions;
    char **qualities;         /* converted_files: qualities[i] -> keys[i] */
    char **keys;
    size_t first_slot;        /* internal: where its play URLs are kept */
    int generation;           /* the current one */
    char hls_state[12];       /* its HLS: "none", "live", "complete" */
} vf_catalog_video_t;

/* Read-only once built; hold a reference while reading it. */
typedef struct vf_catalog vf_catalog_t;
struct vf_catalog {
    const char *body;         /* the JSON array of GET /content/, newest first */
    size_t body_len;
    char etag[VF_ETAG_SIZE];  /* quoted strong ETag of body */
    const vf_catalog_video_t *videos; /* sorted by id */
    size_t nvideos;
};

/* Start the thread that LISTENs for changes (once; the server does it at
 * start-up).  0, or a negative errno, logged.  Without it a catalogue is
 * re-read every half second. */
int vf_catalog_start(const vf_app_t *app);
/* Stop that thread and drop the current catalogue (references held by
 * responses still being written stay valid). */
void vf_catalog_stop(void);

/* A reference to a fresh catalogue, building one with the thread's database
 * connection when needed.  0, or a negative errno (-ECONNRESET: the
 * database is unreachable). */
int vf_catalog_get(vf_thread_ctx_t *ctx, vf_catalog_t **out);
void vf_catalog_release(vf_catalog_t *cat);

/* The video with this id, or NULL. */
const vf_catalog_video_t *vf_catalog_find(const vf_catalog_t *cat, int64_t id);
/* {"url": "..."}: the JSON of GET /content/video-url/ for rendition
 * `quality` of v (NULL: the source), the storage's url() with
 * media.url_expires and an inline disposition.  Made on first use and kept
 * for the catalogue's life, which is at most a third of the URL's, so a
 * presigned URL handed out still has two thirds of its time to run.  *json
 * belongs to the catalogue.  0, -ENOENT when v has no such file, or url()'s
 * error with err filled. */
int vf_catalog_play_json(vf_catalog_t *cat, const vf_catalog_video_t *v, const char *quality, const char **json,
                         size_t *len, vf_error_t *err);

/* The body of GET /content/ with its ETag and its encodings, each made
 * on first use and kept for the catalogue's life, so a catalogue is
 * compressed once however many requests it answers.  Owned by cat. */
vf_coded_body_t *vf_catalog_list_body(vf_catalog_t *cat);

/* Append len bytes at data, which the catalogue owns (its body, a play
 * URL), to buf without copying; the buffer holds its own reference until
 * the bytes are written.  0 or -ENOMEM. */
int vf_catalog_add_to_buffer(vf_catalog_t *cat, struct evbuffer *buf, const char *data, size_t len);

#endif
