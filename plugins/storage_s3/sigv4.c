/*
 * sigv4.c - AWS Signature Version 4 for S3 (see sigv4.h).  Strings are built
 * with open_memstream; each step frees what it built on every path, and the
 * derived signing key is wiped after use.
 */
#include "sigv4.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -EIO;
    to_hex(md, 32, out);
    return 0;
}

static int hmac_sha256(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int outlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &outlen) ||
        outlen != 32)
        return -EIO;
    return 0;
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

char *sigv4_uri_encode(const char *s, int encode_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (is_unreserved(*p) || (*p == '/' && !encode_slash)) ? 1 : 3;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p) || (*p == '/' && !encode_slash)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* A string being built; a write error anywhere shows at close time. */
typedef struct membuf {
    FILE *f;
    char *data;
    size_t len;
} membuf_t;

static int mb_open(membuf_t *mb)
{
    mb->data = NULL;
    mb->len = 0;
    mb->f = open_memstream(&mb->data, &mb->len);
    return mb->f ? 0 : -ENOMEM;
}

static char *mb_close(membuf_t *mb)
{
    int failed = ferror(mb->f);
    if (fclose(mb->f) != 0)
        failed = 1;
    if (failed) {
        free(mb->data);
        return NULL;
    }
    return mb->data;
}

/* One header or query parameter in canonical form; `order` keeps repeated
 * headers in the order they were given, as SigV4 requires. */
typedef struct entry {
    char *name;
    char *value;
    size_t order;
} entry_t;

static void entries_free(entry_t *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
}

static int header_entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int query_entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Lowercase a header name and drop surrounding blanks. */
static char *canonical_header_name(const char *name)
{
    while (is_space(*name))
        name++;
    size_t n = strlen(name);
    while (n > 0 && is_space(name[n - 1]))
        n--;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    out[n] = '\0';
    return out;
}

/* Trim the value and fold each run of blanks (line folds included) into one
 * space. */
static char *canonical_header_value(const char *value)
{
    char *out = malloc(strlen(value) + 1);
    if (!out)
        return NULL;
    char *o = out;
    int pending_space = 0;
    for (const char *p = value; *p; p++) {
        if (is_space(*p)) {
            pending_space = o != out;
            continue;
        }
        if (pending_space)
            *o++ = ' ';
        pending_space = 0;
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* "name:value\n" lines (repeated names joined with ',') and "a;b;c". */
static int canonicalize_headers(const sigv4_pair_t *headers, size_t n, char **canonical,
                                char **signed_names)
{
    int ret = -ENOMEM;
    entry_t *e = calloc(n ? n : 1, sizeof *e);
    membuf_t lines = {0}, names = {0};
    *canonical = *signed_names = NULL;
    if (!e)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!headers[i].name || !headers[i].value) {
            ret = -EINVAL;
            goto out;
        }
        e[i].name = canonical_header_name(headers[i].name);
        e[i].value = canonical_header_value(headers[i].value);
        e[i].order = i;
        if (!e[i].name || !e[i].value)
            goto out;
        if (!e[i].name[0]) {
            ret = -EINVAL;
            goto out;
        }
    }
    qsort(e, n, sizeof *e, header_entry_cmp);
    if (mb_open(&lines) < 0)
        goto out;
    if (mb_open(&names) < 0) {
        free(mb_close(&lines));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int continues = i > 0 && strcmp(e[i].name, e[i - 1].name) == 0;
        if (continues) {
            fprintf(lines.f, ",%s", e[i].value);
            continue;
        }
        if (i > 0) {
            fputc('\n', lines.f);
            fputc(';', names.f);
        }
        fprintf(lines.f, "%s:%s", e[i].name, e[i].value);
        fputs(e[i].name, names.f);
    }
    if (n > 0)
        fputc('\n', lines.f);
    *canonical = mb_close(&lines);
    *signed_names = mb_close(&names);
    if (!*canonical || !*signed_names) {
        free(*canonical);
        free(*signed_names);
        *canonical = *signed_names = NULL;
        goto out;
    }
    ret = 0;
out:
    entries_free(e, n);
    return ret;
}

