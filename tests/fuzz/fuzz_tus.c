/*
 * fuzz_tus.c - the tus request headers the upload endpoint reads
 * (core/uploads): Upload-Metadata checked and decoded by
 * vf_upload_metadata_valid/_get, the storage key made from its "filename",
 * and Upload-Length / Upload-Offset read by vf_parse_decimal.  The whole
 * input is each header's value in turn.
 * Checks: a valid header decodes its first key; a source key is
 * "sources/<32 hex digits>" plus a short lower-case extension; a size is
 * what its digits say.
 */
#include "config.h"
#include "fuzz.h"

#include <ctype.h>
#include <inttypes.h>

#include "uploads/upload_store.h"
#include "util/text.h"

static void check_source_key(const char *filename)
{
    char *key = vf_upload_new_source_key(filename);
    FUZZ_CHECK(key != NULL);
    FUZZ_CHECK(strncmp(key, "sources/", 8) == 0 && strspn(key + 8, "0123456789abcdef") == VF_UPLOAD_ID_LEN);
    const char *ext = key + 8 + VF_UPLOAD_ID_LEN;
    if (*ext) {
        FUZZ_CHECK(ext[0] == '.' && strlen(ext) >= 2 && strlen(ext) <= 9);
        for (const char *c = ext + 1; *c; c++)
            FUZZ_CHECK(isdigit((unsigned char)*c) || islower((unsigned char)*c));
    }
    free(key);
}

static void check_size(const char *text)
{
    int64_t v = -1;
    if (vf_parse_decimal(text, &v) != 0)
        return;
    FUZZ_CHECK(v >= 0);
    while (text[0] == '0' && text[1])
        text++;
    char again[24];
    snprintf(again, sizeof again, "%" PRId64, v);
    FUZZ_CHECK(strcmp(again, text) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *header = fuzz_string(data, size);
    int valid = vf_upload_metadata_valid(header);
    FUZZ_CHECK(valid == 0 || valid == 1);
    char *filename = vf_upload_metadata_get(header, "filename");
    char *filetype = vf_upload_metadata_get(header, "filetype");
    /* A key the header names first is found, whatever its value. */
    if (valid && strncmp(header, "filename", 8) == 0 && (header[8] == ' ' || header[8] == ',' || !header[8]))
        FUZZ_CHECK(filename != NULL);
    check_source_key(filename);
    free(filename);
    free(filetype);
    check_source_key(header);
    check_size(header);
    free(header);
    return 0;
}
