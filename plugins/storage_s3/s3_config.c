/*
 * s3_config.c - reading the storage_s3 config group (see s3_config.h for the
 * settings), finding the credentials, and the endpoint/addressing rules.
 * Secrets are wiped when the config is freed and never appear in messages.
 */
#include "s3_config.h"
#include "sigv4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN "storage_s3"
#define INT_TYPE (-1) /* CONFIG_TYPE_INT or CONFIG_TYPE_INT64 */

enum option_id {
    OPT_BUCKET, OPT_REGION, OPT_ENDPOINT, OPT_ADDRESSING,
    OPT_ACCESS_KEY, OPT_ACCESS_KEY_ENV, OPT_ACCESS_KEY_FILE,
    OPT_SECRET_KEY, OPT_SECRET_KEY_ENV, OPT_SECRET_KEY_FILE,
    OPT_TOKEN, OPT_TOKEN_ENV, OPT_TOKEN_FILE,
    OPT_PUBLIC, OPT_PUBLIC_URL, OPT_URL_EXPIRES, OPT_CACHE_CONTROL,
    OPT_MULTIPART_THRESHOLD, OPT_PART_SIZE, OPT_MAX_RETRIES, OPT_TIMEOUT,
    OPT_COUNT
};

static const struct {
    const char *name;
    int type;
} options[OPT_COUNT] = {
    [OPT_BUCKET] = {"bucket", CONFIG_TYPE_STRING},
    [OPT_REGION] = {"region", CONFIG_TYPE_STRING},
    [OPT_ENDPOINT] = {"endpoint", CONFIG_TYPE_STRING},
    [OPT_ADDRESSING] = {"addressing", CONFIG_TYPE_STRING},
    [OPT_ACCESS_KEY] = {"access_key_id", CONFIG_TYPE_STRING},
    [OPT_ACCESS_KEY_ENV] = {"access_key_id_env", CONFIG_TYPE_STRING},
    [OPT_ACCESS_KEY_FILE] = {"access_key_id_file", CONFIG_TYPE_STRING},
    [OPT_SECRET_KEY] = {"secret_access_key", CONFIG_TYPE_STRING},
    [OPT_SECRET_KEY_ENV] = {"secret_access_key_env", CONFIG_TYPE_STRING},
    [OPT_SECRET_KEY_FILE] = {"secret_access_key_file", CONFIG_TYPE_STRING},
    [OPT_TOKEN] = {"session_token", CONFIG_TYPE_STRING},
    [OPT_TOKEN_ENV] = {"session_token_env", CONFIG_TYPE_STRING},
    [OPT_TOKEN_FILE] = {"session_token_file", CONFIG_TYPE_STRING},
    [OPT_PUBLIC] = {"public", CONFIG_TYPE_BOOL},
    [OPT_PUBLIC_URL] = {"public_url", CONFIG_TYPE_STRING},
    [OPT_URL_EXPIRES] = {"url_expires", INT_TYPE},
    [OPT_CACHE_CONTROL] = {"cache_control", CONFIG_TYPE_STRING},
    [OPT_MULTIPART_THRESHOLD] = {"multipart_threshold", INT_TYPE},
    [OPT_PART_SIZE] = {"part_size", INT_TYPE},
    [OPT_MAX_RETRIES] = {"max_retries", INT_TYPE},
    [OPT_TIMEOUT] = {"timeout", INT_TYPE},
};

typedef struct reader {
    const vf_host_api_t *host;
    const config_setting_t *group;
    const config_setting_t *found[OPT_COUNT];
    vf_error_t *err;
} reader_t;

/* "file:line" of a setting, or "line N" when the config came from a string. */
static const char *where(const config_setting_t *s, char *buf, size_t len)
{
    const char *file = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    if (file)
        snprintf(buf, len, "%s:%u", file, line);
    else
        snprintf(buf, len, "line %u", line);
    return buf;
}

/* An error about setting `id` (or the group when it is absent). */
static int fail(reader_t *r, int id, const char *problem)
{
    char loc[512];
    const config_setting_t *s = id >= 0 && r->found[id] ? r->found[id] : r->group;
    if (!s)
        return r->host->error(r->err, EINVAL, PLUGIN ": %s", problem);
    return r->host->error(r->err, EINVAL, "%s: " PLUGIN ": %s", where(s, loc, sizeof loc), problem);
}

