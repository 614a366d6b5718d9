/*
 * json_body.c - see json_body.h.  vf_req_json() parses every request body
 * through this; the fuzz harness tests/fuzz/fuzz_json_body.c feeds it
 * bodies and hands the objects to the routes' validators.
 */
#include "config.h"
#include "http/json_body.h"

#include <stdio.h>

json_t *vf_json_body_parse(const unsigned char *body, size_t len, char *msg, size_t msglen)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j && json_is_object(j))
        return j;
    if (j)
        snprintf(msg, msglen, "JSON parse error - expected an object");
    else
        snprintf(msg, msglen, "JSON parse error - %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    json_decref(j);
    return NULL;
}
