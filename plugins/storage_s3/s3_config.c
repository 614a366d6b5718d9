/*
 * s3_config.c - reading the storage_s3 config group (see s3_config.h for the
 * settings), finding the credentials, and the endpoint/addressing rules.
 * Secrets are wiped when the config is freed and never appear in messages.
 */
#include "s3_config.h"
#include "sigv4.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN "storage_s3"

/* The group as the host's settings helper fills it; s3_config_load turns
 * it into an s3_config_t. */
typedef struct raw {
    char *bucket, *region, *endpoint;
    int addressing;                    /* index into addressings, -1 = by endpoint */
    char *access_key_id, *secret_access_key, *session_token;
    int public_urls;
    char *public_url, *cache_control;
    int64_t url_expires, multipart_threshold, part_size, timeout;
    int max_retries;
} raw_t;

static const char *const addressings[] = {"path", "virtual", NULL};

#define RAW(f) offsetof(raw_t, f)
static const vf_setting_t table[] = {
    {.name = "bucket", .type = VF_SETTING_STRING, .flags = VF_SETTING_REQUIRED, .offset = RAW(bucket)},
    {.name = "region", .type = VF_SETTING_STRING, .offset = RAW(region), .str_default = "us-east-1"},
    {.name = "endpoint", .type = VF_SETTING_STRING, .offset = RAW(endpoint), .str_default = ""},
    {.name = "addressing", .type = VF_SETTING_ENUM, .offset = RAW(addressing), .choices = addressings},
    {.name = "access_key_id", .type = VF_SETTING_SECRET, .flags = VF_SETTING_REQUIRED,
     .offset = RAW(access_key_id), .str_default = "AWS_ACCESS_KEY_ID"},
    {.name = "secret_access_key", .type = VF_SETTING_SECRET, .flags = VF_SETTING_REQUIRED,
     .offset = RAW(secret_access_key), .str_default = "AWS_SECRET_ACCESS_KEY"},
    {.name = "session_token", .type = VF_SETTING_SECRET, .offset = RAW(session_token),
     .str_default = "AWS_SESSION_TOKEN"},
    {.name = "public", .type = VF_SETTING_BOOL, .offset = RAW(public_urls)},
    {.name = "public_url", .type = VF_SETTING_STRING, .offset = RAW(public_url)},
    {.name = "url_expires", .type = VF_SETTING_INT64, .offset = RAW(url_expires), .min = 1,
     .max = SIGV4_MAX_EXPIRES, .int_default = 3600},
    {.name = "cache_control", .type = VF_SETTING_STRING, .offset = RAW(cache_control)},
    {.name = "multipart_threshold", .type = VF_SETTING_INT64, .offset = RAW(multipart_threshold),
     .min = (int64_t)S3_MIN_PART_SIZE, .max = (int64_t)S3_MAX_PART_SIZE, .int_default = 64 << 20},
    {.name = "part_size", .type = VF_SETTING_INT64, .offset = RAW(part_size), .min = (int64_t)S3_MIN_PART_SIZE,
     .max = (int64_t)S3_MAX_PART_SIZE, .int_default = 16 << 20},
    {.name = "max_retries", .type = VF_SETTING_INT, .offset = RAW(max_retries), .min = 0, .max = 20,
     .int_default = 4},
    {.name = "timeout", .type = VF_SETTING_INT64, .offset = RAW(timeout), .min = 1, .max = 3600, .int_default = 30},
};
#define NTABLE (sizeof table / sizeof table[0])

typedef struct reader {
    const vf_host_api_t *host;
    const config_setting_t *group;
    vf_error_t *err;
} reader_t;

/* A problem with setting `name` (or the group when it is absent). */
static int fail(const reader_t *r, const char *name, const char *problem)
{
    return r->host->setting_error(PLUGIN, r->group, name, r->err, EINVAL, "%s", problem);
}

/* Move a string out of the raw settings. */
static char *take(char **s)
{
    char *v = *s;
    *s = NULL;
    return v;
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

static int load_endpoint(const reader_t *r, const raw_t *raw, s3_config_t *cfg)
{
    const char *endpoint = raw->endpoint;
    int custom = endpoint[0] != '\0';
    int addressing = raw->addressing >= 0 ? raw->addressing : custom ? 0 : 1;
    cfg->addressing = addressing == 0 ? S3_ADDRESSING_PATH : S3_ADDRESSING_VIRTUAL;

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
        return fail(r, "endpoint", "'endpoint' must start with http:// or https://");
    }
    if (!cfg->scheme)
        return r->host->error(r->err, ENOMEM, PLUGIN ": out of memory");
    size_t len = strcspn(rest, "/");
    if (len == 0 || (rest[len] == '/' && rest[len + 1] != '\0') ||
        strcspn(rest, "@?#% \t") < len)
        return fail(r, "endpoint",
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
        return fail(r, "addressing",
                    "virtual-hosted addressing puts the bucket in the host name, which needs an "
                    "endpoint with a DNS name; use addressing = \"path\" with an IP address");
    return 0;
}

int s3_config_load(const vf_host_api_t *host, const config_setting_t *group, s3_config_t *cfg,
                   vf_error_t *err)
{
    reader_t r = {.host = host, .group = group, .err = err};
    raw_t raw;
    int ret;

    memset(cfg, 0, sizeof *cfg);
    if ((ret = host->settings(PLUGIN, group, table, NTABLE, &raw, err)) < 0)
        return ret;
    if (!valid_bucket(raw.bucket)) {
        ret = fail(&r, "bucket",
                   "'bucket' must be 3 to 63 characters of a-z, 0-9, '.' and '-', starting and "
                   "ending with a letter or digit");
        goto out;
    }
    if (!*raw.region || strcspn(raw.region, "/ \t") != strlen(raw.region)) {
        ret = fail(&r, "region", "'region' must be a region name such as \"eu-west-1\"");
        goto out;
    }
    cfg->bucket = take(&raw.bucket);
    cfg->region = take(&raw.region);
    if ((ret = load_endpoint(&r, &raw, cfg)) < 0)
        goto out;

    cfg->public_urls = raw.public_urls;
    if (raw.public_url) {
        if (strncmp(raw.public_url, "http://", 7) != 0 && strncmp(raw.public_url, "https://", 8) != 0) {
            ret = fail(&r, "public_url", "'public_url' must start with http:// or https://");
            goto out;
        }
        cfg->public_url = take(&raw.public_url);
        size_t len = strlen(cfg->public_url);
        while (len > 0 && cfg->public_url[len - 1] == '/')
            cfg->public_url[--len] = '\0';
    }
    if (raw.cache_control && strpbrk(raw.cache_control, "\r\n")) {
        ret = fail(&r, "cache_control", "'cache_control' must be one line");
        goto out;
    }
    cfg->cache_control = take(&raw.cache_control);
    cfg->url_expires = (long)raw.url_expires;
    cfg->multipart_threshold = (uint64_t)raw.multipart_threshold;
    cfg->part_size = (uint64_t)raw.part_size;
    cfg->max_retries = raw.max_retries;
    cfg->timeout = (long)raw.timeout;
    cfg->access_key_id = take(&raw.access_key_id);
    cfg->secret_access_key = take(&raw.secret_access_key);
    cfg->session_token = take(&raw.session_token);
    ret = 0;
out:
    host->settings_free(table, NTABLE, &raw);
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
