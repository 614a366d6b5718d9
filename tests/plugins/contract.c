/*
 * contract.c - see contract.h.  Loading goes through the core's real loader
 * (vft_plugin_load), so a subject is held to exactly the rules videoflix
 * applies when it starts.
 */
#include "config.h"
#include "tests/plugins/contract.h"
#include "vftest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Append n bytes to a growing string. */
static int append(char **buf, size_t *len, const char *text, size_t n)
{
    char *grown = realloc(*buf, *len + n + 1);
    if (!grown)
        return -1;
    memcpy(grown + *len, text, n);
    *len += n;
    grown[*len] = '\0';
    *buf = grown;
    return 0;
}

char *vfc_expand(const char *template_text, const char *workdir, char *err, size_t errlen)
{
    char *out = NULL;
    size_t len = 0;
    if (append(&out, &len, "", 0) != 0)
        goto nomem;
    for (const char *p = template_text ? template_text : ""; *p;) {
        const char *open = strstr(p, "${");
        if (!open) {
            if (append(&out, &len, p, strlen(p)) != 0)
                goto nomem;
            break;
        }
        const char *close = strchr(open + 2, '}');
        if (!close) {
            snprintf(err, errlen, "the plugin config has a '${' without its '}'");
            free(out);
            return NULL;
        }
        char name[128];
        size_t name_len = (size_t)(close - open - 2);
        if (name_len == 0 || name_len >= sizeof name) {
            snprintf(err, errlen, "the plugin config has an empty or overlong ${NAME}");
            free(out);
            return NULL;
        }
        memcpy(name, open + 2, name_len);
        name[name_len] = '\0';
        const char *value = strcmp(name, VFC_WORKDIR_VAR) == 0 ? workdir : getenv(name);
        if (!value || !*value) {
            snprintf(err, errlen,
                     "the plugin config needs the environment variable %s, which is not set "
                     "(is the service the plugin talks to running? scripts/test.sh starts them)",
                     name);
            free(out);
            return NULL;
        }
        if (append(&out, &len, p, (size_t)(open - p)) != 0 || append(&out, &len, value, strlen(value)) != 0)
            goto nomem;
        p = close + 1;
    }
    return out;
nomem:
    snprintf(err, errlen, "out of memory");
    free(out);
    return NULL;
}

void vfc_open(const vfc_subject_t *subject, vf_plugin_kind_t kind, vfc_instance_t *inst)
{
    char err[1024] = "";
    memset(inst, 0, sizeof *inst);
    inst->workdir = vft_tmpdir("vf-contract");
    ck_assert_msg(inst->workdir != NULL, "cannot make a working directory under $TMPDIR");
    char *config = vfc_expand(subject->config, inst->workdir, err, sizeof err);
    ck_assert_msg(config != NULL, "%s: %s", subject->label, err);
    inst->plugin = vft_plugin_load(subject->plugin, kind, config, err, sizeof err);
    free(config);
    ck_assert_msg(inst->plugin != NULL, "%s: %s", subject->label, err);
}

void vfc_close(vfc_instance_t *inst)
{
    if (inst->plugin)
        vft_plugin_free(inst->plugin);
    if (inst->workdir) {
        vft_rmrf(inst->workdir);
        free(inst->workdir);
    }
    memset(inst, 0, sizeof *inst);
}

char *vfc_path(const char *dir, const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

int vfc_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int vfc_record_progress(void *ud, double percent)
{
    vfc_progress_t *p = ud;
    if (p->calls > 0 && percent < p->last)
        p->backwards = 1;
    if (!(percent >= 0 && percent <= 100))
        p->out_of_range = 1;
    p->last = percent;
    p->calls++;
    if ((p->cancel_at_call && p->calls == p->cancel_at_call) || (p->cancel_above_zero && percent > 0) ||
        (p->cancel_from > 0 && percent >= p->cancel_from))
        p->cancelled = 1;
    return p->cancelled;
}

void vfc_assert_progress_sane(const vfc_progress_t *p, const char *what)
{
    ck_assert_msg(p->calls >= 1, "%s: progress was never called", what);
    ck_assert_msg(!p->backwards, "%s: progress went backwards", what);
    ck_assert_msg(!p->out_of_range, "%s: progress left 0..100", what);
}

int vfc_run(Suite *s)
{
    if (!s)
        return -1;
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY, default normal */
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

int vfc_main(Suite *(*contract_suite)(void), Suite *(*own_suite)(void))
{
    int contract_failed = vfc_run(contract_suite()) != 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return EXIT_FAILURE;
    }
    if (pid == 0) {
        int failed = vfc_run(own_suite());
        fflush(NULL);
        _exit(failed ? EXIT_FAILURE : EXIT_SUCCESS);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        fprintf(stderr, "the plugin's own suite did not finish normally\n");
        return EXIT_FAILURE;
    }
    if (contract_failed) {
        if (WEXITSTATUS(status) == 77)
            fprintf(stderr, "the contract failed; the plugin's own suite skipped\n");
        return EXIT_FAILURE;
    }
    return WEXITSTATUS(status);
}