/* Encode every name and value, sort, join: "a=1&b=&c=3". */
static char *canonical_query(const sigv4_pair_t *query, size_t n)
{
    char *result = NULL;
    entry_t *e = calloc(n ? n : 1, sizeof *e);
    membuf_t mb;
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        e[i].name = sigv4_uri_encode(query[i].name ? query[i].name : "", 1);
        e[i].value = sigv4_uri_encode(query[i].value ? query[i].value : "", 1);
        if (!e[i].name || !e[i].value)
            goto out;
    }
    qsort(e, n, sizeof *e, query_entry_cmp);
    if (mb_open(&mb) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        fprintf(mb.f, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
    result = mb_close(&mb);
out:
    entries_free(e, n);
    return result;
}

static int check_inputs(const sigv4_context_t *ctx, const sigv4_request_t *req)
{
    if (!ctx || !ctx->credentials || !ctx->credentials->access_key_id ||
        !ctx->credentials->secret_access_key || !ctx->region || !ctx->service || !req ||
        !req->method || !req->path || req->path[0] != '/' || !req->payload_hash ||
        (req->nquery && !req->query) || (req->nheaders && !req->headers))
        return -EINVAL;
    return 0;
}

static int format_date(time_t when, char amz_date[17])
{
    struct tm tm;
    if (!gmtime_r(&when, &tm) || strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return -EINVAL;
    return 0;
}

/* "20150830/us-east-1/s3/aws4_request" */
static char *credential_scope(const sigv4_context_t *ctx, const char *amz_date)
{
    char *scope = NULL;
    if (asprintf(&scope, "%.8s/%s/%s/aws4_request", amz_date, ctx->region, ctx->service) < 0)
        return NULL;
    return scope;
}

static int compute_signature(const sigv4_context_t *ctx, const char *amz_date,
                             const char *string_to_sign, char out[65])
{
    int ret = -ENOMEM;
    char date8[9];
    unsigned char k1[32], k2[32];
    char *secret = NULL;

    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    if (asprintf(&secret, "AWS4%s", ctx->credentials->secret_access_key) < 0) {
        secret = NULL;
        goto out;
    }
    /* kDate, kRegion, kService, kSigning, then the signature itself. */
    if ((ret = hmac_sha256(secret, strlen(secret), date8, k1)) < 0 ||
        (ret = hmac_sha256(k1, 32, ctx->region, k2)) < 0 ||
        (ret = hmac_sha256(k2, 32, ctx->service, k1)) < 0 ||
        (ret = hmac_sha256(k1, 32, "aws4_request", k2)) < 0 ||
        (ret = hmac_sha256(k2, 32, string_to_sign, k1)) < 0)
        goto out;
    to_hex(k1, 32, out);
    ret = 0;
out:
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    return ret;
}

/* Canonical request -> string to sign -> signature, into out. */
static int sign_canonical(const sigv4_context_t *ctx, const sigv4_request_t *req, const char *query,
                          const char *headers, const char *signed_names, const char *scope,
                          sigv4_result_t *out)
{
    char hash[65];
    int ret;
    out->canonical_uri = sigv4_uri_encode(req->path, 0);
    if (!out->canonical_uri)
        return -ENOMEM;
    if (asprintf(&out->canonical_request, "%s\n%s\n%s\n%s\n%s\n%s", req->method,
                 out->canonical_uri, query, headers, signed_names, req->payload_hash) < 0) {
        out->canonical_request = NULL;
        return -ENOMEM;
    }
    if ((ret = sigv4_sha256_hex(out->canonical_request, strlen(out->canonical_request), hash)) < 0)
        return ret;
    if (asprintf(&out->string_to_sign, SIGV4_ALGORITHM "\n%s\n%s\n%s", out->amz_date, scope, hash) <
        0) {
        out->string_to_sign = NULL;
        return -ENOMEM;
    }
    return compute_signature(ctx, out->amz_date, out->string_to_sign, out->signature);
}

int sigv4_sign_header(const sigv4_context_t *ctx, const sigv4_request_t *req, sigv4_result_t *out)
{
    int ret;
    sigv4_pair_t *headers = NULL;
    char *canon_headers = NULL, *signed_names = NULL, *scope = NULL;

    memset(out, 0, sizeof *out);
    if ((ret = check_inputs(ctx, req)) < 0 || (ret = format_date(ctx->when, out->amz_date)) < 0)
        return ret;
    ret = -ENOMEM;
    headers = calloc(req->nheaders + 2, sizeof *headers);
    if (!headers)
        goto out;
    size_t n = req->nheaders;
    if (n)
        memcpy(headers, req->headers, n * sizeof *headers);
    headers[n++] = (sigv4_pair_t){"x-amz-date", out->amz_date};
    if (ctx->credentials->session_token)
        headers[n++] = (sigv4_pair_t){"x-amz-security-token", ctx->credentials->session_token};
    if ((ret = canonicalize_headers(headers, n, &canon_headers, &signed_names)) < 0)
        goto out;
    ret = -ENOMEM;
    if (!(out->query = canonical_query(req->query, req->nquery)) ||
        !(scope = credential_scope(ctx, out->amz_date)))
        goto out;
    if ((ret = sign_canonical(ctx, req, out->query, canon_headers, signed_names, scope, out)) < 0)
        goto out;
    if (asprintf(&out->authorization, SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                 ctx->credentials->access_key_id, scope, signed_names, out->signature) < 0) {
        out->authorization = NULL;
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
out:
    free(headers);
    free(canon_headers);
    free(signed_names);
    free(scope);
    if (ret < 0)
        sigv4_result_free(out);
    return ret;
}

int sigv4_presign(const sigv4_context_t *ctx, const sigv4_request_t *req, long expires,
                  sigv4_result_t *out)
{
    int ret;
    sigv4_pair_t *query = NULL;
    char *canon_headers = NULL, *signed_names = NULL, *scope = NULL, *credential = NULL;
    char *canon_query = NULL;
    char expires_text[24];

    memset(out, 0, sizeof *out);
    if ((ret = check_inputs(ctx, req)) < 0 || (ret = format_date(ctx->when, out->amz_date)) < 0)
        return ret;
    if (expires < 1 || expires > SIGV4_MAX_EXPIRES)
        return -EINVAL;
    snprintf(expires_text, sizeof expires_text, "%ld", expires);
    if ((ret = canonicalize_headers(req->headers, req->nheaders, &canon_headers, &signed_names)) < 0)
        goto out;
    ret = -ENOMEM;
    if (!(scope = credential_scope(ctx, out->amz_date)) ||
        asprintf(&credential, "%s/%s", ctx->credentials->access_key_id, scope) < 0) {
        credential = NULL;
        goto out;
    }
    query = calloc(req->nquery + 6, sizeof *query);
    if (!query)
        goto out;
    size_t n = req->nquery;
    if (n)
        memcpy(query, req->query, n * sizeof *query);
    query[n++] = (sigv4_pair_t){"X-Amz-Algorithm", SIGV4_ALGORITHM};
    query[n++] = (sigv4_pair_t){"X-Amz-Credential", credential};
    query[n++] = (sigv4_pair_t){"X-Amz-Date", out->amz_date};
    query[n++] = (sigv4_pair_t){"X-Amz-Expires", expires_text};
    query[n++] = (sigv4_pair_t){"X-Amz-SignedHeaders", signed_names};
    if (ctx->credentials->session_token)
        query[n++] = (sigv4_pair_t){"X-Amz-Security-Token", ctx->credentials->session_token};
    if (!(canon_query = canonical_query(query, n)))
        goto out;
    if ((ret = sign_canonical(ctx, req, canon_query, canon_headers, signed_names, scope, out)) < 0)
        goto out;
    if (asprintf(&out->query, "%s&X-Amz-Signature=%s", canon_query, out->signature) < 0) {
        out->query = NULL;
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
out:
    free(query);
    free(canon_headers);
    free(signed_names);
    free(scope);
    free(credential);
    free(canon_query);
    if (ret < 0)
        sigv4_result_free(out);
    return ret;
}

void sigv4_result_free(sigv4_result_t *r)
{
    if (!r)
        return;
    free(r->canonical_uri);
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->authorization);
    free(r->query);
    r->canonical_uri = r->canonical_request = r->string_to_sign = r->authorization = r->query = NULL;
    OPENSSL_cleanse(r->signature, sizeof r->signature);
}
