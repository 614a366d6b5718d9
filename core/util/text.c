/*
 * text.c - see text.h.
 */
#include "config.h"
#include "util/text.h"

#include <errno.h>
#include <stdio.h>
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

int vf_read_first_line(const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char line[4096];
    int ret = -ENODATA;
    errno = 0;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        *out = strdup(line);
        ret = *out ? 0 : -ENOMEM;
        explicit_bzero(line, sizeof line);
    } else if (ferror(f)) {
        ret = errno ? -errno : -EIO; /* e.g. EISDIR: fopen() opens a directory */
    }
    fclose(f);
    return ret;
}

char *vf_url_join(const char *origin, const char *path)
{
    size_t olen = strlen(origin);
    if (olen && origin[olen - 1] == '/')
        olen--;
    char *url = NULL;
    return asprintf(&url, "%.*s%s", (int)olen, origin, path) < 0 ? NULL : url;
}
