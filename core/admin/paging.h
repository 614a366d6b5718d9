/*
 * paging.h - the keyset pages every list of the admin API answers with:
 * ?limit=N (1..200, default 50) and ?cursor=C (opaque to clients: the
 * `next` of the previous page), and the reply {"results": [...],
 * "next": C | null}.
 * Owns: reading those two parameters and the page's shape.  Must not:
 * know what is listed (each list makes its own cursor).
 */
#ifndef VF_ADMIN_PAGING_H
#define VF_ADMIN_PAGING_H

#include <jansson.h>

#include "http/http.h"

#define VF_PAGE_DEFAULT 50
#define VF_PAGE_MAX 200

/* The staff check, then the limit and cursor (NULL when absent) of r.
 * 0, or -1 after answering (401/403, or 400 for a limit that is not a
 * number in range). */
int vf_page_params(vf_req_t *r, int *limit, const char **cursor);
/* Answer 200 with the page; results stolen, next NULL or "" for none. */
void vf_page_reply(vf_req_t *r, json_t *results, const char *next);
/* 503 with Retry-After when PostgreSQL or Redis is unreachable (-ECONNRESET),
 * else 500 naming what failed (logged with the reason). */
void vf_admin_reply_failure(vf_req_t *r, int ret, const char *what);

#endif
