/*
 * hls.h - the HLS side of a transcode (ABI 1.2, VF_OUTPUT_HLS): the names
 * ffmpeg writes in params->hls_dir, the hls slave of each rendition's tee
 * output, and reporting every finished file through params->hls_file.
 * Owns: those names, reading the media playlists ffmpeg rewrites after
 * each segment, the order of the reports, and removing every file of ours
 * that was not reported.  Never touches a reported file (the callee's).
 *
 * ffmpeg runs inside hls_dir, so the names it gets are plain ("r0.m3u8",
 * "r0-init.mp4", "r0-%d.m4s"): a directory whose name holds '%' or "%v"
 * (which the hls muxer would expand) or tee syntax never reaches it.
 * Segments keep the numbers of a full run (start_number 0, segment n at
 * n * hls_segment_seconds); those before hls_first_segment are removed
 * unreported (all are reported after ffe_hls_report_all()).  A segment is finished once its playlist lists it: the hls
 * muxer writes it under a temporary name, renames it, and only then
 * rewrites the playlist (itself renamed into place).
 */
#ifndef FFE_HLS_H
#define FFE_HLS_H

#include <sys/types.h>
#include <time.h>
#include <videoflix/encoder.h>

#include "resume.h"
#include "tee.h"

typedef struct ffe_hls_track {
    int init_reported;
    int64_t next;              /* the next segment number to handle */
    int ended;                 /* the playlist had #EXT-X-ENDLIST */
    ino_t seen_ino;            /* the playlist version read last */
    off_t seen_size;
    struct timespec seen_mtime;
} ffe_hls_track_t;

typedef struct ffe_hls {
    const vf_host_api_t *host;
    const vf_transcode_params_t *params;
    ffe_hls_track_t *tracks;   /* one per rendition */
    size_t count;
    int64_t first;             /* the first segment to report */
    const ffe_resume_t *resume; /* see ffe_hls_resume() */
} ffe_hls_t;

/* Start the HLS part of a transcode whose params asked for it (checked by
 * the caller: hls_dir a directory, hls_file set). */
int ffe_hls_init(ffe_hls_t *h, const vf_host_api_t *host, const vf_transcode_params_t *params,
                 vf_error_t *err);
/* Make the run a resumed one (resume.h): segments numbered from
 * hls_first_segment, the published init reported, each segment moved onto
 * the published timeline before it is reported.  NULL once `resume` is
 * freed (what was reported stays the callee's). */
void ffe_hls_resume(ffe_hls_t *h, const ffe_resume_t *resume);
/* Report every segment from 0 (a resumed job that cannot continue what it
 * published: the caller replaces what the new init cannot play). */
void ffe_hls_report_all(ffe_hls_t *h);
/* -force_key_frames' value: a keyframe at each multiple of the segment
 * length, where the hls muxer cuts. */
void ffe_hls_keyframes(const ffe_hls_t *h, char *buf, size_t len);
/* The hls slave of rendition i in its tee output. */
void ffe_hls_slave(const ffe_hls_t *h, size_t rendition, ffe_tee_t *tee);
/* While ffmpeg runs (an ffe_run_opts_t tick, ud = the ffe_hls_t): report
 * what the playlists list and was not reported yet.  A negative return
 * (the callback's own) stops the transcode. */
int ffe_hls_tick(void *ud, vf_error_t *err);
/* After ffmpeg succeeded: report the rest; every playlist must have ended
 * with at least one segment. */
int ffe_hls_finish(ffe_hls_t *h, vf_error_t *err);
/* Remove the playlists and every unreported file of ours; free. */
void ffe_hls_free(ffe_hls_t *h);

#endif
