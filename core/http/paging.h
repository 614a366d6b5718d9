/*
 * paging.h - the keyset pages lists of the admin API answer with:
 * ?limit=N (1..200, default 50) and ?cursor=C (opaque to clients: the
 * `next` of the previous page), and the reply {"results": [...],
 * "next": C | null}.
 * Owns: reading those two parameters and the page's shape.  Must not:
 * know what is listed (each list makes its own cursor) or who may list it.
 */
#ifndef VF_HTTP_PAGING_H
#define VF_HTTP_PAGING_H

#include <jansson.h>

#include "http/http.h"

#define VF_PAGE_DEFAULT 50
#define VF_PAGE_MAX 200

/* The limit and cursor (NULL when absent) of r.  0, or -1 after answering
 * 400 for a limit that is not a number in range. */
int vf_page_params(vf_req_t *r, int *limit, const char **cursor);
/* Answer 200 with the page; results stolen, next NULL or "" for none. */
void vf_page_reply(vf_req_t *r, json_t *results, const char *next);

#endif
