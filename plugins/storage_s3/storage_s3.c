/*
 * storage_s3.c - the storage_s3 plugin: objects in an S3 bucket (AWS or an
 * S3-compatible server).  Owns the operations table, key and prefix
 * checks, multipart uploads and URLs; requests go through s3_http.c,
 * removing a prefix through s3_prefix.c, content types come from
 * <videoflix/content_type.h>, the settings from s3_config.c (documented in
 * s3_config.h).
 *
 * Threads: the state is read-only after create(); each operation makes its
 * own libcurl easy handle, so any number of threads may share the state.
 * curl_global_init is called in create() and balanced in destroy(): since
 * libcurl 7.84 both are thread-safe and reference-counted, so several
 * plugin instances (or the core using libcurl too) do not disturb each other.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <videoflix/content_type.h>
#include <videoflix/storage.h>

#include "s3_config.h"
#include "s3_http.h"
#include "s3_prefix.h"
#include "s3_xml.h"
#include "sigv4.h"

#define PLUGIN "storage_s3"

typedef struct s3_state {
    const vf_host_api_t *host;
    s3_config_t cfg;
    s3_client_t client;
} s3_state_t;

/* Keys as the host's grammar defines them (the same for every storage). */
static int check_key(const s3_state_t *st, const char *key, vf_error_t *err)
{
    vf_error_t why = {0};
    if (err) /* every operation starts here: no HTTP status until S3 answers */
        err->status = 0;
    if (st->host->key_check(key, &why) < 0)
        return st->host->error(err, EINVAL, PLUGIN ": %s", why.message);
    return 0;
}

/* Content-Type and, when configured, Cache-Control: stored with the object. */
static size_t object_headers(const s3_state_t *st, const char *key, sigv4_pair_t headers[2])
{
    size_t n = 0;
    headers[n++] = (sigv4_pair_t){"Content-Type", vf_content_type_for_key(key)};
    if (st->cfg.cache_control)
        headers[n++] = (sigv4_pair_t){"Cache-Control", st->cfg.cache_control};
    return n;
}

static CURL *new_handle(const s3_state_t *st, vf_error_t *err, int *ret)
{
    CURL *curl = curl_easy_init();
    *ret = curl ? 0 : st->host->error(err, ENOMEM, PLUGIN ": cannot create a libcurl handle");
    return curl;
}

/* ---- multipart steps, shared by put_file and the multipart_* ops ---- */

static int create_upload(s3_state_t *st, CURL *curl, const char *key, char **upload_id,
                         vf_error_t *err)
{
    sigv4_pair_t headers[2];
    size_t nheaders = object_headers(st, key, headers);
    sigv4_pair_t query[] = {{"uploads", ""}};
    s3_request_t req = {"POST", key, query, 1, headers, nheaders, NULL, -1, NULL};
    s3_response_t resp;
    int ret = s3_perform(&st->client, curl, &req, &resp, err);
    *upload_id = NULL;
    if (ret == 0) {
        *upload_id = s3_xml_text(resp.body, "UploadId");
        if (!*upload_id || !**upload_id) {
            free(*upload_id);
            *upload_id = NULL;
            ret = st->host->error(err, EPROTO, "S3 POST '%s': the answer has no UploadId", key);
        }
    }
    s3_response_free(&resp);
    return ret;
}

static int upload_part(s3_state_t *st, CURL *curl, const char *key, const char *upload_id,
                       unsigned number, const s3_body_t *body, s3_progress_t *progress, char **etag,
                       vf_error_t *err)
{
    char number_text[16];
    snprintf(number_text, sizeof number_text, "%u", number);
    sigv4_pair_t query[] = {{"partNumber", number_text}, {"uploadId", upload_id}};
    s3_request_t req = {"PUT", key, query, 2, NULL, 0, body, -1, progress};
    s3_response_t resp;
    int ret = s3_perform(&st->client, curl, &req, &resp, err);
    *etag = NULL;
    if (ret == 0) {
        if (!resp.etag[0])
            ret = st->host->error(err, EPROTO, "S3 PUT '%s' part %u: the answer has no ETag", key,
                                  number);
        else if (!(*etag = strdup(resp.etag)))
            ret = st->host->error(err, ENOMEM, PLUGIN ": out of memory");
    }
    s3_response_free(&resp);
    return ret;
}

