/*
 * shared_reply.c - see shared_reply.h.
 */
#include "config.h"
#include "http/shared_reply.h"
#include "http/accept_encoding.h"
#include "http/range.h"

#include <stdio.h>

void vf_reply_shared(vf_req_t *r, const vf_shared_reply_t *how, const char *data, size_t len, const char *etag,
                     vf_coding_t coding)
{
    vf_reply_header(r, "Cache-Control", how->cache_control);
    if (vf_coding_name(coding))
        vf_reply_header(r, "Content-Encoding", vf_coding_name(coding));
    if (etag)
        vf_reply_header(r, "ETag", etag);
    const char *inm = etag ? vf_req_header(r, "If-None-Match") : NULL;
    if (inm && vf_etag_list_matches(inm, etag)) {
        vf_reply_buffer(r, 304, NULL, NULL);
        return;
    }
    if (r->method == VF_HEAD) {
        char length[24];
        snprintf(length, sizeof length, "%zu", len);
        vf_reply_header(r, "Content-Length", length);
        vf_reply_buffer(r, 200, how->content_type, NULL);
        return;
    }
    struct evbuffer *buf = evbuffer_new();
    if (!buf || how->add_reference(how->owner, buf, data, len) < 0) {
        if (buf)
            evbuffer_free(buf);
        vf_reply_msg(r, 500, "detail", "Out of memory.");
        return;
    }
    vf_reply_buffer(r, 200, how->content_type, buf);
    evbuffer_free(buf);
}

void vf_reply_shared_coded(vf_req_t *r, const vf_shared_reply_t *how, vf_coded_body_t *body)
{
    vf_reply_header(r, "Vary", "Accept-Encoding");
    vf_coding_t coding = vf_accepted_coding(vf_req_header(r, "Accept-Encoding"));
    const char *data, *etag;
    size_t len;
    if (vf_coded_body_get(body, coding, &data, &len, &etag) < 0) {
        coding = VF_CODING_IDENTITY;
        vf_coded_body_get(body, coding, &data, &len, &etag);
    }
    vf_reply_shared(r, how, data, len, etag, coding);
}
