/*
 * events.h - GET /admin/api/events/: Server-Sent Events for the admin's
 * live views.  Events:
 *   job     {"id", "type", "state", "progress"}   a job's state or progress
 *   video   {"id", "op", "state", "progress", "generation"}   a video row
 *   resync  {}   events may have been missed (a slow client's backlog
 *                overflowed, or the feed reconnected): re-read what is shown
 * and a comment line every admin.events_heartbeat seconds.
 *
 * One hub per process (events.c) keeps the clients; the feed thread
 * (events_feed.c) reads Redis pub/sub (the queue publishes every job change
 * on <queue base>:events) and PostgreSQL NOTIFY (vf_admin_videos, from a
 * trigger of sql/005_admin.sql) and hands each event to the hub.
 * Owns: the endpoint, the clients and their backlogs, the feed thread.
 * Must not: read jobs or videos (the pages ask the JSON API).
 */
#ifndef VF_ADMIN_EVENTS_H
#define VF_ADMIN_EVENTS_H

#include "http/router.h"
#include "runtime/app.h"

void vf_admin_events_routes(vf_router_t *router);

/* Start the hub and its feed thread (serve.c, before the HTTP threads).
 * 0 or a negative errno, logged. */
int vf_admin_events_start(vf_app_t *app);
/* After the HTTP threads stopped (their streams are ended by then). */
void vf_admin_events_stop(void);

/* Hand one event to every client (any thread).  data: one line of JSON. */
void vf_admin_events_publish(const char *event, const char *data);
/* Clients connected to this process now. */
int vf_admin_events_clients(void);

/* events_feed.c: the thread, started and stopped by the two above. */
int vf_admin_feed_start(vf_app_t *app);
void vf_admin_feed_stop(void);

#endif
