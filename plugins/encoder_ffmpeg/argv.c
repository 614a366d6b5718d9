/*
 * argv.c - see argv.h.  Appends never fail loudly: the first allocation
 * failure is remembered and reported by ffe_argv_ok(), so builders stay
 * linear instead of checking every argument.
 */
#include "argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push_owned(ffe_argv_t *a, char *s)
{
    if (!s || a->failed) {
        a->failed = 1;
        free(s);
        return;
    }
    if (a->count + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **items = realloc(a->items, cap * sizeof *items);
        if (!items) {
            a->failed = 1;
            free(s);
            return;
        }
        a->items = items;
        a->cap = cap;
    }
    a->items[a->count++] = s;
    a->items[a->count] = NULL;
}

void ffe_argv_add(ffe_argv_t *a, ...)
{
    va_list ap;
    va_start(ap, a);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        push_owned(a, strdup(s));
    va_end(ap);
}

void ffe_argv_addf(ffe_argv_t *a, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    push_owned(a, n < 0 ? NULL : s);
}

void ffe_argv_take(ffe_argv_t *a, char *owned)
{
    push_owned(a, owned);
}

int ffe_argv_ok(const ffe_argv_t *a)
{
    return a->failed || !a->items ? -ENOMEM : 0;
}

void ffe_argv_free(ffe_argv_t *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->items[i]);
    free(a->items);
    memset(a, 0, sizeof *a);
}
