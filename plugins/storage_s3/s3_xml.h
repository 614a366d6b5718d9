/*
 * s3_xml.h - the little XML that S3 speaks: the text of one element of an
 * answer (<Code>, <Message>, <UploadId>), and escaping text for the
 * CompleteMultipartUpload request.  S3's answers are flat, machine-written
 * documents whose element names are unique where we look, so finding the
 * element is enough; no XML library is needed.
 */
#ifndef VF_S3_XML_H
#define VF_S3_XML_H

/* The decoded text of the first <element> in the NUL-terminated xml
 * (malloc()ed), or NULL when it is absent or memory runs out. */
char *s3_xml_text(const char *xml, const char *element);

/* 1 when xml contains an <element> start tag. */
int s3_xml_has(const char *xml, const char *element);

/* s with & < > " ' escaped (malloc()ed), or NULL when out of memory. */
char *s3_xml_escape(const char *s);

#endif
