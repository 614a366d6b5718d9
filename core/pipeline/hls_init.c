/*
 * hls_init.c - see hls_init.h.  ISO/IEC 14496-12 boxes: a 32-bit size (1:
 * a 64-bit size follows; 0: to the end of the enclosing box) and a type.
 * The walk descends moov/trak/mdia/minf/stbl/stsd into the sample entries;
 * avc1/avc3 (VisualSampleEntry, 78 bytes before its boxes) holds avcC
 * (ISO/IEC 14496-15), mp4a (AudioSampleEntry, 28 bytes, more for the
 * QuickTime versions 1 and 2) holds esds (ISO/IEC 14496-1 descriptors
 * with the AudioSpecificConfig of 14496-3).  Every read is bounded by the
 * enclosing box, so a hostile file can only be refused.
 */
#include "config.h"
#include "pipeline/hls_init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Far above any init segment: a bigger file is not one. */
#define INIT_MAX_BYTES (4u << 20)
/* trak/mdia/... nest a few levels; more is not an init segment. */
#define MAX_DEPTH 8

typedef struct found {
    int width, height;          /* avc1 sample entry */
    int tkhd_width, tkhd_height;
    char video[16];             /* "avc1.64001f" */
    char audio[16];             /* "mp4a.40.2" */
    int in_video_track;
} found_t;

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* One box header at p (len bytes left): its type, where its body starts
 * and how long it is.  -1 when it does not fit. */
static int box_at(const unsigned char *p, size_t len, char type[5], size_t *header, size_t *size)
{
    if (len < 8)
        return -1;
    uint64_t sz = be32(p);
    memcpy(type, p + 4, 4);
    type[4] = '\0';
    *header = 8;
    if (sz == 1) {
        if (len < 16)
            return -1;
        sz = (uint64_t)be32(p + 8) << 32 | be32(p + 12);
        *header = 16;
    } else if (sz == 0)
        sz = len;
    if (sz < *header || sz > len)
        return -1;
    *size = (size_t)sz;
    return 0;
}

/* An MPEG-4 descriptor's length: up to four bytes of seven bits. */
static int descriptor_len(const unsigned char **p, const unsigned char *end, size_t *out)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (*p >= end)
            return -1;
        unsigned char b = *(*p)++;
        n = n << 7 | (b & 0x7f);
        if (!(b & 0x80)) {
            *out = n;
            return (size_t)(end - *p) >= n ? 0 : -1;
        }
    }
    return -1;
}

/* esds (after its version and flags): ES_Descriptor (tag 3) >
 * DecoderConfigDescriptor (tag 4) > DecoderSpecificInfo (tag 5). */
static int parse_esds(const unsigned char *p, const unsigned char *end, found_t *f)
{
    size_t n;
    if (p >= end || *p++ != 0x03 || descriptor_len(&p, end, &n) < 0 || n < 3)
        return -1;
    end = p + n;
    unsigned char flags = p[2];
    p += 3;
    if (flags & 0x80) /* streamDependenceFlag: dependsOn_ES_ID */
        p += 2;
    if (flags & 0x40) { /* URL_Flag: URLlength, URLstring */
        if (p >= end)
            return -1;
        p += 1 + *p;
    }
    if (flags & 0x20) /* OCRstreamFlag: OCR_ES_Id */
        p += 2;
    if (p >= end || *p++ != 0x04 || descriptor_len(&p, end, &n) < 0 || n < 13)
        return -1;
    const unsigned char *dcd_end = p + n;
    unsigned oti = p[0];
    p += 13;
    if (oti != 0x40) { /* not MPEG-4 audio: the object type alone (RFC 6381) */
        snprintf(f->audio, sizeof f->audio, "mp4a.%02x", oti);
        return 0;
    }
    if (p >= dcd_end || *p++ != 0x05 || descriptor_len(&p, dcd_end, &n) < 0 || n < 1)
        return -1;
    unsigned aot = p[0] >> 3;
    if (aot == 31) { /* escape: six more bits, plus 32 */
        if (n < 2)
            return -1;
        aot = 32 + (((p[0] & 0x07u) << 3) | (p[1] >> 5));
    }
    snprintf(f->audio, sizeof f->audio, "mp4a.40.%u", aot);
    return 0;
}

static int walk(const unsigned char *p, size_t len, found_t *f, int depth);

/* A sample entry inside stsd. */
static int sample_entry(const char *type, const unsigned char *body, size_t blen, found_t *f, int depth)
{
    if (strcmp(type, "avc1") == 0 || strcmp(type, "avc3") == 0) {
        if (blen < 78)
            return -1;
        f->width = be16(body + 24);
        f->height = be16(body + 26);
        snprintf(f->video, sizeof f->video, "%s", type); /* completed by avcC */
        return walk(body + 78, blen - 78, f, depth + 1);
    }
    if (strcmp(type, "mp4a") == 0) {
        if (blen < 28)
            return -1;
        unsigned version = be16(body + 8);
        size_t skip = version == 1 ? 28 + 16 : version == 2 ? 28 + 36 : 28;
        if (blen < skip)
            return -1;
        if (!f->audio[0])
            snprintf(f->audio, sizeof f->audio, "mp4a");
        return walk(body + skip, blen - skip, f, depth + 1);
    }
    return 0; /* another codec: nothing this reader names */
}

