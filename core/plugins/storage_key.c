/*
 * storage_key.c - see storage_key.h.  The rules are the strictest any
 * storage needs (S3 wants UTF-8 and 1024 bytes, a file system 255-byte
 * names and no "." or ".."), so a key valid here is valid on every storage
 * and objects can move between them.
 */
#include "config.h"
#include "plugins/storage_key.h"

#include "plugins/host_settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        /* Continuation bytes after the lead, and the smallest code point
         * that needs them (anything below is an overlong encoding). */
        size_t extra = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
        if (extra == 0 || len - i <= extra)
            return false;
        unsigned min = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
        unsigned cp = c & (0x3fu >> extra);
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

int vf_storage_key_check(const char *key, vf_error_t *err)
{
    if (!key)
        return vf_host_error(err, EINVAL, "no key given");
    /* strnlen: a key is refused once it passes the limit, however long it is. */
    size_t len = strnlen(key, VF_KEY_MAX + 1);
    if (len == 0)
        return vf_host_error(err, EINVAL, "the key is empty");
    if (len > VF_KEY_MAX)
        return vf_host_error(err, EINVAL, "the key is longer than %d bytes", VF_KEY_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f)
            return vf_host_error(err, EINVAL, "the key has a control character at byte %zu", i);
    }
    if (!utf8_valid((const unsigned char *)key, len))
        return vf_host_error(err, EINVAL, "the key is not valid UTF-8");
    if (key[0] == '/')
        return vf_host_error(err, EINVAL, "the key '%.200s' is absolute; keys are relative paths such as videos/clip.mp4", key);
    if (strchr(key, '\\'))
        return vf_host_error(err, EINVAL, "the key '%.200s' contains a backslash", key);
    for (const char *seg = key;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0)
            return vf_host_error(err, EINVAL, "the key '%.200s' has an empty segment ('//' or a trailing '/')", key);
        if (n == 1 && seg[0] == '.')
            return vf_host_error(err, EINVAL, "the key '%.200s' has a '.' segment", key);
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return vf_host_error(err, EINVAL, "the key '%.200s' has a '..' segment, which could lead out of its folder", key);
        if (n > VF_KEY_SEGMENT_MAX)
            return vf_host_error(err, EINVAL, "the key '%.200s' has a segment longer than %d bytes", key, VF_KEY_SEGMENT_MAX);
        if (!end)
            return 0;
        seg = end + 1;
    }
}
