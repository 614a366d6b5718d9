/*
 * source.c - see state.h (ffe_source_t, ffe_deadline).
 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "paths.h"
#include "run.h"

static int is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

int ffe_source_init(const ffe_state_t *st, const char *source, ffe_source_t *src, vf_error_t *err)
{
    memset(src, 0, sizeof *src);
    if (!source || !*source)
        return st->host->error(err, EINVAL, "no source given");
    if (is_url(source)) {
        size_t base = strcspn(source, "?#");
        src->arg = strdup(source);
        if (asprintf(&src->shown, "%.*s%s", (int)base, source, source[base] ? "?..." : "") < 0)
            src->shown = NULL;
        /* tls/tcp are what https needs; nothing local. */
        src->protocols = "http,https,tls,tcp";
    } else if (strstr(source, "://")) {
        return st->host->error(err, EINVAL, "unsupported source '%.*s': only local paths and "
                               "http(s) URLs are accepted", (int)strcspn(source, "?#"), source);
    } else {
        /* Absolute: ffmpeg may run in another directory (paths.h). */
        char *absolute = NULL;
        int ret = ffe_absolute_path(source, &absolute);
        if (ret < 0 && ret != -ENOMEM)
            return st->host->error(err, ret, "cannot locate %s: %s", source, strerror(-ret));
        if (absolute && asprintf(&src->arg, "file:%s", absolute) < 0)
            src->arg = NULL;
        free(absolute);
        src->shown = strdup(source);
        src->protocols = "file";
    }
    if (!src->arg || !src->shown) {
        ffe_source_free(src);
        return st->host->error(err, ENOMEM, "out of memory");
    }
    return 0;
}

void ffe_source_free(ffe_source_t *src)
{
    free(src->arg);
    free(src->shown);
    memset(src, 0, sizeof *src);
}

double ffe_deadline(const ffe_state_t *st)
{
    return st->settings.timeout > 0 ? ffe_now() + st->settings.timeout : 0;
}
