/*
 * pages.h - the admin's pages under /admin/: the files of admin.static_dir
 * (HTML, CSS, JavaScript modules, the tus-js-client bundle), each with a
 * strict Content-Security-Policy.  A page asked for without a staff access
 * token gets the sign-in page instead; the data only ever comes from
 * /admin/api/, which checks staff itself.
 * Owns: that route, the file lookup and the security headers of the pages.
 * Must not: put data into a page (the pages fetch it).
 */
#ifndef VF_ADMIN_PAGES_H
#define VF_ADMIN_PAGES_H

#include "http/router.h"

/* Register after every /admin/api/ route: the catch-all of /admin/ matches
 * what they do not. */
void vf_admin_pages_routes(vf_router_t *router);

/* The Content-Security-Policy of every page. */
#define VF_ADMIN_CSP                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                   \
    "img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; font-src 'self'; " \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

#endif
