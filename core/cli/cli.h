/*
 * cli.h - the subcommands of the videoflix binary.  main.c parses the
 * global options, loads the configuration and dispatches here; each command
 * is a file of this folder that drives its subsystems' APIs and returns the
 * process exit status (util/exit.h).
 * Must not: parse the configuration itself or touch another command's state.
 */
#ifndef VF_CLI_H
#define VF_CLI_H

#include "runtime/app.h"
#include "util/exit.h"


int vf_cmd_serve(vf_app_t *app, int argc, char **argv);          /* serve.c */
int vf_cmd_worker(vf_app_t *app, int argc, char **argv);         /* job_types.c */
int vf_cmd_jobs(vf_app_t *app, int argc, char **argv);           /* jobs_cli.c */
int vf_cmd_workers(vf_app_t *app, int argc, char **argv);        /* jobs_cli.c */
int vf_cmd_migrate(vf_app_t *app, int argc, char **argv);        /* main.c */
int vf_cmd_createsuperuser(vf_app_t *app, int argc, char **argv);/* users_cli.c */
int vf_cmd_check_config(vf_app_t *app, int argc, char **argv);   /* main.c */
int vf_cmd_video(vf_app_t *app, int argc, char **argv);          /* video_cli.c */
int vf_cmd_import_django(vf_app_t *app, int argc, char **argv);  /* import_django.c */

/* The HTTP routes of every module (routes.c) and the job types of every
 * subsystem (job_types.c): the two tables a new feature adds a line to. */
struct vf_router;
void vf_routes_register(struct vf_router *router);
void vf_job_types_register(void);

/* 0 when auth.secret_key is set; else -1 after telling the operator on
 * stderr how to set it (naming the variable the configuration expects).
 * serve refuses to start without it: every session and link is signed. */
int vf_cli_require_secret_key(const vf_app_t *app, const char *command);

/* serve and worker: put log.file (when set) in place of stderr; -1 after
 * saying why it cannot be opened. */
int vf_cli_open_log(const vf_app_t *app, const char *command);

/* Read a line from the terminal without echo (for passwords). */
char *vf_cli_prompt(const char *prompt, int secret);

#endif
