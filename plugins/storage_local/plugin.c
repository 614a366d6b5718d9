/*
 * plugin.c - the storage_local descriptor: creating and destroying its
 * state and the table of operations the core calls.
 */
#include "storage_local.h"

#include <errno.h>
#include <stdlib.h>

static int sl_create(const vf_host_api_t *host, const config_setting_t *cfg, void **state, vf_error_t *err)
{
    if (!VF_HAS_FIELD(vf_host_api_t, host, key_check))
        return host->error(err, EPROTO, SL_NAME " needs a host of plugin ABI 1.1 or newer");
    sl_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return host->error(err, -ENOMEM, "out of memory");
    st->host = host;
    int ret = sl_settings_load(st, cfg, err);
    if (ret < 0) {
        free(st->root);
        free(st->public_url);
        free(st);
        return ret;
    }
    host->log(SL_NAME, VF_LOG_INFO, "objects under %s, served as %s", st->root, st->public_url);
    *state = st;
    return 0;
}

static void sl_destroy(void *state)
{
    sl_state_t *st = state;
    if (!st)
        return;
    free(st->root);
    free(st->public_url);
    free(st);
}

/* Files on this host, served by the core: URLs never expire.  The part
 * count is the sidecar's limit; a part is held in memory by the caller, so
 * no size limit of ours applies. */
static int sl_capabilities(void *state, vf_storage_caps_t *caps)
{
    (void)state;
    caps->flags = VF_STORAGE_LOCAL_PATHS;
    caps->url_expires_default = 0;
    caps->url_expires_max = 0;
    caps->max_parts = SL_MAX_PARTS;
    caps->min_part_size = 1;
    caps->max_part_size = (uint64_t)INT64_MAX;
    return 0;
}

static const vf_storage_ops_t sl_ops = {
    .size = sizeof(vf_storage_ops_t),
    .min_part_size = 1,
    .put_file = sl_put_file,
    .get_file = sl_get_file,
    .stat = sl_stat,
    .remove = sl_remove,
    .url = sl_url,
    .local_path = sl_local_path,
    .multipart_begin = sl_multipart_begin,
    .multipart_write = sl_multipart_write,
    .multipart_complete = sl_multipart_complete,
    .multipart_abort = sl_multipart_abort,
    .capabilities = sl_capabilities,
    .put_file_progress = sl_put_file_progress,
    .get_file_progress = sl_get_file_progress,
    .multipart_write_pieces = sl_multipart_write_pieces,
    .remove_prefix = sl_remove_prefix,
};

VF_PLUGIN_DEFINE(VF_PLUGIN_STORAGE, SL_NAME, "1.2.0",
                 "objects as files below a local directory, served by the core under /media/", sl_create,
                 sl_destroy, &sl_ops);
