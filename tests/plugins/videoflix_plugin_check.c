/*
 * videoflix_plugin_check.c - the videoflix-plugin-check program: runs the
 * storage or encoder contract suite against any plugin .so, for authors
 * who build plugins outside this tree (see include/videoflix/README.md).
 *
 *   videoflix-plugin-check [-c CONFIG] storage|encoder PLUGIN.so
 *
 * CONFIG is a file holding the body of the plugin's config group, with
 * ${NAME} replaced by environment variables and ${VF_CONTRACT_WORKDIR} by
 * a fresh directory per test (see tests/plugins/contract.h).  The plugin
 * is loaded by the same loader videoflix uses.  Check's own variables
 * choose what runs and how much is printed (CK_RUN_CASE, CK_VERBOSITY,
 * CK_FORK).  Exit status: 0 when every test passed, 1 when one failed,
 * 2 for a usage error.
 */
#include "config.h"
#include "tests/plugins/encoder_contract.h"
#include "tests/plugins/storage_contract.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out, "usage: videoflix-plugin-check [-c CONFIG] storage|encoder PLUGIN.so\n"
                 "Runs the videoflix plugin contract suite against PLUGIN.so.\n"
                 "CONFIG holds the body of the plugin's config group (libconfig syntax);\n"
                 "${NAME} in it is replaced by the environment variable NAME, and\n"
                 "${VF_CONTRACT_WORKDIR} by a fresh directory for each test.\n");
}

/* The whole file as a string (malloc()ed), or NULL with errno set. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *grown = realloc(text, len + n + 1);
        if (!grown) {
            free(text);
            fclose(f);
            errno = ENOMEM;
            return NULL;
        }
        text = grown;
        memcpy(text + len, chunk, n);
        len += n;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(text);
        errno = EIO;
        return NULL;
    }
    if (!text)
        text = calloc(1, 1);
    else
        text[len] = '\0';
    return text;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:h")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *kind_name = argv[optind];
    vf_plugin_kind_t kind;
    if (strcmp(kind_name, "storage") == 0)
        kind = VF_PLUGIN_STORAGE;
    else if (strcmp(kind_name, "encoder") == 0)
        kind = VF_PLUGIN_ENCODER;
    else {
        fprintf(stderr, "videoflix-plugin-check: the kind must be 'storage' or 'encoder', not '%s'\n", kind_name);
        return EXIT_USAGE;
    }
    /* The loader takes absolute paths only; a bare name would be looked up
     * in $VF_PLUGIN_DIR instead of the file the author means. */
    char plugin[PATH_MAX];
    if (!realpath(argv[optind + 1], plugin)) {
        fprintf(stderr, "videoflix-plugin-check: %s: %s\n", argv[optind + 1], strerror(errno));
        return EXIT_USAGE;
    }
    char *config = NULL;
    if (config_path && !(config = read_text(config_path))) {
        fprintf(stderr, "videoflix-plugin-check: %s: %s\n", config_path, strerror(errno));
        return EXIT_USAGE;
    }

    const char *base = strrchr(plugin, '/') + 1;
    vfc_subject_t subject = {.label = base, .plugin = plugin, .config = config ? config : ""};
    Suite *suite = kind == VF_PLUGIN_STORAGE ? vfc_storage_suite(&subject) : vfc_encoder_suite(&subject);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(config);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
