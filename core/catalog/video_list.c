/*
 * video_list.c - see video_list.h.
 */
#include "config.h"
#include "catalog/video_list.h"

#include "util/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each key is the first column of an index whose second is id:
 * videos_created_at_idx (003), videos_title_sort_idx and
 * videos_source_size_idx (007).  Title is unique case-insensitively, the
 * others are not: id breaks their ties. */
static const vf_video_sort_t sorts[] = {
    {"-created", "v.created_at", "timestamptz", 1},
    {"created", "v.created_at", "timestamptz", 0},
    {"title", "lower(v.title)", "text", 0},
    {"-title", "lower(v.title)", "text", 1},
    {"size", "v.source_size", "int8", 0},
    {"-size", "v.source_size", "int8", 1},
};

const vf_video_sort_t *vf_video_sort_find(const char *name)
{
    if (!name || !*name)
        return &sorts[0];
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        if (strcmp(sorts[i].name, name) == 0)
            return &sorts[i];
    return NULL;
}

char *vf_video_page_sql(const vf_video_sort_t *s, int after)
{
    const char *dir = s->descending ? "DESC" : "ASC";
    char cond[256] = "";
    if (after)
        snprintf(cond, sizeof cond, " AND (%s, v.id) %s ($5::%s, $6::int8)", s->key, s->descending ? "<" : ">",
                 s->type);
    char *sql = NULL;
    if (asprintf(&sql,
                 "SELECT " VF_VIDEO_ADMIN_COLUMNS ", (%s)::text FROM videos v"
                 " WHERE ($2::text IS NULL OR strpos(lower(v.title), lower($2)) > 0)"
                 " AND ($3::text IS NULL OR v.processing_state = $3)"
                 " AND ($4::text IS NULL OR v.category = $4)%s"
                 " ORDER BY %s %s, v.id %s LIMIT $1::int",
                 s->key, cond, s->key, dir, dir) < 0)
        return NULL;
    return sql;
}

char *vf_video_cursor(const vf_video_sort_t *s, const char *key, const char *id)
{
    size_t klen = strlen(key);
    size_t cap = strlen(s->name) + strlen(id) + 2 * klen + 3;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int n = snprintf(out, cap, "%s.%s.", s->name, id);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < klen; i++) {
        out[n++] = hex[(unsigned char)key[i] >> 4];
        out[n++] = hex[(unsigned char)key[i] & 15];
    }
    out[n] = '\0';
    return out;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int vf_video_cursor_parse(const vf_video_sort_t *s, const char *cursor, char **key, int64_t *id)
{
    *key = NULL;
    size_t nlen = strlen(s->name);
    if (strncmp(cursor, s->name, nlen) != 0 || cursor[nlen] != '.')
        return -EINVAL;
    const char *ids = cursor + nlen + 1, *dot = strchr(ids, '.');
    if (!dot || dot == ids || dot - ids > 20)
        return -EINVAL;
    char idbuf[24];
    memcpy(idbuf, ids, (size_t)(dot - ids));
    idbuf[dot - ids] = '\0';
    if (vf_parse_id(idbuf, id) != 0)
        return -EINVAL;
    const char *hex = dot + 1;
    size_t hlen = strlen(hex);
    if (hlen % 2)
        return -EINVAL;
    char *out = malloc(hlen / 2 + 1);
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < hlen / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        /* A NUL inside would cut the text short: not a key this list made. */
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(out);
            return -EINVAL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[hlen / 2] = '\0';
    *key = out;
    return 0;
}

json_t *vf_video_admin_json(const vf_app_t *app, const PGresult *res, int row)
{
    if (PQnfields(res) <= VF_VIDEO_COL_RENDITIONS_SIZE)
        return NULL;
    json_t *v = vf_video_json(app, res, row);
    if (!v)
        return NULL;
    if (json_object_set_new(v, "source_size",
                            json_integer(strtoll(PQgetvalue(res, row, VF_VIDEO_COL_SOURCE_SIZE), NULL, 10))) != 0 ||
        json_object_set_new(v, "renditions_size",
                            json_integer(strtoll(PQgetvalue(res, row, VF_VIDEO_COL_RENDITIONS_SIZE), NULL, 10))) !=
            0) {
        json_decref(v);
        return NULL;
    }
    return v;
}
