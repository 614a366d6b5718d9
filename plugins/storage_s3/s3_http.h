/*
 * s3_http.h - one S3 request over libcurl: signed with SigV4 (header auth,
 * x-amz-content-sha256), body streamed from memory (pieces) or a file range, answer
 * to memory or a file, retried with exponential backoff and jitter on 5xx,
 * 429, timeouts and connection errors, and S3's <Code>/<Message> turned into
 * a readable error.
 *
 * The caller owns the CURL easy handle (one per operation; never shared
 * between threads) so a multi-request operation reuses its connection.
 */
#ifndef VF_S3_HTTP_H
#define VF_S3_HTTP_H

#include <curl/curl.h>
#include <stdint.h>
#include <videoflix/storage.h>

#include "s3_config.h"
#include "sigv4.h"

typedef struct s3_client {
    const vf_host_api_t *host;
    const s3_config_t *cfg;
} s3_client_t;

/* A request body: `length` bytes in memory, as pieces read where they are
 * (never joined), or of the file `fd` from `offset`, with its SHA-256
 * computed up front. */
typedef struct s3_body {
    const vf_storage_piece_t *pieces; /* memory: npieces pieces */
    size_t npieces;
    int fd;                   /* -1 for memory */
    uint64_t offset;
    uint64_t length;
    char sha256[65];
} s3_body_t;

/* Progress of one operation, which may take several requests (the parts of
 * a multipart put_file).  fn is called on the caller's thread while bodies
 * are hashed, while data moves and while a retry waits; a non-zero answer
 * stops the operation: -ECANCELED, no retry.  Reports come at fixed steps
 * of the bytes (so the same copy gets the same reports), never go
 * backwards, and at least once a second while nothing moves.  An upload's
 * report at its end comes before its last bytes are sent, so stopping
 * there still stores nothing. */
typedef struct s3_progress {
    vf_progress_fn fn;        /* NULL: nobody asks */
    void *ud;
    uint64_t done;            /* bytes moved by the operation's earlier requests */
    uint64_t total;           /* bytes of the whole operation; 0 = a download's own length */
    int cancelled;            /* fn asked to stop */
    uint64_t next;            /* the next step to report (bytes of the operation) */
    double last_pct;
    int64_t last_call_ns;     /* CLOCK_MONOTONIC of the last report */
} s3_progress_t;

/* `now` bytes of the current request (of `request_total`, for a download
 * whose operation total is not known yet) have moved.  Non-zero once the
 * operation is to stop. */
int s3_progress_tell(s3_progress_t *p, uint64_t now, uint64_t request_total);

/* Hash the pieces, which must stay unchanged until the body is sent;
 * `pieces` may be NULL only when npieces is 0.  0 or -errno. */
int s3_body_from_pieces(s3_body_t *body, const vf_storage_piece_t *pieces, size_t npieces);
/* Hash the file range, reading it in 64 KiB blocks (the file is read again
 * while it is sent).  0 or -errno; -EIO if the file is shorter;
 * -ECANCELED when `progress` (may be NULL) asks to stop meanwhile. */
int s3_body_from_file(s3_body_t *body, int fd, uint64_t offset, uint64_t length, s3_progress_t *progress);

typedef struct s3_request {
    const char *method;             /* GET, HEAD, PUT, POST, DELETE */
    const char *key;                /* validated object key; NULL = the bucket */
    const sigv4_pair_t *query;      /* decoded */
    size_t nquery;
    const sigv4_pair_t *headers;    /* extra headers to send and sign */
    size_t nheaders;
    const s3_body_t *body;          /* NULL = empty */
    int download_fd;                /* >= 0: a 2xx body is written here, from offset 0 */
    s3_progress_t *progress;        /* NULL: the request cannot be stopped */
} s3_request_t;

typedef struct s3_response {
    long status;
    char *body;                     /* NUL-terminated; not for downloads that succeed */
    size_t body_len;
    char etag[128];
    char content_type[128];
    int64_t last_modified;          /* -1 when absent */
    uint64_t content_length;
    int has_content_length;
} s3_response_t;

/* Perform the request (with retries).  0 when S3 answered 2xx; otherwise a
 * negative errno (-ENOENT for 404, -EACCES for 401/403, -EINVAL for other
 * 400s, -ECONNREFUSED, -ETIMEDOUT, -EIO ...), err filled with one sentence
 * and err->status with the HTTP status (0 when none arrived); -ECANCELED
 * when req->progress asked to stop (never retried).  resp is
 * filled either way; free it with s3_response_free. */
int s3_perform(const s3_client_t *client, CURL *curl, const s3_request_t *req, s3_response_t *resp,
               vf_error_t *err);
void s3_response_free(s3_response_t *resp);

#endif
