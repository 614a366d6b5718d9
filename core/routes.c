/*
 * routes.c - the one list of every module's HTTP routes, in the order they
 * are matched.  A module adds one line here; nothing else knows the table.
 */
#include "config.h"
#include "health.h"
#include "router.h"

void vf_routes_register(vf_router_t *r)
{
    vf_health_routes(r);
}
