/*
 * s3_xml.h - the little XML that S3 speaks: the text of one element of an
 * answer (<Code>, <Message>, <UploadId>) or of each of its repeated ones
 * (<Key> of a listing), and escaping text for the CompleteMultipartUpload
 * and DeleteObjects requests.  S3's answers are flat, machine-written
 * documents whose element names are unique where we look, so finding the
 * element is enough; no XML library is needed.
 */
#ifndef VF_S3_XML_H
#define VF_S3_XML_H

/* The decoded text of the first <element> in the NUL-terminated xml
 * (malloc()ed), or NULL when it is absent or memory runs out. */
char *s3_xml_text(const char *xml, const char *element);

/* The same for the first <element> at or after xml, and where the
 * element ends in *after (may be NULL), to walk repeated elements:
 * <Contents> of a listing, <Error> of a DeleteObjects answer. */
char *s3_xml_next(const char *xml, const char *element, const char **after);

/* The raw content of the first <element> at or after xml (entities and
 * child elements as they are): its start, with *end at its closing tag
 * and *after (may be NULL) past it; NULL when absent or unclosed. */
const char *s3_xml_span(const char *xml, const char *element, const char **end, const char **after);

/* 1 when the document's root element is <element> (after any declaration
 * and comments): an <Error> answer, not a <DeleteResult> listing errors. */
int s3_xml_root_is(const char *xml, const char *element);

/* s with & < > " ' escaped (malloc()ed), or NULL when out of memory. */
char *s3_xml_escape(const char *s);

#endif
