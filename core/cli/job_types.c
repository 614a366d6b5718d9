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

void vf_job_types_register(void)
{
    vf_mail_register_jobs();         /* "mail" */
    vf_pipeline_register_jobs();     /* "transcode", "thumbnail" */
    vf_remove_files_register_job();  /* "remove_files" */
}

int vf_cmd_worker(vf_app_t *app, int argc, char **argv)
{
    if (vf_cli_open_log(app, "worker") < 0)
        return VF_EXIT_FAILURE;
    vf_job_types_register();
    /* The worker's own page: its jobs, encoders and heartbeat. */
    vf_metrics_server_t *metrics = NULL;
    if (vf_queue_metrics_register() < 0 ||
        vf_metrics_server_start(app, app->cfg->metrics.worker_listen, "worker", &metrics) < 0)
        return VF_EXIT_FAILURE;
    int status = vf_worker_main(app, argc, argv);
    vf_metrics_server_stop(&metrics);
    return status;
}
