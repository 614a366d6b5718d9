/*
 * host_settings.c - see host_settings.h.  The walker collects every problem
 * before it gives up, like the core's own config reader, so one start shows
 * all that is wrong with a plugin's group.  libconfig's
 * config_setting_lookup_* cannot tell a missing key from a mistyped one, so
 * each member's own type is looked at.
 */
#include "config.h"
#include "plugins/host_settings.h"

#include "util/log.h"
#include "util/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ messages */

/* "file:line", or "line N" for a config read from a string. */
static void where(const config_setting_t *s, char *buf, size_t len)
{
    const char *file = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    if (file)
        snprintf(buf, len, "%s:%u", file, line);
    else
        snprintf(buf, len, "line %u", line);
}

/* "<where>: <plugin>: <problem>" into buf. */
static void format_problem(char *buf, size_t len, const char *plugin, const config_setting_t *at, const char *fmt,
                           va_list ap) __attribute__((format(printf, 5, 0)));
static void format_problem(char *buf, size_t len, const char *plugin, const config_setting_t *at, const char *fmt,
                           va_list ap)
{
    char loc[512] = "";
    if (at)
        where(at, loc, sizeof loc);
    int n = snprintf(buf, len, "%s%s%s: ", loc, at ? ": " : "", plugin ? plugin : "plugin");
    if (n >= 0 && (size_t)n < len)
        vsnprintf(buf + n, len - (size_t)n, fmt, ap);
}

int vf_host_setting_error(const char *plugin, const config_setting_t *group, const char *name, vf_error_t *err,
                          int code, const char *fmt, ...)
{
    const config_setting_t *at = group && name && config_setting_is_group(group)
                                     ? config_setting_get_member(group, name)
                                     : NULL;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        format_problem(err->message, sizeof err->message, plugin, at ? at : group, fmt, ap);
        va_end(ap);
    }
    if (code > 0)
        code = -code;
    return code ? code : -EIO;
}

/* Every problem of one walk: as many lines as fit in err, the rest logged. */
typedef struct problems {
    const char *plugin;
    vf_error_t *err;
    size_t used;
    int count;
    int logged;
} problems_t;

static void problem(problems_t *p, const config_setting_t *at, const char *fmt, ...) VF_PRINTF(3, 4);
static void problem(problems_t *p, const config_setting_t *at, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    format_problem(line, sizeof line, p->plugin, at, fmt, ap);
    va_end(ap);
    p->count++;
    size_t len = strlen(line);
    size_t cap = p->err ? sizeof p->err->message : 0;
    /* Keep room for the closing remark about logged problems. */
    if (p->err && !p->logged && p->used + len + 2 + 48 < cap) {
        snprintf(p->err->message + p->used, cap - p->used, "%s%s", p->used ? "\n" : "", line);
        p->used += len + (p->used ? 1 : 0);
        return;
    }
    p->logged++;
    vf_log(VF_LOG_ERROR, p->plugin, "%s", line);
}

static void problems_close(problems_t *p)
{
    if (p->logged && p->err)
        snprintf(p->err->message + p->used, sizeof p->err->message - p->used, "\n(%d more in the log)", p->logged);
}

/* ------------------------------------------------------------- secrets */

