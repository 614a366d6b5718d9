/* health.h - the /health/ endpoint. */
#ifndef VF_HEALTH_H
#define VF_HEALTH_H
#include "http/router.h"
void vf_health_routes(vf_router_t *router);
#endif
