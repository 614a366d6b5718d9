/*
 * uploads_fixture.c - see uploads_fixture.h.
 */
#include "config.h"
#include "uploads_fixture.h"

#include "tests/media.h"

#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define STAFF_EMAIL "staff@example.com"
#define STAFF_PASSWORD "staff-password-1"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

char *ufix_sql(ufix_t *f, const char *sql)
{
    PGconn *c = PQconnectdb(f->conninfo);
    char *out = NULL;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0)
            out = strdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
        else if (st == PGRES_COMMAND_OK)
            out = strdup(PQcmdTuples(r));
        else if (st != PGRES_TUPLES_OK)
            fprintf(stderr, "ufix_sql: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(c);
    return out;
}

int ufix_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            int k = ufix_count_files(path);
            n += k > 0 ? k : 0;
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

long ufix_proc_kb(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    long kb = -1;
    size_t n = strlen(field);
    while (kb < 0 && fgets(line, sizeof line, fp))
        if (strncmp(line, field, n) == 0)
            kb = strtol(line + n, NULL, 10);
    fclose(fp);
    return kb;
}

int ufix_reset_peak(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

int ufix_make_clip(const char *path, int width, int height, double seconds)
{
    vfm_clip_t clip = {.width = width, .height = height, .fps = 25, .seconds = seconds, .audio = 1};
    return vfm_make_clip(path, &clip);
}

/* ------------------------------------------------------------------- HTTP */

int ufix_request(ufix_t *f, const char *method, const char *path, const char *const *headers, const void *body,
                 size_t len, int cookie, ufix_resp_t *resp)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", strncmp(path, "http", 4) == 0 ? "" : f->base, path);
    if (f->conn)
        return vft_http_on(f->conn, method, url, body, len, headers, cookie ? f->cookie : NULL, resp);
    return vft_http_raw(method, url, body, len, headers, cookie ? f->cookie : NULL, resp);
}

void ufix_resp_free(ufix_resp_t *resp) { vft_response_free(resp); }

char *ufix_header(const ufix_resp_t *resp, const char *name) { return vft_header(resp, name, 0); }

long ufix_json(ufix_t *f, const char *method, const char *path, const char *body, json_t **out)
{
    const char *headers[] = {"Content-Type: application/json", NULL};
    ufix_resp_t resp;
    if (out)
        *out = NULL;
    if (ufix_request(f, method, path, headers, body, body ? strlen(body) : 0, 1, &resp) != 0) {
        ufix_resp_free(&resp);
        return -1;
    }
    if (out && resp.body_len)
        *out = json_loadb(resp.body, resp.body_len, 0, NULL);
    long status = resp.status;
    ufix_resp_free(&resp);
    return status;
}

/* -------------------------------------------------------------------- tus */

const char *ufix_upload_id(const char *path, char id[33])
{
    const char *p = strstr(path, "/admin/api/uploads/");
    snprintf(id, 33, "%s", p ? p + strlen("/admin/api/uploads/") : "");
    return id;
}

