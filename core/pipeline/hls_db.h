/*
 * hls_db.h - the HLS rows of a video generation in PostgreSQL
 * (sql/010_hls.sql): loading them into the playlist structs, for the worker
 * and the server alike.
 * Owns: the SQL on video_hls_streams, video_hls_segments and
 * videos.hls_state.
 * Must not: render playlists (hls_playlist.c) or touch storage.
 */
#ifndef VF_HLS_DB_H
#define VF_HLS_DB_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/hls_playlist.h"
#include "runtime/db.h"

/* The streams of one generation with their segments, in one snapshot,
 * ordered by quality: every rendition, or only `quality` when not NULL.
 * *streams (free with vf_hls_streams_free) may be empty (*nstreams 0).
 * 0, or the negative errno of vf_db_exec / -ENOMEM. */
int vf_hls_db_load(vf_db_t *db, int64_t video_id, int generation, const char *quality, vf_hls_stream_t **streams,
                   size_t *nstreams);

/* While a stream grows: a number that changes whenever the rendition
 * `quality` (or, when NULL, any rendition of the generation) gets a segment
 * or ends, read from the stream rows with one indexed query; the serving
 * side keys its cached playlists with it.  0, -ENOENT without such a
 * rendition, or the negative errno of vf_db_exec. */
int vf_hls_db_version(vf_db_t *db, int64_t video_id, int generation, const char *quality, uint64_t *version);
/* The same number for streams already loaded (ordered by quality, as
 * vf_hls_db_load gives them). */
uint64_t vf_hls_streams_version(const vf_hls_stream_t *streams, size_t n);

/* The media segments of a rendition already published (its `segments`;
 * 0 without a row): where a retried job resumes. */
int vf_hls_db_published(vf_db_t *db, int64_t video_id, int generation, const char *quality, int64_t *segments);

/* Each of the following runs in one transaction that first checks, with
 * the video row share-locked, that `generation` is still the video's: when
 * it is not, nothing is written and *stale is set (the caller stops).
 * Every change bumps the stream's version. */

/* The initialisation segment is stored: the stream's row with what it says. */
int vf_hls_db_record_init(vf_db_t *db, int64_t video_id, int generation, const char *quality, int width, int height,
                          const char *codecs, double frame_rate, int *stale);
/* Media segment `sequence` is stored: its row, and the stream's count. */
int vf_hls_db_record_segment(vf_db_t *db, int64_t video_id, int generation, const char *quality,
                             const vf_hls_segment_t *segment, int *stale);
/* The stored segments cannot be played with the rendition's new
 * initialisation segment: their rows go and the count starts again at 0
 * (the stream grows again as they are stored anew). */
int vf_hls_db_restart(vf_db_t *db, int64_t video_id, int generation, const char *quality, int *stale);
/* The rendition's transcode finished: no segment follows. */
int vf_hls_db_end(vf_db_t *db, int64_t video_id, int generation, const char *quality, int *stale);

/* videos.hls_state of the generation ("none", "live", "complete") into
 * state[16]; *stale when the video is gone or has another generation. */
int vf_hls_db_state(vf_db_t *db, int64_t video_id, int generation, char state[16], int *stale);
/* Set it (only when it differs: every statement on videos notifies the
 * catalogue caches, which then re-read it). */
int vf_hls_db_set_state(vf_db_t *db, int64_t video_id, int generation, const char *state);

/* A session lock on the generation's master playlist, held while it is
 * decided and stored, so that parallel jobs of one video never store an
 * older master over a newer one.  Blocks; released by unlock or a lost
 * connection. */
int vf_hls_db_lock_master(vf_db_t *db, int64_t video_id, int generation);
void vf_hls_db_unlock_master(vf_db_t *db, int64_t video_id, int generation);

#endif
