/*
 * fuzz_config.c - videoflix.conf as `videoflix --config FILE` reads it:
 * the input is written to a file of a private temporary folder and loaded
 * with vf_config_load(), and loaded once more from memory.
 * Checks: a configuration is either loaded with no message, or refused
 * with "name:line: message" lines; a loaded one holds values in range.
 */
#include "config.h"
#include "fuzz.h"

#include <unistd.h>

#include "config/conf.h"
#include "util/log.h"

/* libconfig 1.5 (Debian 12) loses the tokens its scanner allocated when a
 * syntax error ends the parse (libconfig 1.7.3 frees them,
 * hyperrealm/libconfig#142).  The server reads its configuration once and
 * stops on an error, so only this harness meets these, thousands of times;
 * nothing the core allocates is suppressed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static char dir[64];
static char path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vf_log_set_level(VF_LOG_ERROR);
    snprintf(dir, sizeof dir, "%s", "/tmp/videoflix-fuzz-config.XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/videoflix.conf", dir);
    atexit(cleanup);
    return 0;
}

static void check_result(vf_config_t *cfg, char *errors)
{
    if (!cfg) {
        FUZZ_CHECK(errors && errors[0] && strstr(errors, ": ") && errors[strlen(errors) - 1] == '\n');
        free(errors);
        return;
    }
    FUZZ_CHECK(errors == NULL);
    FUZZ_CHECK(cfg->server.port >= 1 && cfg->server.port <= 65535);
    FUZZ_CHECK(cfg->server.listen_address && cfg->server.public_origin && cfg->log.level);
    FUZZ_CHECK(cfg->auth.cookie_samesite && cfg->mail.transport && cfg->media.job_split);
    FUZZ_CHECK(!cfg->auth.secret_key || strlen(cfg->auth.secret_key) >= 32);
    FUZZ_CHECK(cfg->media.nrenditions > 0);
    for (size_t i = 0; i < cfg->media.nrenditions; i++)
        FUZZ_CHECK(cfg->media.renditions[i].name && vf_config_rendition(cfg, cfg->media.renditions[i].name));
    vf_config_free(&cfg);
    FUZZ_CHECK(cfg == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    char *errors = NULL;
    vf_config_t *cfg = vf_config_load(path, &errors);
    check_result(cfg, errors);

    char *text = fuzz_string(data, size);
    errors = NULL;
    cfg = vf_config_load_string(text, "fuzz.conf", &errors);
    check_result(cfg, errors);
    free(text);
    return 0;
}
