/*
 * s3_http.c - signed S3 requests over one libcurl easy handle, with retries
 * (see s3_http.h).  Each attempt is signed anew (the date changes), the body
 * is re-read from its start and a download file is truncated, so a retry
 * sends and keeps exactly what the first attempt would have.
 */
#include "s3_http.h"
#include "s3_xml.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define PLUGIN "storage_s3"
#define HASH_BLOCK 65536
/* XML answers and error bodies.  The largest is a ListObjectsV2 page:
 * 1000 keys of up to 1024 bytes, each character perhaps escaped. */
#define MAX_ANSWER (8 << 20)
#define BACKOFF_BASE_MS 200
#define BACKOFF_CAP_MS 10000

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int s3_body_from_pieces(s3_body_t *body, const vf_storage_piece_t *pieces, size_t npieces)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    body->pieces = pieces;
    body->npieces = npieces;
    body->fd = -1;
    body->offset = 0;
    body->length = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    int ret = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
    for (size_t i = 0; ret == 0 && i < npieces; i++) {
        if (pieces[i].len && EVP_DigestUpdate(md, pieces[i].base, pieces[i].len) != 1)
            ret = -EIO;
        body->length += pieces[i].len;
    }
    if (ret == 0 && (EVP_DigestFinal_ex(md, digest, &digest_len) != 1 || digest_len != 32))
        ret = -EIO;
    EVP_MD_CTX_free(md);
    if (ret == 0)
        to_hex(digest, 32, body->sha256);
    return ret;
}

#define PROGRESS_STEPS 64
#define PROGRESS_IDLE_NS 1000000000LL

static int64_t mono_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int report(s3_progress_t *p, double pct)
{
    if (pct < p->last_pct)
        pct = p->last_pct;
    p->last_pct = pct;
    p->last_call_ns = mono_ns();
    if (p->fn(p->ud, pct) != 0)
        p->cancelled = 1;
    return p->cancelled;
}

int s3_progress_tell(s3_progress_t *p, uint64_t now, uint64_t request_total)
{
    if (!p || !p->fn)
        return 0;
    if (p->cancelled)
        return 1;
    uint64_t total = p->total ? p->total : request_total;
    uint64_t pos = p->done + now;
    int reported = 0;
    if (total > 0) {
        uint64_t step = total / PROGRESS_STEPS ? total / PROGRESS_STEPS : 1;
        /* One report per step crossed, however the transfer's callbacks
         * fall, the last one exactly at the end. */
        while (p->next <= total && pos >= p->next) {
            if (report(p, 100.0 * (double)p->next / (double)total))
                return 1;
            reported = 1;
            p->next = p->next == total ? UINT64_MAX : p->next + step < total ? p->next + step : total;
        }
    }
    if (!reported && (p->last_call_ns == 0 || mono_ns() - p->last_call_ns >= PROGRESS_IDLE_NS))
        return report(p, p->last_pct);
    return 0;
}

