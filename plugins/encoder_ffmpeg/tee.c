/*
 * tee.c - see tee.h.  Escaping puts a backslash before every byte the
 * parser at that level could take for syntax: av_get_token() stops at its
 * separators, treats '\\' and '\'' specially and trims unescaped white
 * space at both ends; a key=value list also ends a value at ':' and ']'.
 * A backslash before an ordinary byte is harmless, so the sets are wide.
 */
#include "tee.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL_TARGET "\\'| \t\n\r\v\f"      /* the '|'-separated list */
#define LEVEL_OPTION "\\'|:=[] \t\n\r\v\f" /* a value inside "[k=v:k=v]" */

static void put_escaped(FILE *f, const char *s, size_t len, const char *specials)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] && strchr(specials, s[i]))
            fputc('\\', f);
        fputc(s[i], f);
    }
}

int ffe_tee_init(ffe_tee_t *t)
{
    memset(t, 0, sizeof *t);
    t->out = open_memstream(&t->text, &t->len);
    return t->out ? 0 : -1;
}

void ffe_tee_slave(ffe_tee_t *t, const char *format)
{
    if (t->slave) {
        t->failed = 1; /* the previous slave got no file */
        return;
    }
    t->slave = open_memstream(&t->slave_text, &t->slave_len);
    if (!t->slave) {
        t->failed = 1;
        return;
    }
    t->options = 0;
    fputc('[', t->slave);
    ffe_tee_option(t, "f", format);
    ffe_tee_option(t, "onfail", "abort");
}

void ffe_tee_option(ffe_tee_t *t, const char *key, const char *value)
{
    if (!t->slave) {
        t->failed = 1;
        return;
    }
    if (t->options++)
        fputc(':', t->slave);
    fprintf(t->slave, "%s=", key);
    put_escaped(t->slave, value, strlen(value), LEVEL_OPTION);
}

void ffe_tee_optionf(ffe_tee_t *t, const char *key, const char *fmt, ...)
{
    char *value = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&value, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    ffe_tee_option(t, key, value);
    free(value);
}

void ffe_tee_target(ffe_tee_t *t, const char *filename)
{
    if (!t->slave || !t->out) {
        t->failed = 1;
        return;
    }
    fputc(']', t->slave);
    fputs(filename, t->slave);
    int closed = fclose(t->slave);
    t->slave = NULL;
    if (closed != 0 || !t->slave_text) {
        t->failed = 1;
    } else {
        if (t->slaves++)
            fputc('|', t->out);
        put_escaped(t->out, t->slave_text, t->slave_len, LEVEL_TARGET);
    }
    free(t->slave_text);
    t->slave_text = NULL;
}

char *ffe_tee_finish(ffe_tee_t *t)
{
    int ok = !t->failed && !t->slave && t->slaves > 0;
    int closed = t->out ? fclose(t->out) : -1;
    t->out = NULL;
    char *text = t->text;
    t->text = NULL;
    ffe_tee_free(t);
    if (!ok || closed != 0) {
        free(text);
        return NULL;
    }
    return text;
}

void ffe_tee_free(ffe_tee_t *t)
{
    if (t->slave)
        fclose(t->slave);
    if (t->out)
        fclose(t->out);
    free(t->slave_text);
    free(t->text);
    memset(t, 0, sizeof *t);
}
