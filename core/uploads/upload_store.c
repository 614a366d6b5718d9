/*
 * upload_store.c - see upload_store.h.  The uploads row is the truth about
 * an upload: every chunk runs in one transaction that holds the row lock
 * while the part goes to storage, so two requests for one upload (even on
 * different servers) never write the same part, and an answer of 204 means
 * the bytes are stored.
 *
 * Part sizing follows the storage's declared capabilities (min and max part
 * size, most parts; ABI 1.0 plugins get S3's limits): a chunk is joined to
 * the bytes held back from earlier chunks (the `tail` column) and written
 * only once the sum reaches vf_upload_part_threshold(); shorter sums wait in the tail.
 * A sum above the largest part is written as several equal parts.  The
 * last chunk always flushes the tail and completes.  A part written again
 * after a failed commit relies on the storage's "last write wins".
 */
#include "config.h"
#include "uploads/upload_store.h"

#include "jobs/queue.h"
#include "plugins/storage_calls.h"
#include "runtime/db.h"
#include "storage/remove_files.h"
#include "util/log.h"
#include "util/metrics_series.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static const vf_storage_ops_t *storage_ops(const vf_thread_ctx_t *ctx) { return vf_storage_ops(ctx->app->storage); }
static void *storage_state(const vf_thread_ctx_t *ctx) { return ctx->app->storage->state; }

void vf_upload_info_clear(vf_upload_info_t *info)
{
    free(info->metadata);
    memset(info, 0, sizeof *info);
}

/* ---------------------------------------------------------------- metadata */

static int b64_decode(const char *b64, size_t len, unsigned char **out, size_t *outlen)
{
    size_t cap = len / 4 * 3 + 3;
    unsigned char *buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    const char *end = NULL;
    if (sodium_base642bin(buf, cap, b64, len, NULL, outlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + len) {
        free(buf);
        return -EINVAL;
    }
    buf[*outlen] = '\0';
    *out = buf;
    return 0;
}

/* Walk the pairs; calls fn(key, klen, value, vlen, ud) for each; stops at
 * the first non-zero return.  -EINVAL for a malformed header. */
typedef int (*pair_fn)(const char *k, size_t klen, const char *v, size_t vlen, void *ud);

static int metadata_walk(const char *md, pair_fn fn, void *ud)
{
    const char *p = md;
    if (!*p)
        return 0;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *k = p;
        while (*p && *p != ' ' && *p != ',')
            p++;
        size_t klen = (size_t)(p - k);
        const char *v = NULL;
        size_t vlen = 0;
        if (*p == ' ') {
            while (*p == ' ')
                p++;
            v = p;
            while (*p && *p != ',' && *p != ' ')
                p++;
            vlen = (size_t)(p - v);
            while (*p == ' ')
                p++;
        }
        if (klen == 0 || (*p && *p != ','))
            return -EINVAL;
        for (size_t i = 0; i < klen; i++)
            if (!isprint((unsigned char)k[i]))
                return -EINVAL;
        int rc = fn(k, klen, v, vlen, ud);
        if (rc != 0)
            return rc;
        if (!*p)
            return 0;
        p++;
    }
}

typedef struct seen_keys {
    const char *keys[64];
    size_t lens[64];
    size_t n;
} seen_keys_t;

static int check_pair(const char *k, size_t klen, const char *v, size_t vlen, void *ud)
{
    seen_keys_t *seen = ud;
    for (size_t i = 0; i < seen->n; i++)
        if (seen->lens[i] == klen && memcmp(seen->keys[i], k, klen) == 0)
            return -EINVAL;
    if (seen->n == sizeof seen->keys / sizeof seen->keys[0])
        return -EINVAL;
    seen->keys[seen->n] = k;
    seen->lens[seen->n++] = klen;
    if (v && vlen) {
        unsigned char *dec = NULL;
        size_t declen;
        if (b64_decode(v, vlen, &dec, &declen) != 0)
            return -EINVAL;
        free(dec);
    }
    return 0;
}

int vf_upload_metadata_valid(const char *metadata)
{
    seen_keys_t seen = {.n = 0};
    return metadata && metadata_walk(metadata, check_pair, &seen) == 0;
}

typedef struct find_key {
    const char *key;
    char *value;
} find_key_t;