int vf_host_error(vf_error_t *err, int code, const char *fmt, ...)
{
    if (code > 0)
        code = -code;
    if (code == 0)
        code = -EIO;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

int vf_host_read_secret(const char *env, const char *file, char **out, vf_error_t *err)
{
    *out = NULL;
    bool env_named = env && *env, file_named = file && *file;
    if (env_named) {
        const char *v = getenv(env);
        if (v && *v) {
            *out = strdup(v);
            return *out ? 0 : vf_host_error(err, -ENOMEM, "out of memory");
        }
        if (!file_named)
            return vf_host_error(err, -ENOENT, "the environment variable %s is not set", env);
    }
    if (!file_named)
        return vf_host_error(err, -ENOENT, "neither an environment variable nor a file is named");
    int ret = vf_read_first_line(file, out);
    const char *unset = env_named ? "the environment variable is not set and " : "";
    if (ret == 0 && !**out) {
        free(*out);
        *out = NULL;
        ret = -ENODATA;
    }
    if (ret == -ENODATA)
        return vf_host_error(err, ret, "%sthe first line of %s is empty", unset, file);
    if (ret < 0)
        return vf_host_error(err, ret, "%scannot read %s: %s", unset, file, strerrordesc_np(-ret));
    return 0;
}

/* ------------------------------------------------------------- the walk */

static void *field_of(void *out, const vf_setting_t *k) { return (char *)out + k->offset; }

static const char *type_text(const vf_setting_t *k)
{
    switch (k->type) {
    case VF_SETTING_INT:
    case VF_SETTING_INT64: return "an integer";
    case VF_SETTING_BOOL: return "true or false";
    case VF_SETTING_FLOAT: return "a number";
    case VF_SETTING_STRING:
    case VF_SETTING_SECRET:
    case VF_SETTING_ENUM: return "a string";
    case VF_SETTING_STRINGS: return "a list of strings";
    }
    return "a value";
}

/* "\"a\", \"b\" or \"c\"" for an enum's message. */
static void choices_text(const vf_setting_t *k, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; k->choices && k->choices[i] && used < len; i++) {
        const char *sep = i == 0 ? "" : k->choices[i + 1] ? ", " : " or ";
        int n = snprintf(buf + used, len - used, "%s\"%s\"", sep, k->choices[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static int enum_index(const vf_setting_t *k, const char *value)
{
    for (int i = 0; value && k->choices && k->choices[i]; i++)
        if (strcmp(k->choices[i], value) == 0)
            return i;
    return -1;
}

static int apply_strings(problems_t *p, const vf_setting_t *k, const config_setting_t *m, void *out)
{
    int n = config_setting_length(m);
    char **list = calloc((size_t)n + 1, sizeof *list);
    if (!list)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const config_setting_t *item = config_setting_get_elem(m, (unsigned)i);
        if (config_setting_type(item) != CONFIG_TYPE_STRING) {
            problem(p, m, "'%s' must be %s", k->name, type_text(k));
            for (int j = 0; j < i; j++)
                free(list[j]);
            free(list);
            return 0;
        }
        if (!(list[i] = strdup(config_setting_get_string(item)))) {
            for (int j = 0; j < i; j++)
                free(list[j]);
            free(list);
            return -ENOMEM;
        }
    }
    if (n == 0 && (k->flags & VF_SETTING_NONEMPTY))
        problem(p, m, "'%s' must not be empty", k->name);
    *(char ***)field_of(out, k) = list;
    return 0;
}

/* Check member m against its row and store its value.  -ENOMEM only;
 * problems go to p. */
static int apply(problems_t *p, const vf_setting_t *k, const config_setting_t *m, void *out)
{
    int t = config_setting_type(m);
    bool is_int = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    switch (k->type) {
    case VF_SETTING_INT:
    case VF_SETTING_INT64: {
        if (!is_int) {
            problem(p, m, "'%s' must be %s", k->name, type_text(k));
            return 0;
        }
        long long v = config_setting_get_int64(m);
        long long lo = k->min < k->max ? k->min : k->type == VF_SETTING_INT ? INT32_MIN : INT64_MIN;
        long long hi = k->min < k->max ? k->max : k->type == VF_SETTING_INT ? INT32_MAX : INT64_MAX;
        if (v < lo || v > hi) {
            problem(p, m, "'%s' must be between %lld and %lld", k->name, lo, hi);
            return 0;
        }
        if (k->type == VF_SETTING_INT)
            *(int *)field_of(out, k) = (int)v;
        else
            *(int64_t *)field_of(out, k) = v;
        return 0;
    }
    case VF_SETTING_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            problem(p, m, "'%s' must be %s", k->name, type_text(k));
        else
            *(int *)field_of(out, k) = config_setting_get_bool(m);
        return 0;
    case VF_SETTING_FLOAT: {
        if (t != CONFIG_TYPE_FLOAT && !is_int) {
            problem(p, m, "'%s' must be %s", k->name, type_text(k));
            return 0;
        }
        double v = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(m) : (double)config_setting_get_int64(m);
        if (k->fmin < k->fmax && !(v >= k->fmin && v <= k->fmax)) {
            problem(p, m, "'%s' must be between %g and %g", k->name, k->fmin, k->fmax);
            return 0;
        }
        *(double *)field_of(out, k) = v;
        return 0;
    }
    case VF_SETTING_STRING:
    case VF_SETTING_SECRET: {
        if (t != CONFIG_TYPE_STRING) {
            problem(p, m, "'%s' must be %s", k->name, type_text(k));
            return 0;
        }
        const char *v = config_setting_get_string(m);
        if (!*v && (k->type == VF_SETTING_SECRET || (k->flags & VF_SETTING_NONEMPTY))) {
            problem(p, m, "'%s' is empty", k->name);
            return 0;
        }
        char **dst = field_of(out, k);
        free(*dst);
        *dst = strdup(v);
        return *dst ? 0 : -ENOMEM;
    }
    case VF_SETTING_ENUM: {
        int i = t == CONFIG_TYPE_STRING ? enum_index(k, config_setting_get_string(m)) : -1;
        if (i < 0) {
            char choices[256];
            choices_text(k, choices, sizeof choices);
            problem(p, m, "'%s' must be %s", k->name, choices);
            return 0;
        }
        *(int *)field_of(out, k) = i;
        return 0;
    }
    case VF_SETTING_STRINGS:
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
            problem(p, m, "'%s' must be %s", k->name, type_text(k));
            return 0;
        }
        return apply_strings(p, k, m, out);
    }
    problem(p, m, "'%s' has a type this videoflix does not know (%d)", k->name, (int)k->type);
    return 0;
}

static int fill_default(const vf_setting_t *k, void *out)
{
    switch (k->type) {
    case VF_SETTING_INT:
    case VF_SETTING_BOOL: *(int *)field_of(out, k) = (int)k->int_default; return 0;
    case VF_SETTING_INT64: *(int64_t *)field_of(out, k) = k->int_default; return 0;
    case VF_SETTING_FLOAT: *(double *)field_of(out, k) = k->float_default; return 0;
    case VF_SETTING_ENUM: *(int *)field_of(out, k) = enum_index(k, k->str_default); return 0;
    case VF_SETTING_STRING: {
        char **dst = field_of(out, k);
        *dst = k->str_default ? strdup(k->str_default) : NULL;
        return !k->str_default || *dst ? 0 : -ENOMEM;
    }
    case VF_SETTING_SECRET: *(char **)field_of(out, k) = NULL; return 0;
    case VF_SETTING_STRINGS: *(char ***)field_of(out, k) = NULL; return 0;
    }
    return 0;
}

/* A secret `x` may also be named through x_env or x_file: 1 or 2. */
static int secret_suffix(const char *member, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(member, name, n) != 0)
        return 0;
    return strcmp(member + n, "_env") == 0 ? 1 : strcmp(member + n, "_file") == 0 ? 2 : 0;
}

typedef struct seen {
    const config_setting_t *value, *env, *file;
} seen_t;

/* x was not written inline: read it through x_env / x_file or the default
 * environment variable. */
static int resolve_secret(problems_t *p, const config_setting_t *group, const vf_setting_t *k, const seen_t *s,
                          void *out)
{
    const char *env = s->env ? config_setting_get_string(s->env) : NULL;
    const char *file = s->file ? config_setting_get_string(s->file) : NULL;
    bool required = k->flags & VF_SETTING_REQUIRED;
    if (!env && !file) {
        env = k->str_default;
        const char *value = env ? getenv(env) : NULL;
        if (!value || !*value) {
            if (required)
                problem(p, group, "'%s' is required: set '%s', '%s_env' or '%s_file'%s%s", k->name, k->name, k->name,
                        k->name, env ? ", or the environment variable " : "", env ? env : "");
            return 0;
        }
    }
    vf_error_t why = {0};
    char **dst = field_of(out, k);
    int ret = vf_host_read_secret(env, file, dst, &why);
    if (ret == -ENOMEM)
        return ret;
    /* A named file that cannot be used is always wrong; a named but unset
     * variable only when the secret is needed. */
    if (ret < 0 && (file || required))
        problem(p, s->file ? s->file : s->env ? s->env : group, "'%s': %s", k->name, why.message);
    return 0;
}

/* Edit distance, capped: enough to tell a typo from another word. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 64;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* What an unknown key probably meant, or the list of known keys. */
static void unknown_hint(const vf_setting_t *table, size_t n, const char *name, char *buf, size_t len)
{
    size_t best = SIZE_MAX, at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(name, table[i].name);
        if (d < best) {
            best = d;
            at = i;
        }
    }
    if (n && best <= 2 && best < strlen(name)) {
        snprintf(buf, len, "did you mean '%s'?", table[at].name);
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "known: ");
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s%s", i ? ", " : "", table[i].name,
                         table[i].type == VF_SETTING_SECRET ? "[_env|_file]" : "");
        used += w > 0 ? (size_t)w : 0;
    }
}

