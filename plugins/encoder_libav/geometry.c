/*
 * geometry.c - output sizes.  The rules match the ffmpeg CLI encoder's
 * scale=-2:H so both encoder plugins give the same dimensions:
 *   height: H rounded down to even; without allow_upscale, at most the
 *           source display height rounded down to even;
 *   width:  the even number nearest to height * display_w / display_h
 *           (av_rescale rounds half away from zero, as libavfilter does).
 */
#include "lav.h"

#include <libavutil/mathematics.h>

static int even_width(int display_w, int display_h, int height)
{
    int64_t half = av_rescale(height, display_w, (int64_t)display_h * 2);
    return half < 1 ? 2 : (int)(half * 2);
}

void lav_rendition_size(int display_w, int display_h, int height, int allow_upscale, int *out_w,
                        int *out_h)
{
    int h = height & ~1;
    if (!allow_upscale && h > (display_h & ~1))
        h = display_h & ~1;
    if (h < 2)
        h = 2;
    *out_h = h;
    *out_w = even_width(display_w, display_h, h);
}

void lav_thumbnail_size(int display_w, int display_h, int *out_w, int *out_h)
{
    if (display_h <= 720) {
        *out_w = display_w;
        *out_h = display_h;
        return;
    }
    *out_h = 720;
    *out_w = even_width(display_w, display_h, 720);
}
