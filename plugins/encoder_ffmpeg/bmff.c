/*
 * bmff.c - see bmff.h.  Boxes are read by offset into one buffer; a box
 * whose size runs past its parent, or a field past its box, makes the
 * whole file -EINVAL.  Only the boxes named here are looked into.
 */
#include "bmff.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct box {
    size_t start;              /* offset of the box in the buffer */
    size_t body;               /* offset of its payload */
    size_t end;                /* offset after it */
    char type[5];
} box_t;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* The box at *at, before `end`: 1 and *at moved past it, 0 at `end`,
 * -1 when malformed.  Size 1 is a 64-bit size, 0 "to the end". */
static int next_box(const unsigned char *buf, size_t end, size_t *at, box_t *b)
{
    if (*at == end)
        return 0;
    if (end - *at < 8)
        return -1;
    const unsigned char *p = buf + *at;
    uint64_t size = be32(p), header = 8;
    if (size == 1) {
        if (end - *at < 16)
            return -1;
        size = be64(p + 8);
        header = 16;
    } else if (size == 0) {
        size = end - *at;
    }
    if (size < header || size > end - *at)
        return -1;
    b->start = *at;
    b->body = *at + header;
    b->end = *at + size;
    memcpy(b->type, p + 4, 4);
    b->type[4] = '\0';
    *at = b->end;
    return 1;
}

static int is(const box_t *b, const char *type)
{
    return memcmp(b->type, type, 4) == 0;
}

/* 1 when the payload holds at least `need` bytes. */
static int has(const box_t *b, size_t need)
{
    return b->end - b->body >= need;
}

int ffe_bmff_whole_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return 0;
    int whole = fstat(fd, &st) == 0 && st.st_size >= 8;
    for (uint64_t at = 0, total = (uint64_t)st.st_size; whole && at < total;) {
        unsigned char head[16];
        if (total - at < 8 || pread(fd, head, 16, (off_t)at) < 8) {
            whole = 0;
            break;
        }
        uint64_t size = be32(head);
        if (size == 1)
            size = total - at < 16 ? 0 : be64(head + 8);
        else if (size == 0)
            size = total - at; /* to the end of the file */
        if (size < 8 || size > total - at)
            whole = 0;
        else
            at += size;
    }
    close(fd);
    return whole;
}

/* ---- initialisation segments ---- */

/* Version 0 boxes have 32-bit times, version 1 64-bit ones: the offset of
 * the field after creation and modification times. */
static size_t after_times(const unsigned char *buf, const box_t *b)
{
    /* an empty payload has no version byte to read: past the box, which
     * the caller's has() then refuses */
    if (!has(b, 4))
        return b->end + 1;
    return b->body + 4 + (buf[b->body] == 1 ? 16 : 8);
}

typedef struct track_draft {
    ffe_bmff_track_t t;
    uint64_t empty;            /* leading empty edits, movie timescale */
    int64_t media_time;        /* where the first real edit starts */
} track_draft_t;

static int read_elst(const unsigned char *buf, const box_t *b, track_draft_t *d)
{
    if (!has(b, 8))
        return -1;
    int v1 = buf[b->body] == 1;
    size_t entry = v1 ? 20 : 12;
    uint32_t count = be32(buf + b->body + 4);
    if ((uint64_t)count * entry > b->end - b->body - 8)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = buf + b->body + 8 + (size_t)i * entry;
        uint64_t duration = v1 ? be64(e) : be32(e);
        int64_t media_time = v1 ? (int64_t)be64(e + 8) : (int32_t)be32(e + 4);
        if (media_time != -1) {
            d->media_time = media_time;
            break;
        }
        d->empty += duration;
    }
    return 0;
}

/* Walk a trak for what track_draft_t holds: its own boxes and those of
 * its edts and mdia (`nested` 0), never deeper, so that a hostile init of
 * boxes nested in boxes cannot run the stack out. */
