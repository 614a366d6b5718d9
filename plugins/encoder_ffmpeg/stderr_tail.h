/*
 * stderr_tail.h - what is left of a child's stderr for error messages.
 * Owns: the 4 KiB ring of the latest stderr bytes and turning it into
 * short, readable lines (FFmpeg's "[name @ 0x5602...]" prefixes shortened,
 * presigned URLs never shown with their query string).
 */
#ifndef FFE_STDERR_TAIL_H
#define FFE_STDERR_TAIL_H

#include <stddef.h>

#define FFE_TAIL_SIZE 4096

typedef struct ffe_tail {
    char ring[FFE_TAIL_SIZE];
    size_t total;          /* bytes ever appended */
} ffe_tail_t;

void ffe_tail_append(ffe_tail_t *t, const char *data, size_t len);

/* The kept bytes in order into out[FFE_TAIL_SIZE + 1], NUL-terminated; a
 * line cut by the ring's wrap-around is dropped. */
void ffe_tail_text(const ffe_tail_t *t, char *out);

/* The first non-empty line of text, or its last `max_lines` non-empty
 * lines joined by " / ", cleaned, into out.  out is "" when there are none. */
void ffe_first_line(const char *text, char *out, size_t outlen);
void ffe_last_lines(const char *text, int max_lines, char *out, size_t outlen);

/* Replace each occurrence of `hidden` in the NUL-terminated text (buffer of
 * `cap` bytes) by `shown`, truncating at cap. */
void ffe_replace_all(char *text, size_t cap, const char *hidden, const char *shown);

#endif
