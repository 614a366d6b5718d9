/*
 * metrics_series.h - every series Videoflix counts itself, as one call per
 * event for the modules to make (docs/operations.md, "Monitoring").
 * Owns: the names, help texts, labels and buckets of those series, and the
 * order of the whole /metrics page.  Must not: be called with label values
 * that come from clients (routes are the router's patterns, never paths),
 * or read anything at render time that needs a connection (collectors do).
 */
#ifndef VF_UTIL_METRICS_SERIES_H
#define VF_UTIL_METRICS_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "util/metrics.h"

/* HTTP: a request reached our code / was answered.  `route` is the
 * matched route's pattern (NULL: none matched), start_us its vf_mono_us()
 * when it came. */
void vf_metric_http_begin(void);
void vf_metric_http_done(const char *method, const char *route, int status, int64_t start_us);

/* A broken connection was dropped, to be opened again on its next use. */
void vf_metric_db_reconnect(void);
void vf_metric_redis_reconnect(void);

/* A job's attempt was settled in the queue: state is "done", "retrying",
 * "failed", "returned" or "deferred"; ran_us is how long its handler ran
 * (0 when it did not run). */
void vf_metric_job_settled(const char *type, const char *state, int64_t ran_us);
/* The worker wrote its heartbeat to Redis. */
void vf_metric_worker_heartbeat(void);

/* Bytes of upload chunks stored. */
void vf_metric_upload_bytes(int64_t bytes);

/* CPU time of this process and its reaped children, in microseconds:
 * read before an encoder runs, and given to vf_metric_transcode after. */
int64_t vf_metric_cpu_us(void);
/* An encoder finished: its CPU time since cpu_before_us and the sizes of
 * the files it wrote (paths that do not exist count 0). */
void vf_metric_transcode(const char *encoder, int64_t cpu_before_us, const char *const *paths, size_t npaths);
/* A file an encoder wrote that was stored while it ran (an HLS segment). */
void vf_metric_transcode_output(const char *encoder, int64_t bytes);

/* The whole page: the process's own series, then the collectors with ctx.
 * role is "server" or "worker". */
void vf_metrics_render_all(vf_metrics_text_t *t, const char *role, void *ctx);

#endif
