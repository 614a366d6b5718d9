/*
 * upload.c - see upload.h.  Every answer carries Tus-Resumable; errors of
 * requests other than HEAD have a JSON body ({"detail": ...}) like the rest
 * of the API, successes of PATCH/DELETE/OPTIONS none (204).
 *
 * Creation and chunks call the storage plugin (with S3: a part of up to
 * upload.chunk_max sent over the network, with retries and backoff) inside a
 * database transaction, so they run on the storage pool (offload.h) with
 * that thread's own connections; the loop thread only checks the request
 * and answers.  HEAD and DELETE touch only the database (termination leaves
 * the parts to a remove_files job) and stay on the loop.
 */
#include "config.h"
#include "uploads/upload.h"

#include "accounts/auth.h"
#include "http/head.h"
#include "http/http.h"
#include "http/offload.h"
#include "plugins/storage_calls.h"
#include "uploads/upload_store.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <errno.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS "creation,creation-with-upload,termination,expiration"
#define TUS_CONTENT_TYPE "application/offset+octet-stream"
#define UPLOADS_PATH "/admin/api/uploads/"
/* The route's own body limit: the largest upload.chunk_max allowed.  The
 * configured chunk_max is checked in the handlers (the route table is built
 * without the configuration); the server refuses bodies past
 * max(server.max_body_size, chunk_max + 64 KiB) from their head, and past
 * server.max_body_size unless the head carries a staff token
 * (staff_token_in_head), which bounds memory. */
#define ROUTE_BODY_LIMIT ((size_t)1 << 31)
/* Expired uploads swept per creation request: a bounded, cheap pass. */
#define SWEEP_PER_CREATE 16
/* Seconds a client refused for a full storage queue waits. */
#define RETRY_AFTER_BUSY "2"

static void tus_headers(vf_req_t *r)
{
    vf_reply_header(r, "Tus-Resumable", TUS_VERSION);
}

static void reply_empty(vf_req_t *r, int status)
{
    tus_headers(r);
    vf_reply_header(r, "Cache-Control", "no-store");
    vf_reply_buffer(r, status, NULL, NULL);
}

static void reply_error(vf_req_t *r, int status, const char *detail)
{
    tus_headers(r);
    if (r->method == VF_HEAD) {
        vf_reply_buffer(r, status, NULL, NULL);
        return;
    }
    vf_reply_msg(r, status, "detail", detail);
}

/* Map an upload_store error to its answer. */
static void reply_store_error(vf_req_t *r, int ret, const char *err)
{
    switch (ret) {
    case -ENOENT: reply_error(r, 404, "Upload not found."); return;
    case -ESTALE: reply_error(r, 410, "The upload has expired."); return;
    case -EBUSY: reply_error(r, 423, "Another request is writing to this upload; ask for its offset again."); return;
    case -ERANGE: reply_error(r, 409, "Upload-Offset does not match the upload's offset."); return;
    case -EOVERFLOW: reply_error(r, 400, "The chunk goes past Upload-Length."); return;
    case -EALREADY: reply_error(r, 400, "The upload is complete."); return;
    case -EFBIG: reply_error(r, 413, "Upload-Length is above the largest upload allowed."); return;
    case -ECONNRESET:
        vf_reply_header(r, "Retry-After", "5");
        reply_error(r, 503, "The database is unreachable; retry shortly.");
        return;
    }
    vf_error("uploads: %s (%s)", err && *err ? err : "failure", strerror(-ret));
    reply_error(r, 500, "The upload could not be stored; retry.");
}

/* The storage pool's queue is full: nothing was stored, the client sends
 * the same request again later (tus clients ask HEAD for the offset). */
static void reply_busy(vf_req_t *r)
{
    vf_warn("uploads: the storage queue is full (server.storage_queue); answering 503");
    vf_reply_header(r, "Retry-After", RETRY_AFTER_BUSY);
    reply_error(r, 503, "The server is busy storing other uploads; retry shortly.");
}

/* A non-negative decimal header value without sign or junk; -1 otherwise. */
static int64_t parse_size(const char *s)
{
    int64_t v;
    return vf_parse_decimal(s, &v) == 0 ? v : -1;
}

static int check_version(vf_req_t *r)
{
    const char *v = vf_req_header(r, "Tus-Resumable");
    if (v && strcmp(v, TUS_VERSION) == 0)
        return 0;
    vf_reply_header(r, "Tus-Version", TUS_VERSION);
    reply_error(r, 412, "Tus-Resumable: 1.0.0 is required.");
    return -1;
}

