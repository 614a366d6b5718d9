/*
 * metrics.h - counters, gauges and histograms that any thread updates
 * without a lock, and their rendering in the Prometheus text exposition
 * format (version 0.0.4).
 * Owns: the families (name, help, label names, buckets), their series,
 * label and help escaping, and the collectors asked for values at render
 * time.  Must not: know any series of Videoflix (metrics_series.c lists
 * them), listen on sockets or read the configuration.
 *
 * A family is a static object whose series are created on first use: the
 * label values are looked up in a fixed open-addressed table of atomic
 * pointers, so the hot path is a hash, a load and an atomic add; only the
 * first sight of a label set takes the family's mutex.  A family holds at
 * most VF_METRIC_MAX_SERIES label sets; later ones are counted in one
 * series whose labels all say "other", so a bug can never make the output
 * grow without bound.
 */
#ifndef VF_UTIL_METRICS_H
#define VF_UTIL_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define VF_METRIC_MAX_LABELS 3
#define VF_METRIC_MAX_SERIES 1024
#define VF_METRIC_MAX_BUCKETS 16
/* Fractional values (seconds) are kept as whole millionths in a 64-bit
 * integer, which atomics add exactly; 2^63 millionths are 292 000 years. */
#define VF_METRIC_MICRO 1000000

typedef enum { VF_METRIC_COUNTER, VF_METRIC_GAUGE, VF_METRIC_HISTOGRAM } vf_metric_kind_t;

typedef struct vf_metric_series vf_metric_series_t;

typedef struct vf_metric_family {
    const char *name;
    const char *help;
    vf_metric_kind_t kind;
    /* 1: values are whole numbers; VF_METRIC_MICRO: values are added in
     * millionths (vf_metric_add_scaled) and shown with decimals. */
    int64_t scale;
    size_t nlabels;
    const char *labels[VF_METRIC_MAX_LABELS];
    /* Histograms: upper bounds, ascending (+Inf is implicit). */
    size_t nbuckets;
    double buckets[VF_METRIC_MAX_BUCKETS];
    /* Filled on use: */
    pthread_mutex_t lock;
    _Atomic(vf_metric_series_t *) slots[2 * VF_METRIC_MAX_SERIES]; /* by hash */
    _Atomic(vf_metric_series_t *) series[VF_METRIC_MAX_SERIES];    /* by creation */
    atomic_size_t nseries;
} vf_metric_family_t;

#define VF_METRIC_FAMILY_INIT .lock = PTHREAD_MUTEX_INITIALIZER

/* The series of `values` (nlabels strings, copied on first use).  NULL only
 * when out of memory (the update is then lost, never the process). */
vf_metric_series_t *vf_metric_series(vf_metric_family_t *f, const char *const *values);

/* Counters and gauges: add n (in the family's scale units). */
void vf_metric_series_add(vf_metric_series_t *s, int64_t n);
/* Gauges: set. */
void vf_metric_series_set(vf_metric_series_t *s, int64_t v);
/* Histograms: one observation of v (seconds, bytes...). */
void vf_metric_series_observe(vf_metric_family_t *f, vf_metric_series_t *s, double v);

/* The same, by label values (NULL for a family without labels). */
void vf_metric_add(vf_metric_family_t *f, const char *const *values, int64_t n);
void vf_metric_set(vf_metric_family_t *f, const char *const *values, int64_t v);
void vf_metric_observe(vf_metric_family_t *f, const char *const *values, double v);

/* ----------------------------------------------------------- rendering */

/* A growing text buffer; `failed` once an allocation failed. */
typedef struct vf_metrics_text {
    char *data;
    size_t len, cap;
    int failed;
} vf_metrics_text_t;

void vf_metrics_text_free(vf_metrics_text_t *t);
void vf_metrics_text_printf(vf_metrics_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `s` inside a label value's quotes: \ " and newline escaped. */
void vf_metrics_text_label_value(vf_metrics_text_t *t, const char *s);

/* # HELP and # TYPE lines and every series of f. */
void vf_metrics_render_family(vf_metrics_text_t *t, vf_metric_family_t *f);

/* For collectors, which compute values at render time: */
void vf_metrics_render_head(vf_metrics_text_t *t, const char *name, const char *type, const char *help);
void vf_metrics_render_sample(vf_metrics_text_t *t, const char *name, size_t nlabels, const char *const *labels,
                              const char *const *values, double value);

/* A collector appends whole families to t; `ctx` is the rendering
 * thread's own (a vf_thread_ctx_t of the metrics listener, or NULL). */
typedef void (*vf_metrics_collector_fn)(vf_metrics_text_t *t, void *ctx);
/* Registered at start-up, before the listener renders; -ENOMEM. */
int vf_metrics_add_collector(vf_metrics_collector_fn fn);
/* Every collector, in the order they were added. */
void vf_metrics_run_collectors(vf_metrics_text_t *t, void *ctx);

/* Split a listener's "host:port" or "[v6]:port" (the metrics settings)
 * into host and port: 0 or -EINVAL. */
int vf_metrics_listen_parse(const char *listen, char *host, size_t hostlen, int *port);

#endif
