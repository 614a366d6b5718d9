/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) as S3 uses it:
 * canonical requests, strings to sign, signatures, the Authorization header
 * and presigned query strings.
 *
 * The functions are pure (no clock, no I/O, no global state), so the AWS
 * test suite can check them byte for byte and any thread may call them.
 *
 * S3 flavour: the path is URI-encoded once, segment by segment, and never
 * normalised ("." and ".." segments and "//" are signed as they are).
 * Query names and values are given decoded and encoded here, so the
 * canonical query string is also what goes on the wire.
 */
#ifndef VF_S3_SIGV4_H
#define VF_S3_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_MAX_EXPIRES 604800 /* seven days: the longest a presigned URL may live */

typedef struct sigv4_pair {
    const char *name;
    const char *value;
} sigv4_pair_t;

typedef struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL unless the credentials are temporary */
} sigv4_credentials_t;

typedef struct sigv4_context {
    const sigv4_credentials_t *credentials;
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
    time_t when;         /* the request's time; becomes X-Amz-Date */
} sigv4_context_t;

typedef struct sigv4_request {
    const char *method;
    const char *path;             /* decoded, starting with '/' */
    const sigv4_pair_t *query;    /* decoded names and values */
    size_t nquery;
    const sigv4_pair_t *headers;  /* as they will be sent; must include host */
    size_t nheaders;
    const char *payload_hash;     /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
} sigv4_request_t;

/* Everything a signature is made of, kept so tests can compare each step.
 * In header mode the caller sends X-Amz-Date: amz_date, Authorization:
 * authorization and, with a session token, X-Amz-Security-Token. */
typedef struct sigv4_result {
    char amz_date[17];          /* YYYYMMDDTHHMMSSZ */
    char signature[65];
    char *canonical_uri;        /* the encoded path for the request line */
    char *canonical_request;
    char *string_to_sign;
    char *authorization;        /* header mode only */
    char *query;                /* the query string to send (presigned: with X-Amz-Signature) */
} sigv4_result_t;

/* Sign with the Authorization header.  Adds x-amz-date and, with a session
 * token, x-amz-security-token to the signed headers.  0 or -errno. */
int sigv4_sign_header(const sigv4_context_t *ctx, const sigv4_request_t *req, sigv4_result_t *out);

/* Presign: the X-Amz-* parameters go into the query string, every given
 * header is signed.  expires is 1..SIGV4_MAX_EXPIRES seconds.  0 or -errno. */
int sigv4_presign(const sigv4_context_t *ctx, const sigv4_request_t *req, long expires,
                  sigv4_result_t *out);

void sigv4_result_free(sigv4_result_t *r);

/* RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9
 * - . _ ~ (and '/' unless encode_slash) becomes %XX.  malloc()ed; NULL when
 * out of memory. */
char *sigv4_uri_encode(const char *s, int encode_slash);

/* Hex SHA-256 of a buffer.  0 or -EIO. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
