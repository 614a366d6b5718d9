/*
 * hls_init.h - what an HLS initialisation segment (fMP4: ftyp + moov) says
 * about its rendition: the CODECS string of the master playlist
 * ("avc1.PPCCLL" from the avcC box, "mp4a.40.N" from the esds box) and the
 * picture size (the avc1 sample entry, else the track header).
 * Owns: reading ISO BMFF boxes of one file.
 * Must not: write anything (the publisher records what it returns).
 */
#ifndef VF_HLS_INIT_H
#define VF_HLS_INIT_H

#include <stddef.h>

#include "pipeline/hls_playlist.h"

typedef struct vf_hls_init_info {
    int width, height;                   /* of the video track */
    char codecs[VF_HLS_CODECS_MAX];      /* "avc1.64001f" or "avc1.64001f,mp4a.40.2" */
} vf_hls_init_info_t;

/* From a buffer: 0, or -EINVAL with a sentence in err (not ISO BMFF, no
 * moov, no H.264 video track, a truncated box). */
int vf_hls_init_parse(const unsigned char *data, size_t len, vf_hls_init_info_t *info, char *err, size_t errlen);

/* The same from a file (at most a few MiB; an init segment is small):
 * also a negative errno when it cannot be read. */
int vf_hls_init_read(const char *path, vf_hls_init_info_t *info, char *err, size_t errlen);

/* 1 when two files (each no bigger than an init segment may be) hold the
 * same bytes, 0 when they differ, a negative errno with a sentence in err
 * when one cannot be read. */
int vf_hls_init_same(const char *a, const char *b, char *err, size_t errlen);

#endif
