/*
 * fuzz_keypath.c - the storage key grammar of storage_local
 * (plugins/storage_local/keypath.c): the text checks every operation makes
 * before it touches the disk, and the segment walk that follows them.
 * Keys reach it from the API (/media/<key>, upload file names) and from the
 * database.  The plugin's host API is the core's own.
 * Checks: an accepted key is 1..1024 bytes of UTF-8 without control
 * characters or backslashes, relative, made of segments of 1..255 bytes
 * that are neither "." nor "..", not inside ".uploads/", and its segments
 * put back together give the key; a refused key says why.
 */
#include "config.h"
#include "fuzz.h"

#include <errno.h>

#include "plugins/loader.h"
#include "storage_local.h"

static void check_accepted(const char *key)
{
    size_t len = strlen(key);
    FUZZ_CHECK(len >= 1 && len <= SL_KEY_MAX && key[0] != '/' && !strchr(key, '\\'));
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK((unsigned char)key[i] >= 0x20 && key[i] != 0x7f);
    FUZZ_CHECK(strncmp(key, SL_UPLOADS_DIR "/", strlen(SL_UPLOADS_DIR) + 1) != 0);
    size_t n = sl_key_segments(key);
    FUZZ_CHECK(n >= 1 && n <= len);
    char *joined = calloc(len + 1, 1);
    FUZZ_CHECK(joined != NULL);
    for (size_t i = 0; i < n; i++) {
        char name[SL_SEGMENT_MAX + 1];
        sl_key_segment(key, i, name);
        size_t nlen = strlen(name);
        FUZZ_CHECK(nlen >= 1 && nlen <= SL_SEGMENT_MAX && strcmp(name, ".") && strcmp(name, ".."));
        if (i)
            strcat(joined, "/");
        strcat(joined, name);
    }
    FUZZ_CHECK(strcmp(joined, key) == 0);
    free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *key = fuzz_string(data, size);
    sl_state_t st = {.host = &vf_host_api};
    vf_error_t err = {0};
    int rc = sl_key_check(&st, key, &err);
    if (rc == 0)
        check_accepted(key);
    else
        FUZZ_CHECK(rc == -EINVAL && err.message[0]);
    free(key);
    return 0;
}
