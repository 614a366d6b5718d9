/*
 * probe.c - see probe.h.  ffprobe prints most numbers as JSON strings
 * ("duration": "3.000000"), so readers below accept both forms.
 */
#include "probe.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "run.h"

static double json_number(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double d = strtod(s, &end);
        if (end != s && isfinite(d))
            return d;
    }
    return NAN;
}

static void copy_string(char *dst, size_t len, const json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, len, "%s", s ? s : "");
}

/* "30000/1001" -> 29.97; 0 when unknown ("0/0"). */
static double parse_rate(const json_t *v)
{
    const char *s = json_string_value(v);
    long num = 0, den = 0;
    if (!s || sscanf(s, "%ld/%ld", &num, &den) != 2 || num <= 0 || den <= 0)
        return 0;
    return (double)num / (double)den;
}

/* Degrees clockwise to display, one of 0, 90, 180, 270.  The display
 * matrix side data gives counter-clockwise degrees; the legacy "rotate"
 * tag gives clockwise ones. */
static int parse_rotation(const json_t *stream)
{
    double clockwise = 0;
    int found = 0;
    const json_t *side;
    size_t i;
    json_array_foreach(json_object_get(stream, "side_data_list"), i, side)
    {
        double ccw = json_number(json_object_get(side, "rotation"));
        if (!isnan(ccw)) {
            clockwise = -ccw;
            found = 1;
            break;
        }
    }
    if (!found) {
        double tag = json_number(json_object_get(json_object_get(stream, "tags"), "rotate"));
        if (!isnan(tag))
            clockwise = tag;
    }
    long quarter = lround(clockwise / 90.0) % 4;
    return (int)((quarter + 4) % 4) * 90;
}

static int is_cover_art(const json_t *stream)
{
    const json_t *disposition = json_object_get(stream, "disposition");
    return json_integer_value(json_object_get(disposition, "attached_pic")) == 1;
}

static void read_video(const json_t *stream, vf_media_info_t *info)
{
    info->has_video = 1;
    info->width = (int)json_integer_value(json_object_get(stream, "width"));
    info->height = (int)json_integer_value(json_object_get(stream, "height"));
    info->rotation = parse_rotation(stream);
    info->fps = parse_rate(json_object_get(stream, "avg_frame_rate"));
    if (info->fps <= 0)
        info->fps = parse_rate(json_object_get(stream, "r_frame_rate"));
    copy_string(info->video_codec, sizeof info->video_codec, json_object_get(stream, "codec_name"));
}

static int parse(const char *text, vf_media_info_t *info)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return -EIO;
    }
    memset(info, 0, sizeof *info);
    const json_t *format = json_object_get(root, "format");
    copy_string(info->container, sizeof info->container, json_object_get(format, "format_name"));
    double duration = json_number(json_object_get(format, "duration"));
    double bit_rate = json_number(json_object_get(format, "bit_rate"));
    info->bit_rate = isnan(bit_rate) || bit_rate < 0 ? 0 : (int64_t)bit_rate;

    double longest_stream = 0;
    const json_t *stream;
    size_t i;
    json_array_foreach(json_object_get(root, "streams"), i, stream)
    {
        const char *type = json_string_value(json_object_get(stream, "codec_type"));
        double d = json_number(json_object_get(stream, "duration"));
        if (!isnan(d) && d > longest_stream)
            longest_stream = d;
        if (!type)
            continue;
        if (strcmp(type, "video") == 0 && !info->has_video && !is_cover_art(stream))
            read_video(stream, info);
        else if (strcmp(type, "audio") == 0 && !info->has_audio) {
            info->has_audio = 1;
            copy_string(info->audio_codec, sizeof info->audio_codec,
                        json_object_get(stream, "codec_name"));
        }
    }
    info->duration = !isnan(duration) && duration > 0 ? duration : longest_stream;
    json_decref(root);
    return 0;
}

/* Read through a URL, a 5xx answer or a failed connection is the storage's
 * trouble, not the file's: -EIO lets the caller retry instead of blaming the
 * upload (encoder_libav maps the same libavformat errors to -EIO).  A 404 is
 * still the source's fault: the object is gone. */
static int storage_trouble(const ffe_source_t *src, const char *ffprobe_errors)
{
    static const char *const transient[] = {
        "Server returned 5XX", "Connection refused", "Connection reset by peer", "Connection timed out",
        "Input/output error",
    };
    if (strcmp(src->protocols, "file") == 0)
        return 0;
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++)
        if (strstr(ffprobe_errors, transient[i]))
            return 1;
    return 0;
}

int ffe_display_height(const vf_media_info_t *info)
{
    return info->rotation == 90 || info->rotation == 270 ? info->width : info->height;
}

int ffe_probe(const ffe_state_t *st, const ffe_source_t *src, double deadline,
              vf_progress_fn progress, void *progress_ud, vf_media_info_t *info, vf_error_t *err)
{
    const vf_host_api_t *host = st->host;
    ffe_argv_t argv = {0};
    ffe_run_result_t result = {0};
    int ret = -EIO;

    ffe_argv_add(&argv, st->settings.ffprobe, "-hide_banner", "-v", "error",
                 "-protocol_whitelist", src->protocols, "-format_whitelist", VF_ENCODER_SOURCE_FORMATS,
                 "-print_format", "json", "-show_format",
                 "-show_streams", src->arg, (char *)NULL);
    if ((ret = ffe_argv_ok(&argv)) < 0) {
        ret = host->error(err, ret, "out of memory");
        goto out;
    }
    ffe_run_opts_t opts = {
        .host = host,
        .what = "ffprobe",
        .deadline = deadline,
        .timeout = st->settings.timeout,
        .progress = progress,
        .progress_ud = progress_ud,
    };
    if ((ret = ffe_run(argv.items, &opts, &result, err)) < 0)
        goto out;
    if (ffe_run_check_exit(&opts, &result, NULL, NULL, NULL) < 0) {
        char tail[FFE_TAIL_SIZE + 1], first[300];
        ffe_tail_text(&result.err_tail, tail);
        ffe_replace_all(tail, sizeof tail, src->arg, src->shown);
        ffe_first_line(tail, first, sizeof first);
        /* "PATH: No such file or directory" would name the source twice. */
        const char *reason = first;
        size_t shown_len = strlen(src->shown);
        if (strncmp(reason, src->shown, shown_len) == 0 && strncmp(reason + shown_len, ": ", 2) == 0)
            reason += shown_len + 2;
        if (storage_trouble(src, tail))
            ret = host->error(err, EIO, "%s could not be read: %s", src->shown,
                              reason[0] ? reason : "ffprobe failed without a message");
        else
            ret = host->error(err, EINVAL, "%s is not a readable media file: %s", src->shown,
                              reason[0] ? reason : "ffprobe failed without a message");
        goto out;
    }
    if (!result.out || parse(result.out, info) < 0) {
        ret = host->error(err, EIO, "ffprobe printed no readable description of %s", src->shown);
        goto out;
    }
    if (!info->has_video) {
        ret = host->error(err, EINVAL, "%s has no video stream", src->shown);
        goto out;
    }
    if (info->width <= 0 || info->height <= 0) {
        ret = host->error(err, EINVAL, "%s: the video stream has no frame size (%s)", src->shown,
                          info->video_codec[0] ? info->video_codec : "unknown codec");
        goto out;
    }
    ret = 0;
out:
    free(result.out);
    ffe_argv_free(&argv);
    return ret;
}