static int collect(reader_t *r)
{
    char loc[512];
    if (!r->group)
        return 0;
    if (!config_setting_is_group(r->group))
        return r->host->error(r->err, EINVAL, "%s: " PLUGIN ": the plugin's settings must be a group",
                              where(r->group, loc, sizeof loc));
    int n = config_setting_length(r->group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(r->group, (unsigned)i);
        const char *name = config_setting_name(s);
        int id = 0;
        while (id < OPT_COUNT && strcmp(options[id].name, name ? name : "") != 0)
            id++;
        if (id == OPT_COUNT)
            return r->host->error(r->err, EINVAL, "%s: " PLUGIN ": unknown setting '%s'",
                                  where(s, loc, sizeof loc), name ? name : "?");
        int type = config_setting_type(s);
        int ok = options[id].type == INT_TYPE
                     ? (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
                     : type == options[id].type;
        if (!ok) {
            const char *want = options[id].type == CONFIG_TYPE_STRING ? "a string"
                               : options[id].type == CONFIG_TYPE_BOOL ? "true or false"
                                                                      : "an integer";
            return r->host->error(r->err, EINVAL, "%s: " PLUGIN ": '%s' must be %s",
                                  where(s, loc, sizeof loc), name, want);
        }
        r->found[id] = s;
    }
    return 0;
}

static const char *get_string(const reader_t *r, int id, const char *fallback)
{
    return r->found[id] ? config_setting_get_string(r->found[id]) : fallback;
}

static long long get_int(const reader_t *r, int id, long long fallback)
{
    return r->found[id] ? config_setting_get_int64(r->found[id]) : fallback;
}

static int get_int_in(reader_t *r, int id, long long fallback, long long min, long long max,
                      long long *out)
{
    *out = get_int(r, id, fallback);
    if (*out < min || *out > max) {
        char problem[256];
        snprintf(problem, sizeof problem, "'%s' must be between %lld and %lld", options[id].name, min,
                 max);
        return fail(r, id, problem);
    }
    return 0;
}

static int dup_string(reader_t *r, const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : r->host->error(r->err, ENOMEM, PLUGIN ": out of memory");
}

/* S3's bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending with
 * a letter or digit. */
static int valid_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && ((c != '.' && c != '-') || i == 0 || i == n - 1))
            return 0;
    }
    return 1;
}

static int is_ip_literal(const char *hostport)
{
    if (hostport[0] == '[')
        return 1;
    size_t host_len = strcspn(hostport, ":");
    for (size_t i = 0; i < host_len; i++)
        if (!((hostport[i] >= '0' && hostport[i] <= '9') || hostport[i] == '.'))
            return 0;
    return 1;
}

static int load_endpoint(reader_t *r, s3_config_t *cfg)
{
    const char *endpoint = get_string(r, OPT_ENDPOINT, "");
    int custom = endpoint[0] != '\0';
    const char *addressing = get_string(r, OPT_ADDRESSING, custom ? "path" : "virtual");

    if (strcmp(addressing, "path") == 0)
        cfg->addressing = S3_ADDRESSING_PATH;
    else if (strcmp(addressing, "virtual") == 0)
        cfg->addressing = S3_ADDRESSING_VIRTUAL;
    else
        return fail(r, OPT_ADDRESSING, "'addressing' must be \"path\" or \"virtual\"");

    if (!custom) {
        cfg->scheme = strdup("https");
        if (asprintf(&cfg->endpoint_host, "s3.%s.amazonaws.com", cfg->region) < 0)
            cfg->endpoint_host = NULL;
        if (!cfg->scheme || !cfg->endpoint_host)
            return r->host->error(r->err, ENOMEM, PLUGIN ": out of memory");
        return 0;
    }
    const char *rest;
    if (strncmp(endpoint, "http://", 7) == 0) {
        cfg->scheme = strdup("http");
        rest = endpoint + 7;
    } else if (strncmp(endpoint, "https://", 8) == 0) {
        cfg->scheme = strdup("https");
        rest = endpoint + 8;
    } else {
        return fail(r, OPT_ENDPOINT, "'endpoint' must start with http:// or https://");
    }
    if (!cfg->scheme)
        return r->host->error(r->err, ENOMEM, PLUGIN ": out of memory");
    size_t len = strcspn(rest, "/");
    if (len == 0 || (rest[len] == '/' && rest[len + 1] != '\0') ||
        strcspn(rest, "@?#% \t") < len)
        return fail(r, OPT_ENDPOINT,
                    "'endpoint' must be scheme://host[:port], without credentials or a path");
    /* The Host header leaves out the scheme's default port; so does the URL. */
    const char *default_port = strcmp(cfg->scheme, "http") == 0 ? ":80" : ":443";
    size_t dp = strlen(default_port);
    if (len > dp && strncmp(rest + len - dp, default_port, dp) == 0)
        len -= dp;
    cfg->endpoint_host = strndup(rest, len);
    if (!cfg->endpoint_host)
        return r->host->error(r->err, ENOMEM, PLUGIN ": out of memory");
    if (cfg->addressing == S3_ADDRESSING_VIRTUAL && is_ip_literal(cfg->endpoint_host))
        return fail(r, OPT_ADDRESSING,
                    "virtual-hosted addressing puts the bucket in the host name, which needs an "
                    "endpoint with a DNS name; use addressing = \"path\" with an IP address");
    return 0;
}

