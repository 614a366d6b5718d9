/*
 * uploads_fixture.h - what check_uploads and check_pipeline share: a fresh
 * database migrated by the real binary, a private Redis, `videoflix serve`,
 * pipeline workers, a logged-in staff user, a small tus client (binary
 * bodies, which vft_http cannot send), the admin video API, and waiting for
 * a video's processing.
 */
#ifndef VF_UPLOADS_FIXTURE_H
#define VF_UPLOADS_FIXTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vftest.h"

#define UFIX_MAX_WORKERS 4

typedef struct ufix_opts {
    /* Body of the media group, e.g. renditions; NULL: 120p + 240p. */
    const char *media;
    /* "whole_ladder" or "per_rendition" (default). */
    const char *job_split;
    /* 1: storage_s3 against $VF_TEST_S3_ENDPOINT instead of local storage. */
    int s3;
    /* More settings: complete sections ("queue = { ... };"). */
    const char *extra;
    /* server.threads (0: 2) and more settings of the server section
     * ("storage_threads = 1; "). */
    int threads;
    const char *server;
    /* More settings of the auth section ("access_ttl = 10; "). */
    const char *auth;
    /* queue.visibility_timeout (0: 4 s, so that a killed worker's job is
     * taken over soon). */
    int visibility_timeout;
} ufix_opts_t;

typedef struct ufix {
    char *dir;
    char *conninfo;
    char *config;
    char *work_dir;          /* media.work_dir */
    char *media_root;        /* local storage root (NULL with S3) */
    vft_redis_t redis;
    int port;
    char base[64];           /* http://127.0.0.1:PORT */
    int server_pid;
    int workers[UFIX_MAX_WORKERS];
    char cookie[4096];       /* "vf_access=...; vf_refresh=..." */
    int64_t user_id;
    /* A libcurl easy handle (CURL *) set by the caller: ufix_request then
     * keeps one connection for successive requests (keep-alive, as a
     * browser's tus client does); the caller cleans it up. */
    void *conn;
} ufix_t;

int ufix_setup(ufix_t *f, const ufix_opts_t *opts);
void ufix_teardown(ufix_t *f);

/* Start `videoflix worker` (log dir/worker-<i>.log); its index, or -1. */
int ufix_start_worker(ufix_t *f, int concurrency);
/* The same with its own media.work_dir (a worker on another host); NULL:
 * the shared one, f->work_dir. */
int ufix_start_worker_in(ufix_t *f, int concurrency, const char *work_dir);
/* Stop worker i with sig; its exit status. */
int ufix_stop_worker(ufix_t *f, int i, int sig);
/* The worker's log so far (malloc()ed). */
char *ufix_worker_log(ufix_t *f, int i);

/* POST /users/login/: the status (-1: no answer); the session's cookies
 * ("name=value; ...") into cookie on 200. */
long ufix_login(ufix_t *f, const char *email, const char *password, char *cookie, size_t len);
/* Another account (made by `videoflix createsuperuser`, then made staff or
 * not), logged in when cookie is not NULL: its cookies into cookie.  Its id
 * into *id.  0 or -1. */
int ufix_user(ufix_t *f, const char *email, const char *password, int staff, char *cookie, size_t len,
              int64_t *id);

/* ------------------------------------------------------------------- HTTP */

typedef vft_response_t ufix_resp_t;

/* A request with the staff cookie (cookie = 0: without).  Headers are a
 * NULL-terminated list; body may be binary. */
int ufix_request(ufix_t *f, const char *method, const char *path, const char *const *headers, const void *body,
                 size_t len, int cookie, ufix_resp_t *resp);
void ufix_resp_free(ufix_resp_t *resp);
char *ufix_header(const ufix_resp_t *resp, const char *name);

/* A JSON request with the cookie; the parsed body (if any) into *out. */
long ufix_json(ufix_t *f, const char *method, const char *path, const char *body, json_t **out);

/* -------------------------------------------------------------------- tus */

/* POST: the new upload's path ("/admin/api/uploads/<id>/") into path. */
long ufix_tus_create(ufix_t *f, int64_t length, const char *filename, char *path, size_t len);
long ufix_tus_patch(ufix_t *f, const char *path, int64_t offset, const void *data, size_t len,
                    int64_t *new_offset);
long ufix_tus_head(ufix_t *f, const char *path, int64_t *offset);
/* Upload a whole file in chunks; its upload id into id (33 bytes). */
int ufix_tus_upload_file(ufix_t *f, const char *file, size_t chunk, char *id);
/* Upload the first `size` bytes of `file` in chunks of `chunk` bytes read
 * one at a time into buf (room for chunk), as tus-js-client sends a big
 * file (never held whole in memory); the upload's path into path.  0, or
 * -1 with the failed step on stderr. */
int ufix_tus_upload_chunks(ufix_t *f, const char *file, size_t size, size_t chunk, char *buf, char *path,
                           size_t plen);
/* len bytes of fd from offset; 0, or -1 when the file is shorter. */
int ufix_read_at(int fd, char *buf, size_t len, off_t offset);
/* The id part of an upload path. */
const char *ufix_upload_id(const char *path, char id[33]);

/* ----------------------------------------------------------------- videos */

/* POST /admin/api/videos/: the new id, or -status. */
int64_t ufix_create_video(ufix_t *f, const char *title, const char *category, const char *upload_id);
/* Upload `file` with tus and create a video from it. */
int64_t ufix_add_video(ufix_t *f, const char *file, const char *title);
/* Poll GET /admin/api/videos/<id>/ until processing_state is `state` (or
 * any final state when state is NULL); the last object into *video.
 * 0 when reached, -1 on timeout. */
int ufix_wait_video(ufix_t *f, int64_t id, const char *state, int timeout_ms, json_t **video);
/* The same for another field of the video object ("hls_state"), which is
 * given up on (-1) as soon as processing has ended without it. */
int ufix_wait_video_field(ufix_t *f, int64_t id, const char *field, const char *value, int timeout_ms,
                          json_t **video);

/* First column of the first row of a query on the test database (malloc()ed),
 * or NULL. */
char *ufix_sql(ufix_t *f, const char *sql);
/* Files under dir (recursively); -1 when it cannot be read. */
int ufix_count_files(const char *dir);

/* storage_s3 on the test bucket ($VF_TEST_S3_*), loaded by the core's
 * loader, to look at objects directly; NULL with the message in err. */
vf_plugin_t *ufix_s3_plugin(char *err, size_t errlen);

/* ----------------------------------------------------- the server's memory */

/* "VmRSS:" or "VmHWM:" of a process, in kB; -1 when unreadable. */
long ufix_proc_kb(int pid, const char *field);
/* Make VmHWM start again from the current VmRSS (/proc/<pid>/clear_refs,
 * Linux >= 4.0); 0, or -1 when that cannot be written. */
int ufix_reset_peak(int pid);

/* A clip made with ffmpeg's test sources (H.264/AAC MP4). */
int ufix_make_clip(const char *path, int width, int height, double seconds);

#endif
