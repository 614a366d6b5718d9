/*
 * video_list.h - the staff video list (GET /admin/api/videos/, docs/admin.md
 * "Videos"): its orders and their keyset cursors, the SQL of one page, and
 * the admin's video object (the API's object plus the sizes).
 * Owns: the sort names, the cursor text, the page's SQL.  Must not: run
 * queries or answer requests (videos.c does).
 */
#ifndef VF_VIDEO_LIST_H
#define VF_VIDEO_LIST_H

#include "catalog/video_json.h"

#include <stdint.h>

/* VF_VIDEO_COLUMNS, then the source's size and the bytes of the current
 * generation's renditions. */
#define VF_VIDEO_ADMIN_COLUMNS                                                               \
    VF_VIDEO_COLUMNS ", v.source_size, "                                                     \
                     "(SELECT coalesce(sum(vr.size), 0) FROM video_renditions vr "           \
                     "WHERE vr.video_id = v.id AND vr.generation = v.generation)"

enum vf_video_admin_column {
    VF_VIDEO_COL_SOURCE_SIZE = VF_VIDEO_NCOLS,
    VF_VIDEO_COL_RENDITIONS_SIZE,
    VF_VIDEO_COL_SORT_KEY, /* a page's rows only: the sort key as text */
};

typedef struct vf_video_sort {
    const char *name; /* what ?sort= says: "-created", "title", "-size"... */
    const char *key;  /* SQL of the key over `videos v` (an index's column) */
    const char *type; /* its SQL type, to read the cursor's text back */
    int descending;
} vf_video_sort_t;

/* The order `name` names (NULL or "": newest first), or NULL when unknown. */
const vf_video_sort_t *vf_video_sort_find(const char *name);
/* The sort names, comma-separated, for an error message. */
#define VF_VIDEO_SORT_NAMES "-created, created, title, -title, size, -size"

/* The SQL of one page in order `s`.  Parameters: $1 the row count, $2 a
 * part of the title or NULL, $3 a state or NULL, $4 a category or NULL;
 * when `after` (not the first page) $5 the cursor's key as text and $6 its
 * id.  Columns: VF_VIDEO_ADMIN_COLUMNS then the sort key as text.
 * malloc()ed; NULL when out of memory. */
char *vf_video_page_sql(const vf_video_sort_t *s, int after);

/* The cursor after a row with sort key `key` (text) and id `id`:
 * "<sort>.<id>.<key in hex>", so a title of any bytes survives a URL.
 * malloc()ed; NULL when out of memory. */
char *vf_video_cursor(const vf_video_sort_t *s, const char *key, const char *id);
/* Reads a cursor of order `s` back: 0 with *key (malloc()ed text) and *id,
 * -EINVAL when it is not one (another order's cursor included), -ENOMEM. */
int vf_video_cursor_parse(const vf_video_sort_t *s, const char *cursor, char **key, int64_t *id);

/* The admin's video object of a row selected with VF_VIDEO_ADMIN_COLUMNS:
 * vf_video_json plus "source_size" and "renditions_size" (bytes; 0 while
 * unknown).  NULL when out of memory. */
json_t *vf_video_admin_json(const vf_app_t *app, const PGresult *res, int row);

#endif