/* One credential: given directly, or through host->secret from the named
 * environment variable and/or file, or from the AWS default variable when
 * no source is named. */
static int load_secret(reader_t *r, int direct, int env_id, int file_id, const char *default_env,
                       int required, const char *what, char **out)
{
    char problem[768];
    *out = NULL;
    const char *value = get_string(r, direct, NULL);
    if (value) {
        if (!*value) {
            snprintf(problem, sizeof problem, "'%s' is empty", options[direct].name);
            return fail(r, direct, problem);
        }
        return dup_string(r, value, out);
    }
    const char *env = get_string(r, env_id, NULL), *file = get_string(r, file_id, NULL);
    if (!env && !file)
        env = default_env;
    *out = r->host->secret(env, file);
    if (*out && !**out) {
        free(*out);
        *out = NULL;
    }
    if (*out || !required)
        return 0;
    if (env && file)
        snprintf(problem, sizeof problem,
                 "no %s: the environment variable %s is not set and the file '%s' cannot be read "
                 "or is empty", what, env, file);
    else if (file)
        snprintf(problem, sizeof problem, "no %s: the file '%s' cannot be read or is empty", what,
                 file);
    else
        snprintf(problem, sizeof problem,
                 "no %s: set '%s', '%s' or '%s', or the environment variable %s", what,
                 options[direct].name, options[env_id].name, options[file_id].name, env);
    return fail(r, -1, problem);
}

