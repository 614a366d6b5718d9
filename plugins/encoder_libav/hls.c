/*
 * hls.c - one rendition's HLS output: libavformat's "hls" muxer writing
 * CMAF (an fMP4 initialisation segment and fragmented-MP4 media segments)
 * into params->hls_dir, fed the same encoded packets as the MP4.
 *
 * The muxer opens every file through our io_open/io_close2.  Its playlist
 * goes to a memory buffer, never to disk: each time the muxer rewrites it
 * (right after closing a segment), the new #EXTINF entries name the
 * finished segments and their durations, and each is reported through
 * params->hls_file - the initialisation segment before the first.  The
 * reports of all renditions go through one mutex (each rendition muxes on
 * its own thread), and the first negative answer stops every report after
 * it.  Files written and not handed over (skipped before
 * hls_first_segment, or left by a failed job) are removed here; reported
 * files are the caller's and never touched again.  A resumed job reports a
 * copy of the published initialisation segment and removes the muxer's
 * own.
 *
 * Must not touch: the MP4 outputs (output.c), the encoders (encode.c).
 */
#include "lav.h"

#include <errno.h>
#include <inttypes.h>
#include <libavutil/avstring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The muxer names every file under MUXER_DIR, a directory that does not
 * exist: its scheme is no protocol of libavformat's, so the muxer writes
 * the playlist in place (it renames a temporary "file:" playlist), and
 * every open comes to hls_io_open, which puts the file in hls_dir.  The
 * muxer never sees hls_dir, whose name is the operator's: it reads '%d'
 * and '%v' in file names as patterns, without an escape for '%v'. */
#define MUXER_DIR "vfhls:/hls"

static int fail(char *msg, int averr, const char *step)
{
    snprintf(msg, LAV_MSG_MAX, "%s: %s", step, av_err2str(averr));
    return averr;
}

int lav_hls_reports_init(lav_hls_reports_t *rep, const vf_transcode_params_t *params)
{
    memset(rep, 0, sizeof *rep);
    rep->params = params;
    rep->report_from = params->hls_first_segment;
    int ret = pthread_mutex_init(&rep->mu, NULL);
    if (ret)
        return -ret;
    rep->mu_ready = 1;
    return 0;
}

void lav_hls_reports_destroy(lav_hls_reports_t *rep)
{
    if (rep->mu_ready)
        pthread_mutex_destroy(&rep->mu);
    rep->mu_ready = 0;
}

int lav_hls_reports_failed(lav_hls_reports_t *rep)
{
    pthread_mutex_lock(&rep->mu);
    int failed = rep->failed;
    pthread_mutex_unlock(&rep->mu);
    return failed;
}

/* ---- files we made and still own ---- */

static int own_file(lav_hls_t *h, const char *path)
{
    for (size_t i = 0; i < h->nfiles; i++)
        if (strcmp(h->files[i], path) == 0)
            return 0;
    char **grown = realloc(h->files, (h->nfiles + 1) * sizeof *grown);
    if (!grown)
        return AVERROR(ENOMEM);
    h->files = grown;
    if (!(h->files[h->nfiles] = av_strdup(path)))
        return AVERROR(ENOMEM);
    h->nfiles++;
    return 0;
}

/* The file is no longer ours (handed over or removed). */
static void disown_file(lav_hls_t *h, const char *path)
{
    for (size_t i = 0; i < h->nfiles; i++)
        if (strcmp(h->files[i], path) == 0) {
            av_free(h->files[i]);
            h->files[i] = h->files[--h->nfiles];
            return;
        }
}

/* ---- reports ---- */

/* One finished file to the caller, under the mutex; 0 or its negative answer. */
static int report_locked(lav_hls_t *h, int64_t sequence, const char *path, double duration)
{
    lav_hls_reports_t *rep = h->reports;
    if (rep->failed)
        return rep->failed;
    vf_hls_file_t file = {
        .size = sizeof file,
        .rendition = h->rendition,
        .sequence = sequence,
        .path = path,
        .duration = duration,
    };
    int ret = rep->params->hls_file(rep->params->hls_ud, &file);
    if (ret < 0) {
        rep->failed = ret;
        return ret;
    }
    disown_file(h, path);
    return 0;
}

/* In *path, the file in hls_dir that a name of the muxer's (under
 * MUXER_DIR, or relative to it as playlist entries are) stands for.  0,
 * AVERROR(EINVAL) for a name that is not one of that directory's files,
 * or AVERROR(ENOMEM). */
static int real_path(const lav_hls_t *h, const char *name, char **path)
{
    *path = NULL;
    if (strncmp(name, MUXER_DIR "/", strlen(MUXER_DIR "/")) == 0)
        name += strlen(MUXER_DIR "/");
    if (!name[0] || strchr(name, '/') || strchr(name, ':'))
        return AVERROR(EINVAL);
    *path = av_asprintf("%s/%s", h->dir, name);
    return *path ? 0 : AVERROR(ENOMEM);
}

