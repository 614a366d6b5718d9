/*
 * probe.h - describing a source with ffprobe.
 * Owns: the ffprobe command line and reading its JSON into vf_media_info_t.
 */
#ifndef FFE_PROBE_H
#define FFE_PROBE_H

#include "state.h"

/* Run ffprobe on src.  Returns 0; -EINVAL with ffprobe's first error line
 * for unreadable or non-media input, or "no video stream"; -ETIMEDOUT or
 * -ECANCELED (progress may be NULL; it is only asked whether to go on). */
int ffe_probe(const ffe_state_t *st, const ffe_source_t *src, double deadline,
              vf_progress_fn progress, void *progress_ud, vf_media_info_t *info, vf_error_t *err);

/* The display height of a probed video: rotation by 90 or 270 swaps. */
int ffe_display_height(const vf_media_info_t *info);

#endif
