/*
 * s3_prefix.h - removing every object under a key prefix: ListObjectsV2
 * pages (with continuation tokens), each page's keys removed with
 * DeleteObjects in batches of at most 1000.
 * Owns: the listing and batch-delete requests and reading their answers.
 * Must not: check the prefix (the operation in storage_s3.c does).
 */
#ifndef VF_S3_PREFIX_H
#define VF_S3_PREFIX_H

#include <curl/curl.h>
#include <stddef.h>

#include "s3_http.h"

/* S3's limit on the keys of one DeleteObjects request and of one page. */
#define S3_DELETE_BATCH 1000

/* Remove every object whose key starts with `prefix` (already checked).
 * 0 with *removed the number of keys deleted, or a negative errno with
 * err naming the request that failed, or the first key S3 did not
 * delete and why. */
int s3_delete_prefix(const s3_client_t *client, CURL *curl, const char *prefix, size_t *removed, vf_error_t *err);

#endif
