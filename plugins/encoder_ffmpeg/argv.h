/*
 * argv.h - a growable, NULL-terminated argument vector for execv().
 * Owns: the strings it holds (each one a private copy).
 */
#ifndef FFE_ARGV_H
#define FFE_ARGV_H

#include <stddef.h>

typedef struct ffe_argv {
    char **items;    /* NULL-terminated once anything was added */
    size_t count;
    size_t cap;
    int failed;      /* an allocation failed; checked once by ffe_argv_ok() */
} ffe_argv_t;

/* Append copies of each string up to the NULL sentinel. */
void ffe_argv_add(ffe_argv_t *a, ...) __attribute__((sentinel));
/* Append one printf-built argument. */
void ffe_argv_addf(ffe_argv_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a malloc()ed string, which the vector then owns; NULL (an
 * allocation that failed) makes ffe_argv_ok() fail. */
void ffe_argv_take(ffe_argv_t *a, char *owned);
/* 0 when every append succeeded, -ENOMEM otherwise. */
int ffe_argv_ok(const ffe_argv_t *a);
void ffe_argv_free(ffe_argv_t *a);

#endif
