/*
 * pipeline.h - the background work of a video: the job types that turn an
 * uploaded source into renditions and a thumbnail, and the one that removes
 * files no longer referenced.  docs/pipeline.md describes the split into
 * jobs, the progress arithmetic and the failure rules.
 * Owns: the job handlers, probing and the media.max_* limits, temporary
 * files under media.work_dir, recording results (renditions, thumbnail,
 * progress, state) for the job's generation only.
 * Must not: decide when work is needed (video_lifecycle.c plans the jobs).
 */
#ifndef VF_PIPELINE_H
#define VF_PIPELINE_H

#include <jansson.h>
#include <stdint.h>

#include "runtime/app.h"

/* Job types.  Payloads:
 *   transcode:    {"video_id": n, "generation": g, "task": "720p"|"ladder",
 *                  "renditions": ["720p", ...], "thumbnail": true|false}
 *   thumbnail:    {"video_id": n, "generation": g, "task": "thumbnail"} */
#define VF_JOB_TRANSCODE "transcode"
#define VF_JOB_THUMBNAIL "thumbnail"

/* Storage keys of one generation's outputs (malloc()ed, NULL on ENOMEM):
 * videos/<id>/<generation>/<quality>.mp4 and .../thumbnail.jpg.  The
 * generation in the key keeps a replaced source's files apart from the new
 * ones until they are removed. */
char *vf_pipeline_rendition_key(int64_t video_id, int generation, const char *quality);
char *vf_pipeline_thumbnail_key(int64_t video_id, int generation);

/* A pipeline job (`type`, `payload`) was cancelled from outside (the
 * admin's Cancel): its video fails with `message` rather than staying in
 * processing, since no handler will finish the task.  0 when the job is no
 * pipeline job or the video has moved on (another generation, finished);
 * <0 when PostgreSQL failed. */
int vf_pipeline_job_cancelled(vf_thread_ctx_t *ctx, const char *type, const json_t *payload, const char *message);

/* Register the two handlers with the worker (vf_worker_register). */
void vf_pipeline_register_jobs(void);

#endif
