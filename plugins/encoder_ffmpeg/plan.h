/*
 * plan.h - the sizes and times an operation asks ffmpeg for.  These rules
 * are the contract both encoders follow (see README.md):
 *   - a rendition is scaled to its height H with square pixels and an even
 *     width keeping the display aspect: w = 2*round(H*dar/2);
 *   - H is rounded down to even, and without allow_upscale never exceeds
 *     the source's display height (rounded down to even);
 *   - the thumbnail is display-sized but at most 720 lines high, taken at
 *     `at` seconds, by default 1.0 s, or the middle of a video shorter than
 *     2 s or shorter than `at`.
 */
#ifndef FFE_PLAN_H
#define FFE_PLAN_H

#include <stddef.h>

#define FFE_THUMBNAIL_MAX_HEIGHT 720

int ffe_target_height(int requested, int display_height, int allow_upscale);
double ffe_thumbnail_time(double at, double duration);
int ffe_thumbnail_height(int display_height);
/* The filter chain scaling to `height` lines as described above. */
void ffe_scale_filter(char *buf, size_t len, int height);

#endif
