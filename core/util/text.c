/*
 * text.c - see text.h.
 */
#include "config.h"
#include "util/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vf_parse_decimal(const char *s, int64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return -EINVAL;
    *out = strtoll(s, NULL, 10);
    return 0;
}

int vf_parse_id(const char *s, int64_t *out)
{
    int64_t v;
    if (vf_parse_decimal(s, &v) < 0 || v <= 0)
        return -EINVAL;
    *out = v;
    return 0;
}
