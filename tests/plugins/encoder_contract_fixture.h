/*
 * encoder_contract_fixture.h - what the files of the encoder contract share
 * (not for plugin tests: they use encoder_contract.h): the loaded instance
 * of the test, its capabilities as the core read them, the clips as it
 * reads them, the standard two-rendition job, and the assertions on its
 * outputs.  Each file adds its tests to the suite through one
 * vfc_encoder_add_* function.
 */
#ifndef VF_TEST_ENCODER_CONTRACT_FIXTURE_H
#define VF_TEST_ENCODER_CONTRACT_FIXTURE_H

#include <videoflix/encoder.h>

#include "tests/plugins/contract.h"

typedef struct encoder_fixture {
    vfc_instance_t inst;
    const vf_encoder_ops_t *ops;
    void *state;
    vf_encoder_caps_t caps;      /* what the loader read: declared, or implied by 1.0 */
    const char *av, *text;       /* the clips as this encoder reads them */
    const char *hls_av;          /* the longer clip (several HLS segments) */
    double hls_av_seconds;       /* its length as ffprobe reads it */
    const char *hls_twin;        /* hls_av's twin: same length, size, rate and sound, another picture */
    char *out;                   /* outputs of the test */
} encoder_fixture_t;

extern encoder_fixture_t vfc_efx;

/* Two renditions (90 and 180 lines) and a thumbnail into `dir`, MP4 only. */
typedef struct vfc_job {
    char *paths[2];
    char *thumb;
    vf_rendition_t renditions[2];
    vf_transcode_params_t params;
    vfc_progress_t progress;
    int ret;
    vf_error_t err;
} vfc_job_t;

void vfc_job_init(vfc_job_t *j, const char *dir);
void vfc_job_free(vfc_job_t *j);

/* A rendition as videoflix serves it: H.264 of the asked height and the
 * source's shape, stereo AAC, index before the media, `seconds` long. */
void vfc_assert_rendition(const char *path, int height, double seconds);
/* A JPEG that decodes. */
void vfc_assert_jpeg(const char *path);

/* encoder_contract_hls.c, encoder_contract_resume.c */
void vfc_encoder_add_hls(TCase *tc);
void vfc_encoder_add_resume(TCase *tc);

#endif
