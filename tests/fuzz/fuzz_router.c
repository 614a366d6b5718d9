/*
 * fuzz_router.c - a request target as evhttp hands it to the server: parsed
 * with evhttp's own URI parser, its path percent-decoded by
 * vf_http_path_decode() and matched, for every method, against the real
 * route table of cli/routes.c.
 * Checks: a decoded path the router sees starts with '/' and has no NUL; a
 * match names a route that allows the method; every parameter is a piece
 * of the path, and a "{x}" parameter is one non-empty segment.
 */
#include "config.h"
#include "fuzz.h"

#include <errno.h>
#include <event2/http.h>

#include "cli/cli.h"
#include "http/path.h"
#include "http/router.h"
#include "util/log.h"

static vf_router_t *router;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vf_log_set_level(VF_LOG_ERROR);
    router = vf_router_new();
    FUZZ_CHECK(router != NULL);
    vf_routes_register(router);
    FUZZ_CHECK(router->n > 0);
    return 0;
}

/* Count the "{x}" captures of a pattern before its final "*", if any. */
static size_t segment_params(const char *pattern)
{
    size_t n = 0;
    for (const char *p = pattern; *p; p++)
        n += *p == '{';
    return n;
}

static void match_all_methods(const char *path)
{
    static const int methods[] = {VF_GET, VF_POST, VF_HEAD, VF_PUT, VF_DELETE, VF_OPTIONS, VF_PATCH};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        vf_route_match_t m;
        int found = vf_router_match(router, methods[i], path, &m) == 0;
        if (!found)
            FUZZ_CHECK(!m.route && m.allowed == 0 && m.nparams == 0);
        if (m.route) {
            FUZZ_CHECK(found && (m.route->methods & methods[i]) && (m.allowed & methods[i]));
            FUZZ_CHECK(m.nparams <= VF_ROUTE_MAX_PARAMS);
            size_t segments = segment_params(m.route->pattern);
            for (size_t p = 0; p < m.nparams; p++) {
                FUZZ_CHECK(m.params[p] != NULL && strstr(path, m.params[p]) != NULL);
                if (p < segments)
                    FUZZ_CHECK(m.params[p][0] != '\0' && !strchr(m.params[p], '/'));
            }
        } else {
            FUZZ_CHECK(m.nparams == 0);
        }
        char allow[128];
        vf_methods_string(m.allowed | VF_OPTIONS, allow, sizeof allow);
        FUZZ_CHECK(strstr(allow, "OPTIONS") != NULL);
        vf_route_match_free(&m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0; /* evhttp refuses longer request lines long before */
    char *target = fuzz_string(data, size);
    /* evhttp parses the request line's target with these flags. */
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    char *path = NULL;
    int rc = vf_http_path_decode(raw, &path);
    if (rc == 0) {
        FUZZ_CHECK(path && path[0] == '/' && strlen(path) <= strlen(raw));
        match_all_methods(path);
    } else {
        FUZZ_CHECK(rc == -ENOENT ? path != NULL : path == NULL);
    }
    free(path);
    if (uri)
        evhttp_uri_free(uri);
    free(target);
    return 0;
}
