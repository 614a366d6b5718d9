/*
 * json_escape.c - see json_escape.h.  The log writes JSON by hand (util/
 * may call only libc), so this is the one place that knows how a string
 * becomes a JSON string: quote, backslash and control characters escaped,
 * and bytes that are not UTF-8 replaced by U+FFFD, so that a path or title
 * sent by a client can never break a log shipper's parser.
 */
#include "config.h"
#include "util/json_escape.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_sequence(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

size_t vf_json_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p) {
        char esc[8];
        size_t n = 0, used = 1;
        size_t seq = utf8_sequence(p);
        if (seq == 0) {
            memcpy(esc, "\\ufffd", 6);
            n = 6;
        } else if (seq > 1) {
            memcpy(esc, p, seq);
            n = used = seq;
        } else if (*p == '"' || *p == '\\') {
            esc[n++] = '\\';
            esc[n++] = (char)*p;
        } else if (*p == '\n') {
            memcpy(esc, "\\n", 2);
            n = 2;
        } else if (*p == '\r') {
            memcpy(esc, "\\r", 2);
            n = 2;
        } else if (*p == '\t') {
            memcpy(esc, "\\t", 2);
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            n = 6;
        } else {
            esc[n++] = (char)*p;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, esc, n);
        o += n;
        p += used;
    }
    out[o] = '\0';
    return o;
}
