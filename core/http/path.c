/*
 * path.c - see path.h.  The server calls this for every request; the fuzz
 * harness tests/fuzz/fuzz_router.c calls it the same way.
 */
#include "config.h"
#include "http/path.h"

#include <errno.h>
#include <event2/http.h>
#include <string.h>

int vf_http_path_decode(const char *raw, char **decoded)
{
    size_t len = 0;
    *decoded = raw ? evhttp_uridecode(raw, 0, &len) : NULL;
    if (!*decoded)
        return -EINVAL;
    /* A decoded NUL would cut the path short of what the client sent. */
    if (len != strlen(*decoded) || (*decoded)[0] != '/')
        return -ENOENT;
    return 0;
}