static int find_pair(const char *k, size_t klen, const char *v, size_t vlen, void *ud)
{
    find_key_t *f = ud;
    if (strlen(f->key) != klen || memcmp(f->key, k, klen) != 0)
        return 0;
    unsigned char *dec = NULL;
    size_t declen = 0;
    if (!v || vlen == 0)
        f->value = strdup("");
    else if (b64_decode(v, vlen, &dec, &declen) == 0)
        f->value = (char *)dec;
    return 1;
}

char *vf_upload_metadata_get(const char *metadata, const char *key)
{
    find_key_t f = {key, NULL};
    if (metadata)
        metadata_walk(metadata, find_pair, &f);
    return f.value;
}

/* ------------------------------------------------------------------ helpers */

static int random_id(char out[VF_UPLOAD_ID_LEN + 1])
{
    unsigned char raw[VF_UPLOAD_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* The extension of a file name (".mp4"), or "" when it has none that is
 * short and alphanumeric. */
static void file_extension(const char *filename, char ext[12])
{
    ext[0] = '\0';
    const char *base = filename ? strrchr(filename, '/') : NULL;
    base = base ? base + 1 : filename;
    const char *dot = base ? strrchr(base, '.') : NULL;
    if (!dot || strlen(dot + 1) < 1 || strlen(dot + 1) > 8)
        return;
    for (const char *c = dot + 1; *c; c++)
        if (!isalnum((unsigned char)*c))
            return;
    size_t n = 0;
    ext[n++] = '.';
    for (const char *c = dot + 1; *c; c++)
        ext[n++] = (char)tolower((unsigned char)*c);
    ext[n] = '\0';
}

static char *key_for(const char *id, const char *filename)
{
    char ext[12];
    file_extension(filename, ext);
    char *key = NULL;
    return asprintf(&key, "sources/%s%s", id, ext) < 0 ? NULL : key;
}

char *vf_upload_new_source_key(const char *filename)
{
    char id[VF_UPLOAD_ID_LEN + 1];
    return random_id(id) < 0 ? NULL : key_for(id, filename);
}

/* Parts planned for: nine tenths of what the storage allows, leaving room
 * for odd chunking and for sums split into several parts. */
static uint64_t planned_parts(const vf_storage_caps_t *caps)
{
    uint64_t n = caps->max_parts - caps->max_parts / 10;
    return n ? n : 1;
}

uint64_t vf_upload_max_length(const vf_storage_caps_t *caps)
{
    uint64_t planned = planned_parts(caps);
    return caps->max_part_size > UINT64_MAX / planned ? UINT64_MAX : planned * caps->max_part_size;
}

uint64_t vf_upload_part_threshold(const vf_storage_caps_t *caps, int64_t length)
{
    uint64_t planned = planned_parts(caps);
    uint64_t spread = ((uint64_t)length + planned - 1) / planned;
    uint64_t threshold = spread > caps->min_part_size ? spread : caps->min_part_size;
    return threshold < caps->max_part_size ? threshold : caps->max_part_size;
}

size_t vf_upload_part_count(const vf_storage_caps_t *caps, size_t len, size_t *piece)
{
    size_t n = (size_t)(((uint64_t)len + caps->max_part_size - 1) / caps->max_part_size);
    if (n == 0)
        n = 1;
    *piece = (len + n - 1) / n;
    return n;
}

static const vf_storage_caps_t *storage_caps(const vf_thread_ctx_t *ctx) { return &ctx->app->storage->storage_caps; }

static void owner_param(int64_t owner, char buf[24], const char **param)
{
    snprintf(buf, 24, "%" PRId64, owner);
    *param = owner > 0 ? buf : NULL;
}

static int64_t col_i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int fill_info(const PGresult *res, vf_upload_info_t *out)
{
    /* Columns: id, upload_length, upload_offset, expires epoch, state, metadata */
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    out->length = col_i64(res, 0, 1);
    out->offset = col_i64(res, 0, 2);
    out->expires_at = col_i64(res, 0, 3);
    out->complete = strcmp(PQgetvalue(res, 0, 4), "complete") == 0;
    out->metadata = strdup(PQgetvalue(res, 0, 5));
    return out->metadata ? 0 : -ENOMEM;
}

#define INFO_COLUMNS \
    "id, upload_length, upload_offset, extract(epoch FROM expires_at)::bigint, state, metadata"

static int reload_info(vf_thread_ctx_t *ctx, const char *id, vf_upload_info_t *out)
{
    PGresult *res = NULL;
    const char *params[] = {id};
    int ret = vf_db_exec(ctx->db, &res, "SELECT " INFO_COLUMNS " FROM uploads WHERE id = $1", 1, params);
    if (ret == 0)
        ret = PQntuples(res) == 1 ? fill_info(res, out) : -ENOENT;
    PQclear(res);
    return ret;
}

/* An empty object at `key`: put_file of an empty temporary file. */
static int store_empty(vf_thread_ctx_t *ctx, const char *key, vf_error_t *verr)
{
    char *path = NULL;
    if (asprintf(&path, "%s/vf-empty-XXXXXX", ctx->app->cfg->media.work_dir) < 0)
        return -ENOMEM;
    int fd = mkstemp(path);
    int ret;
    if (fd < 0) {
        ret = -errno;
        snprintf(verr->message, sizeof verr->message, "cannot create a file in %s: %s",
                 ctx->app->cfg->media.work_dir, strerror(errno));
    } else {
        close(fd);
        ret = storage_ops(ctx)->put_file(storage_state(ctx), key, path, verr);
        unlink(path);
    }
    free(path);
    return ret;
}

/* -------------------------------------------------------------------- create */

int vf_upload_create(vf_thread_ctx_t *ctx, int64_t owner, int64_t length, const char *metadata,
                     vf_upload_info_t *out, char *err, size_t errlen)
{
    const vf_storage_ops_t *ops = storage_ops(ctx);
    char id[VF_UPLOAD_ID_LEN + 1];
    char *key = NULL, *mpid = NULL;
    PGresult *res = NULL;
    vf_error_t verr = {0};
    int ret;

    memset(out, 0, sizeof *out);
    if (length < 0)
        return -EINVAL;
    if (length > ctx->app->cfg->upload.max_size ||
        (uint64_t)length > vf_upload_max_length(storage_caps(ctx)))
        return -EFBIG;
    if ((ret = random_id(id)) < 0) {
        snprintf(err, errlen, "cannot draw an upload id: %s", strerror(-ret));
        return ret;
    }
    char *filename = vf_upload_metadata_get(metadata, "filename");
    key = key_for(id, filename);
    free(filename);
    if (!key)
        return -ENOMEM;
    ret = length > 0 ? ops->multipart_begin(storage_state(ctx), key, &mpid, &verr) : store_empty(ctx, key, &verr);
    if (ret < 0) {
        snprintf(err, errlen, "storage: %s", verr.message);
        goto out;
    }
    char lenbuf[24], ownbuf[24], expbuf[24];
    const char *ownp;
    snprintf(lenbuf, sizeof lenbuf, "%" PRId64, length);
    snprintf(expbuf, sizeof expbuf, "%d", ctx->app->cfg->upload.expire_after);
    owner_param(owner, ownbuf, &ownp);
    const char *params[] = {id,  ownp, lenbuf, metadata ? metadata : "", key,
                            mpid, length > 0 ? "receiving" : "complete", expbuf};
    ret = vf_db_exec(ctx->db, &res,
                     "INSERT INTO uploads (id, owner_id, upload_length, metadata, storage_key, multipart_id, "
                     "state, expires_at) VALUES ($1, $2::bigint, $3::bigint, $4, $5, $6, $7, "
                     "now() + make_interval(secs => $8::int)) RETURNING " INFO_COLUMNS,
                     8, params);
    if (ret < 0) {
        snprintf(err, errlen, "database: %s", vf_db_last_error(ctx->db));
        /* Nothing refers to the storage side: undo it now. */
        if (mpid)
            ops->multipart_abort(storage_state(ctx), key, mpid, &verr);
        else
            ops->remove(storage_state(ctx), key, &verr);
        goto out;
    }
    ret = fill_info(res, out);
out:
    PQclear(res);
    free(key);
    free(mpid);
    return ret;
}

/* ----------------------------------------------------------------------- get */

/* Rows of this owner only: somebody else's upload id answers like an
 * unknown one. */
int vf_upload_get(vf_thread_ctx_t *ctx, const char *id, int64_t owner, vf_upload_info_t *out)
{
    PGresult *res = NULL;
    char ownbuf[24];
    const char *ownp;
    owner_param(owner, ownbuf, &ownp);
    const char *params[] = {id, ownp};
    memset(out, 0, sizeof *out);
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT " INFO_COLUMNS ", expires_at < now() FROM uploads "
                         "WHERE id = $1 AND owner_id IS NOT DISTINCT FROM $2::bigint",
                         2, params);
    if (ret < 0)
        goto out;
    if (PQntuples(res) != 1) {
        ret = -ENOENT;
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 6), "t") == 0) {
        ret = -ESTALE;
        goto out;
    }
    ret = fill_info(res, out);