static int complete_upload(s3_state_t *st, CURL *curl, const char *key, const char *upload_id,
                           const vf_storage_part_t *parts, size_t nparts, vf_error_t *err)
{
    int ret = -ENOMEM;
    char *xml = NULL;
    size_t xml_len = 0;
    FILE *f = open_memstream(&xml, &xml_len);
    if (!f)
        return st->host->error(err, ENOMEM, PLUGIN ": out of memory");
    fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
    for (size_t i = 0; i < nparts; i++) {
        char *etag = s3_xml_escape(parts[i].etag);
        if (!etag) {
            fclose(f);
            goto out;
        }
        fprintf(f, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", parts[i].number, etag);
        free(etag);
    }
    fputs("</CompleteMultipartUpload>", f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed)
        goto out;

    s3_body_t body;
    const vf_storage_piece_t xml_piece = {xml, xml_len};
    if ((ret = s3_body_from_pieces(&body, &xml_piece, 1)) < 0)
        goto out;
    sigv4_pair_t headers[] = {{"Content-Type", "application/xml"}};
    sigv4_pair_t query[] = {{"uploadId", upload_id}};
    s3_request_t req = {"POST", key, query, 1, headers, 1, &body, -1, NULL};
    s3_response_t resp;
    ret = s3_perform(&st->client, curl, &req, &resp, err);
    s3_response_free(&resp);
    free(xml);
    return ret;
out:
    free(xml);
    return st->host->error(err, ret, PLUGIN ": cannot build the part list: %s", strerror(-ret));
}

static int abort_upload(s3_state_t *st, CURL *curl, const char *key, const char *upload_id,
                        vf_error_t *err)
{
    sigv4_pair_t query[] = {{"uploadId", upload_id}};
    s3_request_t req = {"DELETE", key, query, 1, NULL, 0, NULL, -1, NULL};
    s3_response_t resp;
    int ret = s3_perform(&st->client, curl, &req, &resp, err);
    if (ret == -ENOENT && resp.status == 404) /* unknown or already finished */
        ret = 0;
    s3_response_free(&resp);
    return ret;
}

/* Upload an open file in parts; on any failure, cancellation included, the
 * upload is aborted so no parts are left behind (and billed). */
static int put_file_multipart(s3_state_t *st, CURL *curl, const char *key, int fd, uint64_t size,
                              s3_progress_t *progress, vf_error_t *err)
{
    uint64_t part_size = st->cfg.part_size;
    if ((size + part_size - 1) / part_size > S3_MAX_PARTS) {
        part_size = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
        part_size = (part_size + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
    }
    size_t nparts = (size_t)((size + part_size - 1) / part_size);
    char *upload_id = NULL;
    vf_storage_part_t *parts = calloc(nparts, sizeof *parts);
    char **etags = calloc(nparts, sizeof *etags);
    int ret;

    if (!parts || !etags) {
        ret = st->host->error(err, ENOMEM, PLUGIN ": out of memory");
        goto out;
    }
    if ((ret = create_upload(st, curl, key, &upload_id, err)) < 0)
        goto out;
    for (size_t i = 0; i < nparts; i++) {
        uint64_t offset = (uint64_t)i * part_size;
        uint64_t len = size - offset < part_size ? size - offset : part_size;
        s3_body_t body;
        progress->done = offset;
        if ((ret = s3_body_from_file(&body, fd, offset, len, progress)) < 0) {
            ret = ret == -ECANCELED
                      ? st->host->error(err, ECANCELED, PLUGIN ": the upload of '%s' was cancelled", key)
                      : st->host->error(err, ret, PLUGIN ": cannot read part %zu of the file for '%s': %s",
                                        i + 1, key, strerror(-ret));
            goto out;
        }
        if ((ret = upload_part(st, curl, key, upload_id, (unsigned)(i + 1), &body, progress, &etags[i],
                               err)) < 0)
            goto out;
        parts[i].number = (unsigned)(i + 1);
        parts[i].etag = etags[i];
    }
    /* The last chance to stop: after complete the object is there. */
    progress->done = size;
    if (s3_progress_tell(progress, 0, 0)) {
        ret = st->host->error(err, ECANCELED, PLUGIN ": the upload of '%s' was cancelled", key);
        goto out;
    }
    ret = complete_upload(st, curl, key, upload_id, parts, nparts, err);
out:
    if (ret < 0 && upload_id) {
        vf_error_t abort_err = {0};
        if (abort_upload(st, curl, key, upload_id, &abort_err) < 0)
            st->host->log(PLUGIN, VF_LOG_WARNING,
                          "could not abort multipart upload %s of '%s' after a failure: %s",
                          upload_id, key, abort_err.message);
    }
    if (etags)
        for (size_t i = 0; i < nparts; i++)
            free(etags[i]);
    free(etags);
    free(parts);
    free(upload_id);
    return ret;
}

/* ---- operations ---- */

static int s3_put_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress_fn,
                                void *progress_ud, vf_error_t *err)
{
    s3_state_t *st = state;
    CURL *curl = NULL;
    struct stat sb;
    int ret;

    if ((ret = check_key(st, key, err)) < 0)
        return ret;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return st->host->error(err, errno, PLUGIN ": cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        ret = st->host->error(err, errno, PLUGIN ": cannot stat '%s': %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        ret = st->host->error(err, EINVAL, PLUGIN ": '%s' is not a regular file", path);
        goto out;
    }
    if (!(curl = new_handle(st, err, &ret)))
        goto out;
    uint64_t size = (uint64_t)sb.st_size;
    s3_progress_t progress = {.fn = progress_fn, .ud = progress_ud, .total = size ? size : 1};
    if (s3_progress_tell(&progress, 0, 0)) {
        ret = st->host->error(err, ECANCELED, PLUGIN ": the upload of '%s' was cancelled", key);
        goto out;
    }
    if (size > st->cfg.multipart_threshold) {
        ret = put_file_multipart(st, curl, key, fd, size, &progress, err);
        goto out;
    }
    s3_body_t body;
    if ((ret = s3_body_from_file(&body, fd, 0, size, &progress)) < 0) {
        ret = ret == -ECANCELED ? st->host->error(err, ECANCELED, PLUGIN ": the upload of '%s' was cancelled", key)
                                : st->host->error(err, ret, PLUGIN ": cannot read '%s': %s", path, strerror(-ret));
        goto out;
    }
    sigv4_pair_t headers[2];
    size_t nheaders = object_headers(st, key, headers);
    s3_request_t req = {"PUT", key, NULL, 0, headers, nheaders, &body, -1, &progress};
    s3_response_t resp;
    ret = s3_perform(&st->client, curl, &req, &resp, err);
    s3_response_free(&resp);
out:
    if (curl)
        curl_easy_cleanup(curl);
    close(fd);
    return ret;
}

static int s3_put_file(void *state, const char *key, const char *path, vf_error_t *err)
{
    return s3_put_file_progress(state, key, path, NULL, NULL, err);
}

/* Download into "<path>.XXXXXX" beside the target, then rename: readers of
 * `path` never see a partial file, and a failure (or cancellation) leaves
 * nothing behind. */
static int s3_get_file_progress(void *state, const char *key, const char *path, vf_progress_fn progress_fn,
                                void *progress_ud, vf_error_t *err)
{
    s3_state_t *st = state;
    CURL *curl = NULL;
    char *tmp = NULL;
    int fd = -1, ret;

    if ((ret = check_key(st, key, err)) < 0)
        return ret;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
        return st->host->error(err, ENOMEM, PLUGIN ": out of memory");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ret = st->host->error(err, errno, PLUGIN ": cannot create a file beside '%s': %s", path,
                              strerror(errno));
        free(tmp);
        return ret;
    }
    if (!(curl = new_handle(st, err, &ret)))
        goto out;
    s3_progress_t progress = {.fn = progress_fn, .ud = progress_ud};
    if (s3_progress_tell(&progress, 0, 0)) {
        ret = st->host->error(err, ECANCELED, PLUGIN ": the download of '%s' was cancelled", key);
        goto out;
    }
    s3_request_t req = {"GET", key, NULL, 0, NULL, 0, NULL, fd, &progress};
    s3_response_t resp;
    ret = s3_perform(&st->client, curl, &req, &resp, err);
    if (ret == -ENOENT && resp.status == 404)
        ret = st->host->error(err, ENOENT, PLUGIN ": no object '%s' in bucket '%s'", key,
                              st->cfg.bucket);
    s3_response_free(&resp);
    if (ret < 0)
        goto out;
    /* mkostemp makes the file private; an object copy is as readable as any
     * file the process writes. */
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        ret = st->host->error(err, errno, PLUGIN ": cannot finish '%s': %s", tmp, strerror(errno));
        goto out;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        ret = st->host->error(err, errno, PLUGIN ": cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        ret = st->host->error(err, errno, PLUGIN ": cannot rename '%s' to '%s': %s", tmp, path,
                              strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(tmp);
    free(tmp);
    if (curl)
        curl_easy_cleanup(curl);
    return ret;
}

static int s3_get_file(void *state, const char *key, const char *path, vf_error_t *err)
{
    return s3_get_file_progress(state, key, path, NULL, NULL, err);
}

static int s3_stat(void *state, const char *key, vf_storage_stat_t *out, vf_error_t *err)
{
    s3_state_t *st = state;
    int ret;

    memset(out, 0, sizeof *out);
    if ((ret = check_key(st, key, err)) < 0)
        return ret;
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    s3_request_t req = {"HEAD", key, NULL, 0, NULL, 0, NULL, -1, NULL};
    s3_response_t resp;
    ret = s3_perform(&st->client, curl, &req, &resp, err);
    if (ret == -ENOENT && resp.status == 404) {
        ret = st->host->error(err, ENOENT, PLUGIN ": no object '%s' in bucket '%s'", key,
                              st->cfg.bucket);
    } else if (ret == 0 && !resp.has_content_length) {
        ret = st->host->error(err, EPROTO, "S3 HEAD '%s': the answer has no Content-Length", key);
    } else if (ret == 0) {
        out->size = resp.content_length;
        out->mtime = resp.last_modified > 0 ? resp.last_modified : 0;
        snprintf(out->etag, sizeof out->etag, "%s", resp.etag);
        snprintf(out->content_type, sizeof out->content_type, "%s", resp.content_type);
    }
    s3_response_free(&resp);
    curl_easy_cleanup(curl);
    return ret;
}

static int s3_remove(void *state, const char *key, vf_error_t *err)
{
    s3_state_t *st = state;
    int ret;

    if ((ret = check_key(st, key, err)) < 0)
        return ret;
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    s3_request_t req = {"DELETE", key, NULL, 0, NULL, 0, NULL, -1, NULL};
    s3_response_t resp;
    ret = s3_perform(&st->client, curl, &req, &resp, err);
    if (ret == -ENOENT && resp.status == 404) /* S3 answers 204 here; others may say 404 */
        ret = 0;
    s3_response_free(&resp);
    curl_easy_cleanup(curl);
    return ret;
}

/* A public URL (public = true: public_url or the bucket's own URL), or a
 * presigned GET.  Public URLs cannot carry content_disposition (S3 refuses
 * response overrides on anonymous requests), so it is ignored for them. */
static int s3_url(void *state, const char *key, const vf_storage_url_opts_t *opts, char **url,
                  vf_error_t *err)
{
    s3_state_t *st = state;
    const s3_config_t *cfg = &st->cfg;
    char *host = NULL, *path = NULL, *encoded = NULL;
    sigv4_result_t sig = {0};
    int ret;

    *url = NULL;
    if ((ret = check_key(st, key, err)) < 0)
        return ret;
    if (s3_config_target(cfg, key, &host, &path) < 0) {
        ret = st->host->error(err, ENOMEM, PLUGIN ": out of memory");
        goto out;
    }
    if (cfg->public_urls) {
        if (cfg->public_url) {
            encoded = sigv4_uri_encode(key, 0);
            if (!encoded || asprintf(url, "%s/%s", cfg->public_url, encoded) < 0)
                goto oom;
        } else {
            encoded = sigv4_uri_encode(path, 0);
            if (!encoded || asprintf(url, "%s://%s%s", cfg->scheme, host, encoded) < 0)
                goto oom;
        }
        ret = 0;
        goto out;
    }
    long expires = opts && opts->expires ? opts->expires : cfg->url_expires;
    if (expires < 1 || expires > SIGV4_MAX_EXPIRES) {
        ret = st->host->error(err, EINVAL, PLUGIN ": a presigned URL lives 1 to %d seconds, not %ld",
                              SIGV4_MAX_EXPIRES, expires);
        goto out;
    }
    sigv4_credentials_t creds = {cfg->access_key_id, cfg->secret_access_key, cfg->session_token};
    sigv4_context_t ctx = {&creds, cfg->region, "s3", time(NULL)};
    sigv4_pair_t headers[] = {{"host", host}};
    sigv4_pair_t query[1];
    size_t nquery = 0;
    if (opts && opts->content_disposition)
        query[nquery++] = (sigv4_pair_t){"response-content-disposition", opts->content_disposition};
    sigv4_request_t req = {"GET", path, query, nquery, headers, 1, SIGV4_UNSIGNED_PAYLOAD};
    if ((ret = sigv4_presign(&ctx, &req, expires, &sig)) < 0) {
        ret = st->host->error(err, ret, PLUGIN ": cannot presign '%s': %s", key, strerror(-ret));
        goto out;
    }
    if (asprintf(url, "%s://%s%s?%s", cfg->scheme, host, sig.canonical_uri, sig.query) < 0)
        goto oom;
    ret = 0;
    goto out;
oom:
    *url = NULL;
    ret = st->host->error(err, ENOMEM, PLUGIN ": out of memory");
out:
    sigv4_result_free(&sig);
    free(encoded);
    free(host);
    free(path);
    return ret;
}

static int s3_local_path(void *state, const char *key, char **path, vf_error_t *err)
{
    s3_state_t *st = state;
    (void)key;
    *path = NULL;
    return st->host->error(err, ENOTSUP, PLUGIN ": objects in S3 have no local path; use url()");
}

static int s3_multipart_begin(void *state, const char *key, char **upload_id, vf_error_t *err)
{
    s3_state_t *st = state;
    int ret;

    *upload_id = NULL;
    if ((ret = check_key(st, key, err)) < 0)
        return ret;
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    ret = create_upload(st, curl, key, upload_id, err);
    curl_easy_cleanup(curl);
    return ret;
}

static int check_upload_id(const s3_state_t *st, const char *upload_id, vf_error_t *err)
{
    if (!upload_id || !*upload_id)
        return st->host->error(err, EINVAL, PLUGIN ": empty multipart upload id");
    return 0;
}

/* The part's body is sent from the pieces where they are: hashed over
 * them, then read across them by libcurl's read callback. */
static int s3_multipart_write_pieces(void *state, const char *key, const char *upload_id,
                                     unsigned part_number, const vf_storage_piece_t *pieces,
                                     size_t npieces, char **etag, vf_error_t *err)
{
    s3_state_t *st = state;
    s3_body_t body;
    int ret;

    *etag = NULL;
    if ((ret = check_key(st, key, err)) < 0 || (ret = check_upload_id(st, upload_id, err)) < 0)
        return ret;
    if (part_number < 1 || part_number > S3_MAX_PARTS)
        return st->host->error(err, EINVAL, PLUGIN ": part number %u is not in 1..%d", part_number,
                               S3_MAX_PARTS);
    for (size_t i = 0; i < npieces; i++)
        if (!pieces || (!pieces[i].base && pieces[i].len))
            return st->host->error(err, EINVAL, PLUGIN ": part %u has no data", part_number);
    if ((ret = s3_body_from_pieces(&body, pieces, npieces)) < 0)
        return st->host->error(err, ret, PLUGIN ": cannot hash part %u", part_number);
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    ret = upload_part(st, curl, key, upload_id, part_number, &body, NULL, etag, err);
    curl_easy_cleanup(curl);
    return ret;
}

static int s3_multipart_write(void *state, const char *key, const char *upload_id,
                              unsigned part_number, const void *data, size_t len, char **etag,
                              vf_error_t *err)
{
    const vf_storage_piece_t piece = {data, len};
    return s3_multipart_write_pieces(state, key, upload_id, part_number, &piece, 1, etag, err);
}

static int s3_multipart_complete(void *state, const char *key, const char *upload_id,
                                 const vf_storage_part_t *parts, size_t nparts, vf_error_t *err)
{
    s3_state_t *st = state;
    int ret;

    if ((ret = check_key(st, key, err)) < 0 || (ret = check_upload_id(st, upload_id, err)) < 0)
        return ret;
    if (!parts || nparts == 0 || nparts > S3_MAX_PARTS)
        return st->host->error(err, EINVAL, PLUGIN ": a multipart upload needs 1 to %d parts",
                               S3_MAX_PARTS);
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].number != i + 1 || !parts[i].etag || !parts[i].etag[0])
            return st->host->error(err, EINVAL,
                                   PLUGIN ": part %zu must have number %zu and an ETag", i + 1, i + 1);
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    ret = complete_upload(st, curl, key, upload_id, parts, nparts, err);
    curl_easy_cleanup(curl);
    return ret;
}

