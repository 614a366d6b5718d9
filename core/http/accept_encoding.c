/*
 * accept_encoding.c - see accept_encoding.h.
 */
#include "config.h"
#include "http/accept_encoding.h"

#include <string.h>
#include <strings.h>

#define Q_UNSET -1

/* The q-value of "q=..." (0..1000, thousandths), or -1 when malformed. */
static int parse_q(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    if (n < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
        return -1;
    p += 2;
    n -= 2;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    int q = (p[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (p[1] != '.' || n > 5)
        return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        q += (p[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

vf_coding_t vf_accepted_coding(const char *accept_encoding)
{
    int q_br = Q_UNSET, q_gzip = Q_UNSET, q_any = Q_UNSET;
    const char *p = accept_encoding;
    while (p && *p) {
        size_t len = strcspn(p, ",");
        const char *item = p, *end = p + len;
        p = *end ? end + 1 : end;
        while (item < end && (*item == ' ' || *item == '\t'))
            item++;
        const char *semi = memchr(item, ';', (size_t)(end - item));
        const char *name_end = semi ? semi : end;
        while (name_end > item && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        size_t name_len = (size_t)(name_end - item);
        if (name_len == 0)
            continue;
        int q = semi ? parse_q(semi + 1, (size_t)(end - semi - 1)) : 1000;
        if (q < 0)
            return VF_CODING_IDENTITY; /* a header we cannot read: send what needs no decoding */
        if (name_len == 2 && strncasecmp(item, "br", 2) == 0)
            q_br = q;
        else if ((name_len == 4 && strncasecmp(item, "gzip", 4) == 0) ||
                 (name_len == 6 && strncasecmp(item, "x-gzip", 6) == 0))
            q_gzip = q;
        else if (name_len == 1 && *item == '*')
            q_any = q;
    }
    if (q_br == Q_UNSET)
        q_br = q_any;
    if (q_gzip == Q_UNSET)
        q_gzip = q_any;
    if (q_br > 0 && q_br >= q_gzip)
        return VF_CODING_BR;
    if (q_gzip > 0)
        return VF_CODING_GZIP;
    return VF_CODING_IDENTITY;
}
