/*
 * fuzz_cookie.c - Cookie request headers read by vf_cookie_value() (what
 * vf_req_cookie() runs), for the two session cookies and for a name taken
 * from the input.  Input: a cookie name on the first line, the header
 * value after it.
 * Checks: a value found is a piece of the header, no longer than it, and
 * holds no ';' (which ends a cookie).
 */
#include "config.h"
#include "fuzz.h"

#include "http/cookie.h"

static void check_value(const char *header, const char *name)
{
    char *value = vf_cookie_value(header, name);
    if (!value)
        return;
    FUZZ_CHECK(header != NULL);
    FUZZ_CHECK(strlen(value) <= strlen(header) && strstr(header, value) != NULL);
    FUZZ_CHECK(strchr(value, ';') == NULL);
    free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *text = fuzz_string(data, size);
    char *f[2];
    fuzz_fields(text, f, 2);
    const char *name = f[0], *header = f[1];
    check_value(header, "vf_access");
    check_value(header, "vf_refresh");
    check_value(header, name);
    /* The whole input as a header, the way a client would send it. */
    check_value(name, "vf_access");
    check_value(NULL, "vf_access");
    free(text);
    return 0;
}
