/*
 * browser_fixture.h - what the browser tests (check_admin_browser,
 * check_hls_browser) share: finding a script of tests/browser/ beside its
 * npm packages (installing them in the build folder when the source tree
 * has none), and running it with node, failing with the step it names.
 * Must not: start servers or know what a script checks.
 */
#ifndef VF_BROWSER_FIXTURE_H
#define VF_BROWSER_FIXTURE_H

#include <stddef.h>

/* The path of tests/browser/<name> into script, where the npm package
 * `package` (one of package.json's) is installed beside it: in the source
 * tree, where the test command installs them, or (a release tree, as make
 * distcheck unpacks it, carries no node_modules and is read-only) a copy in
 * <build>/tests/browser-run/<name>/, installed there from the same lock
 * file.  Fails the test when it cannot be installed. */
void bfix_script(const char *name, const char *package, char *script, size_t len);

/* Run `node script` (the environment as set), print its output, and fail
 * the test with its "<name>: FAILED: " line unless it exits 0.  Returns the
 * output (malloc()ed); `name` is the script's file name. */
char *bfix_run(const char *script, const char *name);

#endif
