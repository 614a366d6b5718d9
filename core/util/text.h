/*
 * text.h - parsing small pieces of untrusted text (ids in paths, sizes in
 * headers) the same way everywhere.
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

#endif
