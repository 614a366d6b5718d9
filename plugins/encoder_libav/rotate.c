/*
 * rotate.c - turns decoded pictures upright (what the ffmpeg CLI's
 * autorotate does with transpose/hflip/vflip), so outputs carry no rotation
 * metadata.  libswscale cannot rotate; planes are turned here, in blocks so
 * that both the rows read and the rows written stay in cache.
 *
 * The turner takes 8-bit planar formats whose chroma is subsampled equally
 * in both directions (turning 4:2:2 would give 4:4:0); anything else is
 * first converted to 4:2:0 at the same size, which the H.264 outputs use
 * anyway.
 */
#include "lav.h"

#include <errno.h>
#include <libavutil/pixdesc.h>

#define BLOCK 32

static void turn_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w,
                       int h, int rotation)
{
    if (rotation == 180) {
        for (int y = 0; y < h; y++) {
            const uint8_t *s = src + (ptrdiff_t)(h - 1 - y) * src_stride;
            uint8_t *d = dst + (ptrdiff_t)y * dst_stride;
            for (int x = 0; x < w; x++)
                d[x] = s[w - 1 - x];
        }
        return;
    }
    /* The turned plane is h wide and w tall.  Clockwise, destination
     * (x, y) comes from source column y, row h-1-x; counter-clockwise
     * (270) from source column w-1-y, row x. */
    for (int by = 0; by < w; by += BLOCK) {
        int ey = by + BLOCK < w ? by + BLOCK : w;
        for (int bx = 0; bx < h; bx += BLOCK) {
            int ex = bx + BLOCK < h ? bx + BLOCK : h;
            for (int y = by; y < ey; y++) {
                uint8_t *d = dst + (ptrdiff_t)y * dst_stride;
                if (rotation == 90) {
                    for (int x = bx; x < ex; x++)
                        d[x] = src[(ptrdiff_t)(h - 1 - x) * src_stride + y];
                } else {
                    for (int x = bx; x < ex; x++)
                        d[x] = src[(ptrdiff_t)x * src_stride + (w - 1 - y)];
                }
            }
        }
    }
}

static int turnable(int format)
{
    return format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P ||
           format == AV_PIX_FMT_YUV444P || format == AV_PIX_FMT_YUVJ444P ||
           format == AV_PIX_FMT_GRAY8;
}

/* Convert `in` to 4:2:0 at its own size into rot->planar. */
static int to_planar(lav_rotator_t *rot, const AVFrame *in, const AVFrame **out)
{
    int full_range = in->color_range == AVCOL_RANGE_JPEG;
    enum AVPixelFormat target = full_range ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
    rot->to_planar = sws_getCachedContext(rot->to_planar, in->width, in->height, in->format,
                                          in->width, in->height, target, SWS_BICUBIC, NULL,
                                          NULL, NULL);
    if (!rot->to_planar)
        return AVERROR(EINVAL);
    if (!rot->planar && !(rot->planar = av_frame_alloc()))
        return AVERROR(ENOMEM);
    int ret;
    if (rot->planar->width != in->width || rot->planar->height != in->height ||
        rot->planar->format != target) {
        av_frame_unref(rot->planar);
        rot->planar->width = in->width;
        rot->planar->height = in->height;
        rot->planar->format = target;
        if ((ret = av_frame_get_buffer(rot->planar, 0)) < 0)
            return ret;
    }
    if ((ret = sws_scale(rot->to_planar, (const uint8_t *const *)in->data, in->linesize, 0,
                         in->height, rot->planar->data, rot->planar->linesize)) < 0)
        return ret;
    if ((ret = av_frame_copy_props(rot->planar, in)) < 0)
        return ret;
    *out = rot->planar;
    return 0;
}

int lav_rotate(lav_rotator_t *rot, const AVFrame *in, AVFrame **out)
{
    *out = NULL;
    if (rot->rotation == 0) {
        *out = av_frame_clone(in);
        return *out ? 0 : AVERROR(ENOMEM);
    }
    const AVFrame *src = in;
    int ret;
    if (!turnable(in->format) && (ret = to_planar(rot, in, &src)) < 0)
        return ret;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(src->format);
    AVFrame *turned = av_frame_alloc();
    if (!turned)
        return AVERROR(ENOMEM);
    int quarter = rot->rotation == 90 || rot->rotation == 270;
    turned->format = src->format;
    turned->width = quarter ? src->height : src->width;
    turned->height = quarter ? src->width : src->height;
    if ((ret = av_frame_get_buffer(turned, 0)) < 0 || (ret = av_frame_copy_props(turned, src)) < 0) {
        av_frame_free(&turned);
        return ret;
    }
    for (int p = 0; p < 4 && src->data[p]; p++) {
        int chroma = p == 1 || p == 2;
        int w = chroma ? AV_CEIL_RSHIFT(src->width, desc->log2_chroma_w) : src->width;
        int h = chroma ? AV_CEIL_RSHIFT(src->height, desc->log2_chroma_h) : src->height;
        turn_plane(turned->data[p], turned->linesize[p], src->data[p], src->linesize[p], w, h,
                   rot->rotation);
    }
    /* The picture is upright now; a display matrix would turn it again. */
    av_frame_remove_side_data(turned, AV_FRAME_DATA_DISPLAYMATRIX);
    if (quarter && turned->sample_aspect_ratio.num)
        turned->sample_aspect_ratio = (AVRational){turned->sample_aspect_ratio.den,
                                                   turned->sample_aspect_ratio.num};
    *out = turned;
    return 0;
}

void lav_rotator_free(lav_rotator_t *rot)
{
    sws_freeContext(rot->to_planar);
    rot->to_planar = NULL;
    av_frame_free(&rot->planar);
}
