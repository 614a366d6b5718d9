/*
 * startup.c - what the long-running commands (serve, worker) check and set
 * up before their services start: the secret key, the log file.  In the
 * core library (not main.c) so that tests and test_worker link them too.
 * Must not: start services or read settings beyond these.
 */
#include "config.h"
#include "cli/cli.h"
#include "util/log.h"

#include <stdio.h>

int vf_cli_require_secret_key(const vf_app_t *app, const char *command)
{
    const vf_config_t *cfg = app->cfg;
    if (cfg->auth.secret_key)
        return 0;
    const char *env = NULL;
    config_lookup_string(&cfg->cfg, "auth.secret_key_env", &env);
    if (env && *env)
        fprintf(stderr,
                "videoflix %s: auth.secret_key is not set: the environment variable %s (auth.secret_key_env "
                "in %s) is empty or unset.  Set it to at least 32 random bytes, e.g. %s=$(head -c 48 "
                "/dev/urandom | base64), or name a file holding one with auth.secret_key_file.\n",
                command, env, cfg->path, env);
    else
        fprintf(stderr,
                "videoflix %s: auth.secret_key is not set in %s.  Add auth.secret_key_env = "
                "\"VIDEOFLIX_SECRET_KEY\"; and set that variable to at least 32 random bytes (e.g. "
                "$(head -c 48 /dev/urandom | base64)), or auth.secret_key_file = \"/path\".\n",
                command, cfg->path);
    return -1;
}

int vf_cli_open_log(const vf_app_t *app, const char *command)
{
    char err[512];
    if (vf_log_open(app->cfg->log.file, err, sizeof err) < 0) {
        fprintf(stderr, "videoflix %s: log.file: %s\n", command, err);
        return -1;
    }
    return 0;
}
