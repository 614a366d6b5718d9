/*
 * hls_playlist.c - see hls_playlist.h.  The tags follow Apple's HLS
 * authoring specification for CMAF (version 7: EXT-X-MAP with fragmented
 * MP4) and what hls.js reads.  Durations are written with three decimals
 * and the target duration is the longest one as written rounded to the
 * nearest integer, as RFC 8216 allows: segments cut at forced keyframes
 * run a few milliseconds over the segment length, and a ceiling would let
 * one such segment raise the target of a growing playlist, which must not
 * change.
 */
#include "config.h"
#include "pipeline/hls_playlist.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A duration as EXTINF writes it (milliseconds). */
static double written_duration(double seconds) { return round(seconds * 1000.0) / 1000.0; }

static int uri_for(vf_hls_uri_fn fn, void *ud, const char *quality, const char *name, char **uri)
{
    *uri = NULL;
    int ret = fn ? fn(ud, quality, name, uri) : ((*uri = strdup(name)) ? 0 : -ENOMEM);
    if (ret < 0)
        return ret;
    if (!*uri)
        return -ENOMEM;
    /* A quoted-string attribute or a URI line cannot hold these. */
    if (!**uri || strpbrk(*uri, "\"\r\n")) {
        free(*uri);
        *uri = NULL;
        return -EINVAL;
    }
    return 0;
}

/* Close the stream and hand its text over, or drop it on error. */
static int finish_text(FILE *f, char **buf, size_t *buflen, int ret, char **text, size_t *len)
{
    if (fclose(f) != 0 && ret == 0)
        ret = -ENOMEM;
    if (ret < 0) {
        free(*buf);
        return ret;
    }
    *text = *buf;
    *len = *buflen;
    return 0;
}

int vf_hls_media_playlist(const vf_hls_stream_t *s, vf_hls_uri_fn uri_fn, void *ud, char **text, size_t *len)
{
    char *buf = NULL, *uri = NULL;
    size_t buflen = 0;
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(&buf, &buflen);
    if (!f)
        return -ENOMEM;
    double longest = 0;
    for (size_t i = 0; i < s->nsegments; i++)
        if (written_duration(s->segments[i].duration) > longest)
            longest = written_duration(s->segments[i].duration);
    /* An empty playlist still needs a positive target. */
    long target = lround(longest);
    fprintf(f,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%ld\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n",
            target > 0 ? target : 1);
    int ret = uri_for(uri_fn, ud, s->quality, VF_HLS_INIT_NAME, &uri);
    if (ret == 0)
        fprintf(f, "#EXT-X-MAP:URI=\"%s\"\n", uri);
    for (size_t i = 0; ret == 0 && i < s->nsegments; i++) {
        char name[32];
        snprintf(name, sizeof name, "%" PRId64 ".m4s", s->segments[i].sequence);
        free(uri);
        if ((ret = uri_for(uri_fn, ud, s->quality, name, &uri)) == 0)
            fprintf(f, "#EXTINF:%.3f,\n%s\n", written_duration(s->segments[i].duration), uri);
    }
    if (ret == 0 && s->ended)
        fputs("#EXT-X-ENDLIST\n", f);
    free(uri);
    return finish_text(f, &buf, &buflen, ret, text, len);
}

int64_t vf_hls_peak_bandwidth(const vf_hls_stream_t *s)
{
    double peak = 0;
    for (size_t i = 0; i < s->nsegments; i++)
        if (s->segments[i].duration > 0 && (double)s->segments[i].bytes * 8.0 / s->segments[i].duration > peak)
            peak = (double)s->segments[i].bytes * 8.0 / s->segments[i].duration;
    return (int64_t)ceil(peak);
}

int64_t vf_hls_average_bandwidth(const vf_hls_stream_t *s)
{
    double bytes = 0, seconds = 0;
    for (size_t i = 0; i < s->nsegments; i++) {
        bytes += (double)s->segments[i].bytes;
        seconds += s->segments[i].duration;
    }
    return seconds > 0 ? (int64_t)ceil(bytes * 8.0 / seconds) : 0;
}

typedef struct variant {
    const vf_hls_stream_t *stream;
    int64_t peak;
} variant_t;

static int by_bandwidth(const void *a, const void *b)
{
    const variant_t *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak < y->peak ? -1 : 1;
    /* Equal peaks: the smaller picture first, then by name, so the order
     * never depends on the input's. */
    if (x->stream->height != y->stream->height)
        return x->stream->height < y->stream->height ? -1 : 1;
    return strcmp(x->stream->quality, y->stream->quality);
}

int vf_hls_master_playlist(const vf_hls_stream_t *streams, size_t nstreams, vf_hls_uri_fn uri_fn, void *ud,
                           char **text, size_t *len)
{
    char *buf = NULL, *uri = NULL;
    size_t buflen = 0, nvariants = 0;
    *text = NULL;
    *len = 0;
    variant_t *variants = calloc(nstreams ? nstreams : 1, sizeof *variants);
    if (!variants)
        return -ENOMEM;
    for (size_t i = 0; i < nstreams; i++)
        if (streams[i].nsegments > 0)
            variants[nvariants++] = (variant_t){&streams[i], vf_hls_peak_bandwidth(&streams[i])};
    qsort(variants, nvariants, sizeof *variants, by_bandwidth);
    FILE *f = open_memstream(&buf, &buflen);
    if (!f) {
        free(variants);
        return -ENOMEM;
    }
    fputs("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n", f);
    int ret = 0;
    for (size_t i = 0; ret == 0 && i < nvariants; i++) {
        const vf_hls_stream_t *s = variants[i].stream;
        char name[VF_HLS_QUALITY_MAX + 32];
        snprintf(name, sizeof name, "%s/" VF_HLS_MEDIA_PLAYLIST_NAME, s->quality);
        if ((ret = uri_for(uri_fn, ud, s->quality, name, &uri)) < 0)
            break;
        fprintf(f, "#EXT-X-STREAM-INF:BANDWIDTH=%" PRId64 ",AVERAGE-BANDWIDTH=%" PRId64, variants[i].peak,
                vf_hls_average_bandwidth(s));
        if (s->width > 0 && s->height > 0)
            fprintf(f, ",RESOLUTION=%dx%d", s->width, s->height);
        if (s->codecs[0])
            fprintf(f, ",CODECS=\"%s\"", s->codecs);
        if (s->frame_rate > 0)
            fprintf(f, ",FRAME-RATE=%.3f", s->frame_rate);
        fprintf(f, "\n%s\n", uri);
        free(uri);
        uri = NULL;
    }
    free(variants);
    return finish_text(f, &buf, &buflen, ret, text, len);
}

void vf_hls_streams_free(vf_hls_stream_t *streams, size_t nstreams)
{
    for (size_t i = 0; streams && i < nstreams; i++)
        free(streams[i].segments);
    free(streams);
}
