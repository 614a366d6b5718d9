/*
 * range.c - see range.h.  /media/ and /content/ answer conditional and
 * range requests through these; the fuzz harness tests/fuzz/fuzz_range.c
 * calls them with arbitrary header values.
 */
#include "config.h"
#include "http/range.h"
#include "util/timeutil.h"

#include <string.h>
#include <strings.h>

/* The next entity-tag of a comma-separated list: *tag and *len give its
 * opaque part (quotes included, "W/" dropped); returns the rest or NULL. */
static const char *next_etag(const char *list, const char **tag, size_t *len, int *weak)
{
    while (*list == ' ' || *list == '\t' || *list == ',')
        list++;
    if (!*list)
        return NULL;
    *weak = strncmp(list, "W/", 2) == 0;
    if (*weak)
        list += 2;
    const char *end = list;
    if (*end == '"') {
        const char *close = strchr(end + 1, '"');
        end = close ? close + 1 : end + strlen(end);
    } else {
        end += strcspn(end, ", \t");
    }
    *tag = list;
    *len = (size_t)(end - list);
    return end;
}

int vf_etag_list_matches(const char *header, const char *etag)
{
    const char *tag;
    size_t len;
    int weak;
    if (strncmp(etag, "W/", 2) == 0)
        etag += 2;
    for (const char *p = header; (p = next_etag(p, &tag, &len, &weak)) != NULL;)
        if ((len == 1 && tag[0] == '*') || (len == strlen(etag) && memcmp(tag, etag, len) == 0))
            return 1;
    return 0;
}

int vf_not_modified(const char *if_none_match, const char *if_modified_since, const char *etag, int64_t mtime)
{
    if (if_none_match)
        return vf_etag_list_matches(if_none_match, etag);
    int64_t since = if_modified_since ? vf_time_parse_http(if_modified_since) : -1;
    return since >= 0 && mtime <= since;
}

int vf_if_range_holds(const char *header, const char *etag, int64_t mtime)
{
    if (header[0] == '"' || strncmp(header, "W/", 2) == 0)
        return strcmp(header, etag) == 0;
    int64_t when = vf_time_parse_http(header);
    return when >= 0 && when == mtime;
}

static int parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

vf_range_kind_t vf_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return VF_RANGE_NONE;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    uint64_t a = 0, b = 0;
    if (*p == '-') {
        p++;
        if (parse_u64(&p, &b) < 0)
            return VF_RANGE_NONE;
        while (*p == ' ')
            p++;
        if (*p)
            return VF_RANGE_NONE;
        if (b == 0 || size == 0)
            return VF_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return VF_RANGE_ONE;
    }
    if (parse_u64(&p, &a) < 0 || *p++ != '-')
        return VF_RANGE_NONE;
    int open_ended = *p == '\0' || *p == ' ';
    if (!open_ended && parse_u64(&p, &b) < 0)
        return VF_RANGE_NONE;
    while (*p == ' ')
        p++;
    if (*p || (!open_ended && b < a))
        return VF_RANGE_NONE;
    if (a >= size)
        return VF_RANGE_UNSATISFIABLE;
    *first = a;
    *last = open_ended || b >= size ? size - 1 : b;
    return VF_RANGE_ONE;
}