int s3_body_from_file(s3_body_t *body, int fd, uint64_t offset, uint64_t length, s3_progress_t *progress)
{
    int ret = -ENOMEM;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *block = malloc(HASH_BLOCK);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    body->pieces = NULL;
    body->npieces = 0;
    body->fd = fd;
    body->offset = offset;
    body->length = length;
    if (!md || !block)
        goto out;
    ret = -EIO;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    for (uint64_t done = 0; done < length;) {
        size_t want = length - done < HASH_BLOCK ? (size_t)(length - done) : HASH_BLOCK;
        ssize_t got = pread(fd, block, want, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            ret = -errno;
            goto out;
        }
        if (got == 0) /* the file is shorter than it was */
            goto out;
        if (EVP_DigestUpdate(md, block, (size_t)got) != 1)
            goto out;
        done += (uint64_t)got;
        /* A 5 GiB part takes a while to hash: still stoppable, every 16 MiB. */
        if (done % (256 * HASH_BLOCK) == 0 && s3_progress_tell(progress, 0, length)) {
            ret = -ECANCELED;
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(md, digest, &digest_len) != 1 || digest_len != 32)
        goto out;
    to_hex(digest, 32, body->sha256);
    ret = 0;
out:
    EVP_MD_CTX_free(md);
    free(block);
    return ret;
}

void s3_response_free(s3_response_t *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* State shared with libcurl's callbacks during one attempt. */
typedef struct transfer {
    CURL *curl;
    const s3_body_t *body;
    uint64_t sent;
    size_t piece;             /* memory bodies: the piece holding byte `piece_start`, */
    uint64_t piece_start;     /* where that piece begins in the body */
    int read_errno;
    int download_fd;
    uint64_t downloaded;
    int write_errno;
    s3_response_t *resp;
    size_t body_cap;
    s3_progress_t *progress;
} transfer_t;

/* Copy `want` bytes of a memory body from t->sent, across pieces.  The
 * cursor moves forward with the transfer and back to the start after a
 * seek (a retry rewinds). */
static void copy_from_pieces(transfer_t *t, char *buf, size_t want)
{
    const s3_body_t *b = t->body;
    if (t->sent < t->piece_start) {
        t->piece = 0;
        t->piece_start = 0;
    }
    uint64_t pos = t->sent;
    while (want > 0 && t->piece < b->npieces) {
        const vf_storage_piece_t *p = &b->pieces[t->piece];
        if (pos >= t->piece_start + p->len) {
            t->piece_start += p->len;
            t->piece++;
            continue;
        }
        size_t at = (size_t)(pos - t->piece_start), n = p->len - at < want ? p->len - at : want;
        memcpy(buf, (const char *)p->base + at, n);
        buf += n;
        want -= n;
        pos += n;
    }
}

static size_t read_body(char *buf, size_t size, size_t nitems, void *userdata)
{
    transfer_t *t = userdata;
    const s3_body_t *b = t->body;
    size_t want = size * nitems;
    if (want > b->length - t->sent)
        want = (size_t)(b->length - t->sent);
    if (want == 0)
        return 0;
    /* The end is reported before the last bytes leave: stopped there, the
     * server never has the whole body, so nothing is stored. */
    if (t->sent + want == b->length && s3_progress_tell(t->progress, b->length, b->length))
        return CURL_READFUNC_ABORT;
    if (b->fd < 0) {
        copy_from_pieces(t, buf, want);
    } else {
        ssize_t got;
        do
            got = pread(b->fd, buf, want, (off_t)(b->offset + t->sent));
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            t->read_errno = got < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)got;
    }
    t->sent += want;
    return want;
}

static int seek_body(void *userdata, curl_off_t offset, int origin)
{
    transfer_t *t = userdata;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > t->body->length)
        return CURL_SEEKFUNC_FAIL;
    t->sent = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t append_answer(transfer_t *t, const char *data, size_t n)
{
    s3_response_t *r = t->resp;
    if (r->body_len + n > MAX_ANSWER) {
        t->write_errno = EFBIG;
        return 0;
    }
    if (r->body_len + n + 1 > t->body_cap) {
        size_t cap = t->body_cap ? t->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *grown = realloc(r->body, cap);
        if (!grown) {
            t->write_errno = ENOMEM;
            return 0;
        }
        r->body = grown;
        t->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static size_t write_answer(char *data, size_t size, size_t nmemb, void *userdata)
{
    transfer_t *t = userdata;
    size_t n = size * nmemb;
    long status = 0;
    if (curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        t->write_errno = EIO;
        return 0;
    }
    if (t->download_fd < 0 || status < 200 || status > 299)
        return append_answer(t, data, n);
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(t->download_fd, data + done, n - done, (off_t)t->downloaded);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            t->write_errno = errno;
            return 0;
        }
        done += (size_t)w;
        t->downloaded += (uint64_t)w;
    }
    return n;
}

static int transfer_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow)
{
    transfer_t *t = userdata;
    int upload = t->body->length > 0;
    uint64_t now = (uint64_t)(upload ? ulnow : dlnow), total = (uint64_t)(upload ? ultotal : dltotal);
    /* An upload's end is read_body's to report (before its last bytes). */
    if (upload && total > 0 && now >= total)
        now = total - 1;
    return s3_progress_tell(t->progress, now, total) ? 1 : 0;
}

static void reset_headers(s3_response_t *r)
{
    r->etag[0] = r->content_type[0] = '\0';
    r->last_modified = -1;
    r->content_length = 0;
    r->has_content_length = 0;
}