static int walk(const unsigned char *p, size_t len, found_t *f, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    while (len > 0) {
        char type[5];
        size_t header, size;
        if (box_at(p, len, type, &header, &size) < 0)
            return -1;
        const unsigned char *body = p + header;
        size_t blen = size - header;
        int ret = 0;
        if (!strcmp(type, "moov") || !strcmp(type, "mdia") || !strcmp(type, "minf") || !strcmp(type, "stbl") ||
            !strcmp(type, "wave"))
            ret = walk(body, blen, f, depth + 1);
        else if (!strcmp(type, "trak")) {
            f->in_video_track = 0;
            ret = walk(body, blen, f, depth + 1);
        } else if (!strcmp(type, "tkhd")) {
            /* Width and height (16.16) are the last 8 bytes of either version. */
            if (blen >= 84 && be32(body + blen - 8) >> 16 && !f->tkhd_width) {
                f->tkhd_width = (int)(be32(body + blen - 8) >> 16);
                f->tkhd_height = (int)(be32(body + blen - 4) >> 16);
            }
        } else if (!strcmp(type, "stsd")) {
            if (blen < 8)
                return -1;
            ret = walk(body + 8, blen - 8, f, depth + 1);
        } else if (!strcmp(type, "avc1") || !strcmp(type, "avc3") || !strcmp(type, "mp4a"))
            ret = sample_entry(type, body, blen, f, depth);
        else if (!strcmp(type, "avcC")) {
            if (blen < 4 || body[0] != 1)
                return -1;
            char kind[5];
            snprintf(kind, sizeof kind, "%.4s", f->video[0] ? f->video : "avc1");
            snprintf(f->video, sizeof f->video, "%s.%02x%02x%02x", kind, body[1], body[2], body[3]);
        } else if (!strcmp(type, "esds")) {
            if (blen < 4 || parse_esds(body + 4, body + blen, f) < 0)
                return -1;
        }
        if (ret < 0)
            return ret;
        p += size;
        len -= size;
    }
    return 0;
}

int vf_hls_init_parse(const unsigned char *data, size_t len, vf_hls_init_info_t *info, char *err, size_t errlen)
{
    found_t f;
    memset(&f, 0, sizeof f);
    memset(info, 0, sizeof *info);
    char type[5];
    size_t header, size;
    if (box_at(data, len, type, &header, &size) < 0 || (strcmp(type, "ftyp") && strcmp(type, "styp"))) {
        snprintf(err, errlen, "not an ISO BMFF file (no ftyp box first)");
        return -EINVAL;
    }
    if (walk(data, len, &f, 0) < 0) {
        snprintf(err, errlen, "a box is truncated or malformed");
        return -EINVAL;
    }
    if (!strchr(f.video, '.')) {
        snprintf(err, errlen, "no H.264 video track with an avcC box");
        return -EINVAL;
    }
    info->width = f.width > 0 ? f.width : f.tkhd_width;
    info->height = f.height > 0 ? f.height : f.tkhd_height;
    if (f.audio[0] && strcmp(f.audio, "mp4a") != 0)
        snprintf(info->codecs, sizeof info->codecs, "%s,%s", f.video, f.audio);
    else
        snprintf(info->codecs, sizeof info->codecs, "%s", f.video);
    return 0;
}

/* The whole of a file no bigger than an initialisation segment may be,
 * malloc()ed into *buf (NULL when empty). */
static int load(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    int ret = 0;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
        goto out;
    }
    if (st.st_size > INIT_MAX_BYTES) {
        snprintf(err, errlen, "%s is %lld bytes: too big for an initialisation segment", path,
                 (long long)st.st_size);
        ret = -EINVAL;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    if (size && !(*buf = malloc(size))) {
        ret = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t got = 0; got < size;) {
        ssize_t n = read(fd, *buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            snprintf(err, errlen, "cannot read %s: %s", path, n < 0 ? strerror(-ret) : "it got shorter");
            goto out;
        }
        got += (size_t)n;
    }
    *len = size;
out:
    if (ret < 0) {
        free(*buf);
        *buf = NULL;
    }
    close(fd);
    return ret;
}

int vf_hls_init_read(const char *path, vf_hls_init_info_t *info, char *err, size_t errlen)
{
    static const unsigned char none;
    unsigned char *buf = NULL;
    size_t len = 0;
    int ret = load(path, &buf, &len, err, errlen);
    if (ret == 0)
        ret = vf_hls_init_parse(buf ? buf : &none, len, info, err, errlen);
    free(buf);
    return ret;
}

int vf_hls_init_same(const char *a, const char *b, char *err, size_t errlen)
{
    unsigned char *x = NULL, *y = NULL;
    size_t xlen = 0, ylen = 0;
    int ret = load(a, &x, &xlen, err, errlen);
    if (ret == 0 && (ret = load(b, &y, &ylen, err, errlen)) == 0)
        ret = xlen == ylen && (xlen == 0 || memcmp(x, y, xlen) == 0);
    free(x);
    free(y);
    return ret;
}