out:
    PQclear(res);
    return ret;
}

/* -------------------------------------------------------------------- append */

/* The row, locked; -EBUSY when another transaction holds it. */
typedef struct locked_upload {
    int64_t length, offset;
    char *key, *mpid;
    int nparts;
    int complete, expired;
    int64_t tail_len;
} locked_upload_t;

static void locked_clear(locked_upload_t *u)
{
    free(u->key);
    free(u->mpid);
    memset(u, 0, sizeof *u);
}

static int lock_upload(vf_thread_ctx_t *ctx, const char *id, int64_t owner, locked_upload_t *u)
{
    PGresult *res = NULL;
    char ownbuf[24];
    const char *ownp;
    owner_param(owner, ownbuf, &ownp);
    const char *params[] = {id, ownp};
    memset(u, 0, sizeof *u);
    /* SKIP LOCKED rather than waiting: a second writer of the same upload is
     * a client retrying while its first request still runs; it is told 423
     * and asks for the offset again. */
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT upload_length, upload_offset, storage_key, multipart_id, "
                         "coalesce(array_length(part_etags, 1), 0), state = 'complete', expires_at < now(), "
                         "octet_length(tail) FROM uploads "
                         "WHERE id = $1 AND owner_id IS NOT DISTINCT FROM $2::bigint FOR UPDATE SKIP LOCKED",
                         2, params);
    if (ret < 0)
        goto out;
    if (PQntuples(res) == 0) {
        PQclear(res);
        res = NULL;
        ret = vf_db_exec(ctx->db, &res,
                         "SELECT 1 FROM uploads WHERE id = $1 AND owner_id IS NOT DISTINCT FROM $2::bigint", 2,
                         params);
        if (ret == 0)
            ret = PQntuples(res) > 0 ? -EBUSY : -ENOENT;
        goto out;
    }
    u->length = col_i64(res, 0, 0);
    u->offset = col_i64(res, 0, 1);
    u->key = strdup(PQgetvalue(res, 0, 2));
    u->mpid = PQgetisnull(res, 0, 3) ? NULL : strdup(PQgetvalue(res, 0, 3));
    u->nparts = (int)col_i64(res, 0, 4);
    u->complete = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
    u->expired = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
    u->tail_len = col_i64(res, 0, 7);
    ret = u->key ? 0 : -ENOMEM;
