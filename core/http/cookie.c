/*
 * cookie.c - see cookie.h.  vf_req_cookie() reads the request's header
 * through this; the fuzz harness tests/fuzz/fuzz_cookie.c calls it alone.
 */
#include "config.h"
#include "http/cookie.h"

#include <stdlib.h>
#include <string.h>

char *vf_cookie_value(const char *header, const char *name)
{
    const char *h = header;
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t seg = end ? (size_t)(end - h) : strlen(h);
        if (seg > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            const char *v = h + nlen + 1;
            size_t vlen = seg - nlen - 1;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            return strndup(v, vlen);
        }
        h = end;
    }
    return NULL;
}