long ufix_tus_create(ufix_t *f, int64_t length, const char *filename, char *path, size_t len)
{
    char lenh[64], meta[512] = "Upload-Metadata: ";
    snprintf(lenh, sizeof lenh, "Upload-Length: %" PRId64, length);
    if (filename) {
        /* base64 of the name, by hand: the tests' names are short ASCII. */
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char enc[256];
        size_t n = strlen(filename), o = 0;
        for (size_t i = 0; i < n && o + 5 < sizeof enc; i += 3) {
            unsigned v = (unsigned char)filename[i] << 16;
            if (i + 1 < n)
                v |= (unsigned char)filename[i + 1] << 8;
            if (i + 2 < n)
                v |= (unsigned char)filename[i + 2];
            enc[o++] = tbl[(v >> 18) & 63];
            enc[o++] = tbl[(v >> 12) & 63];
            enc[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
            enc[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        enc[o] = '\0';
        snprintf(meta + strlen(meta), sizeof meta - strlen(meta), "filename %s", enc);
    }
    const char *headers[] = {"Tus-Resumable: 1.0.0", lenh, filename ? meta : NULL, NULL};
    ufix_resp_t resp;
    if (ufix_request(f, "POST", "/admin/api/uploads/", headers, NULL, 0, 1, &resp) != 0) {
        ufix_resp_free(&resp);
        return -1;
    }
    char *loc = ufix_header(&resp, "Location");
    snprintf(path, len, "%s", loc ? loc : "");
    free(loc);
    long status = resp.status;
    ufix_resp_free(&resp);
    return status;
}

long ufix_tus_patch(ufix_t *f, const char *path, int64_t offset, const void *data, size_t len, int64_t *new_offset)
{
    char off[64];
    snprintf(off, sizeof off, "Upload-Offset: %" PRId64, offset);
    const char *headers[] = {"Tus-Resumable: 1.0.0", off, "Content-Type: application/offset+octet-stream", NULL};
    ufix_resp_t resp;
    if (ufix_request(f, "PATCH", path, headers, data ? data : "", len, 1, &resp) != 0) {
        ufix_resp_free(&resp);
        return -1;
    }
    char *o = ufix_header(&resp, "Upload-Offset");
    if (new_offset)
        *new_offset = o ? strtoll(o, NULL, 10) : -1;
    free(o);
    long status = resp.status;
    ufix_resp_free(&resp);
    return status;
}

long ufix_tus_head(ufix_t *f, const char *path, int64_t *offset)
{
    const char *headers[] = {"Tus-Resumable: 1.0.0", NULL};
    ufix_resp_t resp;
    if (ufix_request(f, "HEAD", path, headers, NULL, 0, 1, &resp) != 0) {
        ufix_resp_free(&resp);
        return -1;
    }
    char *o = ufix_header(&resp, "Upload-Offset");
    if (offset)
        *offset = o ? strtoll(o, NULL, 10) : -1;
    free(o);
    long status = resp.status;
    ufix_resp_free(&resp);
    return status;
}

int ufix_tus_upload_file(ufix_t *f, const char *file, size_t chunk, char *id)
{
    size_t len = 0;
    char *data = vft_read_file(file, &len);
    char path[256];
    int ret = -1;
    if (!data)
        return -1;
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (ufix_tus_create(f, (int64_t)len, base, path, sizeof path) != 201)
        goto out;
    int64_t off = 0;
    while ((size_t)off < len) {
        size_t n = len - (size_t)off < chunk ? len - (size_t)off : chunk;
        int64_t next = -1;
        if (ufix_tus_patch(f, path, off, data + off, n, &next) != 204 || next != off + (int64_t)n)
            goto out;
        off = next;
    }
    ufix_upload_id(path, id);
    ret = 0;
out:
    free(data);
    return ret;
}

int ufix_read_at(int fd, char *buf, size_t len, off_t offset)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, offset + (off_t)got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int ufix_tus_upload_chunks(ufix_t *f, const char *file, size_t size, size_t chunk, char *buf, char *path,
                           size_t plen)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ret = -1;
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (ufix_tus_create(f, (int64_t)size, base, path, plen) != 201) {
        fprintf(stderr, "ufix_tus_upload_chunks: the creation of an upload of %zu bytes failed\n", size);
        goto out;
    }
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        int64_t next = -1;
        if (ufix_read_at(fd, buf, n, (off_t)off) != 0)
            goto out;
        long status = ufix_tus_patch(f, path, (int64_t)off, buf, n, &next);
        if (status != 204 || next != (int64_t)(off + n)) {
            fprintf(stderr, "ufix_tus_upload_chunks: PATCH at %zu answered %ld\n", off, status);
            goto out;
        }
        off += n;
    }
    ret = 0;
out:
    close(fd);
    return ret;
}

/* ----------------------------------------------------------------- videos */

int64_t ufix_create_video(ufix_t *f, const char *title, const char *category, const char *upload_id)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "title", title, "description", "A test clip.", "category",
                            category, "upload_id", upload_id);
    char *body = json_dumps(req, 0);
    json_decref(req);
    json_t *resp = NULL;
    long status = ufix_json(f, "POST", "/admin/api/videos/", body, &resp);
    free(body);
    int64_t id = status == 201 ? (int64_t)json_integer_value(json_object_get(resp, "id")) : -status;
    if (status != 201) {
        char *s = resp ? json_dumps(resp, 0) : NULL;
        fprintf(stderr, "create video: %ld %s\n", status, s ? s : "");
        free(s);
    }
    json_decref(resp);
    return id;
}

