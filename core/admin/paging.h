/*
 * paging.h - what every list and change of the admin API starts and ends
 * with: the staff check with the page parameters (http/paging.h), and the
 * answer to a failure of PostgreSQL or Redis.
 * Owns: those two.  Must not: know what is listed.
 */
#ifndef VF_ADMIN_PAGING_H
#define VF_ADMIN_PAGING_H

#include "http/http.h"
#include "http/paging.h"

/* The staff check, then vf_page_params.  0, or -1 after answering. */
int vf_admin_page_params(vf_req_t *r, int *limit, const char **cursor);
/* 503 with Retry-After when PostgreSQL or Redis is unreachable (-ECONNRESET),
 * else 500 naming what failed (logged with the reason). */
void vf_admin_reply_failure(vf_req_t *r, int ret, const char *what);

#endif
