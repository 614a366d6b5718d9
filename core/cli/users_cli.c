/*
 * users_cli.c - `videoflix createsuperuser`: creates an active staff and
 * superuser account, from flags or by asking on the terminal.
 * Owns only that command.
 */
#include "config.h"
#include "accounts/password.h"
#include "accounts/users.h"
#include "cli/cli.h"
#include "runtime/db.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: videoflix createsuperuser [--email EMAIL] [--username NAME]\n"
            "                                 [--password PASSWORD | --password-env VARIABLE]\n"
            "Creates an active staff and superuser account.  What is not given is asked\n"
            "on the terminal (the password without echo, twice).  --password shows the\n"
            "password to other users of this machine (ps); prefer --password-env.\n");
}

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* The password from the flags or the terminal; malloc()ed or NULL. */
static char *read_password(const char *given, const char *env_name)
{
    if (given)
        return strdup(given);
    if (env_name) {
        const char *v = getenv(env_name);
        if (!v || !*v) {
            fprintf(stderr, "videoflix createsuperuser: the environment variable %s is not set\n", env_name);
            return NULL;
        }
        return strdup(v);
    }
    char *first = vf_cli_prompt("Password: ", 1);
    char *again = first ? vf_cli_prompt("Password (again): ", 1) : NULL;
    if (!first || !again) {
        fprintf(stderr, "videoflix createsuperuser: no password given\n");
        wipe_free(first);
        wipe_free(again);
        return NULL;
    }
    if (strcmp(first, again) != 0) {
        fprintf(stderr, "videoflix createsuperuser: the passwords do not match\n");
        wipe_free(first);
        wipe_free(again);
        return NULL;
    }
    wipe_free(again);
    return first;
}

static int insert_superuser(vf_app_t *app, const char *email, const char *username, const char *hash)
{
    vf_db_t *db = vf_db_new(app->cfg);
    if (!db)
        return VF_EXIT_FAILURE;
    int status = VF_EXIT_FAILURE;
    const char *params[] = {email, username, hash};
    PGresult *res = NULL;
    int rc = vf_db_exec(db, &res,
                        "INSERT INTO users (email, username, password, is_active, is_staff, is_superuser,"
                        " email_confirmed_at) VALUES ($1, $2, $3, true, true, true, now()) RETURNING id",
                        3, params);
    const char *state = vf_db_sqlstate(res);
    if (rc == 0) {
        printf("Superuser %s created (id %s).\n", email, PQgetvalue(res, 0, 0));
        status = VF_EXIT_OK;
    } else if (rc == -ECONNRESET) {
        fprintf(stderr, "videoflix createsuperuser: cannot connect to the database: %s\n", vf_db_last_error(db));
    } else if (state && strcmp(state, VF_SQLSTATE_UNIQUE_VIOLATION) == 0) {
        fprintf(stderr, "videoflix createsuperuser: a user with this email or username already exists\n");
    } else if (state && strcmp(state, "42P01") == 0) {
        fprintf(stderr, "videoflix createsuperuser: the users table does not exist: run `videoflix migrate` "
                        "first\n");
    } else {
        fprintf(stderr, "videoflix createsuperuser: %s\n", vf_db_last_error(db));
    }
    PQclear(res);
    vf_db_free(&db);
    return status;
}

int vf_cmd_createsuperuser(vf_app_t *app, int argc, char **argv)
{
    static const struct option opts[] = {{"email", required_argument, NULL, 'e'},
                                         {"username", required_argument, NULL, 'u'},
                                         {"password", required_argument, NULL, 'p'},
                                         {"password-env", required_argument, NULL, 'E'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *email_arg = NULL, *username = NULL, *password_arg = NULL, *password_env = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "e:u:p:E:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'e': email_arg = optarg; break;
        case 'u': username = optarg; break;
        case 'p': password_arg = optarg; break;
        case 'E': password_env = optarg; break;
        case 'h': usage(stdout); return VF_EXIT_OK;
        default: usage(stderr); return VF_EXIT_USAGE;
        }
    }
    if (optind < argc || (password_arg && password_env)) {
        usage(stderr);
        return VF_EXIT_USAGE;
    }

    int status = VF_EXIT_FAILURE;
    char *typed_email = NULL, *password = NULL;
    char email[VF_EMAIL_SIZE], hash[VF_PASSWORD_HASH_SIZE];
    if (!email_arg)
        email_arg = typed_email = vf_cli_prompt("Email address: ", 0);
    if (!email_arg) {
        fprintf(stderr, "videoflix createsuperuser: no email address given\n");
        goto out;
    }
    if (vf_email_normalize(email_arg, email) < 0) {
        fprintf(stderr, "videoflix createsuperuser: '%s' is not a valid email address\n", email_arg);
        goto out;
    }
    if (username && !*username) {
        fprintf(stderr, "videoflix createsuperuser: the username may not be empty\n");
        goto out;
    }
    password = read_password(password_arg, password_env);
    if (!password)
        goto out;
    json_t *rules = vf_password_rule_errors(password, email, app->cfg->auth.password_min_length);
    if (rules) {
        size_t i;
        json_t *m;
        json_array_foreach(rules, i, m) fprintf(stderr, "videoflix createsuperuser: %s\n", json_string_value(m));
        json_decref(rules);
        goto out;
    }
    if (vf_password_hash(password, hash) < 0) {
        fprintf(stderr, "videoflix createsuperuser: cannot hash the password (out of memory)\n");
        goto out;
    }
    status = insert_superuser(app, email, username ? username : email, hash);
    sodium_memzero(hash, sizeof hash);
out:
    free(typed_email);
    wipe_free(password);
    return status;
}