int64_t ufix_add_video(ufix_t *f, const char *file, const char *title)
{
    char id[33];
    if (ufix_tus_upload_file(f, file, 64 * 1024, id) != 0)
        return -1;
    return ufix_create_video(f, title, "Documentary", id);
}

int ufix_wait_video(ufix_t *f, int64_t id, const char *state, int timeout_ms, json_t **video)
{
    return ufix_wait_video_field(f, id, "processing_state", state, timeout_ms, video);
}

int ufix_wait_video_field(ufix_t *f, int64_t id, const char *field, const char *value, int timeout_ms,
                          json_t **video)
{
    char path[96];
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/", id);
    int of_state = strcmp(field, "processing_state") == 0;
    for (int waited = 0;; waited += 100) {
        json_t *v = NULL;
        long status = ufix_json(f, "GET", path, NULL, &v);
        const char *got = json_string_value(json_object_get(v, field));
        const char *st = json_string_value(json_object_get(v, "processing_state"));
        int final = st && (strcmp(st, "ready") == 0 || strcmp(st, "failed") == 0);
        int reached = status == 200 && got && (value ? strcmp(got, value) == 0 : of_state && final);
        /* Another field changes no more once processing has ended. */
        int hopeless = status == 200 && !reached && !of_state && final;
        if (reached || hopeless || waited >= timeout_ms) {
            if (video)
                *video = v;
            else
                json_decref(v);
            return reached ? 0 : -1;
        }
        json_decref(v);
        sleep_ms(100);
    }
}

/* ------------------------------------------------------------ processes */

static int run_binary(ufix_t *f, char **out, const char *const *args)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)getenv("VF_BINARY");
    argv[n++] = "--config";
    argv[n++] = f->config;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return vft_run(argv, out);
}

long ufix_login(ufix_t *f, const char *email, const char *password, char *cookie, size_t len)
{
    char body[512];
    snprintf(body, sizeof body, "{\"email\": \"%s\", \"password\": \"%s\", \"remember\": false}", email,
             password);
    const char *headers[] = {"Content-Type: application/json", NULL};
    ufix_resp_t resp;
    cookie[0] = '\0';
    int ret = ufix_request(f, "POST", "/users/login/", headers, body, strlen(body), 0, &resp);
    if (ret == 0 && resp.status == 200) {
        vft_response_t v = {.headers = resp.headers};
        for (int i = 0;; i++) {
            char *c = vft_header(&v, "Set-Cookie", i);
            if (!c)
                break;
            c[strcspn(c, ";")] = '\0';
            size_t used = strlen(cookie);
            snprintf(cookie + used, len - used, "%s%s", used ? "; " : "", c);
            free(c);
        }
    }
    long status = ret == 0 ? resp.status : -1;
    ufix_resp_free(&resp);
    return status;
}

int ufix_user(ufix_t *f, const char *email, const char *password, int staff, char *cookie, size_t len,
              int64_t *id)
{
    const char *create[] = {"createsuperuser", "--email", email, "--password", password, NULL};
    if (run_binary(f, NULL, create) != 0)
        return -1;
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE users SET is_staff = %s, is_superuser = %s WHERE email = '%s' RETURNING id",
             staff ? "true" : "false", staff ? "true" : "false", email);
    char *uid = ufix_sql(f, sql);
    *id = uid ? strtoll(uid, NULL, 10) : 0;
    free(uid);
    if (!*id)
        return -1;
    if (!cookie)
        return 0;
    long status = ufix_login(f, email, password, cookie, len);
    if (status != 200 || !cookie[0])
        fprintf(stderr, "login %s: %ld\n", email, status);
    return status == 200 && cookie[0] ? 0 : -1;
}

static int login(ufix_t *f)
{
    return ufix_user(f, STAFF_EMAIL, STAFF_PASSWORD, 1, f->cookie, sizeof f->cookie, &f->user_id);
}

static int start_server(ufix_t *f)
{
    char log[4096];
    snprintf(log, sizeof log, "%s/server.log", f->dir);
    char *argv[] = {getenv("VF_BINARY"), "--config", f->config, "serve", NULL};
    f->server_pid = vft_spawn(argv, log);
    if (f->server_pid < 0 || vft_wait_port(f->port, 15000) != 0)
        return -1;
    return 0;
}

