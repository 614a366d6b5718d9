/*
 * text.h - small pieces of text read the same way everywhere: ids in paths,
 * sizes in headers, cutting UTF-8, the first line of a secret's file,
 * absolute URLs of the API.
 */
#ifndef VF_UTIL_TEXT_H
#define VF_UTIL_TEXT_H

#include <stdint.h>

/* A decimal number of 1 to 18 digits and nothing else (no sign, no space),
 * so it always fits an int64_t.  0, or -EINVAL (s may be NULL). */
int vf_parse_decimal(const char *s, int64_t *out);
/* The same, and above zero: a database id. */
int vf_parse_id(const char *s, int64_t *out);

/* The length of the longest prefix of the UTF-8 string s that has at most
 * max_bytes bytes and does not end inside a character, for cutting text
 * that is shown back (printf's "%.*s" with this length). */
int vf_utf8_prefix_len(const char *s, int max_bytes);

/* The first line of `path` without its line ending, malloc()ed ("" for an
 * empty first line; the stack copy is wiped: secrets are read this way).
 * 0, -errno when it cannot be read, -ENODATA when the file is empty. */
int vf_read_first_line(const char *path, char **out);

/* origin (e.g. server.public_origin, with or without a trailing '/')
 * followed by path, which starts with '/'; malloc()ed, NULL when out of
 * memory. */
char *vf_url_join(const char *origin, const char *path);

#endif
