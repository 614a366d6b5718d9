/*
 * origin_check.h - refuses state-changing requests sent by pages of other
 * sites.  The session travels in cookies, so a form or script elsewhere
 * could otherwise act as the user: a POST/PUT/PATCH/DELETE whose Origin
 * (or, without one, Referer) is neither in server.cors_origins nor the
 * server's own server.public_origin gets 403.  Requests with neither header
 * (API tools, curl) are let through: a browser always sends one of them on
 * a cross-site request that could carry cookies.
 * Owns: that rule.  Must not: know any endpoint.
 */
#ifndef VF_ORIGIN_CHECK_H
#define VF_ORIGIN_CHECK_H

#include "config/conf.h"
#include "http/http.h"

/* 1 when a request with these headers (either may be NULL) may change
 * state, 0 when it must be refused. */
int vf_origin_allowed(const vf_config_t *cfg, const char *origin, const char *referer);

/* http.c calls this for every routed request, before its handler: 0 to go
 * on, or -1 after answering 403.  Safe methods (GET, HEAD, OPTIONS) pass. */
int vf_origin_check(vf_req_t *r);

#endif
