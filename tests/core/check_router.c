/*
 * check_router.c - route matching: parameters, the optional trailing
 * slash, wildcards, 404 versus 405 (with the allowed methods), HEAD with GET.
 */
#include "config.h"
#include "vftest.h"
#include "core/http/router.h"

#include <string.h>

static void h1(struct vf_req *r) { (void)r; }
static void h2(struct vf_req *r) { (void)r; }
static void h3(struct vf_req *r) { (void)r; }

static vf_router_t *router;

static void setup(void)
{
    router = vf_router_new();
    ck_assert_int_eq(vf_router_add(router, VF_GET, "/content/", h1), 0);
    ck_assert_int_eq(vf_router_add(router, VF_GET, "/content/{id}/", h2), 0);
    ck_assert_int_eq(vf_router_add(router, VF_POST, "/content/add-favorite/", h3), 0);
    ck_assert_int_eq(vf_router_add(router, VF_GET, "/content/video-url/{id}/", h3), 0);
    ck_assert_int_eq(vf_router_add(router, VF_GET, "/media/*", h1), 0);
    ck_assert_int_eq(vf_router_add_limited(router, VF_PATCH | VF_HEAD | VF_DELETE, "/admin/api/uploads/{id}/", h2, 1234), 0);
}

static void teardown(void) { vf_router_free(&router); }

START_TEST(exact_and_trailing_slash)
{
    vf_route_match_t m;
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/content/", &m), 0);
    ck_assert_ptr_eq(m.route->handler, h1);
    vf_route_match_free(&m);
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/content", &m), 0);
    ck_assert_ptr_eq(m.route->handler, h1);
    vf_route_match_free(&m);
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/content//", &m), -1);
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/contentx/", &m), -1);
}
END_TEST

START_TEST(parameters)
{
    vf_route_match_t m;
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/content/42/", &m), 0);
    ck_assert_ptr_eq(m.route->handler, h2);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(m.params[0], "42");
    vf_route_match_free(&m);
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/content/video-url/7", &m), 0);
    ck_assert_ptr_eq(m.route->handler, h3);
    ck_assert_str_eq(m.params[0], "7");
    vf_route_match_free(&m);
    /* "add-favorite" is a literal route for POST; for GET it is an id. */
    ck_assert_int_eq(vf_router_match(router, VF_POST, "/content/add-favorite/", &m), 0);
    ck_assert_ptr_eq(m.route->handler, h3);
    vf_route_match_free(&m);
}
END_TEST

START_TEST(wildcard)
{
    vf_route_match_t m;
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/media/videos/a b.mp4", &m), 0);
    ck_assert_str_eq(m.params[0], "videos/a b.mp4");
    vf_route_match_free(&m);
    ck_assert_int_eq(vf_router_match(router, VF_HEAD, "/media/x", &m), 0);
    ck_assert_ptr_eq(m.route->handler, h1);
    vf_route_match_free(&m);
}
END_TEST

START_TEST(method_not_allowed)
{
    vf_route_match_t m;
    ck_assert_int_eq(vf_router_match(router, VF_DELETE, "/content/", &m), 0);
    ck_assert_ptr_null(m.route);
    ck_assert_int_eq(m.allowed, VF_GET | VF_HEAD);
    char buf[64];
    vf_methods_string(m.allowed, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET, HEAD");
    ck_assert_int_eq(vf_router_match(router, VF_GET, "/admin/api/uploads/abc/", &m), 0);
    ck_assert_ptr_null(m.route);
    ck_assert_int_eq(vf_router_match(router, VF_PATCH, "/admin/api/uploads/abc", &m), 0);
    ck_assert_uint_eq(m.route->max_body, 1234);
    vf_route_match_free(&m);
}
END_TEST

static Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, exact_and_trailing_slash);
    tcase_add_test(tc, parameters);
    tcase_add_test(tc, wildcard);
    tcase_add_test(tc, method_not_allowed);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(router_suite)