static void state_headers(vf_req_t *r, const vf_upload_info_t *info)
{
    char num[24], date[40];
    snprintf(num, sizeof num, "%" PRId64, info->offset);
    vf_reply_header(r, "Upload-Offset", num);
    if (!info->complete) {
        vf_time_http(info->expires_at, date, sizeof date);
        vf_reply_header(r, "Upload-Expires", date);
    }
}

static int chunk_too_large(vf_req_t *r, size_t len)
{
    size_t limit = (size_t)r->ctx->app->cfg->upload.chunk_max;
    if (len <= limit)
        return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "A chunk may hold at most %zu bytes.", limit);
    reply_error(r, 413, msg);
    return 1;
}

static int is_chunk_type(vf_req_t *r)
{
    const char *ct = vf_req_header(r, "Content-Type");
    return ct && strncasecmp(ct, TUS_CONTENT_TYPE, strlen(TUS_CONTENT_TYPE)) == 0;
}

static void tus_options(vf_req_t *r)
{
    char max[24];
    snprintf(max, sizeof max, "%" PRId64, r->ctx->app->cfg->upload.max_size);
    vf_reply_header(r, "Tus-Version", TUS_VERSION);
    vf_reply_header(r, "Tus-Extension", TUS_EXTENSIONS);
    vf_reply_header(r, "Tus-Max-Size", max);
    reply_empty(r, 204);
}

/* ------------------------------------------------ work on the storage pool */

typedef enum { JOB_CREATE, JOB_APPEND } job_op_t;

/* One creation or chunk, from the loop to the pool and back. */
typedef struct upload_job {
    vf_offload_job_t job;
    job_op_t op;
    int64_t owner;
    int64_t length;           /* CREATE */
    char *metadata;           /* CREATE: malloc()ed, or NULL */
    char id[VF_UPLOAD_ID_LEN + 1];   /* APPEND */
    int64_t offset;           /* APPEND */
    /* The request's body, read only by the pool thread while the loop waits
     * for the answer.  The loop frees it with the request: its thousands of
     * pieces belong to the loop thread's malloc arena, and freeing them here
     * would contend for that arena's lock with the loop's own allocations. */
    struct evbuffer *body;
    /* results */
    int ret;
    int first_chunk_failed;   /* CREATE with data: created, data not stored */
    vf_upload_info_t info;
    char err[512];
} upload_job_t;

/* evhttp holds a body as thousands of 4 KiB pieces.  A storage plugin with
 * multipart_write_pieces takes them where they are (evbuffer_peek: no
 * copy), so a server storing a chunk holds it once.  A plugin without it
 * wants one block: the pieces are copied into a block kept for the next
 * chunk instead of being freed (fresh memory costs a page fault per 4 KiB
 * on first touch, which made the copy of a 16 MiB chunk ten times slower
 * than the copy itself).  One block is kept (the sequential chunks of one
 * upload reuse it); chunks stored at the same time take blocks of their
 * own. */
typedef struct body_block {
    unsigned char *mem;
    size_t cap;
} body_block_t;

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static body_block_t spare;

static int block_take(body_block_t *b, size_t len)
{
    pthread_mutex_lock(&spare_lock);
    *b = spare;
    spare = (body_block_t){NULL, 0};
    pthread_mutex_unlock(&spare_lock);
    if (b->cap >= len)
        return 0;
    free(b->mem);
    b->mem = malloc(len);
    b->cap = b->mem ? len : 0;
    return b->mem ? 0 : -ENOMEM;
}

static void block_give(body_block_t *b)
{
    pthread_mutex_lock(&spare_lock);
    if (b->cap > spare.cap) {
        body_block_t old = spare;
        spare = *b;
        *b = old;
    }
    pthread_mutex_unlock(&spare_lock);
    free(b->mem);
    *b = (body_block_t){NULL, 0};
}

static void job_free(upload_job_t *j)
{
    if (!j)
        return;
    free(j->metadata);
    vf_upload_info_clear(&j->info);
    free(j);
}

/* A chunk's body as the storage takes it: the request's own pieces, or
 * one piece (a body that is one piece already, or the kept block). */
