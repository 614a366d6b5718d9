/*
 * outputs.h - the files one operation writes.
 * Owns: temporary names (".<name>.XXXXXX.part" beside the output, or in
 * tmp_dir), renaming them into place only after ffmpeg succeeded, and
 * removing every temporary on failure, so no partial file is ever left
 * under an output's name.
 */
#ifndef FFE_OUTPUTS_H
#define FFE_OUTPUTS_H

#include <stddef.h>
#include <videoflix/plugin.h>

typedef struct ffe_output {
    char *final_path;
    char *tmp_path;       /* exists (possibly empty) until committed or discarded */
    int committed;
} ffe_output_t;

typedef struct ffe_outputs {
    ffe_output_t *items;
    size_t count;
} ffe_outputs_t;

/* Reserve a temporary file for final_path; tmp_dir NULL = its directory. */
int ffe_outputs_add(ffe_outputs_t *o, const vf_host_api_t *host, const char *tmp_dir,
                    const char *final_path, vf_error_t *err);

/* Move every temporary to its final name; when one move fails, the ones
 * already moved are removed again, so the call is all or nothing.  An
 * empty temporary is an error (ffmpeg wrote nothing). */
int ffe_outputs_commit(ffe_outputs_t *o, const vf_host_api_t *host, vf_error_t *err);

/* Remove the temporaries not committed and free everything. */
void ffe_outputs_discard(ffe_outputs_t *o);

#endif
