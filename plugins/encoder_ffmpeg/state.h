/*
 * state.h - what every encoder_ffmpeg operation shares: the host API, the
 * settings (read-only after create(), hence safe across threads), and how
 * a source is handed to ffmpeg.
 */
#ifndef FFE_STATE_H
#define FFE_STATE_H

#include <videoflix/encoder.h>

#include "settings.h"

typedef struct ffe_state {
    const vf_host_api_t *host;
    ffe_settings_t settings;
} ffe_state_t;

/* A source as ffmpeg gets it.  Local paths become "file:PATH", so a name
 * starting with '-' or containing "concat:" is never read as an option or
 * another protocol; http(s) URLs are passed as they are.  `shown` is what
 * messages say instead: the path, or the URL without its query string
 * (presigned URLs carry credentials there). */
typedef struct ffe_source {
    char *arg;
    char *shown;
    const char *protocols;     /* value of -protocol_whitelist */
} ffe_source_t;

int ffe_source_init(const ffe_state_t *st, const char *source, ffe_source_t *src, vf_error_t *err);
void ffe_source_free(ffe_source_t *src);

/* The ffe_now() by which an operation starting now must end, 0 = never. */
double ffe_deadline(const ffe_state_t *st);

#endif
