/*
 * resume.c - see resume.h.  Published files are read whole (an
 * initialisation segment is a few KiB, a media segment a few MiB); every
 * problem with them is a reason to encode everything again, never an
 * error of the job.
 */
#include "resume.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define INIT_MAX (1u << 20)
#define SEGMENT_MAX ((size_t)1 << 30)

static int because(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int because(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return 1;
}

static const char *name_of(const ffe_resume_t *r, size_t i)
{
    const char *name = r->params->renditions[i].name;
    return name ? name : "?";
}

/* <published dir>/<rendition name>/<file>, or NULL (memory). */
static char *published_path(const ffe_resume_t *r, size_t i, const char *file)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s/%s", r->params->hls_published_dir, name_of(r, i), file) < 0)
        return NULL;
    return path;
}

/* A rendition name that names one directory inside the published one. */
static int plain_name(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int read_init(const ffe_resume_t *r, size_t i, ffe_resume_rendition_t *rr, char *why, size_t whylen)
{
    char *path = published_path(r, i, "init.mp4");
    if (!path)
        return -ENOMEM;
    int ret = ffe_read_file(path, INIT_MAX, &rr->init, &rr->init_len);
    if (ret == -ENOMEM)
        goto out;
    if (ret < 0) {
        ret = because(why, whylen, "%s: %s", path, strerror(-ret));
        goto out;
    }
    if (ffe_bmff_parse_init(rr->init, rr->init_len, &rr->tracks) < 0 ||
        (rr->video = ffe_bmff_track_index(&rr->tracks, "vide")) < 0) {
        ret = because(why, whylen, "%s is not an initialisation segment with a video track", path);
        goto out;
    }
    rr->audio = ffe_bmff_track_index(&rr->tracks, "soun");
out:
    free(path);
    return ret;
}

/* Segment n: its spans and fragments into rr, its bytes onto the joined
 * file. */
static int read_segment(const ffe_resume_t *r, size_t i, ffe_resume_rendition_t *rr, int64_t n, char *why,
                        size_t whylen)
{
    char file[32];
    snprintf(file, sizeof file, "%" PRId64 ".m4s", n);
    char *path = published_path(r, i, file);
    unsigned char *buf = NULL;
    size_t len;
    if (!path)
        return -ENOMEM;
    int ret = ffe_read_file(path, SEGMENT_MAX, &buf, &len);
    if (ret == -ENOMEM)
        goto out;
    if (ret < 0) {
        ret = because(why, whylen, "%s: %s", path, strerror(-ret));
        goto out;
    }
    ffe_bmff_span_t spans[FFE_BMFF_MAX_TRACKS];
    uint32_t fragments;
    if (!ffe_bmff_whole_file(path) ||
        ffe_bmff_scan_segment(buf, len, &rr->tracks, spans, &fragments) < 0 || !spans[rr->video].found) {
        ret = because(why, whylen, "%s is not a whole media segment with video of its init.mp4", path);
        goto out;
    }
    rr->fragments += fragments;
    rr->video_end = spans[rr->video].end;
    if (spans[rr->video].samples && spans[rr->video].end > spans[rr->video].first)
        rr->video_frame = (spans[rr->video].end - spans[rr->video].first) / spans[rr->video].samples;
    if (rr->audio >= 0 && spans[rr->audio].found) {
        if (!rr->audio_end)
            rr->audio_first = spans[rr->audio].first;
        rr->audio_end = spans[rr->audio].end;
    }
    if (rr->joined && (ret = ffe_write_file(rr->joined, buf, len, 1)) < 0)
        ret = because(why, whylen, "cannot copy %s: %s", path, strerror(-ret));
out:
    free(buf);
    free(path);
    return ret;
}

static int open_rendition(ffe_resume_t *r, size_t i, int mp4, char *why, size_t whylen)
{
    ffe_resume_rendition_t *rr = &r->renditions[i];
    const vf_transcode_params_t *p = r->params;
    if (!plain_name(p->renditions[i].name))
        return because(why, whylen, "rendition name '%s' is not a directory name", name_of(r, i));
    int ret = read_init(r, i, rr, why, whylen);
    if (ret != 0)
        return ret;
    if (mp4) {
        if (asprintf(&rr->joined, "%s/.r%zu-joined.mp4", p->hls_dir, i) < 0) {
            rr->joined = NULL;
            return -ENOMEM;
        }
        ret = ffe_write_file(rr->joined, rr->init, rr->init_len, 0);
        if (ret < 0)
            return because(why, whylen, "cannot copy the published init.mp4 of %s: %s", name_of(r, i),
                           strerror(-ret));
    }
    for (int64_t n = 0; n < p->hls_first_segment; n++) {
        if ((ret = read_segment(r, i, rr, n, why, whylen)) != 0)
            return ret;
        if (r->progress && r->progress(r->progress_ud, r->percent) != 0)
            return -ECANCELED;
    }
    if (rr->joined) {
        struct stat st;
        if (stat(rr->joined, &st) != 0)
            return because(why, whylen, "%s: %s", rr->joined, strerror(errno));
        rr->joined_published = (uint64_t)st.st_size;
    }
    /* A whole run's segment N starts at the first frame at or after X (one
     * frame) plus the encoder's reorder delay (at most two): anything
     * further was cut at another segment length (hls_segment_seconds
     * changed between attempts), whose segment N is not ours. */
    double timescale = rr->tracks.tracks[rr->video].timescale;
    double end = (double)rr->video_end / timescale, frame = (double)rr->video_frame / timescale;
    if (frame <= 0 || fabs(end - r->start) > 3 * frame)
        return because(why, whylen, "the published video of %s ends at %.3f s, not near %.3f s", name_of(r, i), end,
                       r->start);
    return 0;
}

int ffe_resume_open(ffe_resume_t *r, const vf_transcode_params_t *p, int mp4, vf_progress_fn progress,
                    void *progress_ud, double percent, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    r->params = p;
    r->progress = progress;
    r->progress_ud = progress_ud;
    r->percent = percent;
    r->start = (double)p->hls_first_segment * p->hls_segment_seconds;
    r->renditions = calloc(p->nrenditions, sizeof *r->renditions);
    if (!r->renditions)
        return -ENOMEM;
    r->count = p->nrenditions;
    for (size_t i = 0; i < r->count; i++) {
        int ret = open_rendition(r, i, mp4, why, whylen);
        if (ret != 0)
            return ret;
    }
    return 0;
}

int ffe_resume_check_trial(ffe_resume_t *r, const char *dir, char *why, size_t whylen)
{
    for (size_t i = 0; i < r->count; i++) {
        ffe_resume_rendition_t *rr = &r->renditions[i];
        char *path = NULL;
        unsigned char *buf = NULL;
        size_t len = 0;
        ffe_bmff_init_t trial;
        if (asprintf(&path, "%s/r%zu-init.mp4", dir, i) < 0)
            return -ENOMEM;
        int ret = ffe_read_file(path, INIT_MAX, &buf, &len);
        free(path);
        if (ret == -ENOMEM)
            return ret;
        if (ret < 0)
            return because(why, whylen, "the trial run wrote no initialisation segment for %s: %s", name_of(r, i),
                           strerror(-ret));
        int same = ffe_bmff_same_setup(rr->init, rr->init_len, buf, len) &&
                   ffe_bmff_parse_init(buf, len, &trial) == 0;
        free(rr->trial_init);
        rr->trial_init = buf;
        rr->trial_init_len = len;
        if (!same)
            return because(why, whylen, "the published init.mp4 of %s differs from the one this run writes "
                           "(codec setup, sizes or timescales)", name_of(r, i));
        /* Seconds after the published video's end, for every track. */
        const ffe_bmff_track_t *v = &rr->tracks.tracks[rr->video];
        double end = (double)rr->video_end / v->timescale;
        for (size_t k = 0; k < rr->tracks.count; k++) {
            const ffe_bmff_track_t *t = &rr->tracks.tracks[k];
            double lead = (trial.tracks[k].shown_at - trial.tracks[rr->video].shown_at) -
                          (t->shown_at - v->shown_at);
            double units = (int)k == rr->video ? (double)rr->video_end : round((end + lead) * t->timescale);
            if (!(units >= 0) || units > 9e15)
                return because(why, whylen, "track %" PRIu32 " of %s would start at %.3f s", t->id, name_of(r, i),
                               end + lead);
            rr->shift[k] = (uint64_t)units;
        }
    }
    return 0;
}

int ffe_resume_put_init(const ffe_resume_t *r, size_t i, const char *path)
{
    const ffe_resume_rendition_t *rr = &r->renditions[i];
    unsigned char *buf = NULL;
    size_t len;
    int ret = ffe_read_file(path, INIT_MAX, &buf, &len);
    if (ret < 0)
        return ret;
    int same = rr->trial_init && len == rr->trial_init_len && memcmp(buf, rr->trial_init, len) == 0;
    free(buf);
    return same ? ffe_replace_file(path, rr->init, rr->init_len) : -EINVAL;
}

int ffe_resume_segment(const ffe_resume_t *r, size_t i, const char *path)
{
    const ffe_resume_rendition_t *rr = &r->renditions[i];
    unsigned char *buf = NULL;
    size_t len;
    int ret = ffe_read_file(path, SEGMENT_MAX, &buf, &len);
    if (ret < 0)
        return ret;
    if (ffe_bmff_shift_segment(buf, len, &rr->tracks, rr->shift, rr->fragments) < 0)
        ret = -EINVAL;
    else
        ret = ffe_replace_file(path, buf, len);
    /* Kept before the report: the callee may take the file away. */
    if (ret == 0 && rr->joined)
        ret = ffe_write_file(rr->joined, buf, len, 1);
    free(buf);
    return ret;
}

int ffe_resume_audio_drop(const ffe_resume_t *r, size_t i, char *buf, size_t len)
{
    const ffe_resume_rendition_t *rr = &r->renditions[i];
    buf[0] = '\0';
    if (rr->audio < 0 || rr->shift[rr->audio] >= rr->audio_end)
        return 0;
    /* The demuxer's dts minus the first one is the published decode time
     * minus audio_first; pos tells the new packets from the published. */
    int n = snprintf(buf, len, "noise=drop=gte(pos\\,%" PRIu64 ")*lt(dts-startdts\\,%" PRIu64 ")",
                     rr->joined_published, rr->audio_end - rr->audio_first);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void ffe_resume_free(ffe_resume_t *r, const vf_host_api_t *host)
{
    for (size_t i = 0; r->renditions && i < r->count; i++) {
        ffe_resume_rendition_t *rr = &r->renditions[i];
        free(rr->init);
        free(rr->trial_init);
        if (rr->joined && unlink(rr->joined) != 0 && errno != ENOENT)
            host->log("encoder_ffmpeg", VF_LOG_WARNING, "cannot remove %s: %s", rr->joined, strerror(errno));
        free(rr->joined);
    }
    free(r->renditions);
    memset(r, 0, sizeof *r);
}
