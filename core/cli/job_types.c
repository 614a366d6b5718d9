/*
 * job_types.c - the one list of every job type `videoflix worker` runs,
 * like routes.c for HTTP routes: a subsystem with background work adds one
 * line here, so the job queue never depends on the subsystems it serves.
 */
#include "config.h"
#include "accounts/mail.h"
#include "cli/cli.h"
#include "http/metrics_server.h"
#include "jobs/queue_metrics.h"
#include "jobs/worker.h"
#include "pipeline/pipeline.h"
#include "storage/remove_files.h"

#include <stdio.h>
#include <string.h>

void vf_job_types_register(void)
{
    vf_mail_register_jobs();         /* "mail" */
    vf_pipeline_register_jobs();     /* "transcode", "thumbnail" */
    vf_remove_files_register_job();  /* "remove_files" */
}

/* Take "--metrics-listen ADDR" (or "=ADDR") out of argv: each worker
 * process on a host needs a port of its own, and they share one
 * configuration file.  0, or -1 when ADDR is missing. */
static int take_metrics_listen(int *argc, char **argv, const char **listen)
{
    static const char opt[] = "--metrics-listen";
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        size_t n = sizeof opt - 1;
        if (strncmp(argv[i], opt, n) == 0 && argv[i][n] == '=') {
            *listen = argv[i] + n + 1;
        } else if (strcmp(argv[i], opt) == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "videoflix worker: --metrics-listen needs HOST:PORT\n");
                return -1;
            }
            *listen = argv[++i];
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int vf_cmd_worker(vf_app_t *app, int argc, char **argv)
{
    const char *metrics_listen = app->cfg->metrics.worker_listen;
    if (take_metrics_listen(&argc, argv, &metrics_listen) < 0)
        return VF_EXIT_USAGE;
    if (vf_cli_open_log(app, "worker") < 0)
        return VF_EXIT_FAILURE;
    vf_job_types_register();
    /* The worker's own page: its jobs, encoders and heartbeat. */
    vf_metrics_server_t *metrics = NULL;
    if (vf_queue_metrics_register() < 0 ||
        vf_metrics_server_start(app, metrics_listen, "worker", &metrics) < 0)
        return VF_EXIT_FAILURE;
    int status = vf_worker_main(app, argc, argv);
    vf_metrics_server_stop(&metrics);
    return status;
}