out:
    PQclear(res);
    return ret;
}

/* libpq with binary parameters/results (vf_db_exec speaks text only). */
static int exec_binary(vf_thread_ctx_t *ctx, PGresult **res, const char *sql, int n, const char *const *values,
                       const int *lengths, const int *formats, int binary_result)
{
    *res = NULL;
    PGconn *conn = vf_db_conn(ctx->db);
    if (!conn)
        return -ECONNRESET;
    PGresult *r = PQexecParams(conn, sql, n, NULL, values, lengths, formats, binary_result);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *res = r;
        return 0;
    }
    vf_error("uploads: database: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    PQclear(r);
    return PQstatus(conn) == CONNECTION_OK ? -EIO : -ECONNRESET;
}

/* The tail bytes held back in the row, in *res (the caller's to PQclear). */
static int read_tail(vf_thread_ctx_t *ctx, const char *id, int64_t tail_len, PGresult **res)
{
    const char *params[] = {id};
    int ret = exec_binary(ctx, res, "SELECT tail FROM uploads WHERE id = $1", 1, params, NULL, NULL, 1);
    if (ret < 0)
        return ret;
    if (PQntuples(*res) != 1 || PQgetlength(*res, 0, 0) != tail_len) {
        PQclear(*res);
        *res = NULL;
        return -EIO;
    }
    return 0;
}

/* The pieces covering bytes [at, at + len) of `in` (n pieces) into `out`,
 * which has room for n; returns how many. */
