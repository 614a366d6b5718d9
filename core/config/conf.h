/*
 * conf.h - the whole configuration of a videoflix process, read once from
 * one libconfig file (see conf/videoflix.conf for every setting).
 * Owns: finding the file, key tables with types, ranges and defaults, file:line
 * error messages, resolving secrets from the environment or files.
 * Must not: connect to anything or load plugins (loader.c does, with the
 * plugin groups kept here).
 */
#ifndef VF_CONF_H
#define VF_CONF_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vf_strlist {
    char **items;
    size_t n;
} vf_strlist_t;

typedef struct vf_rendition_conf {
    char *name;     /* "720p" */
    int height;
} vf_rendition_conf_t;

typedef struct vf_jobtype_conf {
    char *type;
    int max_attempts;
    int timeout;
} vf_jobtype_conf_t;

typedef struct vf_config {
    char *path;
    config_t cfg;   /* kept alive: plugin groups point into it */

    struct {
        char *listen_address;
        int port;
        int threads;
        int64_t max_body_size;
        vf_strlist_t cors_origins;
        char *public_origin;
        vf_strlist_t trusted_proxies;
        int shutdown_timeout;
        int access_log;
        int serve_media;
        int catalog_max_stale;    /* seconds the catalogue is served while PostgreSQL is away */
        int storage_threads;
        int storage_queue;
    } server;
    struct {
        char *level;
        char *format;       /* "text" or "json" */
        char *file;         /* "": stderr; else serve and worker append here */
    } log;
    struct {
        char *conninfo;
        char *password;     /* secret */
        int connect_timeout;
        char *migrations_dir;
    } database;
    struct {
        char *host;
        int port;
        char *password;     /* secret */
        int db;
        char *prefix;
        int timeout_ms;
    } redis;
    struct {
        char *dir;
    } plugins;
    struct {
        char *plugin;
        const config_setting_t *settings;
    } storage, encoder;
    struct {
        char *secret_key;   /* secret */
        int access_ttl;
        int refresh_ttl;
        int remember_ttl;
        int refresh_grace;
        char *cookie_access;
        char *cookie_refresh;
        int cookie_secure;
        char *cookie_samesite;
        char *cookie_domain;
        int password_min_length;
        int confirm_ttl;
        int reset_ttl;
        char *login_url;
        char *reset_url;
        int hash_threads;
    } auth;
    struct {
        int window;
        int login_limit;
        int register_limit;
        int forgot_limit;
        int email_exists_limit;
    } ratelimit;
    struct {
        char *transport;
        char *from;
        char *dir;
        char *smtp_url;
        char *smtp_user;
        char *smtp_password; /* secret */
        char *smtp_tls;
        char *templates_dir;
    } mail;
    struct {
        char *stream;
        int visibility_timeout;
        int max_attempts;
        int backoff_base;
        int backoff_max;
        int job_timeout;
        int history_size;
        int failed_history_size;
        vf_jobtype_conf_t *types;
        size_t ntypes;
    } queue;
    struct {
        int concurrency;
        int shutdown_grace;
        int heartbeat_interval;
        char *name;
    } worker;
    struct {
        vf_rendition_conf_t *renditions;
        size_t nrenditions;
        int allow_upscale;
        char *preset;
        int crf;
        int audio_bitrate;
        double thumbnail_at;
        int max_width;
        int max_height;
        int max_duration;
        char *job_split;
        char *work_dir;
        int url_expires;
        char *accel_redirect; /* "" or the prefix of Nginx's internal location */
        vf_strlist_t outputs;     /* "mp4", "hls": what a transcode makes */
        int output_mp4;           /* 1 when outputs names it (set from `outputs`) */
        int output_hls;
        int hls_segment_seconds;  /* target length of an HLS segment */
    } media;
    struct {
        int64_t max_size;
        int64_t chunk_max;
        int expire_after;
    } upload;
    struct {
        char *static_dir;        /* the pages served under /admin/ */
        int events_heartbeat;    /* seconds between comments on an idle event stream */
        int events_backlog;      /* events kept for a slow event-stream client */
    } admin;
    struct {
        char *listen;            /* host:port of serve's /metrics; "" = none */
        char *worker_listen;     /* the same for `videoflix worker` */
    } metrics;
} vf_config_t;

/* Which file to read: the --config argument, else $VIDEOFLIX_CONFIG, else
 * the installed default. */
const char *vf_config_default_path(const char *arg);

/* Read and validate.  On failure returns NULL and writes every problem found,
 * one "file:line: message" per line, into *errors (malloc()ed). */
vf_config_t *vf_config_load(const char *path, char **errors);
/* The same from a string (tests); `name` is used in messages. */
vf_config_t *vf_config_load_string(const char *text, const char *name, char **errors);
void vf_config_free(vf_config_t **cfg);

/* Rendition lookup by name; NULL when not configured. */
const vf_rendition_conf_t *vf_config_rendition(const vf_config_t *cfg, const char *name);
/* Per-type queue settings, falling back to the queue defaults. */
int vf_config_job_max_attempts(const vf_config_t *cfg, const char *type);
int vf_config_job_timeout(const vf_config_t *cfg, const char *type);
/* 1 when origin is in server.cors_origins. */
int vf_config_origin_allowed(const vf_config_t *cfg, const char *origin, size_t len);

#endif
