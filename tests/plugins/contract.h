/*
 * contract.h - what the plugin contract suites share: the plugin under test
 * (a "subject": which .so, which config), one loaded instance of it per
 * test with a fresh working directory, the assertions every operation's
 * result goes through, and the main() of a plugin's own Check program that
 * runs its contract suite beside its own tests.
 *
 * The suites themselves are storage_contract.h and encoder_contract.h; the
 * program that runs them against any .so is videoflix_plugin_check.c.
 * Nothing here knows a particular plugin.
 */
#ifndef VF_TEST_CONTRACT_H
#define VF_TEST_CONTRACT_H

#include <check.h>
#include <string.h>

#include "core/plugins/loader.h"

/* Every contract test case gets this long (seconds), whatever
 * CK_DEFAULT_TIMEOUT says: the S3 multipart cases move several MiB. */
#define VFC_TIMEOUT 120

/* Name of the per-test directory in a subject's config template. */
#define VFC_WORKDIR_VAR "VF_CONTRACT_WORKDIR"

typedef struct vfc_subject {
    /* Shown in the suite's name, e.g. "storage_local". */
    const char *label;
    /* A plugin name looked up as $VF_PLUGIN_DIR/<name>.so, or the absolute
     * path of a .so. */
    const char *plugin;
    /* The body of the plugin's config group (libconfig syntax).  Every
     * ${NAME} is replaced, before parsing, by the environment variable NAME,
     * and ${VF_CONTRACT_WORKDIR} by a fresh empty directory made for each
     * test and removed after it.  A variable that is not set fails the test:
     * a service the subject needs must be there. */
    const char *config;
} vfc_subject_t;

/* One loaded instance of a subject. */
typedef struct vfc_instance {
    char *workdir;         /* ${VF_CONTRACT_WORKDIR} of this instance */
    vf_plugin_t *plugin;
} vfc_instance_t;

/* Expand a config template (see vfc_subject_t.config).  Returns a malloc()ed
 * string, or NULL with a message in err. */
char *vfc_expand(const char *template_text, const char *workdir, char *err, size_t errlen);

/* Load the subject as `kind` with a new working directory, failing the
 * current test with the loader's message when that is not possible. */
void vfc_open(const vfc_subject_t *subject, vf_plugin_kind_t kind, vfc_instance_t *inst);
/* Destroy the plugin's state and remove the working directory. */
void vfc_close(vfc_instance_t *inst);

/* malloc()ed "dir/name". */
char *vfc_path(const char *dir, const char *name);

/* Number of entries in a directory (-1 when it cannot be read). */
int vfc_entries(const char *dir);

/* Records the reports of a vf_progress_fn and cancels when told to. */
typedef struct vfc_progress {
    int calls;
    double last;
    int backwards;          /* a value below the one before */
    int out_of_range;       /* a value outside 0..100 */
    int cancel_at_call;     /* > 0: answer 1 on this call */
    int cancel_above_zero;  /* 1: answer 1 once percent is above 0 */
    double cancel_from;     /* > 0: answer 1 once percent reaches it */
    int cancelled;          /* it answered 1 */
} vfc_progress_t;

/* A vf_progress_fn; ud is a vfc_progress_t. */
int vfc_record_progress(void *ud, double percent);
/* Called at least once, never backwards, always within 0..100. */
void vfc_assert_progress_sane(const vfc_progress_t *p, const char *what);

/* Run one suite with Check's defaults (CK_VERBOSITY, CK_RUN_CASE, ...);
 * the number of tests that failed, or -1 when there is no suite. */
int vfc_run(Suite *suite);

/* The operation succeeded (0), else the test fails with its message. */
#define VFC_OK(call, err)                                                                   \
    do {                                                                                    \
        memset(&(err), 0, sizeof(err));                                                     \
        int vfc_r_ = (call);                                                                \
        ck_assert_msg(vfc_r_ == 0, "%s returned %d: %s", #call, vfc_r_, (err).message);     \
    } while (0)

/* The operation failed with exactly `expected` (a negative errno) and
 * explained why in one sentence. */
#define VFC_FAILS(expected, call, err)                                                        \
    do {                                                                                      \
        memset(&(err), 0, sizeof(err));                                                       \
        int vfc_r_ = (call);                                                                  \
        ck_assert_msg(vfc_r_ == (expected), "%s returned %d (%s), expected %d (%s)", #call,   \
                      vfc_r_, (err).message, (expected), strerror(-(expected)));              \
        ck_assert_msg((err).message[0] != '\0',                                               \
                      "%s failed with %d but left no message in its vf_error_t", #call,       \
                      vfc_r_);                                                                \
    } while (0)

/* main() of a plugin's own test program: runs the contract suite first,
 * then the program's own suite.  The own suite is built and run in a child
 * process, so that its builder may exit 77 (skip) without hiding a failed
 * contract: the contract never skips. */
int vfc_main(Suite *(*contract_suite)(void), Suite *(*own_suite)(void));

#define VFC_MAIN(own_suite_fn, contract_suite_fn)                \
    int main(void)                                               \
    {                                                            \
        return vfc_main(contract_suite_fn, own_suite_fn);        \
    }

#endif
