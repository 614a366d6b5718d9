/*
 * s3_config.h - the storage_s3 config group: reading and checking it,
 * finding the credentials, and where requests go (endpoint, addressing).
 *
 * Settings (all optional but bucket; unknown keys and wrong types refused):
 *   bucket                  string  the bucket's name (required)
 *   region                  string  "us-east-1"
 *   endpoint                string  "" = AWS (https://s3.<region>.amazonaws.com);
 *                                   or an S3-compatible server, e.g.
 *                                   "http://127.0.0.1:9000" (scheme://host[:port])
 *   addressing              string  "virtual" (bucket in the host name) or
 *                                   "path" (bucket in the path); default
 *                                   "virtual" on AWS, "path" with an endpoint
 *   access_key_id, secret_access_key, session_token
 *                           string  credentials given directly, or read with
 *   *_env                   string  ... from this environment variable, or
 *   *_file                  string  ... from the first line of this file;
 *                                   with none of the three set, from
 *                                   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *                                   AWS_SESSION_TOKEN (the token is optional)
 *   public                  bool    false: url() presigns (private bucket);
 *                                   true: url() is a plain public URL
 *   public_url              string  base of public URLs (e.g. a CDN,
 *                                   "https://cdn.example.com/media"); default
 *                                   the bucket's own URL
 *   url_expires             int     seconds a presigned URL lives: 3600
 *                                   (1 .. 604800)
 *   cache_control           string  Cache-Control stored with uploaded objects
 *   multipart_threshold     int     put_file of a larger file uses multipart
 *                                   upload: 64 MiB (at least 5 MiB)
 *   part_size               int     multipart part size for put_file: 16 MiB
 *                                   (5 MiB .. 5 GiB; grown when a file would
 *                                   need more than 10000 parts)
 *   max_retries             int     retries after 5xx, 429, timeouts and
 *                                   connection errors: 4 (0 .. 20)
 *   timeout                 int     seconds to connect, and the longest a
 *                                   transfer may stall: 30 (1 .. 3600)
 */
#ifndef VF_S3_CONFIG_H
#define VF_S3_CONFIG_H

#include <stdint.h>
#include <videoflix/plugin.h>

#define S3_MIN_PART_SIZE ((uint64_t)5 << 20)
#define S3_MAX_PART_SIZE ((uint64_t)5 << 30)
#define S3_MAX_PARTS 10000

typedef enum s3_addressing {
    S3_ADDRESSING_PATH,
    S3_ADDRESSING_VIRTUAL,
} s3_addressing_t;

typedef struct s3_config {
    char *bucket;
    char *region;
    char *scheme;             /* "http" or "https" */
    char *endpoint_host;      /* host[:port], default port left out */
    s3_addressing_t addressing;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;      /* NULL without temporary credentials */
    int public_urls;
    char *public_url;         /* without a trailing '/'; NULL = the bucket's URL */
    long url_expires;
    char *cache_control;      /* NULL = none */
    uint64_t multipart_threshold;
    uint64_t part_size;
    int max_retries;
    long timeout;
} s3_config_t;

/* Read the group (NULL = empty).  0, or a negative errno with a
 * "file:line: ..." message in err. */
int s3_config_load(const vf_host_api_t *host, const config_setting_t *group, s3_config_t *cfg,
                   vf_error_t *err);
void s3_config_free(s3_config_t *cfg);

/* Where a request for `key` (NULL: the bucket itself) goes: the Host header
 * value and the decoded path.  Both malloc()ed; 0 or -ENOMEM. */
int s3_config_target(const s3_config_t *cfg, const char *key, char **host, char **path);

#endif
