/*
 * supervise.h - the API server's side of its service manager, on the main
 * loop of server.c: READY=1 once the listener is open (the caller's
 * promise) and PostgreSQL answers, WATCHDOG=1 pings while WATCHDOG_USEC is
 * set, STOPPING=1 at shutdown, and SIGHUP reloading the log settings
 * (runtime/reload.h).  Without NOTIFY_SOCKET the notifications are no-ops
 * and SIGHUP still reloads.
 * Owns: those events and timers.  Must not: serve requests or stop the
 * server (server.c does on SIGTERM/SIGINT).
 */
#ifndef VF_SUPERVISE_H
#define VF_SUPERVISE_H

#include <event2/event.h>

#include "runtime/app.h"

typedef struct vf_supervise vf_supervise_t;

/* Add the events to `base` (the listener is open already).  NULL when out
 * of memory or libevent refuses an event (logged). */
vf_supervise_t *vf_supervise_start(struct event_base *base, const vf_app_t *app);
/* STOPPING=1: the manager waits for the exit instead of calling it hung. */
void vf_supervise_stopping(vf_supervise_t *sup);
void vf_supervise_free(vf_supervise_t **psup);

#endif
