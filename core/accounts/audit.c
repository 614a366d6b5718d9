/*
 * audit.c - see audit.h.  A row is written after the action, on the same
 * connection: the users API writes it inside the action's transaction, the
 * video API (whose lifecycle commits on its own) right after the commit.
 */
#include "config.h"
#include "accounts/audit.h"

#include "runtime/db.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vf_audit_record(vf_req_t *r, const char *action, const char *object_type, const char *object_id,
                    json_t *detail)
{
    char actor[24], ip[64];
    snprintf(actor, sizeof actor, "%" PRId64, r->user_id);
    vf_req_client_ip(r, ip, sizeof ip);
    json_t *d = detail ? detail : json_object();
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!text)
        return -ENOMEM;
    const char *params[] = {actor, action, object_type, object_id ? object_id : "", ip, text};
    int ret = vf_db_run(r->ctx->db,
                        "INSERT INTO admin_audit (actor_id, actor_email, action, object_type, object_id,"
                        " client_ip, detail) VALUES ($1::bigint,"
                        " COALESCE((SELECT email FROM users WHERE id = $1::bigint), ''),"
                        " $2, $3, $4, $5, $6::jsonb)",
                        6, params);
    if (ret < 0)
        vf_error("audit: cannot record %s of %s %s by user %s: %s", action, object_type, object_id ? object_id : "",
                 actor, vf_db_last_error(r->ctx->db));
    free(text);
    return ret;
}

int vf_audit_record_id(vf_req_t *r, const char *action, const char *object_type, int64_t object_id,
                       json_t *detail)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, object_id);
    return vf_audit_record(r, action, object_type, id, detail);
}

static json_t *row_json(const PGresult *res, int i)
{
    json_t *detail = json_loads(PQgetvalue(res, i, 8), 0, NULL);
    return json_pack("{s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
                     (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "at", PQgetvalue(res, i, 1), "actor_id",
                     PQgetisnull(res, i, 2) ? json_null() : json_integer(strtoll(PQgetvalue(res, i, 2), NULL, 10)),
                     "actor_email", PQgetvalue(res, i, 3), "action", PQgetvalue(res, i, 4), "object_type",
                     PQgetvalue(res, i, 5), "object_id", PQgetvalue(res, i, 6), "client_ip", PQgetvalue(res, i, 7),
                     "detail", detail ? detail : json_object());
}

int vf_audit_list(vf_thread_ctx_t *ctx, const vf_audit_filter_t *filter, int64_t before, int limit,
                  json_t **out, int64_t *next)
{
    char before_s[24], limit_s[16], actor_s[24];
    snprintf(before_s, sizeof before_s, "%" PRId64, before > 0 ? before : INT64_MAX);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1); /* one more tells whether a next page exists */
    snprintf(actor_s, sizeof actor_s, "%" PRId64, filter->actor_id);
    const char *params[] = {before_s, limit_s, filter->actor_id ? actor_s : NULL, filter->action,
                            filter->object_type, filter->object_id};
    PGresult *res = NULL;
    *out = NULL;
    *next = 0;
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                         " actor_id, actor_email, action, object_type, object_id, client_ip, detail::text"
                         " FROM admin_audit WHERE id < $1::bigint"
                         " AND ($3::bigint IS NULL OR actor_id = $3::bigint)"
                         " AND ($4::text IS NULL OR action = $4)"
                         " AND ($5::text IS NULL OR object_type = $5)"
                         " AND ($6::text IS NULL OR object_id = $6)"
                         " ORDER BY id DESC LIMIT $2::int",
                         6, params);
    if (ret < 0) {
        PQclear(res);
        return ret;
    }
    json_t *arr = json_array();
    int n = PQntuples(res);
    for (int i = 0; arr && i < n && i < limit; i++) {
        json_t *row = row_json(res, i);
        if (!row || json_array_append_new(arr, row) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (arr && n > limit)
        *next = strtoll(PQgetvalue(res, limit - 1, 0), NULL, 10);
    PQclear(res);
    if (!arr)
        return -ENOMEM;
    *out = arr;
    return 0;
}
