/*
 * remove_files.c - see remove_files.h.  Removing is idempotent, so a job
 * that failed part-way runs its whole list again: multipart uploads, keys,
 * then prefixes.
 */
#include "config.h"
#include "storage/remove_files.h"
#include "jobs/worker.h"
#include "plugins/storage_calls.h"
#include "plugins/storage_key.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vf_remove_files_tx(vf_thread_ctx_t *ctx, json_t *keys, json_t *prefixes, const char *mp_key,
                       const char *mp_id)
{
    json_t *payload = json_object();
    json_t *mp = json_array();
    char job_id[VF_JOB_ID_SIZE];
    int ret = -ENOMEM;
    if (!payload || !mp)
        goto out;
    if (mp_key && mp_id && json_array_append_new(mp, json_pack("{s:s, s:s}", "key", mp_key, "upload_id", mp_id)) != 0)
        goto out;
    if (json_object_set_new(payload, "keys", keys ? json_incref(keys) : json_array()) != 0 ||
        json_object_set_new(payload, "prefixes", prefixes ? json_incref(prefixes) : json_array()) != 0 ||
        json_object_set(payload, "multipart", mp) != 0)
        goto out;
    ret = vf_queue_enqueue_tx(ctx, VF_JOB_REMOVE_FILES, payload, job_id);
out:
    json_decref(payload);
    json_decref(mp);
    return ret;
}

/* A prefix the job may pass on: a valid key followed by one '/'. */
static int prefix_check(const char *prefix, vf_error_t *verr)
{
    size_t n = strlen(prefix);
    if (n < 2 || prefix[n - 1] != '/') {
        snprintf(verr->message, sizeof verr->message, "not a key followed by '/'");
        return -EINVAL;
    }
    char *key = strndup(prefix, n - 1);
    if (!key) {
        snprintf(verr->message, sizeof verr->message, "out of memory");
        return -ENOMEM;
    }
    int ret = vf_storage_key_check(key, verr);
    free(key);
    return ret;
}

/* Every object under each prefix; counts what was removed and skipped.
 * Returns the number of prefixes that failed (the job runs again). */
static int remove_prefixes(const vf_plugin_t *storage, const json_t *prefixes, int *removed, int *skipped,
                           char *err, size_t errlen)
{
    int failed = 0;
    for (size_t i = 0; prefixes && i < json_array_size(prefixes); i++) {
        const char *prefix = json_string_value(json_array_get(prefixes, i));
        vf_error_t verr = {0};
        if (!prefix)
            continue;
        int ret = prefix_check(prefix, &verr);
        if (ret == 0)
            ret = vf_storage_remove_prefix(storage, prefix, &verr);
        if (ret == -EINVAL || ret == -ENOTSUP) {
            vf_warn("remove_files: not removing what is under '%s': %s", prefix, verr.message);
            (*skipped)++;
        } else if (ret < 0) {
            snprintf(err, errlen, "removing what is under %s: %s", prefix, verr.message);
            failed++;
        } else {
            (*removed)++;
        }
    }
    return failed;
}

static int remove_files_job(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    const json_t *payload = vf_job_payload(job);
    json_t *keys = json_object_get(payload, "keys");
    json_t *prefixes = json_object_get(payload, "prefixes");
    json_t *mps = json_object_get(payload, "multipart");
    if ((keys && !json_is_array(keys)) || (prefixes && !json_is_array(prefixes)) || (mps && !json_is_array(mps))) {
        snprintf(err, errlen, "malformed payload: keys, prefixes and multipart must be arrays");
        return VF_JOB_FAIL_PERMANENT;
    }
    if (!ctx->app->storage) {
        snprintf(err, errlen, "this process has not loaded the storage plugin");
        return -EIO;
    }
    int ret;
    const vf_storage_ops_t *ops = vf_storage_ops(ctx->app->storage);
    void *ss = ctx->app->storage->state;
    int failed = 0, removed = 0;
    vf_error_t verr;
    /* Unfinished multipart uploads first: their parts are not objects. */
    for (size_t i = 0; mps && i < json_array_size(mps); i++) {
        json_t *m = json_array_get(mps, i);
        const char *key = json_string_value(json_object_get(m, "key"));
        const char *id = json_string_value(json_object_get(m, "upload_id"));
        memset(&verr, 0, sizeof verr);
        if (!key || !id)
            continue;
        ret = ops->multipart_abort(ss, key, id, &verr);
        if (ret < 0 && ret != -EINVAL && ret != -ENOENT) {
            snprintf(err, errlen, "abort of the upload to %s: %s", key, verr.message);
            failed++;
        }
    }
    for (size_t i = 0; keys && i < json_array_size(keys); i++) {
        const char *key = json_string_value(json_array_get(keys, i));
        memset(&verr, 0, sizeof verr);
        if (!key)
            continue;
        ret = vf_storage_key_check(key, &verr);
        if (ret == 0)
            ret = ops->remove(ss, key, &verr);
        if (ret == -EINVAL) {
            vf_warn("remove_files: not removing '%s': %s", key, verr.message);
        } else if (ret < 0) {
            snprintf(err, errlen, "removing %s: %s", key, verr.message);
            failed++;
        } else {
            removed++;
        }
    }
    int prefixes_removed = 0, prefixes_skipped = 0;
    failed += remove_prefixes(ctx->app->storage, prefixes, &prefixes_removed, &prefixes_skipped, err, errlen);
    if (failed)
        return -EIO; /* the whole list again: removing is idempotent */
    vf_job_set_result(job, json_pack("{s:i, s:i, s:i}", "removed", removed, "prefixes_removed", prefixes_removed,
                                     "prefixes_skipped", prefixes_skipped));
    return 0;
}

void vf_remove_files_register_job(void)
{
    vf_worker_register(VF_JOB_REMOVE_FILES, remove_files_job);
}