int s3_config_load(const vf_host_api_t *host, const config_setting_t *group, s3_config_t *cfg,
                   vf_error_t *err)
{
    reader_t r = {.host = host, .group = group, .err = err};
    long long n;
    int ret;

    memset(cfg, 0, sizeof *cfg);
    if ((ret = collect(&r)) < 0)
        goto out;

    const char *bucket = get_string(&r, OPT_BUCKET, NULL);
    if (!bucket) {
        ret = fail(&r, -1, "'bucket' is required");
        goto out;
    }
    if (!valid_bucket(bucket)) {
        ret = fail(&r, OPT_BUCKET,
                   "'bucket' must be 3 to 63 characters of a-z, 0-9, '.' and '-', starting and "
                   "ending with a letter or digit");
        goto out;
    }
    const char *region = get_string(&r, OPT_REGION, "us-east-1");
    if (!*region || strcspn(region, "/ \t") != strlen(region)) {
        ret = fail(&r, OPT_REGION, "'region' must be a region name such as \"eu-west-1\"");
        goto out;
    }
    if ((ret = dup_string(&r, bucket, &cfg->bucket)) < 0 ||
        (ret = dup_string(&r, region, &cfg->region)) < 0 || (ret = load_endpoint(&r, cfg)) < 0)
        goto out;

    cfg->public_urls = r.found[OPT_PUBLIC] ? config_setting_get_bool(r.found[OPT_PUBLIC]) : 0;
    const char *public_url = get_string(&r, OPT_PUBLIC_URL, NULL);
    if (public_url) {
        if (strncmp(public_url, "http://", 7) != 0 && strncmp(public_url, "https://", 8) != 0) {
            ret = fail(&r, OPT_PUBLIC_URL, "'public_url' must start with http:// or https://");
            goto out;
        }
        if ((ret = dup_string(&r, public_url, &cfg->public_url)) < 0)
            goto out;
        size_t len = strlen(cfg->public_url);
        while (len > 0 && cfg->public_url[len - 1] == '/')
            cfg->public_url[--len] = '\0';
    }
    const char *cache_control = get_string(&r, OPT_CACHE_CONTROL, NULL);
    if (cache_control && strpbrk(cache_control, "\r\n")) {
        ret = fail(&r, OPT_CACHE_CONTROL, "'cache_control' must be one line");
        goto out;
    }
    if ((ret = dup_string(&r, cache_control, &cfg->cache_control)) < 0)
        goto out;

    if ((ret = get_int_in(&r, OPT_URL_EXPIRES, 3600, 1, SIGV4_MAX_EXPIRES, &n)) < 0)
        goto out;
    cfg->url_expires = (long)n;
    if ((ret = get_int_in(&r, OPT_MULTIPART_THRESHOLD, 64 << 20, (long long)S3_MIN_PART_SIZE,
                          (long long)S3_MAX_PART_SIZE, &n)) < 0)
        goto out;
    cfg->multipart_threshold = (uint64_t)n;
    if ((ret = get_int_in(&r, OPT_PART_SIZE, 16 << 20, (long long)S3_MIN_PART_SIZE,
                          (long long)S3_MAX_PART_SIZE, &n)) < 0)
        goto out;
    cfg->part_size = (uint64_t)n;
    if ((ret = get_int_in(&r, OPT_MAX_RETRIES, 4, 0, 20, &n)) < 0)
        goto out;
    cfg->max_retries = (int)n;
    if ((ret = get_int_in(&r, OPT_TIMEOUT, 30, 1, 3600, &n)) < 0)
        goto out;
    cfg->timeout = (long)n;

    if ((ret = load_secret(&r, OPT_ACCESS_KEY, OPT_ACCESS_KEY_ENV, OPT_ACCESS_KEY_FILE,
                           "AWS_ACCESS_KEY_ID", 1, "access key id", &cfg->access_key_id)) < 0 ||
        (ret = load_secret(&r, OPT_SECRET_KEY, OPT_SECRET_KEY_ENV, OPT_SECRET_KEY_FILE,
                           "AWS_SECRET_ACCESS_KEY", 1, "secret access key",
                           &cfg->secret_access_key)) < 0 ||
        (ret = load_secret(&r, OPT_TOKEN, OPT_TOKEN_ENV, OPT_TOKEN_FILE, "AWS_SESSION_TOKEN", 0,
                           "session token", &cfg->session_token)) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0)
        s3_config_free(cfg);
    return ret;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void s3_config_free(s3_config_t *cfg)
{
    free(cfg->bucket);
    free(cfg->region);
    free(cfg->scheme);
    free(cfg->endpoint_host);
    free(cfg->public_url);
    free(cfg->cache_control);
    free_secret(cfg->access_key_id);
    free_secret(cfg->secret_access_key);
    free_secret(cfg->session_token);
    memset(cfg, 0, sizeof *cfg);
}

int s3_config_target(const s3_config_t *cfg, const char *key, char **host, char **path)
{
    int n1, n2;
    if (cfg->addressing == S3_ADDRESSING_VIRTUAL) {
        n1 = asprintf(host, "%s.%s", cfg->bucket, cfg->endpoint_host);
        n2 = asprintf(path, "/%s", key ? key : "");
    } else {
        n1 = asprintf(host, "%s", cfg->endpoint_host);
        n2 = asprintf(path, "/%s%s%s", cfg->bucket, key ? "/" : "", key ? key : "");
    }
    if (n1 < 0)
        *host = NULL;
    if (n2 < 0)
        *path = NULL;
    if (n1 < 0 || n2 < 0) {
        free(*host);
        free(*path);
        *host = *path = NULL;
        return -ENOMEM;
    }
    return 0;
}
