/*
 * encoder_contract.h - the Check suite every encoder plugin must pass,
 * whoever wrote it: probing a real clip and refusing a text file,
 * transcoding a short clip into two renditions and a thumbnail that
 * ffprobe accepts (H.264, the asked height, index first), progress that
 * only goes up, cancellation that leaves no file behind, thumbnails alone,
 * two jobs at once on one state, and (1.2) HLS segments beside the MP4s
 * or alone when the capabilities declare them (encoder_contract_hls.c):
 * the order and timing of their reports, their lengths, keyframes at the
 * same instants in every rendition, resuming from a segment number, and a
 * failing or cancelled job leaving nothing.  Clips are made with the ffmpeg
 * program (tests/media.h), small enough for the suite to take seconds.
 *
 * Run from each encoder plugin's own test program (VFC_MAIN) and by
 * videoflix-plugin-check for a .so built anywhere.
 */
#ifndef VF_TEST_ENCODER_CONTRACT_H
#define VF_TEST_ENCODER_CONTRACT_H

#include "tests/plugins/contract.h"

/* The suite for one subject (which must outlive the suite; one subject per
 * process). */
Suite *vfc_encoder_suite(const vfc_subject_t *subject);

#endif
