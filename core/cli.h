/*
 * cli.h - the subcommands of the videoflix binary.  main.c parses the
 * global options, loads the configuration and dispatches here; each command
 * lives with the subsystem it drives and returns the process exit status
 * (0 ok, 1 failure, 2 usage error).
 * Must not: parse the configuration itself or touch another command's state.
 */
#ifndef VF_CLI_H
#define VF_CLI_H

#include "app.h"

#define VF_EXIT_OK 0
#define VF_EXIT_FAILURE 1
#define VF_EXIT_USAGE 2

int vf_cmd_serve(vf_app_t *app, int argc, char **argv);          /* http.c */
int vf_cmd_worker(vf_app_t *app, int argc, char **argv);         /* worker.c */
int vf_cmd_jobs(vf_app_t *app, int argc, char **argv);           /* jobs_cli.c */
int vf_cmd_workers(vf_app_t *app, int argc, char **argv);        /* jobs_cli.c */
int vf_cmd_migrate(vf_app_t *app, int argc, char **argv);        /* main.c */
int vf_cmd_createsuperuser(vf_app_t *app, int argc, char **argv);/* users_cli.c */
int vf_cmd_check_config(vf_app_t *app, int argc, char **argv);   /* main.c */
int vf_cmd_video(vf_app_t *app, int argc, char **argv);          /* video_cli.c */

/* Read a line from the terminal without echo (for passwords). */
char *vf_cli_prompt(const char *prompt, int secret);

#endif