/* A finished media segment: reported (with the initialisation segment
 * first), or removed when it comes before report_from. */
static int segment_done(lav_hls_t *h, const char *uri, double duration)
{
    char *path;
    int ret = real_path(h, uri, &path);
    if (ret < 0)
        return ret;
    int64_t sequence = h->first_number + h->listed++;
    if (sequence < h->reports->report_from) {
        unlink(path);
        disown_file(h, path);
        av_free(path);
        return 0;
    }
    pthread_mutex_lock(&h->reports->mu);
    if (!h->init_reported && (ret = report_locked(h, VF_HLS_INIT, h->init_path, 0)) == 0)
        h->init_reported = 1;
    if (ret == 0)
        ret = report_locked(h, sequence, path, duration);
    pthread_mutex_unlock(&h->reports->mu);
    av_free(path);
    return ret;
}

/* The muxer rewrote its playlist: report the entries past those seen. */
static int playlist_written(lav_hls_t *h, char *text)
{
    if (h->discarding)
        return 0;
    if (h->io_error)
        return h->io_error;
    int64_t index = 0;
    double duration = -1;
    for (char *save = NULL, *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (strncmp(line, "#EXTINF:", 8) == 0) {
            duration = strtod(line + 8, NULL);
            continue;
        }
        if (line[0] == '#' || duration < 0)
            continue;
        if (index++ >= h->listed) {
            int ret = segment_done(h, line, duration);
            if (ret < 0)
                return ret;
        }
        duration = -1;
    }
    return 0;
}

/* ---- the muxer's I/O ---- */

static int hls_io_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags, AVDictionary **options)
{
    lav_hls_t *h = s->opaque;
    if (strcmp(url, h->playlist_path) == 0) {
        int ret = avio_open_dyn_buf(pb);
        if (ret >= 0)
            h->playlist_pb = *pb;
        return ret;
    }
    if (!(flags & AVIO_FLAG_WRITE))
        return AVERROR(EPERM);
    char *path, *file_url = NULL;
    int ret = real_path(h, url, &path);
    if (ret == 0 && !(file_url = av_asprintf("file:%s", path)))
        ret = AVERROR(ENOMEM);
    if (ret == 0)
        ret = own_file(h, path);
    if (ret == 0)
        ret = avio_open2(pb, file_url, flags, &s->interrupt_callback, options);
    av_free(path);
    av_free(file_url);
    return ret;
}

static int hls_io_close(AVFormatContext *s, AVIOContext *pb)
{
    lav_hls_t *h = s->opaque;
    if (!pb)
        return 0;
    if (pb != h->playlist_pb) {
        int closed = avio_close(pb);
        if (closed < 0 && !h->io_error)
            h->io_error = closed;
        return closed;
    }
    h->playlist_pb = NULL;
    uint8_t *data = NULL;
    /* A terminating NUL, so the text can be read as a string. */
    avio_w8(pb, 0);
    int len = avio_close_dyn_buf(pb, &data);
    int ret = len > 0 ? playlist_written(h, (char *)data) : AVERROR(ENOMEM);
    av_free(data);
    if (ret < 0 && !h->io_error)
        h->io_error = ret;
    return ret;
}

/* ---- the rendition's output ---- */

/* A copy of `from` at `to` (a file of ours until it is reported). */
static int copy_file(lav_hls_t *h, const char *from, const char *to)
{
    int ret = own_file(h, to);
    if (ret < 0)
        return ret;
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    ret = in && out ? 0 : AVERROR(errno);
    while (!ret && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            ret = AVERROR(errno);
    if (!ret && ferror(in))
        ret = AVERROR(EIO);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0 && !ret)
        ret = AVERROR(errno);
    return ret;
}

