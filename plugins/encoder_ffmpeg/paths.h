/*
 * paths.h - file names as ffmpeg gets them.
 * Owns: turning a relative path into an absolute one.  A transcode with
 * HLS runs ffmpeg inside the HLS directory (see hls.h), so every other
 * path it is given must not depend on the working directory.
 */
#ifndef FFE_PATHS_H
#define FFE_PATHS_H

/* *out = `path` if absolute, else the working directory joined with it;
 * malloc()ed.  0, or a negative errno (getcwd() failing, -ENOMEM). */
int ffe_absolute_path(const char *path, char **out);

#endif
