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
