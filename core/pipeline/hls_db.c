/*
 * hls_db.c - see hls_db.h.  One statement joins streams and segments, so a
 * playlist never mixes a stream row with segments of another moment.
 */
#include "config.h"
#include "pipeline/hls_db.h"

#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_SQL                                                                                          \
    "SELECT s.quality, s.width, s.height, s.codecs, s.frame_rate, s.ended, s.version, "                   \
    "g.sequence, g.duration, g.bytes FROM video_hls_streams s "                                            \
    "LEFT JOIN video_hls_segments g ON g.video_id = s.video_id AND g.generation = s.generation "           \
    "AND g.quality = s.quality "                                                                          \
    "WHERE s.video_id = $1::bigint AND s.generation = $2::int AND ($3::text IS NULL OR s.quality = $3) " \
    "ORDER BY s.quality, g.sequence"

enum { C_QUALITY, C_WIDTH, C_HEIGHT, C_CODECS, C_FPS, C_ENDED, C_VERSION, C_SEQ, C_DURATION, C_BYTES };

static int append_segment(vf_hls_stream_t *s, size_t *cap, const PGresult *res, int row)
{
    if (s->nsegments == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        vf_hls_segment_t *grown = realloc(s->segments, ncap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        s->segments = grown;
        *cap = ncap;
    }
    s->segments[s->nsegments++] = (vf_hls_segment_t){
        .sequence = strtoll(PQgetvalue(res, row, C_SEQ), NULL, 10),
        .duration = strtod(PQgetvalue(res, row, C_DURATION), NULL),
        .bytes = strtoll(PQgetvalue(res, row, C_BYTES), NULL, 10),
    };
    return 0;
}

int vf_hls_db_load(vf_db_t *db, int64_t video_id, int generation, const char *quality, vf_hls_stream_t **streams,
                   size_t *nstreams)
{
    char vid[24], gen[16];
    snprintf(vid, sizeof vid, "%" PRId64, video_id);
    snprintf(gen, sizeof gen, "%d", generation);
    const char *p[] = {vid, gen, quality};
    PGresult *res = NULL;
    *streams = NULL;
    *nstreams = 0;
    int ret = vf_db_exec(db, &res, LOAD_SQL, 3, p);
    if (ret < 0) {
        PQclear(res);
        return ret;
    }
    int rows = PQntuples(res);
    /* At most one stream per row. */
    vf_hls_stream_t *out = calloc(rows > 0 ? (size_t)rows : 1, sizeof *out);
    size_t n = 0, cap = 0;
    if (!out)
        ret = -ENOMEM;
    for (int r = 0; ret == 0 && r < rows; r++) {
        const char *q = PQgetvalue(res, r, C_QUALITY);
        if (n == 0 || strcmp(out[n - 1].quality, q) != 0) {
            vf_hls_stream_t *s = &out[n++];
            cap = 0;
            snprintf(s->quality, sizeof s->quality, "%s", q);
            s->width = atoi(PQgetvalue(res, r, C_WIDTH));
            s->height = atoi(PQgetvalue(res, r, C_HEIGHT));
            snprintf(s->codecs, sizeof s->codecs, "%s", PQgetvalue(res, r, C_CODECS));
            s->frame_rate = strtod(PQgetvalue(res, r, C_FPS), NULL);
            s->ended = strcmp(PQgetvalue(res, r, C_ENDED), "t") == 0;
            s->version = atoi(PQgetvalue(res, r, C_VERSION));
        }
        if (!PQgetisnull(res, r, C_SEQ))
            ret = append_segment(&out[n - 1], &cap, res, r);
    }
    PQclear(res);
    if (ret < 0) {
        vf_hls_streams_free(out, n);
        return ret;
    }
    *streams = out;
    *nstreams = n;
    return 0;
}

typedef struct ids {
    char vid[24];
    char gen[16];
} ids_t;

static ids_t fmt_ids(int64_t video_id, int generation)
{
    ids_t ids;
    snprintf(ids.vid, sizeof ids.vid, "%" PRId64, video_id);
    snprintf(ids.gen, sizeof ids.gen, "%d", generation);
    return ids;
}

int vf_hls_db_published(vf_db_t *db, int64_t video_id, int generation, const char *quality, int64_t *segments)
{
    ids_t ids = fmt_ids(video_id, generation);
    const char *p[] = {ids.vid, ids.gen, quality};
    PGresult *res = NULL;
    *segments = 0;
    int ret = vf_db_exec(db, &res,
                         "SELECT segments FROM video_hls_streams WHERE video_id = $1::bigint AND generation = $2::int "
                         "AND quality = $3",
                         3, p);
    if (ret == 0 && PQntuples(res) == 1)
        *segments = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return ret;
}

/* BEGIN, and the generation check that every write depends on.  A share
 * lock: parallel jobs of one video do not wait for each other, a replace
 * or delete (an UPDATE or DELETE of the row) waits for the write. */
static int begin_current(vf_db_t *db, const ids_t *ids, int *stale)
{
    PGresult *res = NULL;
    *stale = 0;
    int ret = vf_db_begin(db);
    if (ret < 0)
        return ret;
    const char *p[] = {ids->vid, ids->gen};
    ret = vf_db_exec(db, &res, "SELECT 1 FROM videos WHERE id = $1::bigint AND generation = $2::int FOR SHARE", 2,
                     p);
    if (ret == 0 && PQntuples(res) != 1)
        *stale = 1;
    PQclear(res);
    if (ret < 0)
        vf_db_rollback(db);
    return ret;
}

/* A statement and how many of the leading parameters it takes. */
typedef struct stmt {
    const char *sql;
    int nparams;
} stmt_t;

/* Run the statements unless stale, then commit. */
static int write_current(vf_db_t *db, const ids_t *ids, const stmt_t *stmts, size_t nstmts,
                         const char *const *params, int *stale)
{
    int ret = begin_current(db, ids, stale);
    if (ret < 0)
        return ret;
    for (size_t i = 0; !*stale && i < nstmts; i++)
        if ((ret = vf_db_run(db, stmts[i].sql, stmts[i].nparams, params)) < 0) {
            vf_db_rollback(db);
            return ret;
        }
    if ((ret = vf_db_commit(db)) < 0)
        vf_db_rollback(db);
    return ret;
}

int vf_hls_db_record_init(vf_db_t *db, int64_t video_id, int generation, const char *quality, int width, int height,
                          const char *codecs, double frame_rate, int *stale)
{
    ids_t ids = fmt_ids(video_id, generation);
    char w[16], h[16], fps[40];
    snprintf(w, sizeof w, "%d", width);
    snprintf(h, sizeof h, "%d", height);
    snprintf(fps, sizeof fps, "%.17g", frame_rate);
    const char *p[] = {ids.vid, ids.gen, quality, w, h, codecs, fps};
    static const stmt_t sql[] = {
        {"INSERT INTO video_hls_streams (video_id, generation, quality, width, height, codecs, frame_rate) "
         "VALUES ($1::bigint, $2::int, $3, $4::int, $5::int, $6, $7::float8) "
         "ON CONFLICT (video_id, generation, quality) DO UPDATE SET width = EXCLUDED.width, "
         "height = EXCLUDED.height, codecs = EXCLUDED.codecs, frame_rate = EXCLUDED.frame_rate, "
         "version = video_hls_streams.version + 1",
         7}};
    return write_current(db, &ids, sql, 1, p, stale);
}

int vf_hls_db_record_segment(vf_db_t *db, int64_t video_id, int generation, const char *quality,
                             const vf_hls_segment_t *segment, int *stale)
{
    ids_t ids = fmt_ids(video_id, generation);
    char seq[24], dur[40], bytes[24];
    snprintf(seq, sizeof seq, "%" PRId64, segment->sequence);
    snprintf(dur, sizeof dur, "%.17g", segment->duration);
    snprintf(bytes, sizeof bytes, "%" PRId64, segment->bytes);
    const char *p[] = {ids.vid, ids.gen, quality, seq, dur, bytes};
    static const stmt_t sql[] = {
        {"INSERT INTO video_hls_segments (video_id, generation, quality, sequence, duration, bytes) "
         "VALUES ($1::bigint, $2::int, $3, $4::int, $5::float8, $6::int8) "
         "ON CONFLICT (video_id, generation, quality, sequence) DO UPDATE SET duration = EXCLUDED.duration, "
         "bytes = EXCLUDED.bytes",
         6},
        {"UPDATE video_hls_streams SET segments = GREATEST(segments, $4::int + 1), version = version + 1 "
         "WHERE video_id = $1::bigint AND generation = $2::int AND quality = $3",
         4}};
    return write_current(db, &ids, sql, 2, p, stale);
}

int vf_hls_db_restart(vf_db_t *db, int64_t video_id, int generation, const char *quality, int *stale)
{
    ids_t ids = fmt_ids(video_id, generation);
    const char *p[] = {ids.vid, ids.gen, quality};
    static const stmt_t sql[] = {
        {"DELETE FROM video_hls_segments WHERE video_id = $1::bigint AND generation = $2::int AND quality = $3", 3},
        {"UPDATE video_hls_streams SET segments = 0, ended = false, version = version + 1 "
         "WHERE video_id = $1::bigint AND generation = $2::int AND quality = $3",
         3}};
    return write_current(db, &ids, sql, 2, p, stale);
}

int vf_hls_db_end(vf_db_t *db, int64_t video_id, int generation, const char *quality, int *stale)
{
    ids_t ids = fmt_ids(video_id, generation);
    const char *p[] = {ids.vid, ids.gen, quality};
    static const stmt_t sql[] = {
        {"UPDATE video_hls_streams SET ended = true, version = version + 1 "
         "WHERE video_id = $1::bigint AND generation = $2::int AND quality = $3 AND NOT ended",
         3}};
    return write_current(db, &ids, sql, 1, p, stale);
}

int vf_hls_db_state(vf_db_t *db, int64_t video_id, int generation, char state[16], int *stale)
{
    ids_t ids = fmt_ids(video_id, generation);
    const char *p[] = {ids.vid, ids.gen};
    PGresult *res = NULL;
    *stale = 0;
    state[0] = '\0';
    int ret = vf_db_exec(db, &res, "SELECT hls_state FROM videos WHERE id = $1::bigint AND generation = $2::int", 2,
                         p);
    if (ret == 0 && PQntuples(res) == 1)
        snprintf(state, 16, "%s", PQgetvalue(res, 0, 0));
    else if (ret == 0)
        *stale = 1;
    PQclear(res);
    return ret;
}

int vf_hls_db_set_state(vf_db_t *db, int64_t video_id, int generation, const char *state)
{
    ids_t ids = fmt_ids(video_id, generation);
    const char *p[] = {ids.vid, ids.gen, state};
    return vf_db_run(db,
                     "UPDATE videos SET hls_state = $3 WHERE id = $1::bigint AND generation = $2::int "
                     "AND hls_state <> $3 AND processing_state <> 'failed'",
                     3, p);
}

static void master_lock_name(char *name, size_t len, int64_t video_id, int generation)
{
    snprintf(name, len, "vf-hls-master:%" PRId64 ":%d", video_id, generation);
}

int vf_hls_db_lock_master(vf_db_t *db, int64_t video_id, int generation)
{
    char name[64];
    master_lock_name(name, sizeof name, video_id, generation);
    const char *p[] = {name};
    return vf_db_run(db, "SELECT pg_advisory_lock(hashtextextended($1, 0))", 1, p);
}

void vf_hls_db_unlock_master(vf_db_t *db, int64_t video_id, int generation)
{
    char name[64];
    master_lock_name(name, sizeof name, video_id, generation);
    const char *p[] = {name};
    if (vf_db_run(db, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1, p) < 0)
        vf_warn("hls: cannot release the master lock of video %" PRId64 "; it goes with the connection", video_id);
}

#define VERSION_SEED 0xcbf29ce484222325ULL

static uint64_t fold(uint64_t h, const char *text, uint64_t number)
{
    for (const char *q = text; *q; q++) {
        h ^= (unsigned char)*q;
        h *= 0x100000001b3ULL;
    }
    h ^= number + 0x9e3779b97f4a7c15ULL;
    return h * 0x100000001b3ULL;
}

/* While the stream grows: the version of the rendition (quality), or of
 * the master (every rendition's, folded), read from the stream rows, which
 * notify nobody (a segment every few seconds must not rebuild the
 * catalogue).  One primary-key read per request, and a render only when a
 * segment came.  0, -ENOENT without such a rendition, or the database's
 * error. */
int vf_hls_db_version(vf_db_t *db, int64_t video_id, int generation, const char *quality, uint64_t *version)
{
    char id[24], gen[16];
    snprintf(id, sizeof id, "%" PRId64, video_id);
    snprintf(gen, sizeof gen, "%d", generation);
    const char *params[] = {id, gen, quality};
    PGresult *res = NULL;
    int ret = vf_db_exec(db, &res,
                         quality ? "SELECT quality, version FROM video_hls_streams"
                                   " WHERE video_id = $1::int8 AND generation = $2::int AND quality = $3"
                                 : "SELECT quality, version FROM video_hls_streams"
                                   " WHERE video_id = $1::int8 AND generation = $2::int ORDER BY quality",
                         quality ? 3 : 2, params);
    if (ret == 0 && PQntuples(res) == 0)
        ret = -ENOENT;
    uint64_t h = VERSION_SEED;
    for (int i = 0; ret == 0 && i < PQntuples(res); i++)
        h = fold(h, PQgetvalue(res, i, 0), strtoull(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    *version = h;
    return ret;
}

uint64_t vf_hls_streams_version(const vf_hls_stream_t *streams, size_t n)
{
    uint64_t h = VERSION_SEED;
    for (size_t i = 0; i < n; i++)
        h = fold(h, streams[i].quality, (uint64_t)streams[i].version);
    return h;
}
