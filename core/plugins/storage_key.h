/*
 * storage_key.h - the storage key grammar (videoflix/plugin.h, key_check):
 * one implementation for the core and, through vf_host_api_t, for every
 * storage plugin.
 * Owns: deciding whether a string is a storage key, and saying why not.
 * Must not: look at any storage (whether the key exists, links on disk).
 */
#ifndef VF_STORAGE_KEY_H
#define VF_STORAGE_KEY_H

#include <videoflix/plugin.h>

#define VF_KEY_MAX 1024        /* bytes, without the terminating NUL */
#define VF_KEY_SEGMENT_MAX 255 /* NAME_MAX of every Linux file system */

/* 0, or -EINVAL with one sentence in err (may be NULL). */
int vf_storage_key_check(const char *key, vf_error_t *err);

#endif
