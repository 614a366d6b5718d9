/*
 * serve.c - `videoflix serve`, the composition root of the API server: it
 * starts every process-wide service explicitly, in order, before the first
 * request can need it, and stops them in reverse order after the last
 * response is written.  A service that cannot start stops the process here,
 * with a message, instead of surfacing later as a 503.
 * Must not: hold request logic (handlers live in their modules, routes.c
 * lists them).
 */
#include "config.h"
#include "accounts/password.h"
#include "accounts/sessions.h"
#include "admin/events.h"
#include "catalog/content_cache.h"
#include "catalog/playlist_cache.h"
#include "cli/cli.h"
#include "http/metrics_server.h"
#include "http/offload.h"
#include "http/router.h"
#include "http/server.h"
#include "jobs/queue.h"
#include "jobs/queue_metrics.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>

int vf_cmd_serve(vf_app_t *app, int argc, char **argv)
{
    const vf_config_t *cfg = app->cfg;
    int status = VF_EXIT_FAILURE;
    vf_router_t *router = NULL;
    vf_http_server_t *server = NULL;
    vf_outbox_relay_t *relay = NULL;
    vf_metrics_server_t *metrics = NULL;
    int sessions = 0, catalog = 0, events = 0;

    if (argc > 1) {
        fprintf(stderr, "videoflix serve: takes no arguments (%s)\n", argv[1]);
        return VF_EXIT_USAGE;
    }
    if (vf_cli_require_secret_key(app, "serve") < 0)
        return VF_EXIT_FAILURE;
    if (vf_cli_open_log(app, "serve") < 0)
        return VF_EXIT_FAILURE;
    /* A client that goes away mid-response must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    /* A stop asked during start-up (systemd, a test that saw the port
     * open) must end cleanly, not by the default action. */
    if (vf_http_stop_signals(SIG_BLOCK) < 0)
        return VF_EXIT_FAILURE;
    char err[1024];
    if (vf_app_load_plugins(app, 1, 0, err, sizeof err) < 0) {
        vf_error("%s", err);
        return VF_EXIT_FAILURE;
    }
    if (vf_password_pool_start(cfg->auth.hash_threads) < 0) {
        vf_error("serve: cannot start the password hashing threads");
        goto out;
    }
    if (vf_offload_storage_start(app) < 0) {
        vf_error("serve: cannot start the storage threads");
        goto out;
    }
    if (vf_sessions_start(app) < 0)
        goto out;
    sessions = 1;
    if (vf_catalog_start(app) < 0)
        goto out;
    catalog = 1;
    if (vf_admin_events_start(app) < 0)
        goto out;
    events = 1;
    /* Jobs recorded while Redis was away reach it from here too. */
    relay = vf_outbox_relay_start(app);
    if (!relay) {
        vf_error("serve: cannot start the outbox relay");
        goto out;
    }
    if (vf_queue_metrics_register() < 0 ||
        vf_metrics_server_start(app, cfg->metrics.listen, "server", &metrics) < 0)
        goto out;
    router = vf_router_new();
    if (!router) {
        vf_error("serve: out of memory");
        goto out;
    }
    vf_routes_register(router);
    server = vf_http_server_new(app, router);
    if (!server)
        goto out;
    if (vf_http_server_run(server) == 0)
        status = VF_EXIT_OK;

out:
    /* Finished pool jobs post to the loops' event bases: stop the pools
     * (password hashing, storage) before the server frees those bases. */
    vf_offload_stop_all();
    vf_http_server_free(&server);
    vf_router_free(&router);
    vf_metrics_server_stop(&metrics);
    if (events)
        vf_admin_events_stop();
    vf_outbox_relay_stop(&relay);
    if (catalog)
        vf_catalog_stop();
    vf_playlist_cache_clear();
    if (sessions)
        vf_sessions_stop();
    if (status == VF_EXIT_OK)
        vf_info("http: stopped");
    return status;
}
