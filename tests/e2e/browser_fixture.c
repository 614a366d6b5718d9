/*
 * browser_fixture.c - see browser_fixture.h.
 */
#include "config.h"
#include "browser_fixture.h"
#include "vftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void bfix_script(const char *name, const char *package, char *script, size_t len)
{
    const char *src = vft_env_or_skip("VF_SRCDIR");
    struct stat st;
    char installed[4200];
    snprintf(installed, sizeof installed, "%s/tests/browser/node_modules/%s/package.json", src, package);
    if (stat(installed, &st) == 0) {
        snprintf(script, len, "%s/tests/browser/%s", src, name);
        return;
    }
    /* One folder per script: two browser tests may install at once. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/tests/browser-run/%s", vft_env_or_skip("VF_BUILDDIR"), name);
    ck_assert_msg(vft_sh(NULL,
                         "mkdir -p '%s' && cp '%s/tests/browser/%s' '%s/tests/browser/package.json' "
                         "'%s/tests/browser/package-lock.json' '%s/' && chmod u+w '%s'/* && "
                         "'%s/scripts/npm-ci.sh' '%s' '%s'",
                         dir, src, name, src, src, dir, dir, src, dir, package) == 0,
                  "cannot install %s in %s", package, dir);
    snprintf(script, len, "%s/%s", dir, name);
}

char *bfix_run(const char *script, const char *name)
{
    char *argv[] = {"node", (char *)script, NULL};
    char *out = NULL;
    int status = vft_run(argv, &out);
    printf("%s", out ? out : "");
    fflush(stdout);
    /* CI shows the first line of a failure only: name the failed step. */
    char failed[256];
    snprintf(failed, sizeof failed, "%s: FAILED: ", name);
    const char *why = out ? strstr(out, failed) : NULL;
    int why_len = why ? (int)strcspn(why, "\n") : 0;
    ck_assert_msg(status == 0, "%s failed (%d): %.*s", name, status, why_len, why ? why : "(no FAILED line)");
    ck_assert_ptr_nonnull(out);
    return out;
}
