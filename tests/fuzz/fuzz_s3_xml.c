/*
 * fuzz_s3_xml.c - the XML answers of an S3 server as storage_s3 reads them
 * (plugins/storage_s3/s3_xml.c): the elements it looks for, and escaping
 * a key for CompleteMultipartUpload.  An S3 server, or whatever answers in
 * its place, is not trusted with memory.
 * Checks: an element's text is never longer than the answer; text escaped
 * and put in an element reads back as it was.
 */
#include "config.h"
#include "fuzz.h"

#include "s3_xml.h"

static const char *const elements[] = {"Code", "Message", "UploadId", "ETag", "Key", "Error", "Bucket", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *xml = fuzz_string(data, size);
    for (size_t i = 0; i < sizeof elements / sizeof elements[0]; i++) {
        char *text = s3_xml_text(xml, elements[i]);
        if (text) {
            FUZZ_CHECK(s3_xml_has(xml, elements[i]));
            FUZZ_CHECK(strlen(text) <= strlen(xml));
            free(text);
        }
    }
    char *escaped = s3_xml_escape(xml);
    FUZZ_CHECK(escaped != NULL && strpbrk(escaped, "<>\"'") == NULL);
    size_t len = strlen(escaped) + 32;
    char *doc = malloc(len);
    FUZZ_CHECK(doc != NULL);
    snprintf(doc, len, "<Key>%s</Key>", escaped);
    char *back = s3_xml_text(doc, "Key");
    FUZZ_CHECK(back != NULL && strcmp(back, xml) == 0);
    free(back);
    free(doc);
    free(escaped);
    free(xml);
    return 0;
}
