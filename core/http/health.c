/*
 * health.c - GET /health/: whether this server thread reaches PostgreSQL and
 * Redis right now.  Owns only that endpoint.
 */
#include "config.h"
#include "http/health.h"
#include "http/http.h"
#include "runtime/db.h"
#include "runtime/redis.h"
#include "util/log.h"

/* Anyone may ask, so the answer names states only: the reasons (hosts,
 * ports, libpq's and hiredis's messages) go to the log. */
static void health(vf_req_t *r)
{
    char dberr[256], rerr[256];
    int db_ok = vf_db_ping(r->ctx->db, dberr, sizeof dberr) == 0;
    int redis_ok = vf_redis_ping(r->ctx->redis, rerr, sizeof rerr) == 0;
    if (!db_ok)
        vf_warn("health: database unreachable: %s", dberr);
    if (!redis_ok)
        vf_warn("health: redis unreachable: %s", rerr);
    json_t *body = json_pack("{s:s, s:{s:s, s:s}}", "status", db_ok && redis_ok ? "ok" : "error", "components",
                             "database", db_ok ? "ok" : "unavailable", "redis", redis_ok ? "ok" : "unavailable");
    vf_reply_header(r, "Cache-Control", "no-store");
    vf_reply_json(r, db_ok && redis_ok ? 200 : 503, body);
}

void vf_health_routes(vf_router_t *router)
{
    vf_router_add(router, VF_GET, "/health/", health);
}
