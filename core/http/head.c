/*
 * head.c - see head.h.
 *
 * evhttp reads a head line by line (LF, or CRLF), takes the method up to the
 * first space and the version after the last, a field name up to the colon
 * (blanks included), skips only spaces after it, joins folded lines, keeps
 * the first Content-Length and lets Transfer-Encoding: chunked win over it.  Every looseness there is a
 * way for two readers of one byte stream to disagree about where a request
 * ends, so this grammar is the strict RFC 9112 one and a head that needs
 * any of that leniency is refused instead.
 */
#include "config.h"
#include "http/head.h"
#include "http/router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* tchar (RFC 9110 section 5.6.2): ALPHA, DIGIT and !#$%&'*+-.^_`|~, as a
 * bit map of the 128 ASCII bytes (every head byte passes here). */
static int is_tchar(unsigned char c)
{
    static const uint64_t low = 0x03ff6cfa00000000u, high = 0x57ffffffc7fffffeu;
    return c < 64 ? (int)(low >> c & 1) : c < 128 ? (int)(high >> (c - 64) & 1) : 0;
}

/* A field value byte: HTAB, SP, VCHAR or obs-text; never CR, LF or NUL. */
static int is_value_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The line starting at p: its end without the CR of a CRLF, and where the
 * next line starts.  NULL when no LF ends it before `end`. */
