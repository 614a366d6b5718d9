/*
 * plan.c - see plan.h.
 */
#include "plan.h"

#include <stdio.h>

static int even_down(int v)
{
    return v < 2 ? 2 : v & ~1;
}

int ffe_target_height(int requested, int display_height, int allow_upscale)
{
    if (!allow_upscale && display_height > 0 && requested > display_height)
        requested = display_height;
    return even_down(requested);
}

double ffe_thumbnail_time(double at, double duration)
{
    if (at < 0)
        at = duration > 0 && duration < 2.0 ? duration / 2 : 1.0;
    if (duration > 0 && at >= duration)
        at = duration / 2;
    return at;
}

int ffe_thumbnail_height(int display_height)
{
    return ffe_target_height(FFE_THUMBNAIL_MAX_HEIGHT, display_height, 0);
}

void ffe_scale_filter(char *buf, size_t len, int height)
{
    /* dar is the input's display aspect after autorotation; setsar=1 makes
     * the pixels square so every player shows the same size. */
    snprintf(buf, len, "scale=w=round(%d*dar/2)*2:h=%d,setsar=1", height, height);
}
