/*
 * hls_publish.h - publishing the HLS files a transcode reports while it
 * runs (docs/pipeline.md, "HLS"): each file into storage under
 * videos/<id>/<gen>/hls/<quality>/, its row into PostgreSQL, the
 * rendition's growing media playlist, the master playlist once every
 * configured rendition can be played, and videos.hls_state.
 * Owns: the HLS keys and what is stored under them; the resume position a
 * retried job starts from.
 * Must not: run the encoder or decide the job's outcome (pipeline.c does,
 * from what these functions return).
 */
#ifndef VF_HLS_PUBLISH_H
#define VF_HLS_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/app.h"

typedef struct vf_hls_publish vf_hls_publish_t;

typedef struct vf_hls_job {
    const vf_app_t *app;            /* storage plugin and configuration */
    int64_t video_id;
    int generation;
    const char *const *qualities;   /* this job's renditions, in the encoder's order */
    size_t nqualities;
    double frame_rate;              /* the source's, from the probe */
    const char *task_dir;           /* the task's work directory (hls/ is made inside) */
    int (*cancelled)(void *ud);     /* stops storage copies; may be NULL */
    void *cancelled_ud;
} vf_hls_job_t;

/* Make the segment directory and read where this job resumes: its own
 * database connection (the encoder may report from its own thread while
 * the job's thread writes progress).  0, or a negative errno with a
 * sentence in err. */
int vf_hls_publish_begin(vf_hls_publish_t **out, const vf_hls_job_t *job, char *err, size_t errlen);
void vf_hls_publish_free(vf_hls_publish_t **p);

/* For vf_transcode_params_t: hls_dir, hls_first_segment (the fewest
 * segments any of the job's renditions has published; the others skip what
 * they have), and hls_file with `p` as hls_ud. */
const char *vf_hls_publish_dir(const vf_hls_publish_t *p);
int64_t vf_hls_publish_first_segment(const vf_hls_publish_t *p);
int vf_hls_publish_file(void *p, const vf_hls_file_t *file);

/* For an encoder that continues from what was published
 * (VF_ENCODER_HLS_RESUME): when this job resumes, fetch each rendition's
 * stored initialisation segment and segments 0 .. first_segment - 1 into
 * <task_dir>/published/<quality>/ and set *dir to it (hls_published_dir;
 * owned by p); else *dir = NULL.  A fetch that fails leaves *dir NULL with
 * a warning (the encoder then encodes from the start); only cancellation
 * is an error (-ECANCELED, see vf_hls_publish_error). */
int vf_hls_publish_fetch(vf_hls_publish_t *p, const char **dir);

/* The transcode ended well: every rendition of the job ends (final media
 * playlist with ENDLIST); the master and hls_state follow.  0, or a
 * negative errno (see vf_hls_publish_error). */
int vf_hls_publish_finish(vf_hls_publish_t *p);

/* After a failed vf_hls_publish_file or finish: why (a sentence), and 1
 * when the reason is that the video was replaced or deleted meanwhile
 * (the job is then skipped and the files discarded, as pipeline.c does
 * with a stale MP4). */
const char *vf_hls_publish_error(const vf_hls_publish_t *p);
int vf_hls_publish_stale(const vf_hls_publish_t *p);

/* The generation's HLS prefix, videos/<id>/<gen>/hls/ (malloc()ed): what a
 * discarded generation removes. */
char *vf_hls_prefix(int64_t video_id, int generation);

#endif
