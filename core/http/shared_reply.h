/*
 * shared_reply.h - answering with bytes made once and shared by many
 * responses (the catalogue, a rendered playlist): Cache-Control, the
 * strong ETag with If-None-Match -> 304, HEAD, the content coding the
 * client accepts (Vary: Accept-Encoding), and the body added to the
 * response by reference, so nothing is copied or encoded per request.
 * Owns: those headers and that choice.  Must not: make or cache the
 * bytes (util/coded_body.c encodes, the caller's cache keeps them).
 */
#ifndef VF_HTTP_SHARED_REPLY_H
#define VF_HTTP_SHARED_REPLY_H

#include <event2/buffer.h>
#include <stddef.h>

#include "http/http.h"
#include "util/coded_body.h"

typedef struct vf_shared_reply {
    const char *content_type;
    const char *cache_control;
    /* Add len bytes at data, which `owner` keeps, to buf without copying,
     * holding a reference to owner until they are written.  0 or
     * -ENOMEM. */
    int (*add_reference)(void *owner, struct evbuffer *buf, const char *data, size_t len);
    void *owner;
} vf_shared_reply_t;

/* 200 with the len bytes at data, encoded with `coding` (etag may be
 * NULL), or 304 when If-None-Match names etag; HEAD gets the headers with
 * the Content-Length alone. */
void vf_reply_shared(vf_req_t *r, const vf_shared_reply_t *how, const char *data, size_t len, const char *etag,
                     vf_coding_t coding);

/* The same for a body kept in every coding: the one Accept-Encoding
 * prefers (the plain body when encoding it fails), with Vary:
 * Accept-Encoding and that coding's ETag. */
void vf_reply_shared_coded(vf_req_t *r, const vf_shared_reply_t *how, vf_coded_body_t *body);

#endif
