/*
 * bmff.h - the few ISO-BMFF (MP4) facts a resumed HLS transcode needs
 * from CMAF files: whether a file's top-level boxes add up, what tracks an
 * initialisation segment declares, the decode-time span of each track in a
 * media segment, and moving a media segment to another place on its
 * tracks' timelines.
 * Owns: parsing and patching those boxes in memory; never opens a file
 * except in ffe_bmff_whole_file().  Anything it does not understand is
 * -EINVAL, never a guess.
 */
#ifndef FFE_BMFF_H
#define FFE_BMFF_H

#include <stddef.h>
#include <stdint.h>

#define FFE_BMFF_MAX_TRACKS 4

typedef struct ffe_bmff_track {
    uint32_t id;
    uint32_t timescale;        /* mdhd: media time units per second */
    char handler[5];           /* hdlr: "vide", "soun", ... */
    /* Where media time 0 is shown, in seconds of the presentation (the
     * edit list: an empty edit, minus the media time it starts at). */
    double shown_at;
    uint32_t default_duration; /* trex */
} ffe_bmff_track_t;

typedef struct ffe_bmff_init {
    size_t count;
    ffe_bmff_track_t tracks[FFE_BMFF_MAX_TRACKS];
} ffe_bmff_init_t;

/* Per track of an init (same index): what a media segment holds. */
typedef struct ffe_bmff_span {
    int found;                 /* the segment has samples of the track */
    uint64_t first;            /* decode time of its first sample (tfdt) */
    uint64_t end;              /* decode time after its last sample */
    uint64_t samples;          /* how many samples */
} ffe_bmff_span_t;

/* 1 when the file's top-level boxes add up to its size exactly. */
int ffe_bmff_whole_file(const char *path);

/* Read an initialisation segment (ftyp + moov).  0 or -EINVAL. */
int ffe_bmff_parse_init(const unsigned char *buf, size_t len, ffe_bmff_init_t *init);

/* Index of the first track with this handler ("vide", "soun"), or -1. */
int ffe_bmff_track_index(const ffe_bmff_init_t *init, const char *handler);

/* 1 when two initialisation segments are the same byte for byte apart
 * from their edit lists' entries (which say where each track starts, not
 * how it is coded): same codecs, codec setup, sizes, timescales. */
int ffe_bmff_same_setup(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen);

/* Read a media segment of `init`'s tracks: spans[] (init->count entries)
 * and the number of movie fragments (moof) in it.  0 or -EINVAL. */
int ffe_bmff_scan_segment(const unsigned char *buf, size_t len, const ffe_bmff_init_t *init,
                          ffe_bmff_span_t *spans, uint32_t *fragments);

/* Move a media segment in place: every decode time of track k (tfdt, and
 * sidx earliest presentation times) plus shift[k] units of its timescale,
 * every fragment sequence number plus `renumber`.  0 or -EINVAL (also
 * when a time would not fit). */
int ffe_bmff_shift_segment(unsigned char *buf, size_t len, const ffe_bmff_init_t *init, const uint64_t *shift,
                           uint32_t renumber);

#endif
