/*
 * compress.c - see compress.h.  The levels favour size: a body is encoded
 * once per version and sent many times, and even the largest catalogue
 * (10,000 videos, ~15 MB of JSON) encodes in well under a second.
 */
#include "config.h"
#include "util/compress.h"

#include <brotli/encode.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

#define GZIP_LEVEL 9
#define GZIP_WINDOW (15 + 16) /* 32 KiB window, with the gzip header */
#define BROTLI_QUALITY 9

const char *vf_coding_name(vf_coding_t coding)
{
    switch (coding) {
    case VF_CODING_GZIP:
        return "gzip";
    case VF_CODING_BR:
        return "br";
    default:
        return NULL;
    }
}

static int gzip_encode(const void *in, size_t len, unsigned char **out, size_t *out_len)
{
    if (len > UINT_MAX)
        return -EINVAL;
    z_stream z = {0};
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    /* deflateBound does not count the gzip header and trailer. */
    size_t room = deflateBound(&z, (uLong)len) + 32;
    unsigned char *buf = malloc(room);
    int ret = -ENOMEM;
    if (!buf)
        goto out;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)room;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        ret = -EIO;
        goto out;
    }
    *out = buf;
    *out_len = room - z.avail_out;
    buf = NULL;
    ret = 0;
out:
    deflateEnd(&z);
    free(buf);
    return ret;
}

static int brotli_encode(const void *in, size_t len, unsigned char **out, size_t *out_len)
{
    size_t room = BrotliEncoderMaxCompressedSize(len);
    if (room == 0)
        return -EINVAL;
    unsigned char *buf = malloc(room);
    if (!buf)
        return -ENOMEM;
    size_t got = room;
    if (!BrotliEncoderCompress(BROTLI_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, len, in, &got, buf)) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    *out_len = got;
    return 0;
}

int vf_compress(vf_coding_t coding, const void *in, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    switch (coding) {
    case VF_CODING_GZIP:
        return gzip_encode(in, len, out, out_len);
    case VF_CODING_BR:
        return brotli_encode(in, len, out, out_len);
    default:
        return -EINVAL;
    }
}
