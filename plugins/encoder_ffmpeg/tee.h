/*
 * tee.h - the target of one `-f tee` output: a list of slave muxers, each
 * with its own options, written in the tee muxer's two-level syntax.
 * Owns: that syntax and its escaping, and nothing else (which slaves a
 * rendition gets is transcode.c's business).
 *
 * The tee muxer splits its target at '|' with av_get_token() (backslash
 * and single quotes escape), then reads each slave's "[key=value:...]"
 * with av_opt_get_key_value(), which unescapes option values a second
 * time.  So a value is escaped twice and a slave's file name once; any
 * byte may then appear in either.
 */
#ifndef FFE_TEE_H
#define FFE_TEE_H

#include <stdio.h>

typedef struct ffe_tee {
    FILE *out;        /* open_memstream() over text/len */
    char *text;
    size_t len;
    FILE *slave;      /* the slave being written, before its level-1 escaping */
    char *slave_text;
    size_t slave_len;
    int slaves;
    int options;      /* options written into the current slave */
    int failed;
} ffe_tee_t;

int ffe_tee_init(ffe_tee_t *t);
/* Start a slave of muxer `format`; onfail=abort, so one failing slave
 * fails the whole output (and ffmpeg) instead of being dropped. */
void ffe_tee_slave(ffe_tee_t *t, const char *format);
void ffe_tee_option(ffe_tee_t *t, const char *key, const char *value);
void ffe_tee_optionf(ffe_tee_t *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* End the current slave with the file it writes. */
void ffe_tee_target(ffe_tee_t *t, const char *filename);
/* The whole target (malloc()ed, the caller frees it), or NULL when memory
 * ran out or a slave was left without its file; frees everything else. */
char *ffe_tee_finish(ffe_tee_t *t);
void ffe_tee_free(ffe_tee_t *t);

#endif
