/*
 * import_django.h - what the files of `videoflix import-django` share
 * (import_django.c: the command, the schema check, users, favourites and
 * the report; import_django_videos.c: videos and their files).
 * Must not: be included outside core/cli/import_django*.c.
 */
#ifndef VF_IMPORT_DJANGO_H
#define VF_IMPORT_DJANGO_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "plugins/loader.h"
#include "runtime/app.h"

typedef struct idj_count {
    int imported;   /* made now (or, with --dry-run, would be) */
    int unchanged;  /* imported by an earlier run */
    int skipped;    /* not imported; a line on stdout said why */
    int queued;     /* videos imported without every rendition: processing queued */
} idj_count_t;

typedef struct idj {
    vf_app_t *app;
    vf_thread_ctx_t *ctx;    /* the Videoflix database */
    PGconn *src;             /* the Django database */
    const char *media_root;  /* the Django MEDIA_ROOT, or NULL: */
    vf_plugin_t *source;     /* the storage Django's files are in (--source-storage) */
    int dry_run;
    json_t *would;           /* --dry-run: "user:ID", "video:ID" it would import */
    idj_count_t users, videos, favorites;
    int files_copied;
} idj_t;

/* The first column of the first row of a query on the Videoflix database
 * as an id: 1 and *id (id may be NULL), 0 when no row, -1 on an error
 * (said on stderr). */
int idj_lookup(idj_t *im, const char *sql, int nparams, const char *const *params, int64_t *id);
/* import_row for every row of a query on the Django database, in order,
 * until one returns non-zero; 0, or -1. */
int idj_each_row(idj_t *im, const char *sql, int (*import_row)(idj_t *im, PGresult *src, int row));
/* The local id a Django row of `kind` was imported as: 1 and *local_id,
 * 0 when not imported, -1 on a database error (said on stderr). */
int idj_mapped(idj_t *im, const char *kind, const char *django_id, int64_t *local_id);
/* Record the mapping inside the caller's transaction; 0 or -1. */
int idj_map_tx(idj_t *im, const char *kind, const char *django_id, int64_t local_id);
/* --dry-run: remember that the Django row would be imported (favourites
 * then count as importable); 0 or -1. */
int idj_would(idj_t *im, const char *kind, const char *django_id);
/* A row left out: counted, and one line on stdout saying why. */
void idj_skip(idj_count_t *count, const char *what, const char *django_id, const char *label, const char *why);

/* import_django_videos.c: every video of content_app_video; 0, or -1 when
 * the run must stop (a database or storage that fails, not a bad row). */
int idj_import_videos(idj_t *im);

#endif
