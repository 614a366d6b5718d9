/*
 * import_django.c - `videoflix import-django`: brings the users, videos and
 * favourites of a Django Videoflix database over (docs/migrating-from-django.md).
 * Owns: the command's options, checking that the source has the Django
 * tables, users and favourites, the mapping rows of django_import_map, and
 * the closing report.  Videos and their files: import_django_videos.c.
 * Must not: change the Django database (it only reads it) or re-hash
 * passwords (hashes move as they are; login upgrades them).
 *
 * Every imported row commits together with its mapping row, so a run that
 * is interrupted leaves only whole rows behind, and the next run skips what
 * is mapped: running it again changes nothing.
 */
#include "config.h"
#include "cli/cli.h"
#include "cli/import_django.h"

#include "accounts/password.h"
#include "runtime/db.h"

#include <ctype.h>
#include <libconfig.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables and columns read, as the Django app's migrations make them. */
static const struct {
    const char *table;
    const char *columns[12];
} source_schema[] = {
    {"users_app_userprofile",
     {"id", "email", "username", "password", "is_active", "is_staff", "is_superuser", "phone", "address",
      "date_joined", "last_login", NULL}},
    {"content_app_video",
     {"id", "title", "description", "category", "created_at", "video_file", "image_file", "converted_files", NULL}},
    {"users_app_userprofile_favorite_videos", {"id", "userprofile_id", "video_id", NULL}},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: videoflix import-django --dsn DSN (--media-root DIR | --source-storage FILE) [--dry-run]\n"
                 "  --dsn DSN              libpq connection string of the Django database (read only)\n"
                 "  --media-root DIR       the Django MEDIA_ROOT holding videos/ and images/\n"
                 "  --source-storage FILE  Django's files are in the storage described by FILE, a\n"
                 "                         storage = { plugin = ...; settings = { ... }; }; group as in\n"
                 "                         videoflix.conf (e.g. storage_s3 on Django's bucket)\n"
                 "  --dry-run              print what would be imported and change nothing\n");
}

/* -------------------------------------------------------------- helpers */

/* A query on the Django database; NULL after saying why on stderr. */
static PGresult *src_query(idj_t *im, const char *sql)
{
    PGresult *res = PQexec(im->src, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "videoflix import-django: reading the Django database: %s", PQerrorMessage(im->src));
        PQclear(res);
        return NULL;
    }
    return res;
}

int idj_lookup(idj_t *im, const char *sql, int nparams, const char *const *params, int64_t *id)
{
    PGresult *res = NULL;
    if (vf_db_exec(im->ctx->db, &res, sql, nparams, params) < 0) {
        fprintf(stderr, "videoflix import-django: %s\n", vf_db_last_error(im->ctx->db));
        PQclear(res);
        return -1;
    }
    int found = PQntuples(res) > 0;
    if (found && id)
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return found;
}

int idj_mapped(idj_t *im, const char *kind, const char *django_id, int64_t *local_id)
{
    const char *p[] = {kind, django_id};
    return idj_lookup(im, "SELECT local_id FROM django_import_map WHERE kind = $1 AND django_id = $2::bigint", 2, p,
                      local_id);
}

int idj_each_row(idj_t *im, const char *sql, int (*import_row)(idj_t *im, PGresult *src, int row))
{
    PGresult *src = src_query(im, sql);
    if (!src)
        return -1;
    int status = 0;
    for (int i = 0; i < PQntuples(src) && status == 0; i++)
        status = import_row(im, src, i);
    PQclear(src);
    return status;
}

int idj_map_tx(idj_t *im, const char *kind, const char *django_id, int64_t local_id)
{
    char local[24];
    snprintf(local, sizeof local, "%" PRId64, local_id);
    const char *p[] = {kind, django_id, local};
    if (vf_db_run(im->ctx->db, "INSERT INTO django_import_map (kind, django_id, local_id) VALUES ($1, $2::bigint, $3::bigint)",
                  3, p) < 0) {
        fprintf(stderr, "videoflix import-django: %s\n", vf_db_last_error(im->ctx->db));
        return -1;
    }
    return 0;
}

