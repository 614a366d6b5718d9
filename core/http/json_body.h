/*
 * json_body.h - a request body read as the JSON object every API body is.
 * Owns: what counts as an object body and the wording of the parse error.
 * Must not: reply (vf_req_json in request.c answers the 400).
 */
#ifndef VF_HTTP_JSON_BODY_H
#define VF_HTTP_JSON_BODY_H

#include <jansson.h>
#include <stddef.h>

/* The body [body, body+len) as a JSON object (a new reference); an empty or
 * all-white-space body is an empty object.  NULL for malformed JSON, a
 * duplicated key or anything but an object, with the 400 message
 * ("JSON parse error - ...") in msg. */
json_t *vf_json_body_parse(const unsigned char *body, size_t len, char *msg, size_t msglen);

#endif