static void copy_value(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static size_t read_header(char *line, size_t size, size_t nitems, void *userdata)
{
    transfer_t *t = userdata;
    s3_response_t *r = t->resp;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new (maybe final) response */
        reset_headers(r);
        return n;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1, *end = line + n;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - value);
    char text[256];
    copy_value(text, sizeof text, value, len);
    if (name_len == 4 && strncasecmp(line, "ETag", 4) == 0) {
        copy_value(r->etag, sizeof r->etag, value, len);
    } else if (name_len == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
        copy_value(r->content_type, sizeof r->content_type, value, len);
    } else if (name_len == 13 && strncasecmp(line, "Last-Modified", 13) == 0) {
        time_t when = curl_getdate(text, NULL);
        r->last_modified = when == -1 ? -1 : (int64_t)when;
    } else if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        char *stop = NULL;
        errno = 0;
        unsigned long long v = strtoull(text, &stop, 10);
        if (errno == 0 && stop != text && *stop == '\0') {
            r->content_length = v;
            r->has_content_length = 1;
        }
    }
    return n;
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    char *line = NULL;
    if (asprintf(&line, "%s: %s", name, value) < 0)
        return -ENOMEM;
    struct curl_slist *grown = curl_slist_append(*list, line);
    free(line);
    if (!grown)
        return -ENOMEM;
    *list = grown;
    return 0;
}

#define SETOPT(opt, val)                                   \
    do {                                                   \
        if (curl_easy_setopt(curl, opt, val) != CURLE_OK) \
            goto out;                                      \
    } while (0)

/* One signed attempt.  Returns 0 when libcurl ran (its result in *cc), or a
 * negative errno when the request could not even be prepared. */
static int attempt(const s3_client_t *client, CURL *curl, const s3_request_t *req,
                   const char *host, const char *path, transfer_t *t, CURLcode *cc,
                   char *errbuf)
{
    const s3_config_t *cfg = client->cfg;
    const char *payload_hash = req->body ? req->body->sha256 : SIGV4_EMPTY_SHA256;
    int ret = -ENOMEM;
    sigv4_result_t sig = {0};
    sigv4_pair_t *headers = NULL;
    struct curl_slist *list = NULL;
    char *url = NULL;

    headers = calloc(req->nheaders + 2, sizeof *headers);
    if (!headers)
        goto out;
    if (req->nheaders)
        memcpy(headers, req->headers, req->nheaders * sizeof *headers);
    headers[req->nheaders] = (sigv4_pair_t){"Host", host};
    headers[req->nheaders + 1] = (sigv4_pair_t){"x-amz-content-sha256", payload_hash};
    sigv4_credentials_t creds = {cfg->access_key_id, cfg->secret_access_key, cfg->session_token};
    sigv4_context_t ctx = {&creds, cfg->region, "s3", time(NULL)};
    sigv4_request_t sreq = {req->method, path, req->query, req->nquery, headers,
                            req->nheaders + 2, payload_hash};
    if ((ret = sigv4_sign_header(&ctx, &sreq, &sig)) < 0)
        goto out;
    ret = -ENOMEM;
    if (asprintf(&url, "%s://%s%s%s%s", cfg->scheme, host, sig.canonical_uri, sig.query[0] ? "?" : "",
                 sig.query) < 0) {
        url = NULL;
        goto out;
    }
    for (size_t i = 0; i < req->nheaders + 2; i++)
        if (add_header(&list, headers[i].name, headers[i].value) < 0)
            goto out;
    if (add_header(&list, "x-amz-date", sig.amz_date) < 0 ||
        (cfg->session_token && add_header(&list, "x-amz-security-token", cfg->session_token) < 0) ||
        add_header(&list, "Authorization", sig.authorization) < 0)
        goto out;
    /* No "Expect: 100-continue" wait: bodies are sent at once. */
    struct curl_slist *grown = curl_slist_append(list, "Expect:");
    if (!grown)
        goto out;
    list = grown;

    ret = -EIO;
    curl_easy_reset(curl);
    errbuf[0] = '\0';
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_HTTPHEADER, list);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PATH_AS_IS, 1L);
    SETOPT(CURLOPT_USERAGENT, "videoflix-storage_s3");
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_CONNECTTIMEOUT, cfg->timeout);
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SETOPT(CURLOPT_LOW_SPEED_TIME, cfg->timeout);
    SETOPT(CURLOPT_HEADERFUNCTION, read_header);
    SETOPT(CURLOPT_HEADERDATA, t);
    SETOPT(CURLOPT_WRITEFUNCTION, write_answer);
    SETOPT(CURLOPT_WRITEDATA, t);
    if (t->progress && t->progress->fn) {
        SETOPT(CURLOPT_XFERINFOFUNCTION, transfer_progress);
        SETOPT(CURLOPT_XFERINFODATA, t);
        SETOPT(CURLOPT_NOPROGRESS, 0L);
    }
    if (strcmp(req->method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "DELETE") == 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, "DELETE");
    } else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
        if (req->method[1] == 'U') {
            SETOPT(CURLOPT_UPLOAD, 1L);
            SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->body->length);
        } else {
            SETOPT(CURLOPT_POST, 1L);
            SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body->length);
        }
        SETOPT(CURLOPT_READFUNCTION, read_body);
        SETOPT(CURLOPT_READDATA, t);
        SETOPT(CURLOPT_SEEKFUNCTION, seek_body);
        SETOPT(CURLOPT_SEEKDATA, t);
    } else {
        ret = -EINVAL;
        goto out;
    }
    *cc = curl_easy_perform(curl);
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t->resp->status) != CURLE_OK)
        t->resp->status = 0;
    ret = 0;