/* The configuration with another media.work_dir: a worker on "another
 * host" (malloc()ed path, or NULL). */
static char *config_with_work_dir(ufix_t *f, int i, const char *work_dir)
{
    size_t len = 0;
    char *text = vft_read_file(f->config, &len), *path = NULL, *old = NULL;
    if (!text || asprintf(&old, "work_dir = \"%s\";", f->work_dir) < 0 ||
        asprintf(&path, "%s/worker-%d.conf", f->dir, i) < 0) {
        free(text);
        free(old);
        return NULL;
    }
    text[len] = '\0';
    char *at = strstr(text, old);
    FILE *fp = at ? fopen(path, "w") : NULL;
    int ok = fp && fprintf(fp, "%.*swork_dir = \"%s\";%s", (int)(at - text), text, work_dir, at + strlen(old)) > 0;
    if (fp && fclose(fp) != 0)
        ok = 0;
    free(text);
    free(old);
    if (!ok) {
        free(path);
        return NULL;
    }
    return path;
}

int ufix_start_worker_in(ufix_t *f, int concurrency, const char *work_dir)
{
    int i = 0;
    while (i < UFIX_MAX_WORKERS && f->workers[i] > 0)
        i++;
    if (i == UFIX_MAX_WORKERS)
        return -1;
    char *config = work_dir ? config_with_work_dir(f, i, work_dir) : strdup(f->config);
    if (!config)
        return -1;
    char log[4096], conc[16], name[32];
    snprintf(log, sizeof log, "%s/worker-%d.log", f->dir, i);
    snprintf(conc, sizeof conc, "%d", concurrency);
    snprintf(name, sizeof name, "w%d", i);
    char *argv[] = {getenv("VF_BINARY"), "--config", config, "worker", "--concurrency", conc, "--name", name, NULL};
    f->workers[i] = vft_spawn(argv, log);
    free(config);
    return f->workers[i] > 0 ? i : -1;
}

int ufix_start_worker(ufix_t *f, int concurrency)
{
    return ufix_start_worker_in(f, concurrency, NULL);
}

int ufix_stop_worker(ufix_t *f, int i, int sig)
{
    if (i < 0 || i >= UFIX_MAX_WORKERS || f->workers[i] <= 0)
        return -1;
    int status = vft_stop(f->workers[i], sig, 20000);
    f->workers[i] = 0;
    return status;
}

char *ufix_worker_log(ufix_t *f, int i)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/worker-%d.log", f->dir, i);
    size_t len = 0;
    char *text = vft_read_file(path, &len);
    if (text)
        text[len] = '\0';
    return text ? text : strdup("");
}

/* ---------------------------------------------------------------- set-up */

static char *s3_storage_line(void)
{
    char *line = NULL;
    if (asprintf(&line,
                 "storage = { plugin = \"storage_s3\"; settings = { bucket = \"%s\"; region = \"%s\"; "
                 "endpoint = \"%s\"; access_key_id_env = \"VF_TEST_S3_ACCESS_KEY\"; "
                 "secret_access_key_env = \"VF_TEST_S3_SECRET_KEY\"; }; };",
                 vft_env_or_skip("VF_TEST_S3_BUCKET"), getenv("VF_TEST_S3_REGION") ? getenv("VF_TEST_S3_REGION")
                                                                                     : "us-east-1",
                 vft_env_or_skip("VF_TEST_S3_ENDPOINT")) < 0)
        return NULL;
    return line;
}

vf_plugin_t *ufix_s3_plugin(char *err, size_t errlen)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "bucket = \"%s\"; endpoint = \"%s\"; access_key_id_env = \"VF_TEST_S3_ACCESS_KEY\"; "
             "secret_access_key_env = \"VF_TEST_S3_SECRET_KEY\";",
             vft_env_or_skip("VF_TEST_S3_BUCKET"), vft_env_or_skip("VF_TEST_S3_ENDPOINT"));
    return vft_plugin_load("storage_s3", VF_PLUGIN_STORAGE, cfg, err, errlen);
}

/* vft_write_config's file with its storage line replaced: S3, or local
 * storage whose URLs point at this test's server. */
