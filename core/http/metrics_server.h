/*
 * metrics_server.h - GET /metrics on a listener of its own (the setting
 * metrics.listen for `serve`, metrics.worker_listen for `worker`), never
 * on the public API's: one thread with its own event base, evhttp and
 * database and Redis connections, which the collectors use at scrape time.
 * Owns: that thread and its socket.  Must not: serve anything but
 * /metrics, or touch the API server's threads.
 */
#ifndef VF_HTTP_METRICS_SERVER_H
#define VF_HTTP_METRICS_SERVER_H

#include "runtime/app.h"

typedef struct vf_metrics_server vf_metrics_server_t;

/* Listen on `listen` (host:port; "" means no listener: *out stays NULL)
 * and serve the page of `role` ("server", "worker") until stopped.
 * 0, or a negative errno after logging why. */
int vf_metrics_server_start(vf_app_t *app, const char *listen, const char *role, vf_metrics_server_t **out);
/* Stop the thread, close the socket, free; *s becomes NULL. */
void vf_metrics_server_stop(vf_metrics_server_t **s);

#endif
