/*
 * accept_encoding.h - which content coding a response may use, from the
 * request's Accept-Encoding (RFC 9110 section 12.5.3).
 * Owns: parsing that header.  Must not: read a request or compress (the
 * caller passes the header value; util/compress.c encodes).
 */
#ifndef VF_HTTP_ACCEPT_ENCODING_H
#define VF_HTTP_ACCEPT_ENCODING_H

#include "util/compress.h"

/* The coding to answer with: of br and gzip, the one with the higher
 * q-value ("*" stands for a coding not named), br on a tie; identity when
 * the header is absent, malformed, or gives both q=0. */
vf_coding_t vf_accepted_coding(const char *accept_encoding);

#endif
