/*
 * fuzz_s3_xml.c - the XML answers of an S3 server as storage_s3 reads them
 * (plugins/storage_s3/s3_xml.c): the elements it looks for, one or each
 * in turn, the root element, and escaping a key for CompleteMultipartUpload
 * and DeleteObjects.  An S3 server, or whatever answers in
 * its place, is not trusted with memory.
 * Checks: an element's text is never longer than its raw content, which
 * lies inside the answer; a walk over repeated elements moves forward and
 * ends; text escaped and put in an element reads back as it was.
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
    const char *xml_end = xml + strlen(xml);
    for (size_t i = 0; i < sizeof elements / sizeof elements[0]; i++) {
        char *text = s3_xml_text(xml, elements[i]);
        if (text) {
            const char *end = NULL, *after = NULL;
            const char *start = s3_xml_span(xml, elements[i], &end, &after);
            FUZZ_CHECK(start != NULL && start <= end && end <= after && after <= xml_end);
            FUZZ_CHECK(strlen(text) <= (size_t)(end - start));
            free(text);
        }
        /* Walking repeated elements always moves forward and ends. */
        const char *at = xml;
        for (char *each; (each = s3_xml_next(at, elements[i], &at)) != NULL;) {
            FUZZ_CHECK(at > xml && at <= xml_end);
            free(each);
        }
        (void)s3_xml_root_is(xml, elements[i]);
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
