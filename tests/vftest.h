/*
 * vftest.h - helpers shared by every Check test: the main() boilerplate,
 * skipping when a service is not configured, temporary directories,
 * running commands, and loading a plugin through the core's real loader.
 *
 * Services: the test command (scripts/test.sh) starts them and exports
 *   VF_TEST_PG_DSN, VF_TEST_REDIS_URL (redis://127.0.0.1:PORT),
 *   VF_TEST_S3_ENDPOINT, VF_TEST_S3_PROXY, VF_SIGV4_TESTDATA, VF_REDIS_SERVER
 * A test binary run by hand without them exits 77 (skip).
 */
#ifndef VFTEST_H
#define VFTEST_H

#include <check.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/loader.h"

#define VFT_MAIN(suite_fn)                                   \
    int main(void)                                           \
    {                                                        \
        SRunner *sr = srunner_create(suite_fn());            \
        srunner_run_all(sr, CK_NORMAL);                      \
        int failed = srunner_ntests_failed(sr);              \
        srunner_free(sr);                                    \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;         \
    }

/* The value of an environment variable, or exit(77) (skip) when unset. */
const char *vft_env_or_skip(const char *name);

/* A fresh directory under $TMPDIR (malloc()ed path); vft_rmrf removes it. */
char *vft_tmpdir(const char *prefix);
int vft_rmrf(const char *path);

/* Run argv (no shell) and wait; stdout is captured into *out (malloc()ed,
 * NUL-terminated) when out is not NULL.  Returns the exit status, or -1. */
int vft_run(char *const argv[], char **out);
/* Same with a printf-built shell command line (for test fixtures only). */
int vft_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write `len` bytes of a repeatable pseudo-random pattern into path. */
int vft_write_pattern(const char *path, size_t len, unsigned seed);
/* 1 when the two files have the same bytes. */
int vft_files_equal(const char *a, const char *b);

/* Load a built plugin (<VF_PLUGIN_DIR>/<name>.so) through the core loader,
 * with `config_text` as the body of its config group (libconfig syntax,
 * e.g. "root = \"/tmp/x\";").  On failure returns NULL and copies the
 * loader's message into err. */
vf_plugin_t *vft_plugin_load(const char *name, vf_plugin_kind_t kind, const char *config_text,
                             char *err, size_t errlen);
void vft_plugin_free(vf_plugin_t *p);

#endif
