/*
 * vftest.c - see vftest.h.
 */
#include "config.h"
#include "vftest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *vft_env_or_skip(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "SKIP: %s is not set (run the suite through scripts/test.sh)\n", name);
        exit(77);
    }
    return v;
}

char *vft_tmpdir(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix ? prefix : "vft") < 0)
        return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int vft_rmrf(const char *path)
{
    if (!path)
        return 0;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int vft_run(char *const argv[], char **out)
{
    int pipefd[2] = {-1, -1};
    if (out && pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
            close(pipefd[1]);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (out) {
        close(pipefd[1]);
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap);
        ssize_t n;
        while (buf && (n = read(pipefd[0], buf + len, cap - len - 1)) != 0) {
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            len += (size_t)n;
            if (cap - len < 2) {
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        close(pipefd[0]);
        if (buf)
            buf[len] = '\0';
        *out = buf;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int vft_sh(char **out, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = vft_run(argv, out);
    free(cmd);
    return rc;
}

int vft_write_pattern(const char *path, size_t len, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned x = seed * 2654435761u + 1;
    unsigned char block[65536];
    while (len > 0) {
        size_t n = len < sizeof block ? len : sizeof block;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            block[i] = (unsigned char)(x >> 16);
        }
        if (fwrite(block, 1, n, f) != n) {
            fclose(f);
            return -1;
        }
        len -= n;
    }
    return fclose(f) == 0 ? 0 : -1;
}

char *vft_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *data = NULL;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long n = ftell(fp);
        rewind(fp);
        data = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (data && fread(data, 1, (size_t)n, fp) != (size_t)n) {
            free(data);
            data = NULL;
        }
        if (data) {
            data[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(fp);
    return data;
}

long vft_s3_proxy_count(const char *name)
{
    const char *path = getenv("VF_TEST_S3_STATS");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    char line[4096];
    long value = 0;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            value = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return value;
}

int vft_files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int equal = fa && fb;
    while (equal) {
        char ba[65536], bb[65536];
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0)
            equal = 0;
        if (na == 0)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return equal;
}

/* The config_t must outlive the plugin's create(); keep it beside it. */
typedef struct loaded {
    vf_plugin_t *plugin;
    config_t cfg;
    struct loaded *next;
} loaded_t;
static loaded_t *loaded_list;

vf_plugin_t *vft_plugin_load(const char *name, vf_plugin_kind_t kind, const char *config_text,
                             char *err, size_t errlen)
{
    const char *dir = getenv("VF_PLUGIN_DIR");
    if (!dir || !*dir)
        dir = ".";
    loaded_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    config_init(&l->cfg);
    char *text = NULL;
    if (asprintf(&text, "plugin = {\n%s\n};\n", config_text ? config_text : "") < 0) {
        free(l);
        return NULL;
    }
    if (config_read_string(&l->cfg, text) != CONFIG_TRUE) {
        snprintf(err, errlen, "test config line %d: %s", config_error_line(&l->cfg),
                 config_error_text(&l->cfg));
        free(text);
        config_destroy(&l->cfg);
        free(l);
        return NULL;
    }
    free(text);
    config_setting_t *group = config_lookup(&l->cfg, "plugin");
    if (vf_plugin_load(dir, name, kind, group, &l->plugin, err, errlen) < 0) {
        config_destroy(&l->cfg);
        free(l);
        return NULL;
    }
    l->next = loaded_list;
    loaded_list = l;
    return l->plugin;
}

void vft_plugin_free(vf_plugin_t *p)
{
    for (loaded_t **pp = &loaded_list; *pp; pp = &(*pp)->next) {
        if ((*pp)->plugin == p) {
            loaded_t *l = *pp;
            *pp = l->next;
            vf_plugin_free(&l->plugin);
            config_destroy(&l->cfg);
            free(l);
            return;
        }
    }
}

/* --------------------------------------------------------------- services */

#include <arpa/inet.h>
#include <brotli/decode.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <zlib.h>

int vft_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int vft_wait_port(int port, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

int vft_connect(int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

long vft_vm_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int vft_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return (int)pid;
}

int vft_stop(int pid, int sig, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    int status;
    for (int waited = 0;; waited += 20) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0)
            return -1;
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            if (waitpid(pid, &status, 0) != pid)
                return -1;
            break;
        }
        sleep_ms(20);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

int vft_redis_start(vft_redis_t *r, const char *dir, int port)
{
    const char *bin = getenv("VF_REDIS_SERVER");
    if (!bin || !*bin)
        bin = "redis-server";
    r->port = port > 0 ? port : vft_free_port();
    r->dir = strdup(dir);
    char portstr[16], log[4096];
    snprintf(portstr, sizeof portstr, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", dir);
    char *argv[] = {(char *)bin, "--port", portstr, "--bind", "127.0.0.1", "--dir", (char *)dir,
                    "--save", "", "--appendonly", "no", "--daemonize", "no", NULL};
    r->pid = vft_spawn(argv, log);
    if (r->pid < 0 || vft_wait_port(r->port, 10000) != 0)
        return -1;
    return 0;
}

void vft_redis_stop(vft_redis_t *r)
{
    if (r->pid > 0)
        vft_stop(r->pid, SIGTERM, 5000);
    r->pid = 0;
    free(r->dir);
    r->dir = NULL;
}

/* verb is "CREATE DATABASE" or "DROP DATABASE IF EXISTS"; suffix follows the name. */
static int pg_admin(const char *verb, const char *name, const char *suffix)
{
    const char *dsn = vft_env_or_skip("VF_TEST_PG_DSN");
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "vftest: cannot connect to %s: %s", dsn, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char *ident = PQescapeIdentifier(c, name, strlen(name));
    char *sql = NULL;
    int ret = -1;
    if (ident && asprintf(&sql, "%s %s%s", verb, ident, suffix) >= 0) {
        PGresult *r = PQexec(c, sql);
        ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
        if (ret)
            fprintf(stderr, "vftest: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    free(sql);
    PQfreemem(ident);
    PQfinish(c);
    return ret;
}

char *vft_pg_create(const char *name_prefix)
{
    const char *dsn = vft_env_or_skip("VF_TEST_PG_DSN");
    char name[64];
    snprintf(name, sizeof name, "%s_%d_%ld", name_prefix, (int)getpid(), (long)time(NULL) % 100000);
    if (pg_admin("CREATE DATABASE", name, "") != 0)
        return NULL;
    char *conninfo = NULL;
    if (asprintf(&conninfo, "%s dbname=%s", dsn, name) < 0)
        return NULL;
    return conninfo;
}

void vft_pg_drop(const char *conninfo)
{
    /* The last dbname= is ours: the base DSN names another database. */
    const char *p = NULL;
    for (const char *q = conninfo; q && (q = strstr(q, "dbname=")) != NULL; q++)
        p = q;
    if (!p)
        return;
    char name[64];
    snprintf(name, sizeof name, "%s", p + 7);
    name[strcspn(name, " ")] = '\0';
    pg_admin("DROP DATABASE IF EXISTS", name, " WITH (FORCE)");
}

char *vft_write_config(const char *dir, const char *conninfo, int redis_port, const char *extra)
{
    char *path = NULL;
    if (asprintf(&path, "%s/videoflix.conf", dir) < 0)
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f) {
        free(path);
        return NULL;
    }
    const char *srcdir = getenv("VF_SRCDIR");
    const char *plugdir = getenv("VF_PLUGIN_DIR");
    fprintf(f,
            "log = { level = \"%s\"; };\n"
            "database = { conninfo = \"%s\"; migrations_dir = \"%s/sql\"; };\n"
            "redis = { port = %d; };\n"
            "plugins = { dir = \"%s\"; };\n"
            "storage = { plugin = \"storage_local\"; settings = { root = \"%s/media\"; }; };\n"
            "mail = { transport = \"file\"; dir = \"%s/mail\"; templates_dir = \"%s/templates\"; };\n"
            "%s\n",
            getenv("VF_TEST_LOG_LEVEL") ? getenv("VF_TEST_LOG_LEVEL") : "info", conninfo,
            srcdir ? srcdir : ".", redis_port, plugdir ? plugdir : ".", dir, dir,
            srcdir ? srcdir : ".", extra ? extra : "");
    if (fclose(f) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

/* ------------------------------------------------------------------- HTTP */

typedef struct membuf {
    char *data;
    size_t len;
} membuf_t;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
    membuf_t *m = ud;
    size_t n = size * nmemb;
    char *nd = realloc(m->data, m->len + n + 1);
    if (!nd)
        return 0;
    memcpy(nd + m->len, ptr, n);
    m->len += n;
    nd[m->len] = '\0';
    m->data = nd;
    return n;
}

static size_t collect_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    membuf_t *m = ud;
    size_t n = size * nmemb;
    /* A new status line starts the final response's block afresh. */
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
        m->len = 0;
    return collect(ptr, size, nmemb, ud);
}

int vft_http_raw(const char *method, const char *url, const void *body, size_t len, const char *const *headers,
                 const char *cookie, vft_response_t *resp)
{
    memset(resp, 0, sizeof *resp);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    int ret = vft_http_on(c, method, url, body, len, headers, cookie, resp);
    curl_easy_cleanup(c);
    return ret;
}

void (*vft_http_options)(void *curl);

int vft_http_on(void *handle, const char *method, const char *url, const void *body, size_t len,
                const char *const *headers, const char *cookie, vft_response_t *resp)
{
    CURL *c = handle;
    memset(resp, 0, sizeof *resp);
    /* Options from the handle's last request go; its connection stays. */
    curl_easy_reset(c);
    membuf_t b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    /* No "Expect: 100-continue" round trip for larger bodies. */
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (cookie && *cookie)
        curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (vft_http_options)
        vft_http_options(c);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(hl);
    resp->body = b.data ? b.data : strdup("");
    resp->body_len = b.len;
    resp->headers = h.data ? h.data : strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

int vft_http(const char *method, const char *url, const char *body, const char *const *headers,
             vft_response_t *resp)
{
    return vft_http_raw(method, url, body, body ? strlen(body) : 0, headers, NULL, resp);
}

void vft_response_free(vft_response_t *resp)
{
    free(resp->body);
    free(resp->headers);
    memset(resp, 0, sizeof *resp);
}

void vft_servers_without_asan_quarantine(void)
{
#if defined(__SANITIZE_ADDRESS__)
    const char *old = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", old ? old : "", old && *old ? ":" : "");
    ck_assert_int_eq(setenv("ASAN_OPTIONS", opts, 1), 0);
#endif
}

int vft_decode(const char *coding, const void *in, size_t len, char **out, size_t *out_len)
{
    size_t room = 64 * 1024 + len * 64; /* JSON does not shrink more than 64 times */
    char *buf = malloc(room + 1);
    *out = NULL;
    *out_len = 0;
    if (!buf)
        return -1;
    size_t got = room;
    int ok = 0;
    if (strcmp(coding, "br") == 0) {
        ok = BrotliDecoderDecompress(len, in, &got, (uint8_t *)buf) == BROTLI_DECODER_RESULT_SUCCESS;
    } else if (strcmp(coding, "gzip") == 0) {
        z_stream z = {0};
        if (inflateInit2(&z, 15 + 16) == Z_OK) {
            z.next_in = (Bytef *)in;
            z.avail_in = (uInt)len;
            z.next_out = (Bytef *)buf;
            z.avail_out = (uInt)room;
            ok = inflate(&z, Z_FINISH) == Z_STREAM_END && z.avail_in == 0;
            got = room - z.avail_out;
            inflateEnd(&z);
        }
    }
    if (!ok) {
        free(buf);
        return -1;
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    return 0;
}

char *vft_header(const vft_response_t *resp, const char *name, int nth)
{
    size_t nlen = strlen(name);
    for (const char *line = resp->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end)
            end = line + strlen(line);
        if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            if (nth-- == 0) {
                const char *v = line + nlen + 1;
                while (*v == ' ')
                    v++;
                return strndup(v, (size_t)(end - v));
            }
        }
        line = *end ? end + 2 : end;
    }
    return NULL;
}
