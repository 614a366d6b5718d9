/*
 * media.c - see media.h.
 */
#include "config.h"
#include "tests/media.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vftest.h"

static int ffmpeg(char *const *args)
{
    return vft_run(args, NULL) == 0 ? 0 : -1;
}

int vfm_make_clip(const char *path, const vfm_clip_t *c)
{
    char rate[32], picture[256], tone[128], seconds[32], encoded[4096];
    if (fabs(c->fps - 29.97) < 0.01)
        snprintf(rate, sizeof rate, "30000/1001");
    else
        snprintf(rate, sizeof rate, "%g", c->fps);
    snprintf(seconds, sizeof seconds, "%g", c->seconds);
    if (c->halves)
        snprintf(picture, sizeof picture,
                 "color=white:size=%dx%d:rate=%s:duration=%s,pad=%d:%d:0:0:black", c->width / 2,
                 c->height, rate, seconds, c->width, c->height);
    else
        /* testsrc2 rounds odd sizes down to even; testsrc (RGB) keeps them. */
        snprintf(picture, sizeof picture, "%s=size=%dx%d:rate=%s:duration=%s",
                 (c->width | c->height) & 1 ? "testsrc" : "testsrc2", c->width, c->height, rate,
                 seconds);
    snprintf(tone, sizeof tone, "sine=frequency=440:sample_rate=48000:duration=%s", seconds);
    /* A rotate tag is added by a second, stream-copying pass. */
    snprintf(encoded, sizeof encoded, "%s%s", path, c->rotate ? ".unrotated.mp4" : "");

    char *args[40];
    int n = 0;
    args[n++] = "ffmpeg";
    args[n++] = "-hide_banner";
    args[n++] = "-nostdin";
    args[n++] = "-v";
    args[n++] = "error";
    args[n++] = "-y";
    args[n++] = "-f";
    args[n++] = "lavfi";
    args[n++] = "-i";
    args[n++] = picture;
    if (c->audio) {
        args[n++] = "-f";
        args[n++] = "lavfi";
        args[n++] = "-i";
        args[n++] = tone;
        args[n++] = "-map";
        args[n++] = "1:a";
        args[n++] = "-ac";
        args[n++] = "2";
        args[n++] = "-c:a";
        args[n++] = "aac";
    }
    args[n++] = "-map";
    args[n++] = "0:v";
    args[n++] = "-c:v";
    if (c->video_codec)
        args[n++] = (char *)c->video_codec;
    else {
        args[n++] = "libx264";
        args[n++] = "-preset";
        args[n++] = "ultrafast";
        args[n++] = "-pix_fmt";
        args[n++] = "yuv420p";
    }
    args[n++] = "-t";
    args[n++] = seconds;
    args[n++] = encoded;
    args[n] = NULL;
    if (ffmpeg(args) != 0)
        return -1;
    if (!c->rotate)
        return 0;

    char tag[32];
    snprintf(tag, sizeof tag, "rotate=%d", c->rotate);
    char *remux[] = {"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", encoded,
                     "-map", "0", "-c", "copy", "-metadata:s:v:0", tag, (char *)path, NULL};
    int ret = ffmpeg(remux);
    unlink(encoded);
    return ret;
}

char *vfm_probe_str(const char *path, const char *select, const char *entry)
{
    char entries[128];
    snprintf(entries, sizeof entries, "%s=%s", select ? "stream" : "format", entry);
    char *args[16];
    int n = 0;
    args[n++] = "ffprobe";
    args[n++] = "-v";
    args[n++] = "error";
    if (select) {
        args[n++] = "-select_streams";
        args[n++] = (char *)select;
    }
    args[n++] = "-show_entries";
    args[n++] = entries;
    args[n++] = "-of";
    args[n++] = "default=noprint_wrappers=1:nokey=1";
    args[n++] = (char *)path;
    args[n] = NULL;
    char *out = NULL;
    if (vft_run(args, &out) != 0 || !out) {
        free(out);
        return NULL;
    }
    out[strcspn(out, "\r\n")] = '\0';
    if (!*out) {
        free(out);
        return NULL;
    }
    return out;
}

double vfm_probe_num(const char *path, const char *select, const char *entry)
{
    char *s = vfm_probe_str(path, select, entry);
    double value = NAN;
    if (s) {
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == '\0')
            value = d;
    }
    free(s);
    return value;
}

