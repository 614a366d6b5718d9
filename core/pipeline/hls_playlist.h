/*
 * hls_playlist.h - the text of HLS playlists (docs/pipeline.md, "HLS"): a
 * rendition's media playlist and the master playlist, from plain structs,
 * so the worker (plain objects in storage) and the server (private S3, with
 * presigned URLs) write the same text.
 * Owns: the stream structs and the playlist text.
 * Must not: read PostgreSQL or storage (hls_db.c loads the structs; the
 * callers put or serve the text).
 */
#ifndef VF_HLS_PLAYLIST_H
#define VF_HLS_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

/* The longest rendition name (media.renditions) and codecs string kept. */
#define VF_HLS_QUALITY_MAX 16
#define VF_HLS_CODECS_MAX 64

/* Segment and playlist names inside videos/<id>/<gen>/hls/ (storage keys,
 * and the relative URIs of plain playlists). */
#define VF_HLS_INIT_NAME "init.mp4"
#define VF_HLS_MEDIA_PLAYLIST_NAME "index.m3u8"
#define VF_HLS_MASTER_PLAYLIST_NAME "master.m3u8"

typedef struct vf_hls_segment {
    int64_t sequence;      /* its number: the file is "<sequence>.m4s" */
    double duration;       /* seconds */
    int64_t bytes;         /* the file's size */
} vf_hls_segment_t;

/* One rendition of one generation. */
typedef struct vf_hls_stream {
    char quality[VF_HLS_QUALITY_MAX + 1];   /* "720p" */
    int width, height;                      /* 0: unknown (no RESOLUTION) */
    char codecs[VF_HLS_CODECS_MAX];         /* "avc1.64001f,mp4a.40.2"; "": no CODECS */
    double frame_rate;                      /* 0: unknown (no FRAME-RATE) */
    int ended;                              /* no segment follows: #EXT-X-ENDLIST */
    int version;                            /* the row's version (cache key) */
    vf_hls_segment_t *segments;             /* in sequence order */
    size_t nsegments;
} vf_hls_stream_t;

/* The URI written for `name` ("init.mp4", "<n>.m4s" of rendition `quality`,
 * or "<quality>/index.m3u8" in the master playlist): *uri malloc()ed; 0 or
 * a negative errno, which the renderer returns.  A NULL function writes the
 * names as they are (relative URIs). */
typedef int (*vf_hls_uri_fn)(void *ud, const char *quality, const char *name, char **uri);

/* The media playlist of one rendition: EVENT, from sequence 0, with
 * #EXT-X-ENDLIST when it ended.  *text malloc()ed, *len its length.
 * 0, -ENOMEM, -EINVAL (a URI with a quote or line break), or the URI
 * function's error. */
int vf_hls_media_playlist(const vf_hls_stream_t *stream, vf_hls_uri_fn uri, void *ud, char **text,
                          size_t *len);

/* The master playlist: one variant per stream that has at least one
 * segment (a rendition without one has no bandwidth to state yet), lowest
 * BANDWIDTH first.  Same returns. */
int vf_hls_master_playlist(const vf_hls_stream_t *streams, size_t nstreams, vf_hls_uri_fn uri, void *ud,
                           char **text, size_t *len);

/* BANDWIDTH: the highest bit rate of one segment; AVERAGE-BANDWIDTH: all
 * bytes over all seconds.  Bits per second, rounded up; 0 without segments. */
int64_t vf_hls_peak_bandwidth(const vf_hls_stream_t *stream);
int64_t vf_hls_average_bandwidth(const vf_hls_stream_t *stream);

/* Free the segments of each stream, then the array (NULL is fine). */
void vf_hls_streams_free(vf_hls_stream_t *streams, size_t nstreams);

#endif
