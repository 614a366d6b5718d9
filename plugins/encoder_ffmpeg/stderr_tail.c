/*
 * stderr_tail.c - see stderr_tail.h.
 */
#include "stderr_tail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ffe_tail_append(ffe_tail_t *t, const char *data, size_t len)
{
    if (len > FFE_TAIL_SIZE) {
        t->total += len - FFE_TAIL_SIZE;
        data += len - FFE_TAIL_SIZE;
        len = FFE_TAIL_SIZE;
    }
    for (size_t i = 0; i < len; i++)
        t->ring[(t->total + i) % FFE_TAIL_SIZE] = data[i];
    t->total += len;
}

void ffe_tail_text(const ffe_tail_t *t, char *out)
{
    size_t kept = t->total < FFE_TAIL_SIZE ? t->total : FFE_TAIL_SIZE;
    size_t start = t->total - kept;
    for (size_t i = 0; i < kept; i++)
        out[i] = t->ring[(start + i) % FFE_TAIL_SIZE];
    out[kept] = '\0';
    if (t->total > FFE_TAIL_SIZE) {
        char *nl = strchr(out, '\n');
        size_t skip = nl ? (size_t)(nl + 1 - out) : kept;
        memmove(out, out + skip, kept - skip + 1);
    }
}

/* Copy one line, shortening "[libx264 @ 0x55d8bfef9f00] msg" to
 * "libx264: msg" and dropping control characters. */
static size_t clean_line(const char *line, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    const char *end = line + len;
    if (len > 0 && line[0] == '[') {
        const char *close = memchr(line, ']', len);
        const char *at = close ? strstr(line, " @ 0x") : NULL;
        if (close && at && at < close) {
            size_t name = (size_t)(at - line - 1);
            for (size_t i = 0; i < name && o + 1 < outlen; i++)
                out[o++] = line[1 + i];
            if (o + 1 < outlen)
                out[o++] = ':';
            line = close + 1;
        }
    }
    for (; line < end && o + 1 < outlen; line++)
        if ((unsigned char)*line >= 0x20 || *line == '\t')
            out[o++] = *line;
    out[o] = '\0';
    return o;
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

void ffe_first_line(const char *text, char *out, size_t outlen)
{
    out[0] = '\0';
    while (*text) {
        size_t len = strcspn(text, "\n");
        if (!is_blank(text, len)) {
            clean_line(text, len, out, outlen);
            return;
        }
        text += len + (text[len] == '\n');
    }
}

void ffe_last_lines(const char *text, int max_lines, char *out, size_t outlen)
{
    const char *starts[16];
    size_t lens[16];
    int n = 0;
    if (max_lines > 16)
        max_lines = 16;
    out[0] = '\0';
    while (*text) {
        size_t len = strcspn(text, "\n");
        if (!is_blank(text, len)) {
            if (n == max_lines) {
                memmove(starts, starts + 1, (size_t)(n - 1) * sizeof *starts);
                memmove(lens, lens + 1, (size_t)(n - 1) * sizeof *lens);
                n--;
            }
            starts[n] = text;
            lens[n] = len;
            n++;
        }
        text += len + (text[len] == '\n');
    }
    size_t o = 0;
    for (int i = 0; i < n && o + 1 < outlen; i++) {
        if (i > 0) {
            o += (size_t)snprintf(out + o, outlen - o, " / ");
            if (o >= outlen) {
                out[outlen - 1] = '\0';
                return;
            }
        }
        o += clean_line(starts[i], lens[i], out + o, outlen - o);
    }
}

void ffe_replace_all(char *text, size_t cap, const char *hidden, const char *shown)
{
    size_t hlen = strlen(hidden), slen = strlen(shown);
    if (hlen == 0 || cap == 0)
        return;
    char *result = malloc(cap);
    if (!result) {
        text[0] = '\0'; /* better no message than one leaking `hidden` */
        return;
    }
    size_t o = 0;
    const char *p = text;
    while (*p && o + 1 < cap) {
        if (strncmp(p, hidden, hlen) == 0) {
            size_t n = slen < cap - 1 - o ? slen : cap - 1 - o;
            memcpy(result + o, shown, n);
            o += n;
            p += hlen;
        } else
            result[o++] = *p++;
    }
    result[o] = '\0';
    memcpy(text, result, o + 1);
    free(result);
}
