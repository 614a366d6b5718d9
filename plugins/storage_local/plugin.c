/*
 * plugin.c - the storage_local descriptor: creating and destroying its
 * state and the table of operations the core calls.
 */
#include "storage_local.h"

#include <errno.h>
#include <stdlib.h>

static int sl_create(const vf_host_api_t *host, const config_setting_t *cfg, void **state, vf_error_t *err)
{
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
};

VF_PLUGIN_DEFINE(VF_PLUGIN_STORAGE, SL_NAME, "1.0.0",
                 "objects as files below a local directory, served by the core under /media/", sl_create,
                 sl_destroy, &sl_ops);
