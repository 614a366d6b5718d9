/*
 * video_cli.c - `videoflix video add|list|delete`: the lifecycle of
 * video_lifecycle.c from the command line (no upload protocol: `add`
 * stores the local file with the storage plugin's put_file).
 */
#include "config.h"
#include "cli/cli.h"

#include "catalog/video_lifecycle.h"
#include "runtime/db.h"
#include "uploads/upload_store.h"
#include "util/log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "Usage: videoflix video add FILE --title T [--description D] --category C\n"
                 "       videoflix video list\n"
                 "       videoflix video delete ID\n");
}

static void print_errors(const json_t *errors)
{
    const char *field;
    json_t *list;
    json_object_foreach((json_t *)errors, field, list) {
        size_t i;
        json_t *msg;
        json_array_foreach(list, i, msg) fprintf(stderr, "videoflix video: %s: %s\n", field, json_string_value(msg));
    }
}

static int cmd_add(vf_app_t *app, vf_thread_ctx_t *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"title", required_argument, NULL, 't'},
                                         {"description", required_argument, NULL, 'd'},
                                         {"category", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    vf_video_fields_t f = {0};
    char *key = NULL;
    json_t *errors = NULL;
    int status = VF_EXIT_USAGE;
    int opt;
    /* 0, not 1: glibc then re-reads the option string (main.c's "+" made
     * it stop at the first non-option, and FILE comes first here). */
    optind = 0;
    while ((opt = getopt_long(argc, argv, "t:d:c:", opts, NULL)) != -1) {
        char **slot = opt == 't' ? &f.title : opt == 'd' ? &f.description : opt == 'c' ? &f.category : NULL;
        if (!slot) {
            usage(stderr);
            goto out;
        }
        free(*slot);
        *slot = strdup(optarg);
    }
    if (optind != argc - 1 || !f.title || !f.category) {
        usage(stderr);
        goto out;
    }
    const char *file = argv[optind];
    status = VF_EXIT_FAILURE;
    struct stat sb;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "videoflix video: %s: not a readable file\n", file);
        goto out;
    }
    if (!vf_video_category_valid(f.category)) {
        fprintf(stderr, "videoflix video: category: \"%s\" is not a valid choice.\n", f.category);
        goto out;
    }
    char err[1024];
    if (vf_app_load_plugins(app, 1, 0, err, sizeof err) < 0) {
        fprintf(stderr, "videoflix video: %s\n", err);
        goto out;
    }
    const vf_storage_ops_t *ops = vf_storage_ops(app->storage);
    vf_error_t verr = {0};
    key = vf_upload_new_source_key(file);
    if (!key || ops->put_file(app->storage->state, key, file, &verr) < 0) {
        fprintf(stderr, "videoflix video: cannot store %s: %s\n", file, key ? verr.message : "out of memory");
        goto out;
    }
    int64_t id = 0;
    int ret = vf_video_create(ctx, &f, 0, key, &id, &errors);
    if (ret < 0) {
        if (errors)
            print_errors(errors);
        else
            fprintf(stderr, "videoflix video: cannot create the video: %s\n", vf_db_last_error(ctx->db));
        if (ops->remove(app->storage->state, key, &verr) < 0)
            fprintf(stderr, "videoflix video: %s was left in storage: %s\n", key, verr.message);
        goto out;
    }
    printf("%" PRId64 "\n", id);
    status = VF_EXIT_OK;
out:
    json_decref(errors);
    vf_video_fields_free(&f);
    free(key);
    return status;
}

static int cmd_list(vf_thread_ctx_t *ctx)
{
    PGresult *res = NULL;
    if (vf_db_exec(ctx->db, &res,
                   "SELECT id, processing_state, processing_progress, category, title, processing_error "
                   "FROM videos ORDER BY created_at DESC, id DESC",
                   0, NULL) < 0) {
        fprintf(stderr, "videoflix video: %s\n", vf_db_last_error(ctx->db));
        PQclear(res);
        return VF_EXIT_FAILURE;
    }
    printf("%-8s %-10s %4s  %-16s %s\n", "ID", "STATE", "%", "CATEGORY", "TITLE");
    for (int i = 0; i < PQntuples(res); i++) {
        printf("%-8s %-10s %4s  %-16s %s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
        if (*PQgetvalue(res, i, 5))
            printf("  (%s)", PQgetvalue(res, i, 5));
        putchar('\n');
    }
    PQclear(res);
    return VF_EXIT_OK;
}

static int cmd_delete(vf_thread_ctx_t *ctx, int argc, char **argv)
{
    if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) || !argv[1][0] || strlen(argv[1]) > 18) {
        usage(stderr);
        return VF_EXIT_USAGE;
    }
    int64_t id = strtoll(argv[1], NULL, 10);
    int ret = vf_video_delete(ctx, id);
    if (ret == -ENOENT) {
        fprintf(stderr, "videoflix video: no video %" PRId64 "\n", id);
        return VF_EXIT_FAILURE;
    }
    if (ret < 0) {
        fprintf(stderr, "videoflix video: cannot delete video %" PRId64 ": %s\n", id, vf_db_last_error(ctx->db));
        return VF_EXIT_FAILURE;
    }
    printf("deleted video %" PRId64 "; its files are removed by the worker\n", id);
    return VF_EXIT_OK;
}

int vf_cmd_video(vf_app_t *app, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VF_EXIT_USAGE : VF_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "delete") != 0) {
        fprintf(stderr, "videoflix video: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return VF_EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0 && argc != 2) {
        usage(stderr);
        return VF_EXIT_USAGE;
    }
    vf_thread_ctx_t ctx;
    if (vf_thread_ctx_init(&ctx, app, 0) < 0) {
        fprintf(stderr, "videoflix video: out of memory\n");
        return VF_EXIT_FAILURE;
    }
    int status = strcmp(sub, "add") == 0    ? cmd_add(app, &ctx, argc - 1, argv + 1)
                 : strcmp(sub, "list") == 0 ? cmd_list(&ctx)
                                            : cmd_delete(&ctx, argc - 1, argv + 1);
    vf_thread_ctx_fini(&ctx);
    return status;
}