static int s3_multipart_abort(void *state, const char *key, const char *upload_id, vf_error_t *err)
{
    s3_state_t *st = state;
    int ret;

    if ((ret = check_key(st, key, err)) < 0 || (ret = check_upload_id(st, upload_id, err)) < 0)
        return ret;
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    ret = abort_upload(st, curl, key, upload_id, err);
    curl_easy_cleanup(curl);
    return ret;
}

/* The prefix must be a key followed by '/': anything shorter could reach
 * objects the caller did not mean ("videos/1" would take "videos/10/..."). */
static int s3_remove_prefix(void *state, const char *prefix, vf_error_t *err)
{
    s3_state_t *st = state;
    size_t n = prefix ? strlen(prefix) : 0, removed = 0;
    int ret;

    if (n < 2 || prefix[n - 1] != '/')
        return st->host->error(err, EINVAL, PLUGIN ": the prefix '%.200s' is not a key followed by '/'",
                               prefix ? prefix : "(NULL)");
    char *key = strndup(prefix, n - 1);
    if (!key)
        return st->host->error(err, ENOMEM, PLUGIN ": out of memory");
    ret = check_key(st, key, err);
    free(key);
    if (ret < 0)
        return ret;
    CURL *curl = new_handle(st, err, &ret);
    if (!curl)
        return ret;
    ret = s3_delete_prefix(&st->client, curl, prefix, &removed, err);
    curl_easy_cleanup(curl);
    if (ret == 0)
        st->host->log(PLUGIN, VF_LOG_INFO, "removed %zu objects under '%s'", removed, prefix);
    return ret;
}

