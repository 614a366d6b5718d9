/*
 * users_api.h - /admin/api/users/: staff managing accounts.
 *   GET    /admin/api/users/?q=&is_staff=&is_active=&limit=&cursor=
 *   GET    /admin/api/users/<id>/
 *   PATCH  /admin/api/users/<id>/            {"is_active": b, "is_staff": b}
 *   DELETE /admin/api/users/<id>/            (favourites and sessions with it)
 *   POST   /admin/api/users/<id>/resend-confirmation/
 *   POST   /admin/api/users/<id>/send-password-reset/
 * A change of rights or activity revokes the user's sessions at once; a
 * staff member cannot remove their own staff flag, deactivate or delete
 * themselves.  Every action is audited in its own transaction.
 * Owns: those answers.  Must not: revoke sessions (accounts/sessions.c) or
 * send mail (accounts/mail.c) itself.
 */
#ifndef VF_ADMIN_USERS_API_H
#define VF_ADMIN_USERS_API_H

#include "http/router.h"

void vf_admin_users_routes(vf_router_t *router);

#endif