out:
    curl_slist_free_all(list);
    free(url);
    free(headers);
    sigv4_result_free(&sig);
    return ret;
}

static int transport_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int transport_errno(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    default: return -EIO;
    }
}

static int http_errno(long status)
{
    switch (status) {
    case 400: case 411: case 416: return -EINVAL;
    case 401: case 403: return -EACCES;
    case 404: return -ENOENT;
    case 405: case 501: return -ENOTSUP;
    case 409: return -EBUSY;
    case 413: return -EFBIG;
    default: return -EIO;
    }
}

/* S3 asks to be retried with these even when the status alone would not
 * say so (RequestTimeout is a 400; errors inside a 200 answer). */
static int code_retryable(const char *code)
{
    return code && (strcmp(code, "RequestTimeout") == 0 || strcmp(code, "SlowDown") == 0 ||
                    strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0);
}

/* Sleep in slices of at most 100 ms, asking `progress` between them.
 * Non-zero when it asked to stop. */
static int sleep_ms(long ms, s3_progress_t *progress)
{
    while (ms > 0) {
        long slice = ms < 100 ? ms : 100;
        struct timespec left = {0, slice * 1000000L};
        while (nanosleep(&left, &left) != 0 && errno == EINTR)
            ;
        ms -= slice;
        if (s3_progress_tell(progress, 0, 0))
            return 1;
    }
    return 0;
}

/* Exponential backoff with jitter: half the delay fixed, half random, so
 * many clients retrying together spread out. */
static long backoff_ms(int retry)
{
    long delay = BACKOFF_BASE_MS;
    for (int i = 1; i < retry && delay < BACKOFF_CAP_MS; i++)
        delay *= 2;
    if (delay > BACKOFF_CAP_MS)
        delay = BACKOFF_CAP_MS;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned seed = (unsigned)now.tv_nsec ^ (unsigned)now.tv_sec ^ (unsigned)(uintptr_t)&now;
    return delay / 2 + (long)(rand_r(&seed) % (unsigned)(delay / 2 + 1));
}

static void set_status(vf_error_t *err, long status)
{
    if (err)
        err->status = (int)status;
}

/* What one finished attempt means: 0 for a 2xx answer; otherwise a negative
 * errno, whether to retry, the HTTP status (0 without an answer) and a
 * reason sentence made of libcurl's error or S3's <Code> and <Message>. */
static int judge(const s3_config_t *cfg, const char *host, CURLcode cc, const char *errbuf,
                 const s3_response_t *resp, int *retryable, long *status, char *reason,
                 size_t reason_len)
{
    *status = 0;
    if (cc != CURLE_OK) {
        int unreachable = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
        *retryable = transport_retryable(cc);
        snprintf(reason, reason_len, "%s %s://%s: %s%s%s%s",
                 unreachable ? "cannot reach" : "no complete answer from", cfg->scheme, host,
                 curl_easy_strerror(cc), errbuf[0] ? " (" : "", errbuf, errbuf[0] ? ")" : "");
        return transport_errno(cc);
    }
    int ok = resp->status >= 200 && resp->status <= 299;
    /* CompleteMultipartUpload may answer 200 with an <Error> document; a
     * DeleteObjects answer lists per-key <Error>s inside <DeleteResult>,
     * which are its caller's to read. */
    int error_inside_ok = ok && s3_xml_root_is(resp->body, "Error");
    if (ok && !error_inside_ok)
        return 0;
    char *code = s3_xml_text(resp->body, "Code"), *message = s3_xml_text(resp->body, "Message");
    *retryable = resp->status >= 500 || resp->status == 429 || code_retryable(code);
    *status = resp->status;
    snprintf(reason, reason_len, "HTTP %ld%s%s%s%s", resp->status, code ? " " : "", code ? code : "",
             message ? ": " : "", message ? message : "");
    free(code);
    free(message);
    return error_inside_ok ? -EIO : http_errno(resp->status);
}