static size_t slice_pieces(const vf_storage_piece_t *in, size_t n, size_t at, size_t len, vf_storage_piece_t *out)
{
    size_t k = 0, pos = 0;
    for (size_t i = 0; i < n && len > 0; pos += in[i].len, i++) {
        if (pos + in[i].len <= at)
            continue;
        size_t skip = at - pos, take = in[i].len - skip < len ? in[i].len - skip : len;
        out[k++] = (vf_storage_piece_t){(const unsigned char *)in[i].base + skip, take};
        at += take;
        len -= take;
    }
    return k;
}

/* The pieces' `len` bytes in one malloc()ed buffer (a tail kept in the
 * row: shorter than a part). */
static unsigned char *join_pieces(const vf_storage_piece_t *pieces, size_t n, size_t len)
{
    unsigned char *buf = malloc(len ? len : 1);
    for (size_t i = 0, at = 0; buf && i < n; at += pieces[i].len, i++)
        if (pieces[i].len)
            memcpy(buf + at, pieces[i].base, pieces[i].len);
    return buf;
}

static int complete_multipart(vf_thread_ctx_t *ctx, const char *id, const locked_upload_t *u, char *const *new_etags,
                              size_t nnew, vf_error_t *verr)
{
    PGresult *res = NULL;
    const char *params[] = {id};
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT e FROM uploads, unnest(part_etags) WITH ORDINALITY AS p(e, n) "
                         "WHERE id = $1 ORDER BY n",
                         1, params);
    if (ret < 0)
        return ret;
    size_t before = (size_t)PQntuples(res), n = before + nnew;
    vf_storage_part_t *parts = calloc(n, sizeof *parts);
    if (!parts) {
        PQclear(res);
        return -ENOMEM;
    }
    for (size_t i = 0; i < before; i++)
        parts[i] = (vf_storage_part_t){(unsigned)(i + 1), PQgetvalue(res, (int)i, 0)};
    for (size_t i = 0; i < nnew; i++)
        parts[before + i] = (vf_storage_part_t){(unsigned)(before + i + 1), new_etags[i]};
    ret = storage_ops(ctx)->multipart_complete(storage_state(ctx), u->key, u->mpid, parts, n, verr);
    free(parts);
    PQclear(res);
    return ret;
}

/* A lost answer after the multipart upload was completed: the object is
 * there with every byte, and the retried last chunk must not fail forever. */
static int already_completed(vf_thread_ctx_t *ctx, const locked_upload_t *u)
{
    vf_storage_stat_t st;
    vf_error_t verr = {0};
    return storage_ops(ctx)->stat(storage_state(ctx), u->key, &st, &verr) == 0 && (int64_t)st.size == u->length;
}

