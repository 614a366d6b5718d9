/*
 * scale.c - SwsContexts with explicit colour ranges.  The ranges must be
 * set before the context is initialised: between equal sizes and layouts
 * libswscale picks a plain plane copy at init time, which a later
 * sws_setColorspaceDetails() does not undo, so the range change would be
 * lost (limited-range video would give a washed-out JPEG).
 */
#include "lav.h"

#include <libavutil/opt.h>

struct SwsContext *lav_sws_new(int src_w, int src_h, int src_format, int src_full_range,
                               int dst_w, int dst_h, int dst_format, int dst_full_range)
{
    struct SwsContext *sws = sws_alloc_context();
    if (!sws)
        return NULL;
    if (av_opt_set_int(sws, "srcw", src_w, 0) < 0 || av_opt_set_int(sws, "srch", src_h, 0) < 0 ||
        av_opt_set_int(sws, "src_format", src_format, 0) < 0 ||
        av_opt_set_int(sws, "src_range", src_full_range, 0) < 0 ||
        av_opt_set_int(sws, "dstw", dst_w, 0) < 0 || av_opt_set_int(sws, "dsth", dst_h, 0) < 0 ||
        av_opt_set_int(sws, "dst_format", dst_format, 0) < 0 ||
        av_opt_set_int(sws, "dst_range", dst_full_range, 0) < 0 ||
        av_opt_set_int(sws, "sws_flags", SWS_BICUBIC, 0) < 0 ||
        sws_init_context(sws, NULL, NULL) < 0) {
        sws_freeContext(sws);
        return NULL;
    }
    return sws;
}

int lav_full_range(const AVFrame *frame)
{
    return frame->color_range == AVCOL_RANGE_JPEG || frame->format == AV_PIX_FMT_YUVJ420P ||
           frame->format == AV_PIX_FMT_YUVJ422P || frame->format == AV_PIX_FMT_YUVJ444P ||
           frame->format == AV_PIX_FMT_YUVJ440P || frame->format == AV_PIX_FMT_YUVJ411P;
}