static int set_storage(ufix_t *f, int s3)
{
    const char *config = f->config;
    size_t len = 0;
    char *text = vft_read_file(config, &len);
    if (!text)
        return -1;
    text[len] = '\0';
    char *start = strstr(text, "storage = {");
    char *end = start ? strchr(start, '\n') : NULL;
    char *line = NULL;
    if (s3)
        line = s3_storage_line();
    else if (asprintf(&line, "storage = { plugin = \"storage_local\"; settings = { root = \"%s\"; "
                             "public_url = \"%s/media/\"; }; };",
                      f->media_root, f->base) < 0)
        line = NULL;
    int ret = -1;
    if (start && end && line) {
        FILE *fp = fopen(config, "w");
        if (fp) {
            fprintf(fp, "%.*s%s%s", (int)(start - text), text, line, end);
            ret = fclose(fp) == 0 ? 0 : -1;
        }
    }
    free(line);
    free(text);
    return ret;
}

int ufix_setup(ufix_t *f, const ufix_opts_t *opts)
{
    static const ufix_opts_t none = {0};
    if (!opts)
        opts = &none;
    memset(f, 0, sizeof *f);
    f->dir = vft_tmpdir("vf-uploads");
    f->conninfo = vft_pg_create("vf_uploads");
    if (!f->dir || !f->conninfo)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/redis", f->dir);
    mkdir(path, 0755);
    if (vft_redis_start(&f->redis, path, 0) != 0)
        return -1;
    if (asprintf(&f->work_dir, "%s/work", f->dir) < 0 || mkdir(f->work_dir, 0755) != 0)
        return -1;
    if (!opts->s3 && asprintf(&f->media_root, "%s/media", f->dir) < 0)
        return -1;
    f->port = vft_free_port();
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    char *extra = NULL;
    const char *ladder = "renditions = ( { name = \"120p\"; height = 120; }, { name = \"240p\"; height = 240; } );";
    if (asprintf(&extra,
                 "server = { port = %d; threads = %d; public_origin = \"%s\"; %s };\n"
                 "auth = { secret_key = \"uploads-test-secret-key-0123456789abcdef\"; %s };\n"
                 "media = { %s work_dir = \"%s\"; job_split = \"%s\"; };\n"
                 "queue = { visibility_timeout = %d; backoff_base = 1; backoff_max = 2; };\n"
                 "worker = { heartbeat_interval = 1; shutdown_grace = 5; };\n"
                 "%s\n",
                 f->port, opts->threads > 0 ? opts->threads : 2, f->base, opts->server ? opts->server : "",
                 opts->auth ? opts->auth : "", opts->media ? opts->media : ladder, f->work_dir,
                 opts->job_split ? opts->job_split : "per_rendition",
                 opts->visibility_timeout > 0 ? opts->visibility_timeout : 4, opts->extra ? opts->extra : "") < 0)
        return -1;
    f->config = vft_write_config(f->dir, f->conninfo, f->redis.port, extra);
    free(extra);
    if (!f->config || set_storage(f, opts->s3) != 0)
        return -1;
    const char *migrate[] = {"migrate", NULL};
    if (run_binary(f, NULL, migrate) != 0)
        return -1;
    /* Video ids unique to this run: storage keys of a shared S3 bucket
     * (videos/<id>/...) never meet another test's. */
    char seq[128];
    snprintf(seq, sizeof seq, "SELECT setval('videos_id_seq', %ld)",
             (long)(time(NULL) % 100000) * 1000 + getpid() % 1000);
    free(ufix_sql(f, seq));
    if (start_server(f) != 0 || login(f) != 0)
        return -1;
    return 0;
}

void ufix_teardown(ufix_t *f)
{
    for (int i = 0; i < UFIX_MAX_WORKERS; i++)
        if (f->workers[i] > 0)
            ufix_stop_worker(f, i, SIGTERM);
    if (f->server_pid > 0)
        vft_stop(f->server_pid, SIGTERM, 10000);
    vft_redis_stop(&f->redis);
    if (f->conninfo)
        vft_pg_drop(f->conninfo);
    if (f->dir && !getenv("VF_TEST_KEEP"))
        vft_rmrf(f->dir);
    free(f->dir);
    free(f->conninfo);
    free(f->config);
    free(f->work_dir);
    free(f->media_root);
    memset(f, 0, sizeof *f);
}
