/*
 * settings.h - the encoder_ffmpeg config group.
 * Owns: reading and checking these settings (all optional):
 *   ffmpeg   = "ffmpeg";   program path, or a name searched in $PATH
 *   ffprobe  = "ffprobe";  likewise
 *   threads  = 0;          libx264 threads per rendition, 0 = x264 decides
 *   timeout  = 0;          seconds one operation may take, 0 = no limit
 *   tmp_dir  = "";         where partial outputs are written, "" = beside
 *                          each output (then committing is a rename)
 *   preset   = ...;        libx264 preset; default: the core's media.preset
 *   crf      = ...;        libx264 CRF 0..51; default: the core's media.crf
 *   max_jobs = 0;          operations at once, 0 = as many as the worker runs
 * Unknown keys and wrong types are refused with "file:line: ..." messages.
 */
#ifndef FFE_SETTINGS_H
#define FFE_SETTINGS_H

#include <libconfig.h>
#include <videoflix/plugin.h>

typedef struct ffe_settings {
    char *ffmpeg;     /* resolved path */
    char *ffprobe;    /* resolved path */
    int threads;
    int timeout;
    char *tmp_dir;    /* NULL: beside each output */
    char *preset;     /* NULL: the caller's default */
    int crf;          /* -1: the caller's default */
    int max_jobs;     /* 0: no limit */
} ffe_settings_t;

int ffe_settings_read(const vf_host_api_t *host, const config_setting_t *group, ffe_settings_t *s,
                      vf_error_t *err);
void ffe_settings_free(ffe_settings_t *s);

#endif
