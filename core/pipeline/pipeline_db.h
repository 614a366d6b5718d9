/*
 * pipeline_db.h - what a pipeline job writes to PostgreSQL: the state of its
 * task, the video's progress and state, and the files it produced, always
 * for the job's own generation of the video (a job of a replaced source
 * changes nothing).  Internal to pipeline.c.
 */
#ifndef VF_PIPELINE_DB_H
#define VF_PIPELINE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/app.h"

typedef enum {
    VF_TASK_RUN,       /* go on */
    VF_TASK_STALE,     /* the video is gone or has another generation now */
    VF_TASK_DONE,      /* this task was done already (a redelivered job) */
    VF_TASK_FAILED,    /* the video failed already: nothing to gain */
} vf_task_verdict_t;

/* Whether the task should run, and the video's source key (malloc()ed)
 * when it should.  Marks a pending video processing and the task running. */
int vf_pipeline_db_start(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                         const char *job_id, vf_task_verdict_t *verdict, char **source_key);

/* The task reached `percent`: raise its progress (never lowers it) and
 * recompute the video's weighted progress (at most 99 before ready). */
int vf_pipeline_db_progress(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                            int percent);

typedef struct vf_output {
    const char *quality;   /* rendition name, or NULL for the thumbnail */
    const char *key;
    int64_t size;          /* bytes stored (the admin's size column) */
} vf_output_t;

/* Record the stored outputs and the task as done; the video becomes ready
 * when every task of its generation is done and it has a thumbnail.
 * *stale is set when the generation changed meanwhile (nothing recorded:
 * the caller removes the files). */
int vf_pipeline_db_finish(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                          const vf_output_t *outputs, size_t noutputs, int *stale);

/* The source's size as the storage reports it (the admin's size column). */
int vf_pipeline_db_source_size(vf_thread_ctx_t *ctx, int64_t video_id, int generation, int64_t size);

/* The video fails with `message` (shown to staff and the frontend); the
 * task records it, and the generation's other unfinished tasks end failed
 * naming this task. */
int vf_pipeline_db_fail(vf_thread_ctx_t *ctx, int64_t video_id, int generation, const char *task,
                        const char *message);

/* Session-level advisory lock on the task, so that two workers never run
 * the same task at once (a lapsed claim, a duplicated job).  1 taken,
 * 0 held elsewhere, negative errno.  Released by unlock or a lost
 * connection (a killed worker). */
int vf_pipeline_db_lock(vf_thread_ctx_t *ctx, const char *lock_name);
void vf_pipeline_db_unlock(vf_thread_ctx_t *ctx, const char *lock_name);

#endif
