/*
 * s3_prefix.c - see s3_prefix.h.  One page of the listing is read, its
 * keys are deleted, and the next page is asked for with the page's
 * continuation token (which names the last key listed, so deleting what
 * was listed does not move the pages after it).  DeleteObjects must carry
 * Content-MD5 (S3 refuses it otherwise); it answers 200 even when some
 * keys were not deleted, listing each as an <Error> with its Key, Code and
 * Message, so the answer is read for them.
 */
#include "s3_prefix.h"
#include "s3_xml.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN "storage_s3"

typedef struct page {
    char **keys;
    size_t n;
    char *next_token;    /* NULL on the last page */
} page_t;

static void page_free(page_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->keys[i]);
    free(p->keys);
    free(p->next_token);
    memset(p, 0, sizeof *p);
}

/* The DeleteObjects body for keys[0..n) (Quiet: the answer lists only
 * failures), malloc()ed into *xml with its length; 0 or -ENOMEM. */
static int delete_request_xml(char *const *keys, size_t n, char **xml, size_t *len)
{
    *xml = NULL;
    *len = 0;
    FILE *f = open_memstream(xml, len);
    if (!f)
        return -ENOMEM;
    int failed = 0;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
          "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>",
          f);
    for (size_t i = 0; i < n && !failed; i++) {
        char *key = s3_xml_escape(keys[i]);
        if (!key)
            failed = 1;
        else
            fprintf(f, "<Object><Key>%s</Key></Object>", key);
        free(key);
    }
    fputs("</Delete>", f);
    failed |= ferror(f);
    if (fclose(f) != 0 || failed) {
        free(*xml);
        *xml = NULL;
        *len = 0;
        return -ENOMEM;
    }
    return 0;
}

/* Content-MD5: the body's MD5 digest in base64. */
static int content_md5(const char *data, size_t len, char out[32])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(data, len, digest, &digest_len, EVP_md5(), NULL) != 1 || digest_len != 16)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)out, digest, 16);
    return 0;
}

/* One page of ListObjectsV2 under prefix, after `token` (NULL: the first). */
static int list_page(const s3_client_t *c, CURL *curl, const char *prefix, const char *token, page_t *page,
                     vf_error_t *err)
{
    char max_keys[16];
    snprintf(max_keys, sizeof max_keys, "%d", S3_DELETE_BATCH);
    sigv4_pair_t query[] = {{"list-type", "2"}, {"max-keys", max_keys}, {"prefix", prefix},
                            {"continuation-token", token}};
    s3_request_t req = {"GET", NULL, query, token ? 4 : 3, NULL, 0, NULL, -1, NULL};
    s3_response_t resp;
    memset(page, 0, sizeof *page);
    int ret = s3_perform(c, curl, &req, &resp, err);
    if (ret < 0)
        goto out;
    ret = -ENOMEM;
    if (!(page->keys = calloc(S3_DELETE_BATCH, sizeof *page->keys)))
        goto out;
    const char *at = resp.body, *end = NULL;
    for (const char *entry; (entry = s3_xml_span(at, "Contents", &end, &at)) != NULL;) {
        const char *key_end = NULL;
        char *key = s3_xml_next(entry, "Key", &key_end);
        if (key && key_end > end) { /* a <Contents> without its own <Key> */
            free(key);
            key = NULL;
        }
        if (!key || page->n == S3_DELETE_BATCH || strncmp(key, prefix, strlen(prefix)) != 0) {
            ret = c->host->error(err, EPROTO, "S3 ListObjectsV2 under '%s': %s", prefix,
                                 !key                          ? "an entry without a key"
                                 : page->n == S3_DELETE_BATCH ? "more keys than max-keys on one page"
                                                               : "a key outside the prefix");
            free(key);
            goto out;
        }
        page->keys[page->n++] = key;
    }
    char *truncated = s3_xml_text(resp.body, "IsTruncated");
    int more = truncated && strcmp(truncated, "true") == 0;
    free(truncated);
    if (more) {
        page->next_token = s3_xml_text(resp.body, "NextContinuationToken");
        if (!page->next_token || !page->next_token[0] || (token && strcmp(token, page->next_token) == 0)) {
            ret = c->host->error(err, EPROTO,
                                 "S3 ListObjectsV2 under '%s': a truncated page without a new continuation token",
                                 prefix);
            goto out;
        }
    }
    ret = 0;
out:
    if (ret < 0)
        page_free(page);
    s3_response_free(&resp);
    return ret;
}