int vf_upload_append(vf_thread_ctx_t *ctx, const char *id, int64_t owner, int64_t offset,
                     const vf_storage_piece_t *pieces, size_t npieces, vf_upload_info_t *out, char *err,
                     size_t errlen)
{
    locked_upload_t u = {0};
    PGresult *tail = NULL;
    vf_storage_piece_t *all = NULL, *part = NULL; /* the tail and the chunk; one part's slice of them */
    unsigned char *joined = NULL;
    char **etags = NULL;
    size_t nparts = 0, len = 0;
    PGresult *res = NULL;
    vf_error_t verr = {0};
    int in_tx = 0;

    for (size_t i = 0; i < npieces; i++)
        len += pieces[i].len;

    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = '\0';
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        goto out;
    in_tx = 1;
    if ((ret = lock_upload(ctx, id, owner, &u)) < 0)
        goto out;
    if (u.expired) {
        ret = -ESTALE;
        goto out;
    }
    if (offset != u.offset) {
        ret = -ERANGE;
        goto out;
    }
    if (u.complete && len > 0) {
        ret = -EALREADY;
        goto out;
    }
    if ((uint64_t)offset + len > (uint64_t)u.length) {
        ret = -EOVERFLOW;
        goto out;
    }
    if (len == 0) {
        /* Nothing to store: the answer is the current state. */
        vf_db_rollback(ctx->db);
        in_tx = 0;
        goto answer;
    }

    /* The chunk stays in the caller's pieces; the tail goes in front. */
    size_t nall = npieces + 1, buflen = (size_t)u.tail_len + len;
    if (!(all = calloc(nall, sizeof *all)) || !(part = calloc(nall, sizeof *part))) {
        ret = -ENOMEM;
        goto out;
    }
    if (u.tail_len > 0) {
        if ((ret = read_tail(ctx, id, u.tail_len, &tail)) < 0)
            goto out;
        all[0] = (vf_storage_piece_t){PQgetvalue(tail, 0, 0), (size_t)u.tail_len};
    }
    memcpy(all + 1, pieces, npieces * sizeof *pieces);
    int64_t new_offset = offset + (int64_t)len;
    int final = new_offset == u.length;
    char offbuf[24], expbuf[24];
    snprintf(offbuf, sizeof offbuf, "%" PRId64, new_offset);
    snprintf(expbuf, sizeof expbuf, "%d", ctx->app->cfg->upload.expire_after);

    if (!final && buflen < vf_upload_part_threshold(storage_caps(ctx), u.length)) {
        /* Too short for a part: the bytes wait in the row. */
        if (!(joined = join_pieces(all, nall, buflen))) {
            ret = -ENOMEM;
            goto out;
        }
        const char *values[] = {id, offbuf, (const char *)joined, expbuf};
        const int lengths[] = {0, 0, (int)buflen, 0};
        const int formats[] = {0, 0, 1, 0};
        ret = exec_binary(ctx, &res,
                          "UPDATE uploads SET upload_offset = $2::bigint, tail = $3::bytea, updated_at = now(), "
                          "expires_at = now() + make_interval(secs => $4::int) WHERE id = $1",
                          4, values, lengths, formats, 0);
        if (ret < 0)
            goto out;
        goto commit;
    }

    /* One part, or several equal ones when the sum is above the largest. */
    size_t piece;
    nparts = vf_upload_part_count(storage_caps(ctx), buflen, &piece);
    if (!(etags = calloc(nparts, sizeof *etags))) {
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
    for (size_t k = 0; k < nparts && ret == 0; k++) {
        size_t at = k * piece, n = buflen - at < piece ? buflen - at : piece;
        size_t nslice = slice_pieces(all, nall, at, n, part);
        ret = vf_storage_write_pieces(ctx->app->storage, u.key, u.mpid, (unsigned)(u.nparts + 1 + k), part, nslice,
                                      &etags[k], &verr);
    }
    if (ret == -ENOENT && final && already_completed(ctx, &u)) {
        ret = 0;
    } else if (ret < 0) {
        snprintf(err, errlen, "storage: %s", verr.message);
        goto out;
    } else if (final && (ret = complete_multipart(ctx, id, &u, etags, nparts, &verr)) < 0) {
        snprintf(err, errlen, "storage: %s", verr.message[0] ? verr.message : vf_db_last_error(ctx->db));
        goto out;
    }
    /* Every new etag but the last first; the last goes with the new state. */
    for (size_t k = 0; k + 1 < nparts && etags[k]; k++) {
        const char *params[] = {id, etags[k]};
        if ((ret = vf_db_run(ctx->db, "UPDATE uploads SET part_etags = array_append(part_etags, $2) WHERE id = $1", 2,
                             params)) < 0)
            goto out;
    }
    {
        const char *last = etags[nparts - 1] ? etags[nparts - 1] : "";
        const char *params[] = {id, offbuf, last, final ? "complete" : "receiving", expbuf};
        ret = vf_db_run(ctx->db,
                        "UPDATE uploads SET upload_offset = $2::bigint, tail = ''::bytea, "
                        "part_etags = array_append(part_etags, $3), state = $4, "
                        "multipart_id = CASE WHEN $4 = 'complete' THEN NULL ELSE multipart_id END, "
                        "updated_at = now(), expires_at = now() + make_interval(secs => $5::int) WHERE id = $1",
                        5, params);
        if (ret < 0)
            goto out;
    }
commit:
    if ((ret = vf_db_commit(ctx->db)) < 0)
        goto out;
    in_tx = 0;
    vf_metric_upload_bytes((int64_t)len);
answer:
    ret = reload_info(ctx, id, out);
out:
    if (in_tx)
        vf_db_rollback(ctx->db);
    if (ret < 0 && errlen && !err[0] && ret != -ENOENT && ret != -ESTALE && ret != -EBUSY && ret != -ERANGE &&
        ret != -EOVERFLOW && ret != -EALREADY)
        snprintf(err, errlen, "database: %s", vf_db_last_error(ctx->db));
    PQclear(res);
    PQclear(tail);
    locked_clear(&u);
    free(joined);
    free(all);
    free(part);
    for (size_t k = 0; etags && k < nparts; k++)
        free(etags[k]);
    free(etags);
    return ret;
}

/* ---------------------------------------------------------------- terminate */

int vf_upload_terminate(vf_thread_ctx_t *ctx, const char *id, int64_t owner)
{
    locked_upload_t u = {0};
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    if ((ret = lock_upload(ctx, id, owner, &u)) < 0)
        goto out;
    const char *params[] = {id};
    if ((ret = vf_db_run(ctx->db, "DELETE FROM uploads WHERE id = $1", 1, params)) < 0)
        goto out;
    json_t *keys = json_pack("[s]", u.key);
    ret = keys ? vf_remove_files_tx(ctx, keys, NULL, u.mpid ? u.key : NULL, u.mpid) : -ENOMEM;
    json_decref(keys);
    if (ret < 0)
        goto out;
    ret = vf_db_commit(ctx->db);
out:
    if (ret < 0)
        vf_db_rollback(ctx->db);
    else
        vf_queue_flush(ctx);
    locked_clear(&u);
    return ret;
}

/* --------------------------------------------------------------------- take */

int vf_upload_take_tx(vf_thread_ctx_t *ctx, const char *id, int64_t owner, char **storage_key)
{
    PGresult *res = NULL;
    char ownbuf[24];
    const char *ownp;
    owner_param(owner, ownbuf, &ownp);
    const char *params[] = {id, ownp};
    *storage_key = NULL;
    if (!id || strlen(id) != VF_UPLOAD_ID_LEN || strspn(id, "0123456789abcdef") != VF_UPLOAD_ID_LEN)
        return -ENOENT;
    int ret = vf_db_exec(ctx->db, &res,
                         "DELETE FROM uploads WHERE id = $1 AND owner_id IS NOT DISTINCT FROM $2::bigint "
                         "AND state = 'complete' AND expires_at >= now() RETURNING storage_key",
                         2, params);
    if (ret < 0)
        goto out;
    if (PQntuples(res) == 1) {
        *storage_key = strdup(PQgetvalue(res, 0, 0));
        ret = *storage_key ? 0 : -ENOMEM;
        goto out;
    }
    PQclear(res);
    res = NULL;
    /* Why not: unknown, expired, or still receiving. */
    ret = vf_db_exec(ctx->db, &res,
                     "SELECT state = 'complete', expires_at < now() FROM uploads "
                     "WHERE id = $1 AND owner_id IS NOT DISTINCT FROM $2::bigint",
                     2, params);
    if (ret < 0)
        goto out;
    if (PQntuples(res) == 0)
        ret = -ENOENT;
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        ret = -ESTALE;
    else
        ret = -EINPROGRESS;
out:
    PQclear(res);
    return ret;
}

/* -------------------------------------------------------------------- sweep */

int vf_upload_expire_sweep(vf_thread_ctx_t *ctx, int limit)
{
    PGresult *res = NULL;
    char limbuf[16];
    snprintf(limbuf, sizeof limbuf, "%d", limit);
    const char *params[] = {limbuf};
    int ret = vf_db_begin(ctx->db);
    if (ret < 0)
        return ret;
    ret = vf_db_exec(ctx->db, &res,
                     "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE expires_at < now() "
                     "ORDER BY expires_at LIMIT $1::int FOR UPDATE SKIP LOCKED) "
                     "RETURNING id, storage_key, multipart_id",
                     1, params);
    if (ret < 0)
        goto out;
    int n = PQntuples(res);
    for (int i = 0; i < n && ret == 0; i++) {
        const char *key = PQgetvalue(res, i, 1);
        const char *mpid = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
        json_t *keys = json_pack("[s]", key);
        ret = keys ? vf_remove_files_tx(ctx, keys, NULL, mpid ? key : NULL, mpid) : -ENOMEM;
        json_decref(keys);
        if (ret == 0)
            vf_info("uploads: upload %s expired; its parts will be removed", PQgetvalue(res, i, 0));
    }
    if (ret < 0)
        goto out;
    if ((ret = vf_db_commit(ctx->db)) < 0)
        goto out;
    vf_queue_flush(ctx);
    ret = n;
out:
    if (ret < 0)
        vf_db_rollback(ctx->db);
    PQclear(res);
    return ret;
}
