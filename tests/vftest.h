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

#include "core/plugins/loader.h"

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
/* The whole file (malloc()ed, with a NUL after its *len bytes), or NULL. */
char *vft_read_file(const char *path, size_t *len);

/* Load a built plugin (<VF_PLUGIN_DIR>/<name>.so) through the core loader,
 * with `config_text` as the body of its config group (libconfig syntax,
 * e.g. "root = \"/tmp/x\";").  On failure returns NULL and copies the
 * loader's message into err. */
vf_plugin_t *vft_plugin_load(const char *name, vf_plugin_kind_t kind, const char *config_text,
                             char *err, size_t errlen);
void vft_plugin_free(vf_plugin_t *p);

/* ------------------------------------------------------------- services */

/* A free TCP port on 127.0.0.1 (bound and released). */
int vft_free_port(void);
/* Block until something accepts on 127.0.0.1:port, up to timeout_ms. */
int vft_wait_port(int port, int timeout_ms);
/* A blocking connection to 127.0.0.1:port whose reads and writes give up
 * after timeout_ms (errno EAGAIN); -1 when it cannot connect. */
int vft_connect(int port, int timeout_ms);
/* The resident memory of process pid in kB (VmRSS), or -1. */
long vft_vm_rss_kb(int pid);

/* Start a program in the background, stdout+stderr appended to log_path
 * (NULL = inherit).  Returns the pid, or -1. */
int vft_spawn(char *const argv[], const char *log_path);
/* Send sig and wait up to timeout_ms for it to exit (SIGKILL after that).
 * Returns the exit status (128+signal when killed), or -1. */
int vft_stop(int pid, int sig, int timeout_ms);

/* A private redis-server ($VF_REDIS_SERVER, else redis-server) on a free
 * port with its data in dir; for tests that stop and restart Redis. */
typedef struct vft_redis {
    int pid;
    int port;
    char *dir;
} vft_redis_t;
int vft_redis_start(vft_redis_t *r, const char *dir, int port /* 0 = pick */);
void vft_redis_stop(vft_redis_t *r);

/* A fresh, empty PostgreSQL database on the server of $VF_TEST_PG_DSN
 * (skips when unset).  Returns its conninfo (malloc()ed); vft_pg_drop
 * removes it. */
char *vft_pg_create(const char *name_prefix);
void vft_pg_drop(const char *conninfo);

/* Write a complete videoflix config for tests into dir/videoflix.conf with
 * the given conninfo and Redis port, local storage under dir/media, mail
 * files under dir/mail, the built plugins, the source tree's migrations;
 * `extra` is appended (later settings of a section need a section of their
 * own; prefer editing through the *_extra arguments).  Returns the path. */
char *vft_write_config(const char *dir, const char *conninfo, int redis_port,
                       const char *extra_sections);

/* A counter of the S3 test proxy's stats file ($VF_TEST_S3_STATS): its
 * value, 0 when the line is absent, -1 when the file cannot be read. */
long vft_s3_proxy_count(const char *name);

/* A test that measures a server's memory: under AddressSanitizer the
 * servers it starts from now on (they inherit ASAN_OPTIONS) hand freed
 * memory back at once instead of keeping 256 MiB of it in quarantine, which
 * the test would measure instead of the server.  Nothing otherwise. */
void vft_servers_without_asan_quarantine(void);

/* ----------------------------------------------------------------- HTTP */

typedef struct vft_response {
    long status;
    char *body;          /* NUL-terminated */
    size_t body_len;
    char *headers;       /* raw header block of the final response */
} vft_response_t;

/* One request with libcurl.  `headers` is a NULL-terminated list of
 * "Name: value" lines (may be NULL); body may be NULL.  Returns 0 when a
 * response arrived. */
int vft_http(const char *method, const char *url, const char *body, const char *const *headers,
             vft_response_t *resp);
/* The same with a binary body of len bytes and an optional Cookie header
 * value ("name=value; ..."). */
int vft_http_raw(const char *method, const char *url, const void *body, size_t len, const char *const *headers,
                 const char *cookie, vft_response_t *resp);
/* The same on a libcurl easy handle (a CURL *) the caller keeps, so that
 * successive requests share one keep-alive connection, as browsers do. */
int vft_http_on(void *curl, const char *method, const char *url, const void *body, size_t len,
                const char *const *headers, const char *cookie, vft_response_t *resp);
/* When set, called on each libcurl handle of vft_http* just before the
 * request is made, to add options: a test in front of a TLS proxy sets the
 * CA it trusts, the names it resolves and its source address. */
extern void (*vft_http_options)(void *curl);
void vft_response_free(vft_response_t *resp);
/* Decode a body of Content-Encoding `coding` ("gzip" or "br") into a new
 * malloc'd, NUL-terminated *out of *out_len bytes.  0, or -1 when the body
 * is not valid in that coding. */
int vft_decode(const char *coding, const void *in, size_t len, char **out, size_t *out_len);
/* The value of the first response header `name` (case-insensitive),
 * malloc()ed, or NULL.  With `nth`, the nth (0-based) occurrence. */
char *vft_header(const vft_response_t *resp, const char *name, int nth);

#endif
