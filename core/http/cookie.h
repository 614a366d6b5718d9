/*
 * cookie.h - reading one cookie out of a Cookie request header.
 * Owns: the Cookie header's syntax as browsers send it.  Must not: know
 * what any cookie means (accounts/auth.c does).
 */
#ifndef VF_HTTP_COOKIE_H
#define VF_HTTP_COOKIE_H

/* The value of the first cookie called `name` in a Cookie header value
 * ("a=1; b=2"), without surrounding double quotes; malloc()ed, or NULL when
 * the header (which may be NULL) has none or memory runs out. */
char *vf_cookie_value(const char *header, const char *name);

#endif