typedef struct body_view {
    vf_storage_piece_t *pieces;   /* malloc()ed list, or &one */
    size_t npieces;
    vf_storage_piece_t one;
    body_block_t block;
} body_view_t;

/* The pieces of the body as evhttp holds them, without copying a byte. */
static int view_pieces(struct evbuffer *body, body_view_t *v)
{
    int n = evbuffer_peek(body, -1, NULL, NULL, 0);
    struct evbuffer_iovec *iov = n > 0 ? calloc((size_t)n, sizeof *iov) : NULL;
    vf_storage_piece_t *pieces = n > 0 ? calloc((size_t)n, sizeof *pieces) : NULL;
    int ret = iov && pieces && evbuffer_peek(body, -1, NULL, iov, n) == n ? 0 : -ENOMEM;
    for (int i = 0; ret == 0 && i < n; i++)
        pieces[i] = (vf_storage_piece_t){iov[i].iov_base, iov[i].iov_len};
    free(iov);
    if (ret < 0) {
        free(pieces);
        return ret;
    }
    v->pieces = pieces;
    v->npieces = (size_t)n;
    return 0;
}

/* The body for storage (on the pool thread, not the loop): -ENOMEM when
 * out of memory.  An empty body is no pieces. */
static int view_body(upload_job_t *j, const vf_plugin_t *storage, body_view_t *v)
{
    *v = (body_view_t){.pieces = &v->one};
    size_t len = evbuffer_get_length(j->body);
    if (len == 0)
        return 0;
    struct evbuffer_iovec first;
    if (evbuffer_peek(j->body, (ev_ssize_t)len, NULL, &first, 1) == 1 && first.iov_len == len) {
        v->one = (vf_storage_piece_t){first.iov_base, len};
    } else if (vf_storage_takes_pieces(storage)) {
        return view_pieces(j->body, v);
    } else {
        if (block_take(&v->block, len) < 0 || evbuffer_copyout(j->body, v->block.mem, len) != (ev_ssize_t)len)
            return -ENOMEM;
        v->one = (vf_storage_piece_t){v->block.mem, len};
    }
    v->npieces = 1;
    return 0;
}

static void view_release(body_view_t *v)
{
    if (v->pieces != &v->one)
        free(v->pieces);
    block_give(&v->block);
}

static void run_create(upload_job_t *j, vf_thread_ctx_t *ctx, body_view_t *body)
{
    if (vf_upload_expire_sweep(ctx, SWEEP_PER_CREATE) < 0)
        vf_warn("uploads: the sweep of expired uploads failed; the next creation tries again");
    j->ret = vf_upload_create(ctx, j->owner, j->length, j->metadata, &j->info, j->err, sizeof j->err);
    if (j->ret < 0 || evbuffer_get_length(j->body) == 0)
        return;
    if (view_body(j, ctx->app->storage, body) < 0) {
        j->first_chunk_failed = 1;
        snprintf(j->err, sizeof j->err, "out of memory");
        return;
    }
    /* creation-with-upload: a failed first chunk still leaves a created
     * upload; the client learns the offset from the answer and resumes. */
    vf_upload_info_t after = {0};
    j->err[0] = '\0';
    if (vf_upload_append(ctx, j->info.id, j->owner, 0, body->pieces, body->npieces, &after, j->err,
                         sizeof j->err) == 0) {
        vf_upload_info_clear(&j->info);
        j->info = after;
    } else {
        j->first_chunk_failed = 1;
    }
}

/* On a pool thread, with its own database and Redis connections.  The
 * body's pieces are read here while the loop waits; the loop frees them
 * with the request after the answer (see upload_job_t.body). */
static void run_job(vf_offload_job_t *oj, vf_thread_ctx_t *ctx)
{
    upload_job_t *j = (upload_job_t *)oj;
    body_view_t body = {.pieces = &body.one};
    if (j->op == JOB_CREATE) {
        run_create(j, ctx, &body);
    } else {
        j->ret = view_body(j, ctx->app->storage, &body);
        if (j->ret == 0)
            j->ret = vf_upload_append(ctx, j->id, j->owner, j->offset, body.pieces, body.npieces, &j->info, j->err,
                                      sizeof j->err);
    }
    view_release(&body);
}

/* Queue j for r (whose answer resume sends); on failure answers r itself
 * and frees j. */