static int read_trak(const unsigned char *buf, size_t from, size_t to, track_draft_t *d, int nested)
{
    box_t b;
    int r;
    for (size_t at = from; (r = next_box(buf, to, &at, &b)) > 0;) {
        if (is(&b, "edts") || is(&b, "mdia")) {
            if (!nested && read_trak(buf, b.body, b.end, d, 1) < 0)
                return -1;
        } else if (is(&b, "tkhd")) {
            if (!has(&b, after_times(buf, &b) - b.body + 4))
                return -1;
            d->t.id = be32(buf + after_times(buf, &b));
        } else if (is(&b, "mdhd")) {
            if (!has(&b, after_times(buf, &b) - b.body + 4))
                return -1;
            d->t.timescale = be32(buf + after_times(buf, &b));
        } else if (is(&b, "hdlr")) {
            if (!has(&b, 12))
                return -1;
            memcpy(d->t.handler, buf + b.body + 8, 4);
            d->t.handler[4] = '\0';
        } else if (is(&b, "elst") && read_elst(buf, &b, d) < 0) {
            return -1;
        }
    }
    return r;
}

static int read_trex(const unsigned char *buf, const box_t *mvex, track_draft_t *drafts, size_t count)
{
    box_t b;
    int r;
    for (size_t at = mvex->body; (r = next_box(buf, mvex->end, &at, &b)) > 0;) {
        if (!is(&b, "trex"))
            continue;
        if (!has(&b, 16))
            return -1;
        for (size_t i = 0; i < count; i++)
            if (drafts[i].t.id == be32(buf + b.body + 4))
                drafts[i].t.default_duration = be32(buf + b.body + 12);
    }
    return r;
}

int ffe_bmff_parse_init(const unsigned char *buf, size_t len, ffe_bmff_init_t *init)
{
    memset(init, 0, sizeof *init);
    track_draft_t drafts[FFE_BMFF_MAX_TRACKS];
    box_t top, b, mvex = {0};
    uint32_t movie_timescale = 0;
    size_t count = 0;
    int moov = 0, r;
    for (size_t at = 0; (r = next_box(buf, len, &at, &top)) > 0;) {
        if (!is(&top, "moov"))
            continue;
        moov++;
        for (size_t in = top.body; (r = next_box(buf, top.end, &in, &b)) > 0;) {
            if (is(&b, "mvhd")) {
                if (!has(&b, after_times(buf, &b) - b.body + 4))
                    return -EINVAL;
                movie_timescale = be32(buf + after_times(buf, &b));
            } else if (is(&b, "mvex")) {
                mvex = b;
            } else if (is(&b, "trak")) {
                if (count == FFE_BMFF_MAX_TRACKS)
                    return -EINVAL;
                memset(&drafts[count], 0, sizeof drafts[count]);
                if (read_trak(buf, b.body, b.end, &drafts[count], 0) < 0)
                    return -EINVAL;
                count++;
            }
        }
        if (r < 0)
            return -EINVAL;
    }
    if (r < 0 || moov != 1 || count == 0 || movie_timescale == 0 || !mvex.end ||
        read_trex(buf, &mvex, drafts, count) < 0)
        return -EINVAL;
    for (size_t i = 0; i < count; i++) {
        track_draft_t *d = &drafts[i];
        if (d->t.id == 0 || d->t.timescale == 0 || !d->t.handler[0])
            return -EINVAL;
        d->t.shown_at = (double)d->empty / movie_timescale - (double)d->media_time / d->t.timescale;
        init->tracks[i] = d->t;
    }
    init->count = count;
    return 0;
}

int ffe_bmff_track_index(const ffe_bmff_init_t *init, const char *handler)
{
    for (size_t i = 0; i < init->count; i++)
        if (strcmp(init->tracks[i].handler, handler) == 0)
            return (int)i;
    return -1;
}

static int is_container(const box_t *b)
{
    static const char *const containers[] = {"moov", "trak", "mdia", "minf", "stbl", "edts", "mvex", "dinf"};
    for (size_t i = 0; i < sizeof containers / sizeof *containers; i++)
        if (is(b, containers[i]))
            return 1;
    return 0;
}

