/*
 * metrics.c - see metrics.h.  Series are never freed: a family's label
 * sets are bounded (VF_METRIC_MAX_SERIES) and live as long as the process,
 * so a reader never races a free.
 * Must not: block an updater (only the first sight of a label set locks),
 * or know what any series means.
 */
#include "config.h"
#include "util/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vf_metric_series {
    char *values[VF_METRIC_MAX_LABELS];
    _Atomic int64_t value;                             /* counters, gauges */
    _Atomic int64_t sum_micro;                         /* histograms */
    _Atomic uint64_t counts[VF_METRIC_MAX_BUCKETS + 1]; /* per bucket, the last is +Inf */
};

/* ---------------------------------------------------------------- series */

/* Where label sets past the limit go. */
static const char *const overflow_values[VF_METRIC_MAX_LABELS] = {"other", "other", "other"};

/* The table's slots are probed from the hash; a second array keeps the
 * order of creation, which the output follows. */
#define SLOTS (2 * VF_METRIC_MAX_SERIES)

static uint64_t hash_values(size_t n, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        for (const char *p = values[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* "a","bc" differs from "ab","c" */
    }
    return h;
}

static int same_values(const vf_metric_series_t *s, size_t n, const char *const *values)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return 0;
    return 1;
}

static vf_metric_series_t *series_new(size_t n, const char *const *values)
{
    vf_metric_series_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(s->values[i] = strdup(values[i]))) {
            while (i-- > 0)
                free(s->values[i]);
            free(s);
            return NULL;
        }
    }
    return s;
}

/* Probe for values; NULL with *free_slot set when absent. */
static vf_metric_series_t *probe(vf_metric_family_t *f, size_t n, const char *const *values, uint64_t h, size_t *free_slot)
{
    *free_slot = SLOTS;
    for (size_t k = 0; k < SLOTS; k++) {
        size_t i = (size_t)((h + k) % SLOTS);
        vf_metric_series_t *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (!s) {
            *free_slot = i;
            return NULL;
        }
        if (same_values(s, n, values))
            return s;
    }
    return NULL;
}

vf_metric_series_t *vf_metric_series(vf_metric_family_t *f, const char *const *values)
{
    static const char *const none[1] = {""};
    size_t n = f->nlabels;
    if (n == 0)
        values = none;
    uint64_t h = hash_values(n, values);
    size_t free_slot;
    vf_metric_series_t *s = probe(f, n, values, h, &free_slot);
    if (s)
        return s;

    pthread_mutex_lock(&f->lock);
    size_t count = atomic_load_explicit(&f->nseries, memory_order_relaxed);
    /* The last place is kept for the overflow series. */
    if (count >= VF_METRIC_MAX_SERIES - 1) {
        values = overflow_values;
        h = hash_values(n, values);
    }
    s = probe(f, n, values, h, &free_slot);
    if (s || free_slot == SLOTS || count >= VF_METRIC_MAX_SERIES)
        goto out;
    if (!(s = series_new(n, values)))
        goto out;
    atomic_store_explicit(&f->series[count], s, memory_order_release);
    atomic_store_explicit(&f->slots[free_slot], s, memory_order_release);
    atomic_store_explicit(&f->nseries, count + 1, memory_order_release);
out:
    pthread_mutex_unlock(&f->lock);
    return s;
}

