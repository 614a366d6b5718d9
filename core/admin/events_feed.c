/*
 * events_feed.c - the thread that feeds the event hub (events.h): it
 * SUBSCRIBEs to the queue's job events in Redis and LISTENs for the video,
 * user and audit notifications of PostgreSQL, on connections of its own, and waits on both
 * sockets at once.  When either connection is lost it says `resync` to the
 * clients (events may have been missed meanwhile) and tries again every
 * second.
 * Owns: that thread and its two connections.  Must not: touch a client.
 */
#include "config.h"
#include "admin/events.h"

#include "jobs/queue.h"
#include "runtime/db.h"
#include "runtime/redis.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define RETRY_MS 1000

/* PostgreSQL's channels (sql/006_admin.sql, 008_admin_live.sql) and the
 * event each becomes. */
static const struct {
    const char *channel, *event;
} pg_channels[] = {
    {"vf_admin_videos", "video"},
    {"vf_admin_users", "user"},
    {"vf_admin_audit", "audit"},
};
#define N_PG_CHANNELS (sizeof pg_channels / sizeof pg_channels[0])

static struct {
    vf_thread_ctx_t ctx;      /* the thread's own PostgreSQL and Redis */
    pthread_t tid;
    int wake[2];
    int running;
} feed = {.wake = {-1, -1}};

static int subscribe(void)
{
    redisContext *c = vf_redis_context(feed.ctx.redis);
    if (!c)
        return -1;
    char channel[512];
    vf_queue_events_channel(&feed.ctx, channel, sizeof channel);
    redisReply *rep = redisCommand(c, "SUBSCRIBE %s", channel);
    int ok = rep && rep->type == REDIS_REPLY_ARRAY;
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : -1;
}

/* Pass on every complete message hiredis holds.  -1 on a broken connection. */
static int drain_redis(redisContext *c)
{
    for (;;) {
        redisReply *rep = NULL;
        if (redisGetReplyFromReader(c, (void **)&rep) != REDIS_OK)
            return -1;
        if (!rep)
            return 0;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 && rep->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(rep->element[0]->str, "message") == 0 && rep->element[2]->type == REDIS_REPLY_STRING)
            vf_admin_events_publish("job", rep->element[2]->str);
        freeReplyObject(rep);
    }
}

static void drain_pg(PGconn *conn)
{
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        for (size_t i = 0; i < N_PG_CHANNELS; i++)
            if (strcmp(n->relname, pg_channels[i].channel) == 0)
                vf_admin_events_publish(pg_channels[i].event, n->extra);
        PQfreemem(n);
    }
}

/* LISTEN on every channel: 0, or -1 when PostgreSQL is not reachable. */
static int listen_all(void)
{
    for (size_t i = 0; i < N_PG_CHANNELS; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "LISTEN %s", pg_channels[i].channel);
        if (vf_db_run(feed.ctx.db, sql, 0, NULL) != 0)
            return -1;
    }
    return 0;
}

static void *feed_main(void *arg)
{
    (void)arg;
    int subscribed = 0, listening = 0;
    vf_complain_t complain = {0};
    for (;;) {
        int was = subscribed && listening;
        if (!subscribed)
            subscribed = subscribe() == 0;
        PGconn *conn = vf_db_conn(feed.ctx.db);
        if (!listening)
            listening = conn && listen_all() == 0;
        if (subscribed && listening && !was) {
            if (complain.interval > 0)
                vf_info("events: following job, video, user and audit changes again");
            vf_complain_reset(&complain);
            vf_admin_events_publish("resync", "{}");
        } else if (!(subscribed && listening) && vf_complain_should_log(&complain, 60)) {
            vf_warn("events: cannot follow %s; live views are behind until it is back",
                    subscribed ? "video, user and audit changes in PostgreSQL" : "job changes in Redis");
        }
        redisContext *rc = subscribed ? vf_redis_context(feed.ctx.redis) : NULL;
        if (subscribed && (!rc || drain_redis(rc) < 0)) {
            subscribed = 0;
            continue;
        }
        if (listening)
            drain_pg(conn);
        struct pollfd pf[3] = {{.fd = feed.wake[0], .events = POLLIN},
                               {.fd = rc ? rc->fd : -1, .events = POLLIN},
                               {.fd = listening ? PQsocket(conn) : -1, .events = POLLIN}};
        int rc_poll = poll(pf, 3, subscribed && listening ? -1 : RETRY_MS);
        if (rc_poll < 0 && errno != EINTR)
            break;
        if (rc_poll > 0 && pf[0].revents)
            break;
        if (rc_poll > 0 && rc && pf[1].revents && (redisBufferRead(rc) != REDIS_OK || drain_redis(rc) < 0))
            subscribed = 0; /* rc->err is set: vf_redis_context reconnects */
        if (rc_poll > 0 && listening && pf[2].revents && !PQconsumeInput(conn)) {
            listening = 0;
            PQreset(conn);
        }
    }
    return NULL;
}

int vf_admin_feed_start(vf_app_t *app)
{
    if (feed.running)
        return 0;
    if (vf_thread_ctx_init(&feed.ctx, app, -1) != 0) {
        vf_error("events: cannot start the feed (out of memory)");
        return -ENOMEM;
    }
    if (pipe2(feed.wake, O_CLOEXEC) != 0) {
        int err = errno;
        vf_thread_ctx_fini(&feed.ctx);
        vf_error("events: cannot start the feed: %s", strerror(err));
        return -err;
    }
    int rc = pthread_create(&feed.tid, NULL, feed_main, NULL);
    if (rc != 0) {
        close(feed.wake[0]);
        close(feed.wake[1]);
        feed.wake[0] = feed.wake[1] = -1;
        vf_thread_ctx_fini(&feed.ctx);
        vf_error("events: cannot start the feed thread: %s", strerror(rc));
        return -rc;
    }
    feed.running = 1;
    return 0;
}

void vf_admin_feed_stop(void)
{
    if (!feed.running)
        return;
    if (write(feed.wake[1], "x", 1) != 1)
        vf_warn("events: cannot wake the feed thread: %s", strerror(errno));
    pthread_join(feed.tid, NULL);
    close(feed.wake[0]);
    close(feed.wake[1]);
    feed.wake[0] = feed.wake[1] = -1;
    vf_thread_ctx_fini(&feed.ctx);
    feed.running = 0;
}
