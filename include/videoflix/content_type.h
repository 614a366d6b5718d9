/*
 * videoflix/content_type.h - the Content-Type of an object from its key's
 * extension: one table for every storage plugin, so an object is served
 * with the same type whichever storage holds it (storage_local answers it
 * in stat, storage_s3 stores it with the object).
 *
 * Owns: the extension -> type table.  Must not: look at an object's bytes.
 * A static inline function, so a plugin needs no symbol from the core.
 */
#ifndef VIDEOFLIX_CONTENT_TYPE_H
#define VIDEOFLIX_CONTENT_TYPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VF_CONTENT_TYPE_DEFAULT "application/octet-stream"

/* 1 when the NUL-terminated ASCII strings a and b are equal ignoring case
 * (no locale, no strcasecmp: this header builds under plain -std=c11). */
static inline int vf_content_type_ext_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return 0;
        if (!ca)
            return 1;
    }
}

/* The type for `key` (a storage key: its last segment's extension decides,
 * in any letter case), or VF_CONTENT_TYPE_DEFAULT.  HLS: playlists are
 * application/vnd.apple.mpegurl (RFC 8216), CMAF media segments
 * video/iso.segment, and the initialisation segment, init.mp4, video/mp4. */
static inline const char *vf_content_type_for_key(const char *key)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {"mp4", "video/mp4"},
        {"m4s", "video/iso.segment"},
        {"m3u8", "application/vnd.apple.mpegurl"},
        {"webm", "video/webm"},
        {"ts", "video/mp2t"},
        {"mpd", "application/dash+xml"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"png", "image/png"},
        {"webp", "image/webp"},
        {"vtt", "text/vtt"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
    };
    const char *dot = NULL;
    for (const char *c = key; c && *c; c++) {
        if (*c == '/')
            dot = NULL;
        else if (*c == '.')
            dot = c;
    }
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (vf_content_type_ext_eq(dot + 1, types[i].ext))
                return types[i].type;
    return VF_CONTENT_TYPE_DEFAULT;
}

#ifdef __cplusplus
}
#endif
#endif