static int same_boxes(const unsigned char *a, size_t afrom, size_t ato, const unsigned char *b, size_t bfrom,
                      size_t bto)
{
    box_t x, y;
    size_t i = afrom, j = bfrom;
    for (;;) {
        int rx = next_box(a, ato, &i, &x), ry = next_box(b, bto, &j, &y);
        if (rx < 0 || ry < 0 || rx != ry)
            return 0;
        if (rx == 0)
            return 1;
        if (!is(&x, y.type) || x.end - x.start != y.end - y.start)
            return 0;
        if (is_container(&x)) {
            if (!same_boxes(a, x.body, x.end, b, y.body, y.end))
                return 0;
        } else if (is(&x, "elst")) {
            /* version, flags and entry count: the entries say where the
             * track starts, which a resumed run moves itself */
            if (!has(&x, 8) || memcmp(a + x.body, b + y.body, 8) != 0)
                return 0;
        } else if (memcmp(a + x.start, b + y.start, x.end - x.start) != 0) {
            return 0;
        }
    }
}

int ffe_bmff_same_setup(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    return same_boxes(a, 0, alen, b, 0, blen);
}

/* ---- media segments ---- */

static int track_of(const ffe_bmff_init_t *init, uint32_t id)
{
    for (size_t i = 0; i < init->count; i++)
        if (init->tracks[i].id == id)
            return (int)i;
    return -1;
}

/* The track index a traf's tfhd names, and its default sample duration. */
static int read_tfhd(const unsigned char *buf, const box_t *b, const ffe_bmff_init_t *init,
                     uint32_t *default_duration)
{
    if (!has(b, 8))
        return -1;
    uint32_t flags = be32(buf + b->body) & 0xffffff;
    int k = track_of(init, be32(buf + b->body + 4));
    if (k < 0)
        return -1;
    *default_duration = init->tracks[k].default_duration;
    if (flags & 0x8) {
        size_t at = 8 + (flags & 0x1 ? 8 : 0) + (flags & 0x2 ? 4 : 0);
        if (!has(b, at + 4))
            return -1;
        *default_duration = be32(buf + b->body + at);
    }
    return k;
}

/* The sum of a trun's sample durations, added to *sum, and its sample
 * count, to *samples. */
static int trun_duration(const unsigned char *buf, const box_t *b, uint32_t default_duration, uint64_t *sum,
                         uint64_t *samples)
{
    if (!has(b, 8))
        return -1;
    uint32_t flags = be32(buf + b->body) & 0xffffff, count = be32(buf + b->body + 4);
    size_t at = 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
    size_t per = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) +
                 (flags & 0x800 ? 4 : 0);
    if (b->end - b->body < at || (uint64_t)count * per > b->end - b->body - at)
        return -1;
    *samples += count;
    if (!(flags & 0x100)) {
        /* one product, not count (up to 2^32 - 1) additions */
        uint64_t all = (uint64_t)count * default_duration;
        if (all > UINT64_MAX - *sum)
            return -1;
        *sum += all;
        return 0;
    }
    for (uint32_t i = 0; i < count; i++)
        *sum += be32(buf + b->body + at + (size_t)i * per);
    return 0;
}

static uint64_t tfdt_time(const unsigned char *buf, const box_t *b)
{
    return buf[b->body] == 1 ? be64(buf + b->body + 4) : be32(buf + b->body + 4);
}

static int tfdt_ok(const unsigned char *buf, const box_t *b)
{
    return has(b, 8) && (buf[b->body] != 1 || has(b, 12));
}

static int scan_traf(const unsigned char *buf, const box_t *traf, const ffe_bmff_init_t *init,
                     ffe_bmff_span_t *spans)
{
    box_t b;
    int k = -1, r, timed = 0;
    uint32_t default_duration = 0;
    uint64_t start = 0, duration = 0, samples = 0;
    for (size_t at = traf->body; (r = next_box(buf, traf->end, &at, &b)) > 0;) {
        if (is(&b, "tfhd")) {
            if ((k = read_tfhd(buf, &b, init, &default_duration)) < 0)
                return -1;
        } else if (is(&b, "tfdt")) {
            if (!tfdt_ok(buf, &b))
                return -1;
            start = tfdt_time(buf, &b);
            timed = 1;
        } else if (is(&b, "trun")) {
            if (k < 0 || trun_duration(buf, &b, default_duration, &duration, &samples) < 0)
                return -1;
        }
    }
    if (r < 0 || k < 0 || !timed)
        return -1;
    ffe_bmff_span_t *s = &spans[k];
    if (!s->found)
        s->first = start;
    s->found = 1;
    s->end = start + duration;
    s->samples += samples;
    return 0;
}

