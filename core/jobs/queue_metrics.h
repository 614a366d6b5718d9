/*
 * queue_metrics.h - the queue's series read from Redis and PostgreSQL at
 * scrape time: stream length and pending entries, jobs in each state,
 * live workers (docs/operations.md, "Monitoring").
 * Owns: that collector.  Must not: write to the queue.
 */
#ifndef VF_JOBS_QUEUE_METRICS_H
#define VF_JOBS_QUEUE_METRICS_H

/* Add the collector to the /metrics page: 0 or -ENOMEM. */
int vf_queue_metrics_register(void);

#endif