int vf_host_settings(const char *plugin, const config_setting_t *group, const vf_setting_t *table, size_t n,
                     void *out, vf_error_t *err)
{
    problems_t p = {.plugin = plugin, .err = err};
    seen_t *seen = calloc(n ? n : 1, sizeof *seen);
    int ret = -ENOMEM;
    if (err)
        err->message[0] = '\0';
    /* Every pointer field starts NULL, so freeing after a failure is safe. */
    for (size_t j = 0; j < n; j++)
        if (table[j].type == VF_SETTING_STRING || table[j].type == VF_SETTING_SECRET)
            *(char **)field_of(out, &table[j]) = NULL;
        else if (table[j].type == VF_SETTING_STRINGS)
            *(char ***)field_of(out, &table[j]) = NULL;
    if (!seen)
        goto out;
    if (group && !config_setting_is_group(group)) {
        problem(&p, group, "the settings must be a group { ... }");
        group = NULL;
    }
    int members = group ? config_setting_length(group) : 0;
    for (int i = 0; i < members; i++) {
        const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(m);
        size_t j = 0;
        int suffix = 0;
        for (; j < n; j++) {
            if (name && strcmp(name, table[j].name) == 0)
                break;
            if (name && table[j].type == VF_SETTING_SECRET && (suffix = secret_suffix(name, table[j].name)))
                break;
        }
        if (j == n) {
            char hint[400];
            unknown_hint(table, n, name ? name : "", hint, sizeof hint);
            problem(&p, m, "unknown setting '%s' (%s)", name ? name : "?", hint);
        } else if (suffix) {
            if (config_setting_type(m) != CONFIG_TYPE_STRING || !*config_setting_get_string(m))
                problem(&p, m, "'%s' must be a non-empty string", name);
            else if (suffix == 1)
                seen[j].env = m;
            else
                seen[j].file = m;
        } else {
            seen[j].value = m;
            if ((ret = apply(&p, &table[j], m, out)) < 0)
                goto out;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const vf_setting_t *k = &table[j];
        if (k->type == VF_SETTING_SECRET && !seen[j].value)
            ret = resolve_secret(&p, group, k, &seen[j], out);
        else if (!seen[j].value && (k->flags & VF_SETTING_REQUIRED)) {
            problem(&p, group, "'%s' is required", k->name);
            ret = 0;
        } else if (!seen[j].value)
            ret = fill_default(k, out);
        if (ret < 0)
            goto out;
    }
    ret = p.count ? -EINVAL : 0;
out:
    if (ret == -ENOMEM && err)
        snprintf(err->message, sizeof err->message, "%s: out of memory", plugin ? plugin : "plugin");
    problems_close(&p);
    if (ret < 0)
        vf_host_settings_free(table, n, out);
    free(seen);
    return ret;
}

void vf_host_settings_free(const vf_setting_t *table, size_t n, void *out)
{
    for (size_t j = 0; j < n; j++) {
        const vf_setting_t *k = &table[j];
        if (k->type == VF_SETTING_STRING || k->type == VF_SETTING_SECRET) {
            char **s = field_of(out, k);
            if (*s && k->type == VF_SETTING_SECRET)
                explicit_bzero(*s, strlen(*s));
            free(*s);
            *s = NULL;
        } else if (k->type == VF_SETTING_STRINGS) {
            char ***list = field_of(out, k);
            for (size_t i = 0; *list && (*list)[i]; i++)
                free((*list)[i]);
            free(*list);
            *list = NULL;
        }
    }
}