static int would_key(const char *kind, const char *django_id, char *key, size_t len)
{
    return snprintf(key, len, "%s:%s", kind, django_id) < (int)len ? 0 : -1;
}

int idj_would(idj_t *im, const char *kind, const char *django_id)
{
    char key[64];
    if (would_key(kind, django_id, key, sizeof key) < 0 || json_object_set_new(im->would, key, json_true()) < 0) {
        fprintf(stderr, "videoflix import-django: out of memory\n");
        return -1;
    }
    return 0;
}

/* Mapped, or (--dry-run) would be: 1, 0, or -1. */
static int will_exist(idj_t *im, const char *kind, const char *django_id, int64_t *local_id)
{
    int mapped = idj_mapped(im, kind, django_id, local_id);
    char key[64];
    if (mapped == 0 && im->dry_run && would_key(kind, django_id, key, sizeof key) == 0)
        mapped = json_object_get(im->would, key) != NULL;
    return mapped;
}

void idj_skip(idj_count_t *count, const char *what, const char *django_id, const char *label, const char *why)
{
    count->skipped++;
    printf("skipped %s %s (%s): %s\n", what, django_id, label, why);
}

/* 0 when every table and column of source_schema is there; else -1 after
 * naming the first missing one. */
static int check_schema(idj_t *im)
{
    for (size_t t = 0; t < sizeof source_schema / sizeof *source_schema; t++) {
        const char *p[] = {source_schema[t].table};
        PGresult *res = PQexecParams(im->src,
                                     "SELECT column_name FROM information_schema.columns "
                                     "WHERE table_schema = current_schema() AND table_name = $1",
                                     1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "videoflix import-django: reading the Django schema: %s", PQerrorMessage(im->src));
            PQclear(res);
            return -1;
        }
        if (PQntuples(res) == 0) {
            fprintf(stderr,
                    "videoflix import-django: not a Django Videoflix database: table %s is missing "
                    "(run the Django app's migrations, or check --dsn)\n",
                    source_schema[t].table);
            PQclear(res);
            return -1;
        }
        for (const char *const *c = source_schema[t].columns; *c; c++) {
            int found = 0;
            for (int i = 0; i < PQntuples(res) && !found; i++)
                found = strcmp(PQgetvalue(res, i, 0), *c) == 0;
            if (!found) {
                fprintf(stderr,
                        "videoflix import-django: not a Django Videoflix database of a known version: "
                        "column %s of table %s is missing\n",
                        *c, source_schema[t].table);
                PQclear(res);
                return -1;
            }
        }
        PQclear(res);
    }
    return 0;
}

/* ---------------------------------------------------------------- users */

enum { U_ID, U_EMAIL, U_USERNAME, U_PASSWORD, U_ACTIVE, U_STAFF, U_SUPER, U_PHONE, U_ADDRESS, U_JOINED, U_LOGIN };

