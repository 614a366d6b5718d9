/*
 * transcode.h - the transcode and thumbnail operations.
 * Owns: the ffmpeg command lines that write renditions and thumbnails, and
 * the order probe -> ffmpeg -> commit outputs.
 */
#ifndef FFE_TRANSCODE_H
#define FFE_TRANSCODE_H

#include "state.h"

int ffe_transcode(const ffe_state_t *st, const char *source, const vf_transcode_params_t *params,
                  vf_error_t *err);
int ffe_thumbnail(const ffe_state_t *st, const char *source, double at, const char *output_path,
                  vf_progress_fn progress, void *progress_ud, vf_error_t *err);

#endif
