/*
 * encoder_contract_hls.h - what the HLS files of the encoder contract share
 * (encoder_contract_hls.c, encoder_contract_resume.c): a job whose
 * hls_file callback checks every report against vf_hls_file_fn's rules and
 * moves the file away as the core does, and the checks on what it saw.
 */
#ifndef VF_TEST_ENCODER_CONTRACT_HLS_H
#define VF_TEST_ENCODER_CONTRACT_HLS_H

#include "tests/plugins/encoder_contract_fixture.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SEGMENT_SECONDS 2.0
#define MAX_SEGMENTS 16
/* A segment's keyframe may be shown a few frames after its cut (B-frame
 * reordering delay without an edit list), never before it. */
#define MAX_START_DELAY 0.25

typedef struct hls_segment {
    char *path;                  /* where the callback moved it */
    double duration;             /* as reported */
} hls_segment_t;

typedef struct hls_rendition {
    char *init;                  /* moved initialisation segment, or NULL */
    int inits;                   /* reports of it */
    int64_t next;                /* the sequence number expected next */
    hls_segment_t segments[MAX_SEGMENTS]; /* by number */
} hls_rendition_t;

/* What the callback saw. */
typedef struct hls_recorder {
    char *hls_dir, *moved_dir;
    int64_t first;
    atomic_flag busy;            /* set while a call runs */
    atomic_int overlaps;         /* calls that began while another ran */
    int calls;
    int fail_at_call;            /* > 0: answer -EIO to this call */
    int calls_after_failure;
    char problem[512];           /* the first broken rule, or "" */
    hls_rendition_t renditions[2];
} hls_recorder_t;

/* The standard job with HLS outputs into <out>/hls, reported files moved
 * to <out>/moved. */
typedef struct hls_job {
    vfc_job_t job;
    hls_recorder_t rec;
    const char *source;          /* vfc_efx.hls_av unless a test says otherwise */
} hls_job_t;

/* The standard job (vfc_job_init) in `dir` on the longer clip, with
 * `outputs`, segments of SEGMENT_SECONDS from `first`: hls_dir is
 * <dir>/hls, reported files are moved to <dir>/moved. */
void vfc_hls_job_init(hls_job_t *h, const char *dir, uint32_t outputs, int64_t first);
void vfc_hls_job_free(hls_job_t *h);
/* Runs the job's transcode on h->source. */
int vfc_hls_transcode(hls_job_t *h);
/* 1 when the plugin declares HLS; else asserts that it declares MP4 alone. */
bool vfc_hls_declared(void);
/* The first video packet of a media segment read after its initialisation
 * segment, as ffprobe sees it: presentation time and keyframe flag. */
void vfc_hls_first_video_packet(const char *init, const char *segment, double *pts, bool *key);
/* Every rendition reported its initialisation segment and segments
 * first.. to the end of the clip, lasting what they should, each starting
 * with a keyframe at the same instant in both renditions. */
void vfc_hls_assert_segments(const hls_recorder_t *rec);

#endif