static void submit_job(vf_req_t *r, upload_job_t *j, void (*resume)(vf_offload_job_t *job))
{
    j->job.run = run_job;
    j->body = evhttp_request_get_input_buffer(r->ev);
    int ret = vf_offload_request(vf_offload_storage_pool(r->ctx->app), r, &j->job, resume);
    if (ret == 0)
        return;
    job_free(j);
    if (ret == -EAGAIN) {
        reply_busy(r);
        return;
    }
    vf_error("uploads: the storage pool cannot take work (%s)", strerror(-ret));
    reply_error(r, 500, "The upload could not be stored; retry.");
}

/* ---------------------------------------------------------------- handlers */

/* Answers a failed job and frees it: 1; 0 when the job succeeded. */
static int job_failed(upload_job_t *j)
{
    if (j->ret >= 0)
        return 0;
    reply_store_error(j->job.req, j->ret, j->err);
    job_free(j);
    return 1;
}

static void created(vf_offload_job_t *oj)
{
    upload_job_t *j = (upload_job_t *)oj;
    vf_req_t *r = oj->req;
    if (job_failed(j))
        return;
    vf_info("uploads: user %" PRId64 " created upload %s of %" PRId64 " bytes", j->owner, j->info.id, j->length);
    if (j->first_chunk_failed)
        vf_warn("uploads: the data sent with creating upload %s was not stored: %s", j->info.id, j->err);
    char location[96];
    snprintf(location, sizeof location, UPLOADS_PATH "%s/", j->info.id);
    vf_reply_header(r, "Location", location);
    state_headers(r, &j->info);
    job_free(j);
    reply_empty(r, 201);
}

static void tus_create(vf_req_t *r)
{
    if (r->method == VF_OPTIONS) {
        tus_options(r);
        return;
    }
    if (vf_auth_require_staff(r) != 0 || check_version(r) != 0)
        return;
    if (vf_req_header(r, "Upload-Defer-Length")) {
        reply_error(r, 400, "Upload-Defer-Length is not supported: send Upload-Length.");
        return;
    }
    int64_t length = parse_size(vf_req_header(r, "Upload-Length"));
    if (length < 0) {
        reply_error(r, 400, "Upload-Length must be a non-negative integer.");
        return;
    }
    if (length > r->ctx->app->cfg->upload.max_size) {
        char max[24];
        snprintf(max, sizeof max, "%" PRId64, r->ctx->app->cfg->upload.max_size);
        vf_reply_header(r, "Tus-Max-Size", max);
        reply_error(r, 413, "Upload-Length is above the largest upload allowed.");
        return;
    }
    const char *metadata = vf_req_header(r, "Upload-Metadata");
    if (metadata && !vf_upload_metadata_valid(metadata)) {
        reply_error(r, 400, "Upload-Metadata must be comma-separated \"key base64value\" pairs.");
        return;
    }
    size_t body_len = evbuffer_get_length(evhttp_request_get_input_buffer(r->ev));
    if (body_len > 0 && !is_chunk_type(r)) {
        reply_error(r, 415, "Data sent with the creation request needs Content-Type: " TUS_CONTENT_TYPE ".");
        return;
    }
    if (chunk_too_large(r, body_len))
        return;
    upload_job_t *j = calloc(1, sizeof *j);
    if (!j || (metadata && !(j->metadata = strdup(metadata)))) {
        job_free(j);
        reply_error(r, 500, "The upload could not be stored; retry.");
        return;
    }
    j->op = JOB_CREATE;
    j->owner = r->user_id;
    j->length = length;
    submit_job(r, j, created);
}

static void tus_head(vf_req_t *r, const char *id)
{
    vf_upload_info_t info = {0};
    int ret = vf_upload_get(r->ctx, id, r->user_id, &info);
    if (ret < 0) {
        reply_store_error(r, ret, NULL);
        return;
    }
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, info.length);
    vf_reply_header(r, "Upload-Length", num);
    if (info.metadata[0])
        vf_reply_header(r, "Upload-Metadata", info.metadata);
    state_headers(r, &info);
    vf_upload_info_clear(&info);
    reply_empty(r, 200);
}

static void appended(vf_offload_job_t *oj)
{
    upload_job_t *j = (upload_job_t *)oj;
    vf_req_t *r = oj->req;
    if (job_failed(j))
        return;
    if (j->info.complete && j->info.offset > j->offset)
        vf_info("uploads: upload %s is complete (%" PRId64 " bytes)", j->id, j->info.length);
    state_headers(r, &j->info);
    job_free(j);
    reply_empty(r, 204);
}

