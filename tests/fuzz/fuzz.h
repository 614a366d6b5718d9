/*
 * fuzz.h - what every harness of tests/fuzz/ shares: libFuzzer's two entry
 * points, a property check that aborts (so libFuzzer keeps the input that
 * broke it), and turning the input into C strings.
 * A harness calls the code the server runs on untrusted bytes, and checks
 * what must hold of every answer; it must not open connections or write
 * outside its own temporary directory.
 */
#ifndef VF_FUZZ_H
#define VF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Optional: called once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Called for every input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* The input as a NUL-terminated string (a NUL inside it ends the string,
 * as it would end a header value).  malloc()ed; aborts without memory. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Split s in place at each '\n' into at most n fields; fields past the
 * last line are NULL (an absent header).  Returns how many were found. */
static inline size_t fuzz_fields(char *s, char **fields, size_t n)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++)
        fields[i] = NULL;
    while (s && found < n) {
        fields[found++] = s;
        s = strchr(s, '\n');
        if (s)
            *s++ = '\0';
    }
    return found;
}

#endif
