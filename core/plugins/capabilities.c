/*
 * capabilities.c - see capabilities.h.
 */
#include "config.h"
#include "plugins/capabilities.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The key 1.0 callers asked local_path about to learn whether the storage
 * is local; any key of the grammar would do. */
#define PROBE_KEY "catalogue-probe"
/* S3's longest presigned URL, assumed for a 1.0 storage whose URLs expire. */
#define URL_EXPIRES_MAX_1_0 604800u

/* What 1.0 implied.  Only a plugin without a capabilities operation is
 * probed: local paths when local_path answers (URLs then never expire). */
static void storage_fallback(const vf_storage_ops_t *ops, void *state, int probe, vf_storage_caps_t *caps)
{
    *caps = (vf_storage_caps_t){.size = sizeof *caps};
    if (ops->local_path && probe) {
        char *path = NULL;
        vf_error_t ignored;
        if (ops->local_path(state, PROBE_KEY, &path, &ignored) == 0)
            caps->flags |= VF_STORAGE_LOCAL_PATHS;
        free(path);
    }
    if (!(caps->flags & VF_STORAGE_LOCAL_PATHS)) {
        caps->flags |= VF_STORAGE_URLS_EXPIRE;
        caps->url_expires_max = URL_EXPIRES_MAX_1_0;
    }
    caps->max_parts = VF_STORAGE_MAX_PARTS_1_0;
    caps->min_part_size = ops->min_part_size ? ops->min_part_size : 1;
    caps->max_part_size = VF_STORAGE_MAX_PART_SIZE_1_0;
}

/* After the plugin's capabilities op: its answer's size is the caller's,
 * and a failure refuses the plugin. */
static int answered(int ret, uint32_t *size, uint32_t ours, char *err, size_t errlen)
{
    *size = ours;
    if (ret < 0) {
        snprintf(err, errlen, "its capabilities operation failed (%d)", ret);
        return -EPROTO;
    }
    return 0;
}

int vf_storage_caps_read(const vf_storage_ops_t *ops, void *state, vf_storage_caps_t *caps, char *err, size_t errlen)
{
    int asks = VF_HAS_FIELD(vf_storage_ops_t, ops, capabilities) && ops->capabilities;
    storage_fallback(ops, state, !asks, caps);
    if (!asks)
        return 0;
    if (answered(ops->capabilities(state, caps), &caps->size, sizeof *caps, err, errlen) < 0)
        return -EPROTO;
    const char *wrong = NULL;
    if (caps->max_parts < 1)
        wrong = "max_parts is 0";
    else if (caps->min_part_size < 1 || caps->max_part_size < caps->min_part_size)
        wrong = "the part sizes are not 1 <= min_part_size <= max_part_size";
    else if ((caps->flags & VF_STORAGE_URLS_EXPIRE) && caps->url_expires_max < 1)
        wrong = "URLs expire but url_expires_max is 0";
    else if ((caps->flags & VF_STORAGE_LOCAL_PATHS) && !ops->local_path)
        wrong = "local paths are declared but local_path is NULL";
    if (wrong) {
        snprintf(err, errlen, "its capabilities make no sense: %s", wrong);
        return -EPROTO;
    }
    return 0;
}

int vf_encoder_caps_read(const vf_encoder_ops_t *ops, void *state, vf_encoder_caps_t *caps, char *err, size_t errlen)
{
    *caps = (vf_encoder_caps_t){
        .size = sizeof *caps,
        .sources = VF_ENCODER_SOURCE_PATH | (ops->accepts_urls ? VF_ENCODER_SOURCE_HTTP : 0),
        .flags = VF_ENCODER_X264_DEFAULTS,
        .max_jobs = 0,
        .outputs = VF_OUTPUT_MP4, /* 1.2: what a 1.0/1.1 encoder makes */
    };
    if (!VF_HAS_FIELD(vf_encoder_ops_t, ops, capabilities) || !ops->capabilities)
        return 0;
    if (answered(ops->capabilities(state, caps), &caps->size, sizeof *caps, err, errlen) < 0)
        return -EPROTO;
    if (!(caps->sources & (VF_ENCODER_SOURCE_PATH | VF_ENCODER_SOURCE_HTTP))) {
        snprintf(err, errlen, "its capabilities make no sense: it reads neither local paths nor URLs");
        return -EPROTO;
    }
    if (!(caps->outputs & (VF_OUTPUT_MP4 | VF_OUTPUT_HLS))) {
        snprintf(err, errlen, "its capabilities make no sense: it makes neither MP4 nor HLS");
        return -EPROTO;
    }
    return 0;
}
