/*
 * supervise.c - see supervise.h.  The readiness check connects to
 * PostgreSQL on the main loop, which does nothing else (requests run on
 * the HTTP threads), so a slow connect delays only the next check.  The
 * watchdog pings from the main loop too: they stop when it is stuck.
 */
#include "config.h"
#include "http/supervise.h"
#include "runtime/db.h"
#include "runtime/reload.h"
#include "util/log.h"
#include "util/sd_notify.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define READY_RETRY_MS 500

struct vf_supervise {
    const vf_app_t *app;
    vf_db_t *db;              /* the readiness check's own connection, until ready */
    struct event *ready_ev, *watchdog_ev, *sighup_ev;
    vf_complain_t db_complaint;
    int ready;                /* READY=1 was sent */
};

static void check_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vf_supervise_t *sup = arg;
    const vf_config_t *cfg = sup->app->cfg;
    char err[256], state[512];
    if (vf_db_ping(sup->db, err, sizeof err) != 0) {
        if (vf_complain_should_log(&sup->db_complaint, 60))
            vf_warn("systemd: not ready yet, PostgreSQL does not answer: %s", err);
        snprintf(state, sizeof state, "STATUS=listening on %s:%d, waiting for PostgreSQL",
                 cfg->server.listen_address, cfg->server.port);
        vf_sd_notify(state);
        struct timeval retry = {0, READY_RETRY_MS * 1000};
        event_add(sup->ready_ev, &retry);
        return;
    }
    vf_db_free(&sup->db);
    sup->ready = 1;
    snprintf(state, sizeof state, "READY=1\nSTATUS=serving on %s:%d", cfg->server.listen_address,
             cfg->server.port);
    vf_sd_notify(state);
    vf_info("http: ready (listening, PostgreSQL answers)");
}

static void watchdog_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    vf_sd_notify("WATCHDOG=1");
}

static void on_sighup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vf_supervise_t *sup = arg;
    /* RELOADING=1 ... READY=1 around it once ready (systemd 253 wants the
     * clock with it); before, the server is still starting up. */
    if (sup->ready) {
        struct timespec now;
        char state[64];
        clock_gettime(CLOCK_MONOTONIC, &now);
        snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%lld",
                 (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000);
        vf_sd_notify(state);
    }
    vf_info("http: SIGHUP received, reloading the log settings");
    vf_reload_logging(sup->app->cfg);
    if (sup->ready)
        vf_sd_notify("READY=1");
}

vf_supervise_t *vf_supervise_start(struct event_base *base, const vf_app_t *app)
{
    vf_supervise_t *sup = calloc(1, sizeof *sup);
    if (!sup) {
        vf_error("http: out of memory");
        return NULL;
    }
    sup->app = app;
    sup->db = vf_db_new(app->cfg);
    sup->ready_ev = evtimer_new(base, check_ready, sup);
    sup->sighup_ev = evsignal_new(base, SIGHUP, on_sighup, sup);
    struct timeval now = {0, 0};
    if (!sup->db || !sup->ready_ev || !sup->sighup_ev || event_add(sup->ready_ev, &now) != 0 ||
        event_add(sup->sighup_ev, NULL) != 0)
        goto fail;
    uint64_t usec = vf_sd_watchdog_usec();
    if (usec) {
        /* Half the manager's timeout, as sd_watchdog_enabled(3) advises. */
        struct timeval every = {(time_t)(usec / 2 / 1000000), (suseconds_t)(usec / 2 % 1000000)};
        sup->watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_ping, sup);
        if (!sup->watchdog_ev || event_add(sup->watchdog_ev, &every) != 0)
            goto fail;
        vf_sd_notify("WATCHDOG=1");
    }
    return sup;
fail:
    vf_error("http: cannot set up the readiness, watchdog and SIGHUP events");
    vf_supervise_free(&sup);
    return NULL;
}

void vf_supervise_stopping(vf_supervise_t *sup)
{
    if (sup)
        vf_sd_notify("STOPPING=1");
}

void vf_supervise_free(vf_supervise_t **psup)
{
    vf_supervise_t *sup = *psup;
    if (!sup)
        return;
    if (sup->ready_ev)
        event_free(sup->ready_ev);
    if (sup->watchdog_ev)
        event_free(sup->watchdog_ev);
    if (sup->sighup_ev)
        event_free(sup->sighup_ev);
    vf_db_free(&sup->db);
    free(sup);
    *psup = NULL;
}
