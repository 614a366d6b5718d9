/*
 * video_lifecycle.h - the life of a video as the admin API and the CLI
 * drive it: create (with an uploaded source), edit metadata, replace the
 * source, delete.  Each change commits together with the jobs it needs
 * (the queue's outbox), so a crash or a Redis outage never loses work.
 * Owns: field validation, the title uniqueness answer, planning the
 * processing jobs of a generation, listing the files a change orphans.
 * Must not: read requests or reply; run media work (pipeline.c does).
 *
 * processing_state: pending (jobs planned) -> processing (a job started)
 * -> ready (every task done and a thumbnail stored) | failed (a task failed
 * for good; processing_error says why).  Replacing the source starts a new
 * generation at pending; metadata edits leave the state alone.
 */
#ifndef VF_VIDEO_LIFECYCLE_H
#define VF_VIDEO_LIFECYCLE_H

#include <jansson.h>
#include <stdint.h>

#include "runtime/app.h"

/* Fields as given, trimmed and malloc()ed; NULL = not given (create needs
 * title and category). */
typedef struct vf_video_fields {
    char *title;
    char *description;
    char *category;
    char *upload_id;   /* a finished tus upload: the (new) source */
} vf_video_fields_t;

void vf_video_fields_free(vf_video_fields_t *f);

/* 1 when `category` is one of the genres of API.md. */
int vf_video_category_valid(const char *category);

/* Read title/description/category/upload_id from a JSON object.  Wrong
 * types become DRF-style messages in *errors (an object, created on the
 * first error).  -ENOMEM, else 0. */
int vf_video_fields_from_json(const json_t *body, vf_video_fields_t *f, json_t **errors);

/* The checks of the fields that need no database (blank or too long a
 * title, an unknown category, a blank upload_id), added to *errors like
 * vf_video_fields_from_json's.  `creating`: title, category and a source
 * (`have_source`) are required. */
void vf_video_fields_check(const vf_video_fields_t *f, int creating, int have_source, json_t **errors);

/* Create a video from a finished upload of `owner` (f->upload_id), or from an
 * object already stored at source_key (the CLI).  Validation failures
 * return -EINVAL with *errors set ({"title": ["..."]}); *id_out is the new
 * video. */
int vf_video_create(vf_thread_ctx_t *ctx, const vf_video_fields_t *f, int64_t owner, const char *source_key,
                    int64_t *id_out, json_t **errors);

/* Edit metadata (fields given) and/or replace the source with a finished
 * upload (f->upload_id): a new generation, the old outputs removed.
 * -ENOENT for an unknown video; -EINVAL with *errors. */
int vf_video_update(vf_thread_ctx_t *ctx, int64_t id, const vf_video_fields_t *f, int64_t owner,
                    json_t **errors);

/* Delete the video; its source, renditions and thumbnail are removed by a
 * remove_files job committed with the delete.  -ENOENT when unknown. */
int vf_video_delete(vf_thread_ctx_t *ctx, int64_t id);

#endif
