/*
 * queue_metrics.c - see queue_metrics.h.  Reads through the admin calls
 * of queue_admin.c on the metrics thread's own connections; when Redis or
 * PostgreSQL cannot answer, videoflix_queue_up says 0 and the values it
 * could not read are left out rather than shown as zeros.
 * Must not: change any job, or keep state between scrapes.
 */
#include "config.h"
#include "jobs/queue.h"
#include "jobs/queue_metrics.h"
#include "util/metrics.h"

#include <jansson.h>

static void gauge(vf_metrics_text_t *t, const char *name, const char *help, json_t *value)
{
    vf_metrics_render_head(t, name, "gauge", help);
    vf_metrics_render_sample(t, name, 0, NULL, NULL, (double)json_integer_value(value));
}

static void collect(vf_metrics_text_t *t, void *arg)
{
    vf_thread_ctx_t *ctx = arg;
    json_t *stream = NULL, *counts = NULL, *workers = NULL;
    int ok = vf_queue_stream_info(ctx, &stream) == 0;
    ok = (vf_queue_counts(ctx, &counts) == 0) && ok;
    ok = (vf_queue_workers(ctx, &workers) == 0) && ok;
    vf_metrics_render_head(t, "videoflix_queue_up", "gauge",
                           "1 when the queue's Redis and PostgreSQL answered this scrape, else 0.");
    vf_metrics_render_sample(t, "videoflix_queue_up", 0, NULL, NULL, ok);
    if (stream) {
        gauge(t, "videoflix_queue_stream_length", "Entries in the job stream (queued and running jobs).",
              json_object_get(stream, "length"));
        gauge(t, "videoflix_queue_stream_pending",
              "Stream entries delivered to a worker and not yet acknowledged (running jobs).",
              json_object_get(stream, "pending"));
    }
    if (counts) {
        vf_metrics_render_head(t, "videoflix_queue_jobs", "gauge",
                               "Jobs in each state (outbox: recorded, not yet in Redis; done and failed: the "
                               "history kept).");
        const char *state;
        json_t *n;
        json_object_foreach(counts, state, n)
            vf_metrics_render_sample(t, "videoflix_queue_jobs", 1, (const char *[]){"state"},
                                     (const char *[]){state}, (double)json_integer_value(n));
    }
    if (workers) {
        vf_metrics_render_head(t, "videoflix_workers_live", "gauge",
                               "Workers whose heartbeat in Redis has not expired.");
        vf_metrics_render_sample(t, "videoflix_workers_live", 0, NULL, NULL, (double)json_array_size(workers));
    }
    json_decref(stream);
    json_decref(counts);
    json_decref(workers);
}

int vf_queue_metrics_register(void) { return vf_metrics_add_collector(collect); }
