/*
 * server.h - the HTTP server: N threads, each with its own event_base,
 * evhttp and vf_thread_ctx_t, accepting on dup()s of one listening socket.
 * Owns: the listener, the loop threads, dispatch through the router (path
 * decoding, body limits, preflights, 404/405/413, the Origin check), and a
 * graceful stop on SIGTERM/SIGINT.
 * Must not: start process-wide services (core/cli/serve.c does, before the
 * server) or know any endpoint's meaning.
 */
#ifndef VF_HTTP_SERVER_H
#define VF_HTTP_SERVER_H

#include "http/router.h"
#include "runtime/app.h"

typedef struct vf_http_server vf_http_server_t;

/* Open the listener and set up server.threads loop threads, each with its
 * own database and Redis connection.  NULL, with the reason logged, when
 * the address cannot be bound or a thread cannot be set up.  The router is
 * borrowed and must outlive the server. */
vf_http_server_t *vf_http_server_new(vf_app_t *app, const vf_router_t *router);
/* Serve until SIGTERM or SIGINT, then stop accepting, finish the responses
 * in flight (at most server.shutdown_timeout) and return 0; -1 when the
 * threads could not be started. */
int vf_http_server_run(vf_http_server_t *srv);
void vf_http_server_free(vf_http_server_t **srv);
/* Block (SIG_BLOCK) or unblock (SIG_UNBLOCK) SIGTERM and SIGINT in the
 * calling thread.  `serve` blocks them before any thread starts, so that
 * every thread inherits the mask and a stop asked during start-up waits
 * for the server's handlers; vf_http_server_run unblocks them once those
 * are in place.  0, or -1 with the reason logged. */
int vf_http_stop_signals(int how);

#endif