/* Name the first per-key <Error> of a DeleteObjects answer, if any:
 * -EIO with "<n> of <batch> objects ... the first, '<key>': <Code>: <Message>". */
static int delete_errors(const s3_client_t *c, const char *prefix, const char *answer, size_t batch,
                         size_t *failed, vf_error_t *err)
{
    const char *at = answer, *end = NULL, *first = NULL, *first_end = NULL;
    *failed = 0;
    for (const char *e; (e = s3_xml_span(at, "Error", &end, &at)) != NULL; (*failed)++)
        if (!first) {
            first = e;
            first_end = end;
        }
    if (!first)
        return 0;
    char *entry = strndup(first, (size_t)(first_end - first));
    char *key = entry ? s3_xml_text(entry, "Key") : NULL;
    char *code = entry ? s3_xml_text(entry, "Code") : NULL;
    char *message = entry ? s3_xml_text(entry, "Message") : NULL;
    int ret = c->host->error(err, EIO, "S3 DeleteObjects under '%s': %zu of %zu objects not removed; the first, '%s': %s%s%s",
                             prefix, *failed, batch, key ? key : "?", code ? code : "an error",
                             message ? ": " : "", message ? message : "");
    free(entry);
    free(key);
    free(code);
    free(message);
    return ret;
}

/* DeleteObjects for keys[0..n), n <= S3_DELETE_BATCH. */
static int delete_batch(const s3_client_t *c, CURL *curl, const char *prefix, char *const *keys, size_t n,
                        vf_error_t *err)
{
    char *xml = NULL;
    size_t xml_len = 0, failed = 0;
    char md5[32];
    s3_body_t body;
    int ret = delete_request_xml(keys, n, &xml, &xml_len);
    if (ret < 0)
        return c->host->error(err, ENOMEM, PLUGIN ": out of memory listing keys to delete");
    const vf_storage_piece_t piece = {xml, xml_len};
    if ((ret = content_md5(xml, xml_len, md5)) < 0 || (ret = s3_body_from_pieces(&body, &piece, 1)) < 0) {
        free(xml);
        return c->host->error(err, ret, PLUGIN ": cannot hash the DeleteObjects request: %s", strerror(-ret));
    }
    sigv4_pair_t headers[] = {{"Content-Type", "application/xml"}, {"Content-MD5", md5}};
    sigv4_pair_t query[] = {{"delete", ""}};
    s3_request_t req = {"POST", NULL, query, 1, headers, 2, &body, -1, NULL};
    s3_response_t resp;
    ret = s3_perform(c, curl, &req, &resp, err);
    if (ret == 0)
        ret = delete_errors(c, prefix, resp.body, n, &failed, err);
    s3_response_free(&resp);
    free(xml);
    return ret;
}

int s3_delete_prefix(const s3_client_t *client, CURL *curl, const char *prefix, size_t *removed, vf_error_t *err)
{
    page_t page = {0};
    char *token = NULL;
    int ret;
    *removed = 0;
    do {
        if ((ret = list_page(client, curl, prefix, token, &page, err)) < 0)
            break;
        if (page.n > 0 && (ret = delete_batch(client, curl, prefix, page.keys, page.n, err)) < 0)
            break;
        *removed += page.n;
        free(token);
        token = page.next_token;
        page.next_token = NULL;
        page_free(&page);
    } while (token);
    page_free(&page);
    free(token);
    return ret;
}
