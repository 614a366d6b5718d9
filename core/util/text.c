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

int vf_utf8_prefix_len(const char *s, int max_bytes)
{
    size_t n = strnlen(s, (size_t)max_bytes + 1);
    if (n <= (size_t)max_bytes)
        return (int)n;
    n = (size_t)max_bytes;
    /* Back off continuation bytes (10xxxxxx) to the start of the cut
     * character, which then is left out. */
    size_t start = n;
    while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
        start--;
    return (int)start;
}