int lav_hls_open(lav_hls_t *h, lav_hls_reports_t *reports, size_t rendition, const AVCodecContext *venc,
                 AVRational frame_rate, const AVCodecContext *aenc, const char *published_init, char *msg)
{
    const vf_transcode_params_t *p = reports->params;
    AVDictionary *opts = NULL;
    char seconds[32], number[32], *init_name = NULL, *segments = NULL;
    int ret;

    memset(h, 0, sizeof *h);
    h->reports = reports;
    h->rendition = rendition;
    h->first_number = published_init ? p->hls_first_segment : 0;
    snprintf(seconds, sizeof seconds, "%.6f", p->hls_segment_seconds);
    snprintf(number, sizeof number, "%" PRId64, h->first_number);
    /* Resumed, the muxer's own initialisation segment (whose edit lists
     * would start at the resumed point) is only ours: the published one,
     * which the new segments continue, is reported instead. */
    if (!(h->dir = av_strdup(p->hls_dir)) ||
        !(h->playlist_path = av_asprintf(MUXER_DIR "/%zu.m3u8", rendition)) ||
        !(init_name = av_asprintf(published_init ? "%zu-init.muxed.mp4" : "%zu-init.mp4", rendition)) ||
        !(h->init_path = av_asprintf("%s/%zu-init.mp4", p->hls_dir, rendition)) ||
        !(segments = av_asprintf(MUXER_DIR "/%zu-%%d.m4s", rendition))) {
        ret = fail(msg, AVERROR(ENOMEM), "creating the HLS output");
        goto out;
    }
    if ((ret = avformat_alloc_output_context2(&h->oc, NULL, "hls", h->playlist_path)) < 0) {
        ret = fail(msg, ret, "creating the HLS output");
        goto out;
    }
    h->oc->opaque = h;
    h->oc->io_open = hls_io_open;
    h->oc->io_close2 = hls_io_close;
    if ((ret = lav_output_add_streams(h->oc, venc, frame_rate, aenc, &h->streams)) < 0) {
        ret = fail(msg, ret, "creating the HLS output");
        goto out;
    }
    /* The whole stream from segment 0 (or, resumed, from the published
     * end), whatever is reported: numbers and times stay those of a
     * complete run. */
    if ((ret = av_dict_set(&opts, "hls_segment_type", "fmp4", 0)) < 0 ||
        (ret = av_dict_set(&opts, "hls_time", seconds, 0)) < 0 ||
        (ret = av_dict_set(&opts, "hls_list_size", "0", 0)) < 0 ||
        (ret = av_dict_set(&opts, "hls_playlist_type", "event", 0)) < 0 ||
        (ret = av_dict_set(&opts, "hls_flags", "independent_segments", 0)) < 0 ||
        (ret = av_dict_set(&opts, "hls_fmp4_init_filename", init_name, 0)) < 0 ||
        (ret = av_dict_set(&opts, "hls_segment_filename", segments, 0)) < 0 ||
        (ret = av_dict_set(&opts, "start_number", number, 0)) < 0 ||
        /* Resumed: each track's fragment times go on from its first
         * packet's pts (the packets carry the whole run's times), not
         * from 0. */
        (published_init && (ret = av_dict_set(&opts, "hls_segment_options", "movflags=+frag_discont", 0)) < 0)) {
        ret = fail(msg, ret, "creating the HLS output");
        goto out;
    }
    if ((ret = lav_output_write_header(h->oc, &opts, msg, "writing the HLS header")) < 0)
        goto out;
    h->header_written = 1;
out:
    av_dict_free(&opts);
    av_free(init_name);
    av_free(segments);
    return ret;
}

/* The caller's answer wins over the muxer's view of it. */
static int muxer_result(lav_hls_t *h, int ret, char *msg, const char *step)
{
    int failed = lav_hls_reports_failed(h->reports);
    if (failed) {
        snprintf(msg, LAV_MSG_MAX, "publishing HLS files: hls_file returned %d", failed);
        return failed;
    }
    if (ret >= 0 && h->io_error)
        ret = h->io_error;
    return ret < 0 ? fail(msg, ret, step) : 0;
}

int lav_hls_write(lav_hls_t *h, AVPacket *pkt, int is_video, char *msg)
{
    return muxer_result(h, lav_output_streams_write(h->oc, &h->streams, pkt, is_video), msg,
                        "writing HLS segments");
}

int lav_hls_finish(lav_hls_t *h, char *msg)
{
    int ret = av_write_trailer(h->oc);
    h->header_written = 0;
    return muxer_result(h, ret, msg, "finishing the last HLS segment");
}

int lav_hls_copy_init(lav_hls_t *h, const char *published_init, char *msg)
{
    int ret = copy_file(h, published_init, h->init_path);
    return ret < 0 ? fail(msg, ret, "copying the published initialisation segment") : 0;
}

void lav_hls_close(lav_hls_t *h)
{
    if (h->oc) {
        /* A failed job: the muxer closes its files, which are ours to
         * remove below, and reports nothing more. */
        h->discarding = 1;
        if (h->header_written)
            (void)av_write_trailer(h->oc);
        if (h->playlist_pb) {
            uint8_t *data = NULL;
            avio_close_dyn_buf(h->playlist_pb, &data);
            av_free(data);
        }
        avformat_free_context(h->oc);
        h->oc = NULL;
    }
    for (size_t i = 0; i < h->nfiles; i++) {
        unlink(h->files[i]);
        av_free(h->files[i]);
    }
    free(h->files);
    h->files = NULL;
    h->nfiles = 0;
    av_freep(&h->dir);
    av_freep(&h->playlist_path);
    av_freep(&h->init_path);
}