static void tus_patch(vf_req_t *r, const char *id)
{
    if (!is_chunk_type(r)) {
        reply_error(r, 415, "Chunks need Content-Type: " TUS_CONTENT_TYPE ".");
        return;
    }
    int64_t offset = parse_size(vf_req_header(r, "Upload-Offset"));
    if (offset < 0) {
        reply_error(r, 400, "Upload-Offset must be a non-negative integer.");
        return;
    }
    if (chunk_too_large(r, evbuffer_get_length(evhttp_request_get_input_buffer(r->ev))))
        return;
    upload_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        reply_error(r, 500, "The upload could not be stored; retry.");
        return;
    }
    j->op = JOB_APPEND;
    j->owner = r->user_id;
    j->offset = offset;
    snprintf(j->id, sizeof j->id, "%s", id);
    submit_job(r, j, appended);
}

static void tus_delete(vf_req_t *r, const char *id)
{
    int ret = vf_upload_terminate(r->ctx, id, r->user_id);
    if (ret < 0) {
        reply_store_error(r, ret, NULL);
        return;
    }
    vf_info("uploads: upload %s terminated by user %" PRId64, id, r->user_id);
    reply_empty(r, 204);
}

static void tus_upload(vf_req_t *r)
{
    if (r->method == VF_OPTIONS) {
        tus_options(r);
        return;
    }
    if (vf_auth_require_staff(r) != 0 || check_version(r) != 0)
        return;
    const char *id = vf_req_param(r, 0);
    int method = r->method;
    /* Clients behind proxies that only pass GET and POST (tus-js-client's
     * overridePatchMethod). */
    const char *override = vf_req_header(r, "X-HTTP-Method-Override");
    if (method == VF_POST && override) {
        if (strcasecmp(override, "PATCH") == 0)
            method = VF_PATCH;
        else if (strcasecmp(override, "DELETE") == 0)
            method = VF_DELETE;
    }
    if (!id || strlen(id) != VF_UPLOAD_ID_LEN || strspn(id, "0123456789abcdef") != VF_UPLOAD_ID_LEN) {
        reply_error(r, 404, "Upload not found.");
        return;
    }
    switch (method) {
    case VF_HEAD: tus_head(r, id); return;
    case VF_PATCH: tus_patch(r, id); return;
    case VF_DELETE: tus_delete(r, id); return;
    }
    vf_reply_header(r, "Allow", "DELETE, HEAD, OPTIONS, PATCH");
    reply_error(r, 405, "Use HEAD, PATCH or DELETE on an upload.");
}

/* What a browser client (tus-js-client on another origin) sends and reads. */
#define TUS_REQUEST_HEADERS \
    "tus-resumable, upload-length, upload-offset, upload-metadata, upload-defer-length, upload-concat, " \
    "x-http-method-override"
#define TUS_RESPONSE_HEADERS \
    "Upload-Offset, Upload-Length, Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size"

/* Only staff upload: a body larger than server.max_body_size is read only
 * for a head with a staff access token (the handlers check the rest). */
static int staff_token_in_head(vf_thread_ctx_t *ctx, const vf_http_head_t *head)
{
    char *authorization = vf_http_head_value(head, "Authorization");
    char *cookie = vf_http_head_value(head, "Cookie");
    int staff = vf_auth_staff_token(ctx->app->cfg, authorization, cookie);
    free(authorization);
    free(cookie);
    return staff;
}

void vf_upload_routes(vf_router_t *router)
{
    vf_router_add_limited(router, VF_POST | VF_OPTIONS, UPLOADS_PATH, tus_create, ROUTE_BODY_LIMIT);
    vf_router_add_limited(router, VF_HEAD | VF_PATCH | VF_DELETE | VF_POST | VF_OPTIONS, UPLOADS_PATH "{id}/",
                          tus_upload, ROUTE_BODY_LIMIT);
    vf_router_set_cors(router, UPLOADS_PATH, TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS);
    vf_router_set_cors(router, UPLOADS_PATH "{id}/", TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS);
    vf_router_set_body_gate(router, UPLOADS_PATH, staff_token_in_head);
    vf_router_set_body_gate(router, UPLOADS_PATH "{id}/", staff_token_in_head);
}