int vfm_count_streams(const char *path, const char *type)
{
    char *args[] = {"ffprobe", "-v", "error", "-select_streams", (char *)type, "-show_entries",
                    "stream=index", "-of", "csv=p=0", (char *)path, NULL};
    char *out = NULL;
    int count = -1;
    if (vft_run(args, &out) == 0 && out) {
        count = 0;
        for (const char *p = out; *p; p++)
            count += *p == '\n';
    }
    free(out);
    return count;
}

static uint64_t be(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

int vfm_moov_before_mdat(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long moov = -1, mdat = -1, index = 0;
    unsigned char head[16];
    while (fread(head, 1, 8, f) == 8) {
        uint64_t size = be(head, 4), header = 8;
        if (size == 1) {
            if (fread(head + 8, 1, 8, f) != 8)
                break;
            size = be(head + 8, 8);
            header = 16;
        }
        if (memcmp(head + 4, "moov", 4) == 0 && moov < 0)
            moov = index;
        if (memcmp(head + 4, "mdat", 4) == 0 && mdat < 0)
            mdat = index;
        index++;
        if (size == 0 || size < header || fseeko(f, (off_t)(size - header), SEEK_CUR) != 0)
            break;
    }
    fclose(f);
    if (moov < 0 || mdat < 0)
        return -1;
    return moov < mdat;
}

int vfm_decodes(const char *path)
{
    char *args[] = {"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i",
                    (char *)path, "-f", "null", "-", NULL};
    char *out = NULL;
    int rc = vft_run(args, &out);
    free(out);
    return rc == 0;
}

unsigned char *vfm_first_frame_gray(const char *path, int *width, int *height)
{
    char *dir = vft_tmpdir("vfm-frame"), *pgm = NULL;
    unsigned char *pixels = NULL;
    FILE *f = NULL;
    if (!dir || asprintf(&pgm, "%s/frame.pgm", dir) < 0) {
        pgm = NULL;
        goto out;
    }
    char *args[] = {"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", (char *)path,
                    "-frames:v", "1", "-pix_fmt", "gray", "-c:v", "pgm", "-f", "image2",
                    "-update", "1", pgm, NULL};
    if (ffmpeg(args) != 0 || !(f = fopen(pgm, "rb")))
        goto out;
    int w, h, maxval;
    if (fscanf(f, "P5 %d %d %d", &w, &h, &maxval) != 3 || w <= 0 || h <= 0 || maxval != 255 ||
        fgetc(f) == EOF)
        goto out;
    pixels = malloc((size_t)w * (size_t)h);
    if (pixels && fread(pixels, 1, (size_t)w * (size_t)h, f) != (size_t)w * (size_t)h) {
        free(pixels);
        pixels = NULL;
    }
    *width = w;
    *height = h;
out:
    if (f)
        fclose(f);
    vft_rmrf(dir);
    free(pgm);
    free(dir);
    return pixels;
}

int vfm_copy_prefix(const char *src, const char *dst, size_t bytes)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    int ret = in && out ? 0 : -1;
    char buf[65536];
    while (ret == 0 && bytes > 0) {
        size_t want = bytes < sizeof buf ? bytes : sizeof buf;
        size_t got = fread(buf, 1, want, in);
        if (got == 0 || fwrite(buf, 1, got, out) != got)
            ret = -1;
        bytes -= got;
    }
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ret = -1;
    return ret;
}

int vfm_make_hls_fmp4(const char *src, const char *dir, double segment_seconds)
{
    char playlist[4096], segments[4096], keys[64], secs[32];
    snprintf(playlist, sizeof playlist, "%s/index.m3u8", dir);
    snprintf(segments, sizeof segments, "%s/%%d.m4s", dir);
    snprintf(keys, sizeof keys, "expr:gte(t,n_forced*%g)", segment_seconds);
    snprintf(secs, sizeof secs, "%g", segment_seconds);
    char *args[] = {"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", (char *)src, "-c:v", "libx264",
                    "-preset", "ultrafast", "-force_key_frames", keys, "-c:a", "copy", "-f", "hls",
                    "-hls_segment_type", "fmp4", "-hls_time", secs, "-hls_playlist_type", "vod",
                    "-hls_fmp4_init_filename", "init.mp4",
                    "-hls_segment_filename", segments, playlist, NULL};
    return ffmpeg(args);
}