void vf_metric_series_add(vf_metric_series_t *s, int64_t n)
{
    if (s)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void vf_metric_series_set(vf_metric_series_t *s, int64_t v)
{
    if (s)
        atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

void vf_metric_series_observe(vf_metric_family_t *f, vf_metric_series_t *s, double v)
{
    if (!s || isnan(v))
        return;
    size_t b = 0;
    while (b < f->nbuckets && v > f->buckets[b])
        b++;
    atomic_fetch_add_explicit(&s->counts[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_micro, (int64_t)llround(v * VF_METRIC_MICRO), memory_order_relaxed);
}

void vf_metric_add(vf_metric_family_t *f, const char *const *values, int64_t n)
{
    vf_metric_series_add(vf_metric_series(f, values), n);
}

void vf_metric_set(vf_metric_family_t *f, const char *const *values, int64_t v)
{
    vf_metric_series_set(vf_metric_series(f, values), v);
}

void vf_metric_observe(vf_metric_family_t *f, const char *const *values, double v)
{
    vf_metric_series_observe(f, vf_metric_series(f, values), v);
}

/* ------------------------------------------------------------------ text */

void vf_metrics_text_free(vf_metrics_text_t *t)
{
    free(t->data);
    *t = (vf_metrics_text_t){0};
}

static int reserve(vf_metrics_text_t *t, size_t more)
{
    if (t->failed)
        return -ENOMEM;
    if (t->len + more + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *p = realloc(t->data, cap);
    if (!p) {
        t->failed = 1;
        return -ENOMEM;
    }
    t->data = p;
    t->cap = cap;
    return 0;
}

void vf_metrics_text_printf(vf_metrics_text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(t, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* The exposition format escapes \ and newline in HELP, and " as well in
 * label values. */
static void escaped(vf_metrics_text_t *t, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            vf_metrics_text_printf(t, "\\\\");
        else if (*s == '\n')
            vf_metrics_text_printf(t, "\\n");
        else if (quote && *s == '"')
            vf_metrics_text_printf(t, "\\\"");
        else
            vf_metrics_text_printf(t, "%c", *s);
    }
}

void vf_metrics_text_label_value(vf_metrics_text_t *t, const char *s) { escaped(t, s, 1); }

void vf_metrics_render_head(vf_metrics_text_t *t, const char *name, const char *type, const char *help)
{
    vf_metrics_text_printf(t, "# HELP %s ", name);
    escaped(t, help, 0);
    vf_metrics_text_printf(t, "\n# TYPE %s %s\n", name, type);
}

/* {a="x",b="y"} with an extra pair (le) when extra_name is set. */
static void labels(vf_metrics_text_t *t, size_t n, const char *const *names, const char *const *values,
                   const char *extra_name, const char *extra_value)
{
    if (n == 0 && !extra_name)
        return;
    vf_metrics_text_printf(t, "{");
    for (size_t i = 0; i < n; i++) {
        vf_metrics_text_printf(t, "%s%s=\"", i ? "," : "", names[i]);
        vf_metrics_text_label_value(t, values[i]);
        vf_metrics_text_printf(t, "\"");
    }
    if (extra_name)
        vf_metrics_text_printf(t, "%s%s=\"%s\"", n ? "," : "", extra_name, extra_value);
    vf_metrics_text_printf(t, "}");
}

static void number(vf_metrics_text_t *t, double v)
{
    if (v == floor(v) && fabs(v) < 9e15)
        vf_metrics_text_printf(t, " %.0f\n", v);
    else
        vf_metrics_text_printf(t, " %.6f\n", v);
}

void vf_metrics_render_sample(vf_metrics_text_t *t, const char *name, size_t nlabels, const char *const *names,
                              const char *const *values, double value)
{
    vf_metrics_text_printf(t, "%s", name);
    labels(t, nlabels, names, values, NULL, NULL);
    number(t, value);
}

static const char *const kind_name[] = {"counter", "gauge", "histogram"};

void vf_metrics_render_family(vf_metrics_text_t *t, vf_metric_family_t *f)
{
    size_t n = atomic_load_explicit(&f->nseries, memory_order_acquire);
    /* A family without labels always has its one series (0 until used). */
    if (n == 0 && f->nlabels == 0) {
        vf_metric_series(f, NULL);
        n = atomic_load_explicit(&f->nseries, memory_order_acquire);
    }
    if (n == 0)
        return;
    vf_metrics_render_head(t, f->name, kind_name[f->kind], f->help);
    for (size_t i = 0; i < n; i++) {
        vf_metric_series_t *s = atomic_load_explicit(&f->series[i], memory_order_acquire);
        const char *const *values = (const char *const *)s->values;
        if (f->kind != VF_METRIC_HISTOGRAM) {
            int64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
            vf_metrics_render_sample(t, f->name, f->nlabels, f->labels, values,
                                     f->scale > 1 ? (double)v / (double)f->scale : (double)v);
            continue;
        }
        /* Counts are read once, so that +Inf and _count agree. */
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= f->nbuckets; b++) {
            cumulative += atomic_load_explicit(&s->counts[b], memory_order_relaxed);
            char le[32];
            if (b < f->nbuckets)
                snprintf(le, sizeof le, "%g", f->buckets[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            vf_metrics_text_printf(t, "%s_bucket", f->name);
            labels(t, f->nlabels, f->labels, values, "le", le);
            vf_metrics_text_printf(t, " %llu\n", (unsigned long long)cumulative);
        }
        vf_metrics_text_printf(t, "%s_sum", f->name);
        labels(t, f->nlabels, f->labels, values, NULL, NULL);
        number(t, (double)atomic_load_explicit(&s->sum_micro, memory_order_relaxed) / VF_METRIC_MICRO);
        vf_metrics_text_printf(t, "%s_count", f->name);
        labels(t, f->nlabels, f->labels, values, NULL, NULL);
        vf_metrics_text_printf(t, " %llu\n", (unsigned long long)cumulative);
    }
}

/* ------------------------------------------------------------ listening */

int vf_metrics_listen_parse(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1])
        return -EINVAL;
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return -EINVAL;
        h++;
        n -= 2;
    } else if (memchr(h, ':', n)) {
        return -EINVAL; /* an IPv6 address needs its brackets */
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535 || n >= hostlen)
        return -EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

/* ------------------------------------------------------------ collectors */

#define MAX_COLLECTORS 8
static vf_metrics_collector_fn collectors[MAX_COLLECTORS];
static atomic_size_t ncollectors;
static pthread_mutex_t collectors_lock = PTHREAD_MUTEX_INITIALIZER;

int vf_metrics_add_collector(vf_metrics_collector_fn fn)
{
    int ret = -ENOMEM;
    pthread_mutex_lock(&collectors_lock);
    size_t n = atomic_load(&ncollectors);
    for (size_t i = 0; i < n; i++)
        if (collectors[i] == fn)
            ret = 0; /* once is enough: serve and tests may add it again */
    if (ret != 0 && n < MAX_COLLECTORS) {
        collectors[n] = fn;
        atomic_store(&ncollectors, n + 1);
        ret = 0;
    }
    pthread_mutex_unlock(&collectors_lock);
    return ret;
}

void vf_metrics_run_collectors(vf_metrics_text_t *t, void *ctx)
{
    size_t n = atomic_load(&ncollectors);
    for (size_t i = 0; i < n; i++)
        collectors[i](t, ctx);
}
