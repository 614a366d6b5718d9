/*
 * s3_xml.c - finding one element's text in S3's XML answers and escaping
 * text for requests (see s3_xml.h).
 */
#include "s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first "<element>", "<element attr...>" or "<element/>" start tag;
 * returns the character after its '>' (NULL when absent) and whether the
 * element is empty. */
static const char *find_start(const char *xml, const char *element, int *empty)
{
    size_t n = strlen(element);
    for (const char *p = strchr(xml, '<'); p; p = strchr(p + 1, '<')) {
        if (strncmp(p + 1, element, n) != 0)
            continue;
        char after = p[1 + n];
        if (after != '>' && after != '/' && after != ' ' && after != '\t' && after != '\r' &&
            after != '\n')
            continue;
        const char *close = strchr(p, '>');
        if (!close)
            return NULL;
        *empty = close[-1] == '/';
        return close + 1;
    }
    return NULL;
}

int s3_xml_root_is(const char *xml, const char *element)
{
    if (!xml)
        return 0;
    const char *p = xml;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        /* The declaration and comments come before the root. */
        if (strncmp(p, "<?", 2) == 0 || strncmp(p, "<!--", 4) == 0) {
            const char *close = strstr(p, p[1] == '?' ? "?>" : "-->");
            if (!close)
                return 0;
            p = close + (p[1] == '?' ? 2 : 3);
            continue;
        }
        break;
    }
    const char *first_tag_end = *p == '<' ? strchr(p, '>') : NULL;
    int empty;
    return first_tag_end && find_start(p, element, &empty) == first_tag_end + 1;
}

/* Decode one entity at p ('&'), writing its UTF-8 bytes to out; returns the
 * number of input characters used, or 0 when it is not an entity. */
static size_t decode_entity(const char *p, char *out, size_t *outlen)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t n = strlen(named[i].name);
        if (strncmp(p, named[i].name, n) == 0) {
            out[0] = named[i].c;
            *outlen = 1;
            return n;
        }
    }
    if (p[1] != '#')
        return 0;
    char *end = NULL;
    unsigned long cp = (p[2] == 'x' || p[2] == 'X') ? strtoul(p + 3, &end, 16) : strtoul(p + 2, &end, 10);
    if (!end || *end != ';' || cp == 0 || cp > 0x10FFFF)
        return 0;
    if (cp < 0x80) {
        out[0] = (char)cp;
        *outlen = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        *outlen = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        *outlen = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        *outlen = 4;
    }
    return (size_t)(end - p) + 1;
}

const char *s3_xml_span(const char *xml, const char *element, const char **end, const char **after)
{
    int empty = 0;
    const char *start = xml ? find_start(xml, element, &empty) : NULL;
    if (!start)
        return NULL;
    const char *stop = start;
    if (!empty) {
        char closing[80];
        if (snprintf(closing, sizeof closing, "</%s>", element) >= (int)sizeof closing)
            return NULL;
        if (!(stop = strstr(start, closing)))
            return NULL;
    }
    *end = stop;
    if (after)
        *after = empty ? stop : strchr(stop, '>') + 1;
    return start;
}

char *s3_xml_text(const char *xml, const char *element)
{
    return s3_xml_next(xml, element, NULL);
}

char *s3_xml_next(const char *xml, const char *element, const char **after)
{
    const char *end = NULL, *start = s3_xml_span(xml, element, &end, after);
    if (!start)
        return NULL;
    /* Decoding never makes text longer. */
    char *out = malloc((size_t)(end - start) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = start; p < end;) {
        size_t produced = 0, used = *p == '&' ? decode_entity(p, out + o, &produced) : 0;
        if (used) {
            o += produced;
            p += used;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

char *s3_xml_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += strchr("&<>\"'", *p) ? 6 : 1;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: *o++ = *p; continue;
        }
        size_t len = strlen(rep);
        memcpy(o, rep, len);
        o += len;
    }
    *o = '\0';
    return out;
}