static int s3_create(const vf_host_api_t *host, const config_setting_t *cfg, void **state,
                     vf_error_t *err)
{
    *state = NULL;
    if (!host || !VF_HAS_FIELD(vf_host_api_t, host, key_check))
        return host ? host->error(err, EPROTO, PLUGIN " needs a host of plugin ABI 1.1 or newer") : -EPROTO;
    s3_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return host->error(err, ENOMEM, PLUGIN ": out of memory");
    st->host = host;
    int ret = s3_config_load(host, cfg, &st->cfg, err);
    if (ret < 0) {
        free(st);
        return ret;
    }
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        s3_config_free(&st->cfg);
        free(st);
        return host->error(err, EIO, PLUGIN ": cannot initialise libcurl: %s", curl_easy_strerror(cc));
    }
    st->client.host = host;
    st->client.cfg = &st->cfg;
    *state = st;
    return 0;
}

static void s3_destroy(void *state)
{
    s3_state_t *st = state;
    if (!st)
        return;
    s3_config_free(&st->cfg);
    free(st);
    curl_global_cleanup();
}

/* Presigned URLs expire (as configured); public ones do not.  S3's part
 * rules hold for every S3-compatible server worth supporting. */
static int s3_capabilities(void *state, vf_storage_caps_t *caps)
{
    const s3_state_t *st = state;
    caps->flags = st->cfg.public_urls ? 0 : VF_STORAGE_URLS_EXPIRE;
    caps->url_expires_default = st->cfg.public_urls ? 0 : (uint32_t)st->cfg.url_expires;
    caps->url_expires_max = st->cfg.public_urls ? 0 : SIGV4_MAX_EXPIRES;
    caps->max_parts = S3_MAX_PARTS;
    caps->min_part_size = S3_MIN_PART_SIZE;
    caps->max_part_size = S3_MAX_PART_SIZE;
    return 0;
}

static const vf_storage_ops_t s3_ops = {
    .size = sizeof(vf_storage_ops_t),
    .min_part_size = (size_t)S3_MIN_PART_SIZE,
    .put_file = s3_put_file,
    .get_file = s3_get_file,
    .stat = s3_stat,
    .remove = s3_remove,
    .url = s3_url,
    .local_path = s3_local_path,
    .multipart_begin = s3_multipart_begin,
    .multipart_write = s3_multipart_write,
    .multipart_complete = s3_multipart_complete,
    .multipart_abort = s3_multipart_abort,
    .capabilities = s3_capabilities,
    .put_file_progress = s3_put_file_progress,
    .get_file_progress = s3_get_file_progress,
    .multipart_write_pieces = s3_multipart_write_pieces,
    .remove_prefix = s3_remove_prefix,
};

VF_PLUGIN_DEFINE(VF_PLUGIN_STORAGE, "storage_s3", "1.2.0",
                 "objects in an S3 bucket (AWS or S3-compatible), signed with SigV4", s3_create,
                 s3_destroy, &s3_ops);
