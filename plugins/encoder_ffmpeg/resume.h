/*
 * resume.h - continuing a stopped HLS transcode from what it published
 * (ABI 1.3, params->hls_published_dir) instead of encoding it all again.
 * Owns: reading the published files, deciding whether they can be
 * continued, the timeline shift of the new segments, and the per-rendition
 * file joining the published segments with the new ones for the MP4 remux
 * (removed by ffe_resume_free).  The ffmpeg command lines are transcode.c's.
 *
 * How the timestamps are anchored: the resumed ffmpeg seeks to
 * X = N * hls_segment_seconds and writes its segments as a run of its own
 * (each track's decode times start at 0, the muxer shifts them as in a
 * whole run).  Its initialisation segments must equal the published ones
 * but for the edit lists (which only say where each track starts); the
 * published ones are reported again.  Each new segment is then moved on
 * its tracks' timelines: video by the published video's end (segment
 * N-1's last decode time plus its duration, which is where a whole run's
 * segment N starts, B-frame delay included), audio by the same instant in
 * its timescale, corrected by any difference in where the two runs start
 * their audio against their video (edit lists).  Fragment sequence numbers
 * continue the published ones.
 */
#ifndef FFE_RESUME_H
#define FFE_RESUME_H

#include <stddef.h>
#include <videoflix/encoder.h>

#include "bmff.h"

typedef struct ffe_resume_rendition {
    unsigned char *init;       /* the published initialisation segment */
    size_t init_len;
    ffe_bmff_init_t tracks;    /* what it declares */
    int video, audio;          /* track indexes; audio -1 without sound */
    uint64_t video_end;        /* published video end, video timescale */
    uint64_t video_frame;      /* a frame's duration in the last segment read */
    uint64_t audio_first;      /* published audio span, audio timescale */
    uint64_t audio_end;
    uint32_t fragments;        /* movie fragments published */
    uint64_t shift[FFE_BMFF_MAX_TRACKS]; /* set by ffe_resume_check_trial() */
    unsigned char *trial_init; /* the trial's initialisation segment, which */
    size_t trial_init_len;     /* the shifts were computed from */
    char *joined;              /* MP4 asked for: published + new segments */
    uint64_t joined_published; /* its bytes before the first new segment */
} ffe_resume_rendition_t;

typedef struct ffe_resume {
    const vf_transcode_params_t *params;
    vf_progress_fn progress;   /* asked between published segments; may be NULL */
    void *progress_ud;
    double percent;            /* reported meanwhile */
    double start;              /* X: where the new segments begin, seconds */
    size_t count;
    ffe_resume_rendition_t *renditions;
} ffe_resume_t;

/* Read the published files of every rendition (params->hls_published_dir,
 * hls_first_segment > 0).  0 when they can be continued; 1 when not, with
 * the reason in why[]; -ECANCELED when `progress` (called with `percent`
 * after each segment: copying hours of video takes a while) asked to
 * stop; another negative errno when memory ran out.  With `mp4`, each
 * rendition's joined file starts as its published segments. */
int ffe_resume_open(ffe_resume_t *r, const vf_transcode_params_t *p, int mp4, vf_progress_fn progress,
                    void *progress_ud, double percent, char *why, size_t whylen);

/* Compare the initialisation segments a short trial run wrote in `dir`
 * (rI-init.mp4) with the published ones and set the shifts: 0, or 1 with
 * the reason in why[]. */
int ffe_resume_check_trial(ffe_resume_t *r, const char *dir, char *why, size_t whylen);

/* Replace the file at `path` by rendition i's published initialisation
 * segment (through a ".tmp" beside it).  0 or a negative errno; -EINVAL
 * when the file at `path` is not byte for byte the trial's (edit lists
 * included): the shifts would not fit the segments this run writes. */
int ffe_resume_put_init(const ffe_resume_t *r, size_t i, const char *path);

/* A new segment of rendition i, complete at `path`: move it onto the
 * published timeline in place and append it to the joined file.  0 or a
 * negative errno. */
int ffe_resume_segment(const ffe_resume_t *r, size_t i, const char *path);

/* The -bsf:a value that drops the new audio packets overlapping the
 * published audio in rendition i's joined file, or "" when none overlap.
 * 0, or -ENOSPC when buf is too small. */
int ffe_resume_audio_drop(const ffe_resume_t *r, size_t i, char *buf, size_t len);

/* Frees r and removes the joined files, warning through host->log when
 * one cannot be removed. */
void ffe_resume_free(ffe_resume_t *r, const vf_host_api_t *host);

#endif
