/*
 * path.h - the request path as handlers and the router see it.
 * Owns: percent-decoding the path of the request target and refusing a
 * path no route may see.  Must not: route, or read anything but the path.
 */
#ifndef VF_HTTP_PATH_H
#define VF_HTTP_PATH_H

/* Percent-decode raw (the path of the parsed request target; '+' stays a
 * '+').  0 with *decoded set; -ENOENT when the decoded path holds a NUL
 * byte or does not start with '/' (404: no route has it), *decoded still
 * set for the access log; -EINVAL when there is no path or no memory
 * (400), *decoded NULL.  The caller frees *decoded. */
int vf_http_path_decode(const char *raw, char **decoded);

#endif