/* Django's email, trimmed and lower-cased as users.email keeps it. */
static char *normal_email(const char *email)
{
    while (isspace((unsigned char)*email))
        email++;
    size_t n = strlen(email);
    while (n && isspace((unsigned char)email[n - 1]))
        n--;
    char *out = strndup(email, n);
    for (char *c = out; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return out;
}

/* The hash to store: Django's as it is when login can verify it, "!" (no
 * usable password) for Django's unusable ones and hashers we cannot read
 * (*unsupported set: the user must reset the password). */
static const char *stored_hash(const char *django, int *unsupported)
{
    *unsupported = 0;
    if (django[0] == '!' || django[0] == '\0')
        return "!";
    if (vf_password_is_django(django))
        return django;
    *unsupported = 1;
    return "!";
}

static int import_user(idj_t *im, PGresult *src, int row)
{
    const char *id = PQgetvalue(src, row, U_ID);
    int mapped = idj_mapped(im, "user", id, NULL);
    if (mapped < 0)
        return -1;
    if (mapped) {
        im->users.unchanged++;
        return 0;
    }
    char *email = normal_email(PQgetvalue(src, row, U_EMAIL));
    if (!email) {
        fprintf(stderr, "videoflix import-django: out of memory\n");
        return -1;
    }
    const char *username = PQgetvalue(src, row, U_USERNAME);
    if (!*username)
        username = email;
    int status = 0;
    if (!*email || !strchr(email, '@')) {
        idj_skip(&im->users, "user", id, username, "no email address (Videoflix logs in by email)");
        goto out;
    }
    int unsupported = 0;
    const char *hash = stored_hash(PQgetvalue(src, row, U_PASSWORD), &unsupported);
    if (unsupported)
        printf("user %s (%s): password hash of a hasher Videoflix cannot verify; imported without a usable "
               "password (a password reset sets one)\n",
               id, email);
    const char *is_active = PQgetvalue(src, row, U_ACTIVE);
    const char *p[] = {email,
                       username,
                       hash,
                       is_active,
                       PQgetvalue(src, row, U_STAFF),
                       PQgetvalue(src, row, U_SUPER),
                       PQgetvalue(src, row, U_PHONE),
                       PQgetvalue(src, row, U_ADDRESS),
                       PQgetvalue(src, row, U_JOINED),
                       PQgetisnull(src, row, U_LOGIN) ? NULL : PQgetvalue(src, row, U_LOGIN)};
    PGresult *res = NULL;
    if (im->dry_run) {
        /* Would it collide with an account made here? */
        if (vf_db_exec(im->ctx->db, &res, "SELECT 1 FROM users WHERE lower(email) = $1 OR username = $2", 2, p) < 0) {
            fprintf(stderr, "videoflix import-django: %s\n", vf_db_last_error(im->ctx->db));
            status = -1;
        } else if (PQntuples(res) > 0) {
            idj_skip(&im->users, "user", id, email, "the email or username belongs to a Videoflix account already");
        } else {
            im->users.imported++;
            printf("would import user %s (%s)%s\n", id, email, is_active[0] == 't' ? "" : ", inactive");
            status = idj_would(im, "user", id);
        }
        PQclear(res);
        goto out;
    }
    if (vf_db_begin(im->ctx->db) < 0) {
        fprintf(stderr, "videoflix import-django: %s\n", vf_db_last_error(im->ctx->db));
        status = -1;
        goto out;
    }
    /* An active Django user has confirmed the address (or an admin vouched
     * for it); an inactive one has not, and their old links mean nothing
     * here: a new registration or an admin activates them. */
    int ret = vf_db_exec(im->ctx->db, &res,
                         "INSERT INTO users (email, username, password, is_active, is_staff, is_superuser, phone, "
                         "address, date_joined, last_login, email_confirmed_at) "
                         "VALUES ($1, $2, $3, $4::boolean, $5::boolean, $6::boolean, $7, $8, $9::timestamptz, "
                         "$10::timestamptz, CASE WHEN $4::boolean THEN $9::timestamptz END) RETURNING id",
                         10, p);
    if (ret < 0) {
        const char *state = vf_db_sqlstate(res);
        int duplicate = state && strcmp(state, VF_SQLSTATE_UNIQUE_VIOLATION) == 0;
        if (!duplicate)
            fprintf(stderr, "videoflix import-django: user %s: %s\n", id, vf_db_last_error(im->ctx->db));
        PQclear(res);
        vf_db_rollback(im->ctx->db);
        if (duplicate)
            idj_skip(&im->users, "user", id, email, "the email or username belongs to a Videoflix account already");
        else
            status = -1;
        goto out;
    }
    int64_t local = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (idj_map_tx(im, "user", id, local) < 0 || vf_db_commit(im->ctx->db) < 0) {
        fprintf(stderr, "videoflix import-django: user %s: %s\n", id, vf_db_last_error(im->ctx->db));
        vf_db_rollback(im->ctx->db);
        status = -1;
        goto out;
    }
    im->users.imported++;
out:
    free(email);
    return status;
}

static int import_users(idj_t *im)
{
    return idj_each_row(im,
                        "SELECT id, email, username, password, is_active, is_staff, is_superuser, "
                        "coalesce(phone, ''), coalesce(address, ''), date_joined, last_login "
                        "FROM users_app_userprofile ORDER BY id",
                        import_user);
}

/* ----------------------------------------------------------- favourites */

static int import_favorite(idj_t *im, PGresult *src, int row)
{
    const char *id = PQgetvalue(src, row, 0), *django_user = PQgetvalue(src, row, 1);
    const char *django_video = PQgetvalue(src, row, 2);
    int64_t user = 0, video = 0;
    int mapped = idj_mapped(im, "favorite", id, NULL);
    if (mapped != 0) {
        if (mapped > 0)
            im->favorites.unchanged++;
        return mapped < 0 ? -1 : 0;
    }
    char label[64];
    snprintf(label, sizeof label, "user %s, video %s", django_user, django_video);
    int have_user = will_exist(im, "user", django_user, &user);
    int have_video = have_user > 0 ? will_exist(im, "video", django_video, &video) : 0;
    if (have_user < 0 || have_video < 0)
        return -1;
    if (!have_user || !have_video) {
        idj_skip(&im->favorites, "favourite", id, label,
                 !have_user ? "its user was not imported" : "its video was not imported");
        return 0;
    }
    if (im->dry_run) {
        im->favorites.imported++;
        printf("would import favourite %s (%s)\n", id, label);
        return 0;
    }
    char us[24], vs[24];
    snprintf(us, sizeof us, "%" PRId64, user);
    snprintf(vs, sizeof vs, "%" PRId64, video);
    const char *p[] = {us, vs};
    if (vf_db_begin(im->ctx->db) < 0 ||
        vf_db_run(im->ctx->db,
                  "INSERT INTO user_favorites (user_id, video_id) VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING",
                  2, p) < 0 ||
        idj_map_tx(im, "favorite", id, user) < 0 || vf_db_commit(im->ctx->db) < 0) {
        fprintf(stderr, "videoflix import-django: favourite %s: %s\n", id, vf_db_last_error(im->ctx->db));
        vf_db_rollback(im->ctx->db);
        return -1;
    }
    im->favorites.imported++;
    return 0;
}

static int import_favorites(idj_t *im)
{
    return idj_each_row(im,
                        "SELECT id, userprofile_id, video_id FROM users_app_userprofile_favorite_videos ORDER BY id",
                        import_favorite);
}

/* --------------------------------------------------------------- report */

static void report_line(const char *table, const idj_count_t *c)
{
    printf("  %-12s %9d %9d %9d %9d\n", table, c->imported, c->unchanged, c->skipped, c->queued);
}

static void report(const idj_t *im, int complete)
{
    printf("\nimport-django report%s%s:\n", im->dry_run ? " (dry run: nothing was changed)" : "",
           complete ? "" : " (stopped early: run it again to resume)");
    printf("  %-12s %9s %9s %9s %9s\n", "table", im->dry_run ? "would" : "imported", "earlier", "skipped",
           "queued");
    report_line("users", &im->users);
    report_line("videos", &im->videos);
    report_line("favourites", &im->favorites);
    printf("  files %s: %d\n", im->dry_run ? "to copy" : "copied", im->files_copied);
}

/* -------------------------------------------------------------- command */

/* The storage plugin of --source-storage FILE; 0, or -1 after saying why. */
static int load_source_storage(idj_t *im, const char *file, config_t *cfg)
{
    char err[1024];
    const char *plugin = NULL;
    if (config_read_file(cfg, file) != CONFIG_TRUE) {
        fprintf(stderr, "videoflix import-django: %s:%d: %s\n", file, config_error_line(cfg), config_error_text(cfg));
        return -1;
    }
    config_setting_t *storage = config_lookup(cfg, "storage");
    if (!storage || !config_setting_lookup_string(storage, "plugin", &plugin)) {
        fprintf(stderr, "videoflix import-django: %s: needs storage = { plugin = \"...\"; settings = { ... }; };\n",
                file);
        return -1;
    }
    if (vf_plugin_load(im->app->cfg->plugins.dir, plugin, VF_PLUGIN_STORAGE,
                       config_setting_lookup(storage, "settings"), &im->source, err, sizeof err) < 0) {
        fprintf(stderr, "videoflix import-django: %s: %s\n", file, err);
        return -1;
    }
    return 0;
}

int vf_cmd_import_django(vf_app_t *app, int argc, char **argv)
{
    static const struct option opts[] = {{"dsn", required_argument, NULL, 'd'},
                                         {"media-root", required_argument, NULL, 'm'},
                                         {"source-storage", required_argument, NULL, 's'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dsn = NULL, *source_storage = NULL;
    idj_t im = {.app = app};
    config_t source_cfg;
    im.would = json_object();
    if (!im.would) {
        fprintf(stderr, "videoflix import-django: out of memory\n");
        return VF_EXIT_FAILURE;
    }
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': dsn = optarg; break;
        case 'm': im.media_root = optarg; break;
        case 's': source_storage = optarg; break;
        case 'n': im.dry_run = 1; break;
        case 'h': usage(stdout); json_decref(im.would); return VF_EXIT_OK;
        default: usage(stderr); json_decref(im.would); return VF_EXIT_USAGE;
        }
    }
    if (optind != argc || !dsn || !im.media_root == !source_storage) {
        usage(stderr);
        json_decref(im.would);
        return VF_EXIT_USAGE;
    }
    config_init(&source_cfg);
    if (source_storage && load_source_storage(&im, source_storage, &source_cfg) < 0) {
        config_destroy(&source_cfg);
        json_decref(im.would);
        return VF_EXIT_FAILURE;
    }
    im.src = PQconnectdb(dsn);
    if (PQstatus(im.src) != CONNECTION_OK) {
        fprintf(stderr, "videoflix import-django: cannot connect to the Django database: %s",
                PQerrorMessage(im.src));
        PQfinish(im.src);
        vf_plugin_free(&im.source);
        config_destroy(&source_cfg);
        json_decref(im.would);
        return VF_EXIT_FAILURE;
    }
    int status = VF_EXIT_FAILURE;
    vf_thread_ctx_t ctx;
    int have_ctx = 0;
    /* A snapshot of the source: rows written to Django during the run do
     * not make users, videos and favourites disagree. */
    PGresult *tx = PQexec(im.src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    int began = PQresultStatus(tx) == PGRES_COMMAND_OK;
    PQclear(tx);
    if (!began) {
        fprintf(stderr, "videoflix import-django: %s", PQerrorMessage(im.src));
        goto out;
    }
    if (check_schema(&im) < 0)
        goto out;
    if (vf_thread_ctx_init(&ctx, app, 0) < 0) {
        fprintf(stderr, "videoflix import-django: out of memory\n");
        goto out;
    }
    have_ctx = 1;
    im.ctx = &ctx;
    char err[1024];
    if (vf_app_load_plugins(app, 1, 0, err, sizeof err) < 0) {
        fprintf(stderr, "videoflix import-django: %s\n", err);
        goto out;
    }
    /* Users first, then videos: favourites need both. */
    int complete = import_users(&im) == 0 && idj_import_videos(&im) == 0 && import_favorites(&im) == 0;
    report(&im, complete);
    status = complete ? VF_EXIT_OK : VF_EXIT_FAILURE;
out:
    if (have_ctx)
        vf_thread_ctx_fini(&ctx);
    PQfinish(im.src);
    vf_plugin_free(&im.source);
    config_destroy(&source_cfg);
    json_decref(im.would);
    return status;
}