int ffe_bmff_scan_segment(const unsigned char *buf, size_t len, const ffe_bmff_init_t *init,
                          ffe_bmff_span_t *spans, uint32_t *fragments)
{
    memset(spans, 0, init->count * sizeof *spans);
    *fragments = 0;
    box_t top, b;
    int r;
    for (size_t at = 0; (r = next_box(buf, len, &at, &top)) > 0;) {
        if (!is(&top, "moof"))
            continue;
        ++*fragments;
        for (size_t in = top.body; (r = next_box(buf, top.end, &in, &b)) > 0;)
            if (is(&b, "traf") && scan_traf(buf, &b, init, spans) < 0)
                return -EINVAL;
        if (r < 0)
            return -EINVAL;
    }
    return r < 0 || *fragments == 0 ? -EINVAL : 0;
}

/* t + shift into a field of 4 or 8 bytes; -1 when it does not fit. */
static int put_time(unsigned char *p, int wide, uint64_t t, uint64_t shift)
{
    if (t + shift < t || (!wide && t + shift > UINT32_MAX))
        return -1;
    if (wide)
        put64(p, t + shift);
    else
        put32(p, (uint32_t)(t + shift));
    return 0;
}

static int shift_traf(unsigned char *buf, const box_t *traf, const ffe_bmff_init_t *init, const uint64_t *shift)
{
    box_t b;
    int k = -1, r;
    uint32_t unused;
    for (size_t at = traf->body; (r = next_box(buf, traf->end, &at, &b)) > 0;) {
        if (is(&b, "tfhd") && (k = read_tfhd(buf, &b, init, &unused)) < 0)
            return -1;
        if (is(&b, "tfdt") && (k < 0 || !tfdt_ok(buf, &b) ||
                               put_time(buf + b.body + 4, buf[b.body] == 1, tfdt_time(buf, &b), shift[k]) < 0))
            return -1;
    }
    return r;
}

/* sidx: reference_ID, timescale, earliest_presentation_time. */
static int shift_sidx(unsigned char *buf, const box_t *b, const ffe_bmff_init_t *init, const uint64_t *shift)
{
    if (!has(b, 4))
        return -1;
    int wide = buf[b->body] == 1;
    if (!has(b, wide ? 20 : 16))
        return -1;
    int k = track_of(init, be32(buf + b->body + 4));
    uint32_t timescale = be32(buf + b->body + 8);
    if (k < 0 || timescale == 0)
        return -1;
    /* the sidx may count in another unit than its track */
    uint64_t units = shift[k], track_scale = init->tracks[k].timescale;
    if (timescale != track_scale) {
        if (units > UINT64_MAX / timescale || (units * timescale) % track_scale)
            return -1;
        units = units * timescale / track_scale;
    }
    unsigned char *p = buf + b->body + 12;
    return put_time(p, wide, wide ? be64(p) : be32(p), units);
}

int ffe_bmff_shift_segment(unsigned char *buf, size_t len, const ffe_bmff_init_t *init, const uint64_t *shift,
                           uint32_t renumber)
{
    box_t top, b;
    int r;
    for (size_t at = 0; (r = next_box(buf, len, &at, &top)) > 0;) {
        if (is(&top, "sidx") && shift_sidx(buf, &top, init, shift) < 0)
            return -EINVAL;
        if (!is(&top, "moof"))
            continue;
        for (size_t in = top.body; (r = next_box(buf, top.end, &in, &b)) > 0;) {
            if (is(&b, "mfhd")) {
                if (!has(&b, 8))
                    return -EINVAL;
                put32(buf + b.body + 4, be32(buf + b.body + 4) + renumber);
            } else if (is(&b, "traf") && shift_traf(buf, &b, init, shift) < 0) {
                return -EINVAL;
            }
        }
        if (r < 0)
            return -EINVAL;
    }
    return r < 0 ? -EINVAL : 0;
}
