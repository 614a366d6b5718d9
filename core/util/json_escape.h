/*
 * json_escape.h - a C string as the inside of a JSON string, for the JSON
 * log lines of log.c.
 * Owns: JSON string escaping and the UTF-8 check it needs.
 * Must not: allocate, or know what the strings mean.
 */
#ifndef VF_JSON_ESCAPE_H
#define VF_JSON_ESCAPE_H

#include <stddef.h>

/* Copy `in` into out (without the quotes) with '"', '\' and control
 * characters escaped and every byte that is not part of valid UTF-8 written
 * as \ufffd; cut to fit outlen (never inside an escape or a character).
 * Returns the length written; out is always terminated when outlen > 0. */
size_t vf_json_escape(const char *in, char *out, size_t outlen);

#endif
