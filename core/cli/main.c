/*
 * main.c - the videoflix binary: global options, loading the configuration,
 * and dispatch to the subcommands of cli.h.  Also the two commands too small
 * for a home of their own: migrate and check-config.
 */
#include "config.h"
#include "cli/cli.h"
#include "runtime/db.h"
#include "util/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

typedef struct command {
    const char *name;
    int (*run)(vf_app_t *app, int argc, char **argv);
    const char *usage;
} command_t;

static const command_t commands[] = {
    {"serve", vf_cmd_serve, "serve                       run the HTTP API server"},
    {"worker", vf_cmd_worker, "worker [--concurrency N]    run background jobs"},
    {"jobs", vf_cmd_jobs, "jobs list [--state S] | show ID | requeue ID | delete ID"},
    {"workers", vf_cmd_workers, "workers                     list the live workers"},
    {"migrate", vf_cmd_migrate, "migrate                     apply pending database migrations"},
    {"createsuperuser", vf_cmd_createsuperuser,
     "createsuperuser             create an admin account (--email E --password-env VAR, or asked)"},
    {"check-config", vf_cmd_check_config,
     "check-config                validate the configuration and load its plugins"},
    {"video", vf_cmd_video, "video add|list|delete       manage videos (add FILE --title T --category C)"},
    {"import-django", vf_cmd_import_django,
     "import-django               bring users, videos and favourites over from a Django Videoflix database"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: videoflix [--config FILE] COMMAND [ARGS]\n"
            "\n"
            "Commands:\n");
    for (const command_t *c = commands; c->name; c++)
        fprintf(out, "  %s\n", c->usage);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $VIDEOFLIX_CONFIG, else %s)\n"
            "  -h, --help          show this help\n"
            "  -V, --version       show the version\n",
            vf_config_default_path(NULL));
}

int vf_cmd_migrate(vf_app_t *app, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "videoflix migrate: takes no arguments\n");
        return VF_EXIT_USAGE;
    }
    vf_db_t *db = vf_db_new(app->cfg);
    if (!db)
        return VF_EXIT_FAILURE;
    char err[1024];
    int applied = 0;
    int rc = vf_db_migrate(db, app->cfg->database.migrations_dir, &applied, err, sizeof err);
    vf_db_free(&db);
    if (rc < 0) {
        fprintf(stderr, "videoflix migrate: %s\n", err);
        return VF_EXIT_FAILURE;
    }
    printf(applied ? "applied %d migrations\n" : "database is up to date\n", applied);
    return VF_EXIT_OK;
}

int vf_cmd_check_config(vf_app_t *app, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char err[1024];
    int problems = 0;
    if (vf_app_load_plugins(app, 1, 0, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        problems++;
    }
    if (vf_app_load_plugins(app, 0, 1, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        problems++;
    }
    if (vf_cli_require_secret_key(app, "check-config") < 0)
        problems++;
    if (problems)
        return VF_EXIT_FAILURE;
    printf("%s: configuration OK (storage %s, encoder %s)\n", app->cfg->path, app->storage->desc->name,
           app->encoder->desc->name);
    return VF_EXIT_OK;
}

char *vf_cli_prompt(const char *prompt, int secret)
{
    FILE *tty = fopen("/dev/tty", "r+");
    FILE *in = tty ? tty : stdin, *out = tty ? tty : stderr;
    struct termios old, quiet;
    int restore = 0;
    fputs(prompt, out);
    fflush(out);
    if (secret && isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    if (restore) {
        tcsetattr(fileno(in), TCSAFLUSH, &old);
        fputc('\n', out);
    }
    if (tty)
        fclose(tty);
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *config_arg = NULL;
    int opt;
    /* '+' stops at the command, so each command parses its own options. */
    while ((opt = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_arg = optarg; break;
        case 'h': usage(stdout); return VF_EXIT_OK;
        case 'V': printf("%s\n", PACKAGE_STRING); return VF_EXIT_OK;
        default: usage(stderr); return VF_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return VF_EXIT_USAGE;
    }
    const int ci = optind;
    const char *name = argv[ci];
    const command_t *cmd = commands;
    while (cmd->name && strcmp(cmd->name, name) != 0)
        cmd++;
    if (!cmd->name) {
        fprintf(stderr, "videoflix: unknown command '%s' (see videoflix --help)\n", name);
        return VF_EXIT_USAGE;
    }
    /* Commands may take --config after their name too. */
    for (int i = ci + 1; i < argc - 1; i++)
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) {
            config_arg = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 1) * sizeof *argv);
            argc -= 2;
            break;
        }

    const char *path = vf_config_default_path(config_arg);
    char *errors = NULL;
    vf_app_t app = {0};
    app.cfg = vf_config_load(path, &errors);
    if (!app.cfg) {
        fprintf(stderr, "%s", errors ? errors : "videoflix: cannot load the configuration\n");
        free(errors);
        return VF_EXIT_FAILURE;
    }
    vf_log_level_t level = VF_LOG_INFO;
    vf_log_parse_level(app.cfg->log.level, &level);
    vf_log_set_level(level);
    vf_log_format_t format = VF_LOG_TEXT;
    vf_log_parse_format(app.cfg->log.format, &format);
    vf_log_set_format(format);

    optind = 1; /* commands run getopt on their own argv */
    int rc = cmd->run(&app, argc - ci, argv + ci);
    vf_app_fini(&app);
    return rc;
}