int s3_perform(const s3_client_t *client, CURL *curl, const s3_request_t *req, s3_response_t *resp,
               vf_error_t *err)
{
    const vf_host_api_t *h = client->host;
    const s3_config_t *cfg = client->cfg;
    static const s3_body_t empty = {.pieces = NULL, .npieces = 0, .fd = -1, .sha256 = SIGV4_EMPTY_SHA256};
    char *host = NULL, *path = NULL;
    char errbuf[CURL_ERROR_SIZE];
    char what[640];
    int ret;
    transfer_t t = {.curl = curl, .body = req->body ? req->body : &empty,
                    .download_fd = req->download_fd, .resp = resp, .progress = req->progress};

    memset(resp, 0, sizeof *resp);
    set_status(err, 0);
    if (req->key)
        snprintf(what, sizeof what, "S3 %s '%s' (bucket '%s')", req->method, req->key, cfg->bucket);
    else
        snprintf(what, sizeof what, "S3 %s on bucket '%s'", req->method, cfg->bucket);
    if (s3_config_target(cfg, req->key, &host, &path) < 0) {
        ret = h->error(err, ENOMEM, "%s: out of memory", what);
        goto out;
    }
    for (int attempt_no = 1;; attempt_no++) {
        CURLcode cc = CURLE_OK;
        char reason[512];
        int retryable = 0;
        long status = 0;

        t.sent = t.downloaded = 0;
        t.read_errno = t.write_errno = 0;
        resp->status = 0;
        resp->body_len = 0;
        if (resp->body)
            resp->body[0] = '\0';
        reset_headers(resp);
        if (req->download_fd >= 0 && ftruncate(req->download_fd, 0) != 0) {
            ret = h->error(err, errno, "%s: cannot truncate the download file: %s", what,
                           strerror(errno));
            goto out;
        }
        if ((ret = attempt(client, curl, req, host, path, &t, &cc, errbuf)) < 0) {
            ret = h->error(err, ret, "%s: cannot prepare the request: %s", what, strerror(-ret));
            goto out;
        }
        if (cc == CURLE_ABORTED_BY_CALLBACK && req->progress && req->progress->cancelled) {
            ret = h->error(err, ECANCELED, "%s: cancelled", what);
            goto out;
        }
        if (t.write_errno == EFBIG) {
            ret = h->error(err, EIO, "%s: the answer is larger than %d bytes", what, MAX_ANSWER);
            goto out;
        }
        if (t.write_errno) {
            ret = h->error(err, t.write_errno, "%s: cannot write what S3 sent: %s", what,
                           strerror(t.write_errno));
            goto out;
        }
        if (t.read_errno) {
            ret = h->error(err, t.read_errno, "%s: cannot read the data to upload: %s", what,
                           strerror(t.read_errno));
            goto out;
        }
        ret = judge(cfg, host, cc, errbuf, resp, &retryable, &status, reason, sizeof reason);
        if (ret == 0)
            goto out;
        if (!retryable || attempt_no > cfg->max_retries) {
            set_status(err, status);
            if (attempt_no > 1)
                ret = h->error(err, ret, "%s failed after %d attempts: %s", what, attempt_no, reason);
            else
                ret = h->error(err, ret, "%s failed: %s", what, reason);
            goto out;
        }
        long delay = backoff_ms(attempt_no);
        h->log(PLUGIN, VF_LOG_WARNING, "%s: %s; retry %d of %d in %ld ms", what, reason, attempt_no,
               cfg->max_retries, delay);
        if (sleep_ms(delay, req->progress)) {
            ret = h->error(err, ECANCELED, "%s: cancelled while waiting to retry", what);
            goto out;
        }
    }
out:
    free(host);
    free(path);
    return ret;
}