static const char *line_end(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return NULL;
    *next = nl + 1;
    return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

static int parse_request_line(const char *p, const char *le, vf_http_head_t *h)
{
    const char *s = p;
    while (s < le && is_tchar((unsigned char)*s))
        s++;
    if (s == p || s == le || *s != ' ')
        return -1;
    h->method = p;
    h->method_len = (size_t)(s - p);
    const char *t = ++s;
    while (s < le && (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f)
        s++;
    if (s == t || s == le || *s != ' ')
        return -1;
    h->target = t;
    h->target_len = (size_t)(s - t);
    s++;
    if (le - s != 8 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1'))
        return -1;
    h->minor = s[7] - '0';
    return 0;
}

static vf_refusal_t parse_field(const char *p, const char *le, vf_http_head_t *h)
{
    const char *s = p;
    while (s < le && is_tchar((unsigned char)*s))
        s++;
    if (s == p || s == le || *s != ':')
        return VF_REFUSE_MALFORMED;
    const char *v = s + 1, *ve = le;
    while (v < ve && *v == ' ')
        v++;
    /* evhttp skips only spaces there: " \tchunked" would not be chunked to
     * it. */
    if (v < ve && *v == '\t')
        return VF_REFUSE_MALFORMED;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    for (const char *c = v; c < ve; c++)
        if (!is_value_byte((unsigned char)*c))
            return VF_REFUSE_MALFORMED;
    if (h->nfields == VF_HEAD_MAX_FIELDS)
        return VF_REFUSE_HEAD_TOO_LARGE;
    h->fields[h->nfields++] =
        (vf_http_field_t){.name = p, .name_len = (size_t)(s - p), .value = v, .value_len = (size_t)(ve - v)};
    return VF_REFUSE_NONE;
}

vf_refusal_t vf_http_head_parse(const char *buf, size_t len, vf_http_head_t *h)
{
    h->method = h->target = NULL;
    h->method_len = h->target_len = 0;
    h->minor = 0;
    h->nfields = 0;
    const char *end = buf + len, *next = NULL;
    const char *le = line_end(buf, end, &next);
    if (!le || parse_request_line(buf, le, h) < 0)
        return VF_REFUSE_MALFORMED;
    for (const char *p = next; p < end; p = next) {
        le = line_end(p, end, &next);
        if (!le)
            return VF_REFUSE_MALFORMED;
        if (le == p) /* the empty line ends the head, and the buffer */
            return next == end ? VF_REFUSE_NONE : VF_REFUSE_MALFORMED;
        /* A line starting with a blank continues the previous one (obsolete
         * folding), which evhttp joins and we do not. */
        if (*p == ' ' || *p == '\t')
            return VF_REFUSE_MALFORMED;
        vf_refusal_t why = parse_field(p, le, h);
        if (why != VF_REFUSE_NONE)
            return why;
    }
    return VF_REFUSE_MALFORMED;
}

int vf_http_head_method(const vf_http_head_t *h)
{
    static const struct {
        const char *name;
        int bit;
    } methods[] = {{"GET", VF_GET},       {"POST", VF_POST},   {"HEAD", VF_HEAD},  {"PUT", VF_PUT},
                   {"DELETE", VF_DELETE}, {"OPTIONS", VF_OPTIONS}, {"PATCH", VF_PATCH}};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strlen(methods[i].name) == h->method_len && memcmp(methods[i].name, h->method, h->method_len) == 0)
            return methods[i].bit;
    return 0;
}

static int name_is(const vf_http_field_t *f, const char *name)
{
    return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

/* 1*DIGIT, saturating at UINT64_MAX (a length nobody's limit allows). */
static int parse_length(const vf_http_field_t *f, uint64_t *out)
{
    if (f->value_len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < f->value_len; i++) {
        char c = f->value[i];
        if (c < '0' || c > '9')
            return -1;
        v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(c - '0');
    }
    *out = v;
    return 0;
}

/* Transfer-Encoding's codings: only "chunked" alone is read here. */
static vf_refusal_t check_codings(const vf_http_field_t *f)
{
    size_t codings = 0, chunked_at = 0, chunked_seen = 0;
    const char *p = f->value, *end = f->value + f->value_len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ie = comma ? comma : end, *is = p;
        while (is < ie && (*is == ' ' || *is == '\t'))
            is++;
        while (ie > is && (ie[-1] == ' ' || ie[-1] == '\t'))
            ie--;
        if (ie == is)
            return VF_REFUSE_BAD_CODING;
        codings++;
        if (ie - is == 7 && strncasecmp(is, "chunked", 7) == 0) {
            chunked_seen++;
            chunked_at = codings;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (chunked_seen != 1 || chunked_at != codings)
        return VF_REFUSE_BAD_CODING;
    return codings == 1 ? VF_REFUSE_NONE : VF_REFUSE_CODING;
}

vf_refusal_t vf_http_head_framing(const vf_http_head_t *h, vf_body_framing_t *f)
{
    f->kind = VF_BODY_NONE;
    f->length = 0;
    const vf_http_field_t *coding = NULL;
    int have_length = 0;
    uint64_t length = 0;
    for (size_t i = 0; i < h->nfields; i++) {
        const vf_http_field_t *fd = &h->fields[i];
        if (name_is(fd, "Content-Length")) {
            uint64_t v;
            if (parse_length(fd, &v) < 0)
                return VF_REFUSE_BAD_LENGTH;
            if (have_length && v != length)
                return VF_REFUSE_TWO_LENGTHS;
            have_length = 1;
            length = v;
        } else if (name_is(fd, "Transfer-Encoding")) {
            if (coding)
                return VF_REFUSE_BAD_CODING;
            coding = fd;
        }
    }
    if (coding && have_length)
        return VF_REFUSE_LENGTH_CHUNKED;
    if (coding) {
        vf_refusal_t why = check_codings(coding);
        if (why != VF_REFUSE_NONE)
            return why;
    }
    /* evhttp reads no body after HEAD, whatever the head says. */
    if (vf_http_head_method(h) == VF_HEAD)
        return coding || length > 0 ? VF_REFUSE_HEAD_BODY : VF_REFUSE_NONE;
    if (coding)
        f->kind = VF_BODY_CHUNKED;
    else if (length > 0) {
        f->kind = VF_BODY_LENGTH;
        f->length = length;
    }
    return VF_REFUSE_NONE;
}

char *vf_http_head_value(const vf_http_head_t *h, const char *name)
{
    for (size_t i = 0; i < h->nfields; i++)
        if (name_is(&h->fields[i], name))
            return strndup(h->fields[i].value, h->fields[i].value_len);
    return NULL;
}
