/*
 * check_admin.c - the admin JSON API through the real server, database and
 * Redis (uploads_fixture), with a staff user, a second staff user and a
 * viewer:
 *   access   every /admin/api/ route answers 401 without a session and 403
 *            to a user who is not staff, and does nothing for them
 *   videos   the list in keyset pages, narrowed by a part of the title,
 *            state and category; bad parameters refused; 10,000 videos
 *            in each order (date, title, size, both ways) come in pages
 *            that are complete, unique and ordered, and the page query
 *            walks an index (EXPLAIN) rather than sorting
 *   audit    creating, editing and deleting a video writes audit rows
 *            (who, what, which object, from where), read back newest first
 *            in keyset pages and narrowed by object
 *   users    list and search in keyset pages; deactivating a user or
 *            changing their staff flag revokes their sessions at once (the
 *            next call is refused); a staff member cannot demote,
 *            deactivate or delete themselves; deleting takes the
 *            favourites with it; confirmation and reset emails are queued
 *            and a worker sends them
 *   jobs     the summary (counts per type and state, stream, workers), a
 *            state's jobs in keyset pages narrowed by type, a job's detail,
 *            cancel, requeue and delete (audited), bad parameters refused;
 *            a worker's processed video has its sizes and its jobs (GET
 *            /admin/api/videos/<id>/jobs/); cancelling a running pipeline
 *            job leaves its video failed, "Cancelled by staff."
 *   pages    /admin/ serves the pages of admin.static_dir with a strict
 *            Content-Security-Policy and no inline script; a visitor who
 *            is not staff gets the sign-in page; nothing outside the
 *            folder can be named
 *   events   /admin/api/events/ streams job, video, user and audit
 *            changes as they happen (Server-Sent Events) with heartbeat
 *            comments; a client
 *            that goes away is dropped, and so is one whose session is
 *            revoked; the server stops promptly with streams open
 */
#include "config.h"
#include "uploads_fixture.h"

#include "catalog/video_list.h"

#include <dirent.h>
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

#define VIEWER_EMAIL "viewer@example.com"
#define VIEWER_PASSWORD "viewer-password-1"
#define OTHER_EMAIL "other-staff@example.com"
#define OTHER_PASSWORD "other-password-1"

static ufix_t f;
static char viewer_cookie[4096];
static int64_t viewer_id;

static void setup(void)
{
    char extra[4200];
    snprintf(extra, sizeof extra, "admin = { events_heartbeat = 1; static_dir = \"%s/web/admin\"; };",
             vft_env_or_skip("VF_SRCDIR"));
    ufix_opts_t opts = {.extra = extra};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    ck_assert_int_eq(ufix_user(&f, VIEWER_EMAIL, VIEWER_PASSWORD, 0, viewer_cookie, sizeof viewer_cookie,
                               &viewer_id), 0);
}

static void teardown(void) { ufix_teardown(&f); }

/* A JSON request with the given cookie string (NULL: none); parsed body
 * into *out when out is not NULL. */
static long json_as(const char *cookie, const char *method, const char *path, const char *body, json_t **out)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", f.base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    vft_response_t resp;
    if (out)
        *out = NULL;
    if (vft_http_raw(method, url, body, body ? strlen(body) : 0, headers, cookie, &resp) != 0) {
        vft_response_free(&resp);
        return -1;
    }
    if (out && resp.body_len)
        *out = json_loadb(resp.body, resp.body_len, 0, NULL);
    long status = resp.status;
    vft_response_free(&resp);
    return status;
}

/* A finished tus upload of a few bytes (no worker runs in these tests, so
 * it is never transcoded); its id into id. */
static void upload_bytes(char id[33])
{
    char *dir = vft_tmpdir("vf-admin-src");
    char file[4096];
    snprintf(file, sizeof file, "%s/source.mp4", dir);
    ck_assert_int_eq(vft_write_pattern(file, 3000, 7), 0);
    ck_assert_int_eq(ufix_tus_upload_file(&f, file, 1000, id), 0);
    vft_rmrf(dir);
    free(dir);
}

static json_t *audit_page(const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/admin/api/audit/%s", query);
    json_t *page = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &page), 200);
    ck_assert_ptr_nonnull(json_object_get(page, "results"));
    return page;
}

/* ------------------------------------------------------------- access */

static const struct {
    const char *method, *path, *body;
} admin_routes[] = {
    {"GET", "/admin/api/audit/", NULL},
    {"GET", "/admin/api/videos/", NULL},
    {"GET", "/admin/api/videos/?limit=1", NULL},
    {"POST", "/admin/api/videos/", "{\"title\": \"x\"}"},
    {"GET", "/admin/api/videos/1/", NULL},
    {"GET", "/admin/api/videos/1/jobs/", NULL},
    {"POST", "/admin/api/videos/1/retry/", NULL},
    {"PATCH", "/admin/api/videos/1/", "{\"title\": \"x\"}"},
    {"DELETE", "/admin/api/videos/1/", NULL},
    {"GET", "/admin/api/users/", NULL},
    {"GET", "/admin/api/users/1/", NULL},
    {"PATCH", "/admin/api/users/1/", "{\"is_staff\": false}"},
    {"DELETE", "/admin/api/users/1/", NULL},
    {"POST", "/admin/api/users/1/resend-confirmation/", NULL},
    {"POST", "/admin/api/users/1/send-password-reset/", NULL},
    {"GET", "/admin/api/jobs/summary/", NULL},
    {"GET", "/admin/api/jobs/?state=queued", NULL},
    {"GET", "/admin/api/jobs/0123456789abcdef0123456789ab/", NULL},
    {"DELETE", "/admin/api/jobs/0123456789abcdef0123456789ab/", NULL},
    {"POST", "/admin/api/jobs/0123456789abcdef0123456789ab/requeue/", NULL},
    {"POST", "/admin/api/jobs/0123456789abcdef0123456789ab/cancel/", NULL},
    {"GET", "/admin/api/events/", NULL},
};

START_TEST(every_route_refuses_anonymous_and_viewers)
{
    size_t n = sizeof admin_routes / sizeof admin_routes[0];
    for (size_t i = 0; i < n; i++) {
        json_t *body = NULL;
        long st = json_as(NULL, admin_routes[i].method, admin_routes[i].path, admin_routes[i].body, &body);
        ck_assert_msg(st == 401, "%s %s anonymous: %ld", admin_routes[i].method, admin_routes[i].path, st);
        json_decref(body);
        st = json_as(viewer_cookie, admin_routes[i].method, admin_routes[i].path, admin_routes[i].body, &body);
        ck_assert_msg(st == 403, "%s %s viewer: %ld", admin_routes[i].method, admin_routes[i].path, st);
        ck_assert_str_eq(json_string_value(json_object_get(body, "detail")),
                         "You do not have permission to perform this action.");
        json_decref(body);
    }
    /* Nothing they tried was done, so nothing was recorded. */
    char *rows = ufix_sql(&f, "SELECT count(*) FROM admin_audit");
    ck_assert_str_eq(rows, "0");
    free(rows);
}
END_TEST

/* ------------------------------------------------------------- videos */

START_TEST(videos_listed_in_keyset_pages)
{
    const char *titles[] = {"Paged one", "Paged two", "Paged three", "Other clip"};
    const char *cats[] = {"Comedy", "Comedy", "Western", "Comedy"};
    int64_t ids[4];
    for (int i = 0; i < 4; i++) {
        char upload[33];
        upload_bytes(upload);
        ids[i] = ufix_create_video(&f, titles[i], cats[i], upload);
        ck_assert_int_gt(ids[i], 0);
    }
    /* "paged" in pages of two: three, two, one (newest first), then the end. */
    json_t *page = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?q=PAGED&limit=2", NULL, &page), 200);
    json_t *rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), ids[2]);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 1), "id")), ids[1]);
    char path[256];
    snprintf(path, sizeof path, "/admin/api/videos/?q=paged&limit=2&cursor=%s",
             json_string_value(json_object_get(page, "next")));
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &page), 200);
    rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), ids[0]);
    ck_assert(json_is_null(json_object_get(page, "next")));
    json_decref(page);
    /* Category and state; no worker runs, so nothing is ready. */
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?q=paged&category=Comedy&limit=50", NULL, &page), 200);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 2);
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?state=ready&limit=50", NULL, &page), 200);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 0);
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?q=paged&state=pending&limit=50", NULL, &page), 200);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 3);
    json_decref(page);
    /* Without paging parameters, the whole array as before. */
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/", NULL, &page), 200);
    ck_assert(json_is_array(page));
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?limit=2&state=gone", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?limit=2&category=Nope", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?cursor=x", NULL, NULL), 400);
}
END_TEST

/* Whether row b may follow row a in order `sort` (video_list.h): its key
 * after a's (or equal with a larger id; reversed for "-" orders). */
static int follows(const char *sort, const json_t *a, const json_t *b)
{
    int desc = sort[0] == '-';
    const char *name = desc ? sort + 1 : sort;
    int cmp;
    if (strcmp(name, "created") == 0) /* fixed-width ISO 8601: text order is time order */
        cmp = strcmp(json_string_value(json_object_get(a, "created_at")),
                     json_string_value(json_object_get(b, "created_at")));
    else if (strcmp(name, "title") == 0) /* the generated titles are ASCII */
        cmp = strcasecmp(json_string_value(json_object_get(a, "title")),
                         json_string_value(json_object_get(b, "title")));
    else {
        json_int_t x = json_integer_value(json_object_get(a, "source_size")),
                   y = json_integer_value(json_object_get(b, "source_size"));
        cmp = x < y ? -1 : x > y;
    }
    if (cmp == 0) {
        json_int_t x = json_integer_value(json_object_get(a, "id")), y = json_integer_value(json_object_get(b, "id"));
        cmp = x < y ? -1 : x > y;
    }
    return desc ? cmp > 0 : cmp < 0;
}

/* The plan of the list's own query (vf_video_page_sql) for order `sort`,
 * after a cursor: which index it walks, and that it sorts nothing. */
static void assert_walks_index(const char *sort, const char *key, const char *index)
{
    char *page_sql = vf_video_page_sql(vf_video_sort_find(sort), 1);
    ck_assert_ptr_nonnull(page_sql);
    size_t cap = strlen(page_sql) + 512;
    char *sql = malloc(cap);
    ck_assert_ptr_nonnull(sql);
    snprintf(sql, cap, "PREPARE page AS %s; EXPLAIN (FORMAT JSON) EXECUTE page(201, NULL, NULL, NULL, '%s', 5000)",
             page_sql, key);
    char *plan = ufix_sql(&f, sql);
    ck_assert_ptr_nonnull(plan);
    char want[128];
    snprintf(want, sizeof want, "\"Index Name\": \"%s\"", index);
    ck_assert_msg(strstr(plan, want) != NULL, "%s does not walk %s: %s", sort, index, plan);
    ck_assert_msg(strstr(plan, "\"Node Type\": \"Sort\"") == NULL, "%s sorts: %s", sort, plan);
    free(plan);
    free(sql);
    free(page_sql);
}

START_TEST(videos_sorted_in_keyset_pages_at_10000)
{
    /* 10,000 videos straight into the table: titles in no id order (7919
     * is prime to 10007, so they are distinct), dates and sizes with ties,
     * mixed case. */
    char *n = ufix_sql(&f, "INSERT INTO videos (title, category, created_at, source_size) "
                           "SELECT CASE WHEN i % 2 = 0 THEN 'Bulk ' ELSE 'bULK ' END "
                           "|| lpad(((i * 7919) % 10007)::text, 5, '0'), 'Documentary', "
                           "now() - (i % 997) * interval '1 second', (i * 31) % 5000 "
                           "FROM generate_series(1, 10000) AS i");
    ck_assert_str_eq(n, "10000");
    free(n);
    free(ufix_sql(&f, "ANALYZE videos"));
    static const char *const sorts[] = {"-created", "created", "title", "-title", "size", "-size"};
    for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++) {
        json_t *seen = json_object(), *prev = NULL;
        char cursor[1024] = "";
        int pages = 0;
        do {
            char path[1400];
            snprintf(path, sizeof path, "/admin/api/videos/?q=bulk&limit=200&sort=%s%s%s", sorts[s],
                     *cursor ? "&cursor=" : "", cursor);
            json_t *page = NULL;
            ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &page), 200);
            pages++;
            json_t *row;
            size_t i;
            json_array_foreach(json_object_get(page, "results"), i, row) {
                char id[24];
                snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(row, "id")));
                ck_assert_msg(!json_object_get(seen, id), "%s: video %s twice", sorts[s], id);
                json_object_set_new(seen, id, json_true());
                ck_assert_msg(!prev || follows(sorts[s], prev, row), "%s: video %s out of order", sorts[s], id);
                json_decref(prev);
                prev = json_incref(row);
                ck_assert(json_is_integer(json_object_get(row, "source_size")));
                ck_assert(json_is_integer(json_object_get(row, "renditions_size")));
            }
            const char *next = json_string_value(json_object_get(page, "next"));
            ck_assert(!next || strlen(next) < sizeof cursor);
            snprintf(cursor, sizeof cursor, "%s", next ? next : "");
            json_decref(page);
        } while (*cursor);
        ck_assert_int_eq(json_object_size(seen), 10000);
        ck_assert_int_eq(pages, 50);
        json_decref(seen);
        json_decref(prev);
    }
    assert_walks_index("-created", "2026-01-01 00:00:00+00", "videos_created_at_idx");
    assert_walks_index("created", "2026-01-01 00:00:00+00", "videos_created_at_idx");
    assert_walks_index("title", "bulk 05000", "videos_title_sort_idx");
    assert_walks_index("-title", "bulk 05000", "videos_title_sort_idx");
    assert_walks_index("size", "2500", "videos_source_size_idx");
    assert_walks_index("-size", "2500", "videos_source_size_idx");

    /* A cursor belongs to its order; unknown orders are refused. */
    json_t *page = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?q=bulk&limit=5&sort=title", NULL, &page), 200);
    char path[512];
    snprintf(path, sizeof path, "/admin/api/videos/?q=bulk&limit=5&sort=size&cursor=%s",
             json_string_value(json_object_get(page, "next")));
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?limit=5&sort=colour", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/?limit=5&sort=title&cursor=title.1.zz", NULL, NULL), 400);
    /* Out of the way of the other tests' lists. */
    free(ufix_sql(&f, "DELETE FROM videos WHERE title ILIKE 'bulk %'"));
}
END_TEST

/* -------------------------------------------------------------- audit */

START_TEST(video_actions_are_audited)
{
    char upload[33];
    upload_bytes(upload);
    int64_t id = ufix_create_video(&f, "Audited clip", "Documentary", upload);
    ck_assert_int_gt(id, 0);
    char path[128], body[256];
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/", id);
    snprintf(body, sizeof body, "{\"title\": \"Audited clip, renamed\"}");
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, body, NULL), 200);
    /* A refused edit changes nothing and is not recorded. */
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"category\": \"Nonsense\"}", NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "DELETE", path, NULL, NULL), 204);

    json_t *page = audit_page("");
    json_t *rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 3);
    ck_assert(json_is_null(json_object_get(page, "next")));
    const char *actions[] = {"video.delete", "video.update", "video.create"};
    char idstr[24];
    snprintf(idstr, sizeof idstr, "%" PRId64, id);
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(rows, i);
        ck_assert_str_eq(json_string_value(json_object_get(row, "action")), actions[i]);
        ck_assert_str_eq(json_string_value(json_object_get(row, "object_type")), "video");
        ck_assert_str_eq(json_string_value(json_object_get(row, "object_id")), idstr);
        ck_assert_int_eq(json_integer_value(json_object_get(row, "actor_id")), f.user_id);
        ck_assert_str_eq(json_string_value(json_object_get(row, "actor_email")), "staff@example.com");
        ck_assert_str_eq(json_string_value(json_object_get(row, "client_ip")), "127.0.0.1");
        ck_assert_ptr_nonnull(json_string_value(json_object_get(row, "at")));
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(rows, 1), "detail"), "title")),
                     "Audited clip, renamed");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(rows, 2), "detail"), "upload_id")),
                     upload);
    json_decref(page);

    /* Keyset pages: two, then one, then the end. */
    page = audit_page("?limit=2");
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 2);
    const char *next = json_string_value(json_object_get(page, "next"));
    ck_assert_ptr_nonnull(next);
    char q[128];
    snprintf(q, sizeof q, "?limit=2&cursor=%s", next);
    json_decref(page);
    page = audit_page(q);
    rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "action")), "video.create");
    ck_assert(json_is_null(json_object_get(page, "next")));
    json_decref(page);

    /* Narrowed by action; bad parameters are refused, not ignored. */
    page = audit_page("?action=video.update");
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 1);
    json_decref(page);
    page = audit_page("?object_type=user");
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 0);
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/audit/?limit=0", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/audit/?limit=201", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/audit/?cursor=abc", NULL, NULL), 400);
}
END_TEST


/* -------------------------------------------------------------- users */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void user_path(char *buf, size_t len, int64_t id, const char *tail)
{
    snprintf(buf, len, "/admin/api/users/%" PRId64 "/%s", id, tail ? tail : "");
}

/* The newest audit row (its action and detail) for a user. */
static json_t *last_user_audit(int64_t id)
{
    char q[128];
    snprintf(q, sizeof q, "?object_type=user&object_id=%" PRId64 "&limit=1", id);
    json_t *page = audit_page(q);
    json_t *row = json_incref(json_array_get(json_object_get(page, "results"), 0));
    json_decref(page);
    ck_assert_ptr_nonnull(row);
    return row;
}

START_TEST(users_listed_and_searched)
{
    char cookie[4096];
    int64_t a, b;
    ck_assert_int_eq(ufix_user(&f, "alice.search@example.com", "alice-password-1", 0, NULL, 0, &a), 0);
    ck_assert_int_eq(ufix_user(&f, "bob.search@example.com", "bob-password-1", 0, cookie, sizeof cookie, &b), 0);

    json_t *page = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/users/?q=SEARCH", NULL, &page), 200);
    json_t *rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), b); /* newest first */
    json_t *bob = json_array_get(rows, 0);
    ck_assert_str_eq(json_string_value(json_object_get(bob, "email")), "bob.search@example.com");
    ck_assert(json_is_true(json_object_get(bob, "is_active")));
    ck_assert(json_is_false(json_object_get(bob, "is_staff")));
    ck_assert(json_is_string(json_object_get(bob, "last_login")));
    ck_assert(json_is_null(json_object_get(json_array_get(rows, 1), "last_login")));
    ck_assert(json_object_get(bob, "password") == NULL);
    json_decref(page);

    /* Keyset pages of one, to the end. */
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/users/?q=search&limit=1", NULL, &page), 200);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 1);
    char path[256];
    snprintf(path, sizeof path, "/admin/api/users/?q=search&limit=1&cursor=%s",
             json_string_value(json_object_get(page, "next")));
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &page), 200);
    rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), a);
    ck_assert(json_is_null(json_object_get(page, "next")));
    json_decref(page);

    /* Staff only; a search character that LIKE would take as a wildcard. */
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/users/?is_staff=true", NULL, &page), 200);
    rows = json_object_get(page, "results");
    for (size_t i = 0; i < json_array_size(rows); i++)
        ck_assert(json_is_true(json_object_get(json_array_get(rows, i), "is_staff")));
    ck_assert_int_ge(json_array_size(rows), 1);
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/users/?q=%25", NULL, &page), 200);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 0);
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/users/?is_staff=maybe", NULL, NULL), 400);
    user_path(path, sizeof path, a, NULL);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &page), 200);
    ck_assert_str_eq(json_string_value(json_object_get(page, "email")), "alice.search@example.com");
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/users/999999999/", NULL, NULL), 404);
}
END_TEST

START_TEST(staff_cannot_demote_or_delete_themselves)
{
    char path[128];
    user_path(path, sizeof path, f.user_id, NULL);
    json_t *body = NULL;
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_staff\": false}", &body), 400);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(body, "is_staff"), 0)),
                     "You cannot remove your own staff status.");
    json_decref(body);
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_active\": false}", NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "DELETE", path, NULL, &body), 400);
    ck_assert_str_eq(json_string_value(json_object_get(body, "detail")), "You cannot delete your own account.");
    json_decref(body);
    /* Bodies that say nothing or something else are refused too. */
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{}", NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"email\": \"x@example.com\"}", NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_staff\": \"yes\"}", NULL), 400);
    /* Still staff, still signed in, nothing recorded against the account. */
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &body), 200);
    ck_assert(json_is_true(json_object_get(body, "is_staff")));
    ck_assert(json_is_true(json_object_get(body, "is_active")));
    json_decref(body);
    char q[128];
    snprintf(q, sizeof q, "?object_type=user&object_id=%" PRId64, f.user_id);
    json_t *page = audit_page(q);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 0);
    json_decref(page);
}
END_TEST

START_TEST(rights_changes_revoke_sessions_at_once)
{
    char cookie[4096], path[128];
    int64_t id;
    ck_assert_int_eq(ufix_user(&f, "carol@example.com", "carol-password-1", 0, cookie, sizeof cookie, &id), 0);
    ck_assert_int_eq(json_as(cookie, "GET", "/content/", NULL, NULL), 200);
    user_path(path, sizeof path, id, NULL);

    /* Deactivated: the very next call is refused. */
    json_t *body = NULL;
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_active\": false}", &body), 200);
    ck_assert(json_is_false(json_object_get(body, "is_active")));
    json_decref(body);
    ck_assert_int_eq(json_as(cookie, "GET", "/content/", NULL, NULL), 401);
    json_t *row = last_user_audit(id);
    ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "user.update");
    ck_assert(json_is_false(json_object_get(json_object_get(row, "detail"), "is_active")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(row, "detail"), "sessions_revoked")), 1);
    json_decref(row);
    /* Inactive users cannot sign in; reactivated, they can. */
    ck_assert_int_ne(ufix_login(&f, "carol@example.com", "carol-password-1", cookie, sizeof cookie), 200);
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_active\": true}", NULL), 200);

    /* Made staff: the old session (a viewer's token) ends; a new one reaches
     * the admin API. */
    char cookie2[4096];
    ck_assert_int_eq(ufix_login(&f, "carol@example.com", "carol-password-1", cookie2, sizeof cookie2), 200);
    ck_assert_int_eq(json_as(cookie2, "GET", "/admin/api/users/", NULL, NULL), 403);
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_staff\": true}", NULL), 200);
    ck_assert_int_eq(json_as(cookie2, "GET", "/content/", NULL, NULL), 401);
    /* Setting what is already set changes nothing and revokes nothing. */
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_staff\": true}", NULL), 200);
    row = last_user_audit(id);
    ck_assert(json_is_true(json_object_get(json_object_get(row, "detail"), "is_staff")));
    json_decref(row);
    char *n = ufix_sql(&f, "SELECT count(*) FROM admin_audit WHERE action = 'user.update'");
    ck_assert_str_eq(n, "3");
    free(n);
}
END_TEST

START_TEST(deleting_a_user_takes_favourites_with_it)
{
    char cookie[4096], path[128], upload[33];
    int64_t id;
    ck_assert_int_eq(ufix_user(&f, "dave@example.com", "dave-password-1", 0, cookie, sizeof cookie, &id), 0);
    upload_bytes(upload);
    int64_t video = ufix_create_video(&f, "Dave's favourite", "Comedy", upload);
    ck_assert_int_gt(video, 0);
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO user_favorites (user_id, video_id) VALUES (%" PRId64 ", %" PRId64 ")", id,
             video);
    free(ufix_sql(&f, sql));
    user_path(path, sizeof path, id, NULL);
    ck_assert_int_eq(ufix_json(&f, "DELETE", path, NULL, NULL), 204);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, NULL), 404);
    ck_assert_int_eq(ufix_json(&f, "DELETE", path, NULL, NULL), 404);
    ck_assert_int_eq(json_as(cookie, "GET", "/content/", NULL, NULL), 401);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM user_favorites WHERE user_id = %" PRId64, id);
    char *n = ufix_sql(&f, sql);
    ck_assert_str_eq(n, "0");
    free(n);
    json_t *row = last_user_audit(id);
    ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "user.delete");
    json_t *detail = json_object_get(row, "detail");
    ck_assert_str_eq(json_string_value(json_object_get(detail, "email")), "dave@example.com");
    ck_assert_int_eq(json_integer_value(json_object_get(detail, "favourites")), 1);
    json_decref(row);
}
END_TEST

/* Files in dir/mail whose text mentions `needle`. */
static int mails_to(const char *needle)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/mail", f.dir);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *text = vft_read_file(p, &len);
        if (text && strstr(text, needle))
            n++;
        free(text);
    }
    if (d)
        closedir(d);
    return n;
}

START_TEST(account_emails_are_queued_and_sent)
{
    char path[128];
    int64_t id;
    ck_assert_int_eq(ufix_user(&f, "erin@example.com", "erin-password-1", 0, NULL, 0, &id), 0);
    /* createsuperuser confirms the address: a confirmation is refused. */
    user_path(path, sizeof path, id, "resend-confirmation/");
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 409);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE users SET email_confirmed_at = NULL WHERE id = %" PRId64, id);
    free(ufix_sql(&f, sql));
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 202);
    user_path(path, sizeof path, id, "send-password-reset/");
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 202);
    ck_assert_int_eq(ufix_json(&f, "POST", "/admin/api/users/999999999/send-password-reset/", NULL, NULL), 404);
    json_t *row = last_user_audit(id);
    ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "user.send_password_reset");
    json_decref(row);

    /* A worker sends both (the file transport writes them). */
    int w = ufix_start_worker(&f, 1);
    ck_assert_int_ge(w, 0);
    int n = 0;
    for (int waited = 0; waited < 120000 && (n = mails_to("erin@example.com")) < 2; waited += 200)
        sleep_ms(200);
    ufix_stop_worker(&f, w, SIGTERM);
    ck_assert_int_eq(n, 2);
}
END_TEST

/* --------------------------------------------------------------- jobs */

/* Every job of a state (and type), page by page with `limit`; the pages'
 * count into *pages. */
static json_t *all_pages(const char *state, const char *type, int limit, int *pages)
{
    json_t *all = json_array();
    char cursor[256] = "";
    *pages = 0;
    for (;;) {
        char path[512];
        snprintf(path, sizeof path, "/admin/api/jobs/?state=%s&limit=%d%s%s%s%s", state, limit, type ? "&type=" : "",
                 type ? type : "", cursor[0] ? "&cursor=" : "", cursor);
        json_t *page = NULL;
        ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &page), 200);
        (*pages)++;
        json_array_extend(all, json_object_get(page, "results"));
        const char *next = json_string_value(json_object_get(page, "next"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(page);
        ck_assert_int_lt(*pages, 100);
        if (!next)
            return all;
    }
}

START_TEST(jobs_dashboard)
{
    /* Jobs to look at: two videos' pipeline jobs (no worker runs them). */
    char upload[33];
    upload_bytes(upload);
    ck_assert_int_gt(ufix_create_video(&f, "Jobs clip one", "Drama", upload), 0);
    upload_bytes(upload);
    ck_assert_int_gt(ufix_create_video(&f, "Jobs clip two", "Drama", upload), 0);

    json_t *sum = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/summary/", NULL, &sum), 200);
    json_int_t queued = json_integer_value(json_object_get(json_object_get(sum, "totals"), "queued"));
    ck_assert_int_ge(queued, 2);
    json_t *stream = json_object_get(sum, "stream");
    ck_assert_int_ge(json_integer_value(json_object_get(stream, "length")), queued);
    ck_assert(json_is_integer(json_object_get(stream, "pending")));
    ck_assert(json_is_array(json_object_get(sum, "workers")));
    /* The per-type counts add up to the totals. */
    json_int_t by_type = 0;
    const char *type;
    json_t *states;
    json_object_foreach(json_object_get(sum, "counts"), type, states)
        by_type += json_integer_value(json_object_get(states, "queued"));
    ck_assert_int_eq(by_type, queued);
    json_decref(sum);

    /* Pages of one cover every queued job once, in queue order. */
    int pages;
    json_t *all = all_pages("queued", NULL, 1, &pages);
    ck_assert_int_eq(json_array_size(all), queued);
    ck_assert_int_ge(pages, (int)queued);
    for (size_t i = 1; i < json_array_size(all); i++)
        ck_assert_str_ne(json_string_value(json_object_get(json_array_get(all, i), "id")),
                         json_string_value(json_object_get(json_array_get(all, i - 1), "id")));
    const char *jtype = json_string_value(json_object_get(json_array_get(all, 0), "type"));
    char first_type[64];
    snprintf(first_type, sizeof first_type, "%s", jtype);
    json_t *typed = all_pages("queued", first_type, 2, &pages);
    ck_assert_int_ge(json_array_size(typed), 1);
    for (size_t i = 0; i < json_array_size(typed); i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(typed, i), "type")), first_type);
    json_decref(typed);

    /* One job: detail, cancel, requeue, delete. */
    char id[64], path[256];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_array_get(all, 0), "id")));
    json_decref(all);
    snprintf(path, sizeof path, "/admin/api/jobs/%s/", id);
    json_t *job = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &job), 200);
    ck_assert_str_eq(json_string_value(json_object_get(job, "state")), "queued");
    ck_assert(json_is_object(json_object_get(job, "payload")));
    json_decref(job);
    snprintf(path, sizeof path, "/admin/api/jobs/%s/cancel/", id);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, &job), 200);
    ck_assert_str_eq(json_string_value(json_object_get(job, "state")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(job, "error")), "Cancelled by staff.");
    json_decref(job);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 409);
    /* Newest first among the failed (the mail test's worker failed others). */
    all = all_pages("failed", NULL, 50, &pages);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "id")), id);
    json_decref(all);
    snprintf(path, sizeof path, "/admin/api/jobs/%s/requeue/", id);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, &job), 200);
    ck_assert_str_eq(json_string_value(json_object_get(job, "state")), "queued");
    json_decref(job);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 409);
    snprintf(path, sizeof path, "/admin/api/jobs/%s/", id);
    ck_assert_int_eq(ufix_json(&f, "DELETE", path, NULL, NULL), 204);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, NULL), 404);
    ck_assert_int_eq(ufix_json(&f, "DELETE", path, NULL, NULL), 404);

    char q[256];
    snprintf(q, sizeof q, "?object_type=job&object_id=%s", id);
    json_t *page = audit_page(q);
    json_t *rows = json_object_get(page, "results");
    ck_assert_int_eq(json_array_size(rows), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "action")), "job.delete");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "action")), "job.requeue");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 2), "action")), "job.cancel");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(rows, 2), "detail"), "type")),
                     first_type);
    json_decref(page);

    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/?state=lost", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/?state=queued&cursor=nonsense", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/?state=outbox&cursor=x", NULL, NULL), 400);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/not-an-id/", NULL, NULL), 404);
}
END_TEST

/* GET /admin/api/videos/<id>/jobs/ (its "results"). */
static json_t *jobs_of_video(int64_t vid)
{
    char path[128];
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/jobs/", vid);
    json_t *body = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &body), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "video_id")), vid);
    json_t *tasks = json_incref(json_object_get(body, "results"));
    json_decref(body);
    ck_assert(json_is_array(tasks));
    return tasks;
}

/* The id of the video's job that a worker runs now (its task running and
 * the queue saying so), into id; waits up to two minutes. */
static void wait_running_job(int64_t vid, char *id, size_t len)
{
    *id = '\0';
    for (int waited = 0; waited < 120000 && !*id; waited += 50) {
        json_t *tasks = jobs_of_video(vid), *t;
        size_t i;
        json_array_foreach(tasks, i, t) {
            const char *state = json_string_value(json_object_get(json_object_get(t, "job"), "state"));
            if (strcmp(json_string_value(json_object_get(t, "state")), "running") == 0 && state &&
                strcmp(state, "running") == 0) {
                snprintf(id, len, "%s", json_string_value(json_object_get(t, "job_id")));
                break;
            }
        }
        json_decref(tasks);
        if (!*id)
            sleep_ms(50);
    }
    ck_assert_msg(*id, "no job of video %" PRId64 " ran within two minutes", vid);
}

START_TEST(video_sizes_jobs_and_cancel)
{
    char *dir = vft_tmpdir("vf-admin-clips");
    char shortclip[4096], longclip[4096];
    snprintf(shortclip, sizeof shortclip, "%s/short.mp4", dir);
    snprintf(longclip, sizeof longclip, "%s/long.mp4", dir);
    ck_assert_int_eq(ufix_make_clip(shortclip, 320, 240, 2.0), 0);
    ck_assert_int_eq(ufix_make_clip(longclip, 640, 360, 30.0), 0);
    int w = ufix_start_worker(&f, 1);
    ck_assert_int_ge(w, 0);

    /* Sizes: the source's bytes, and the renditions' once stored. */
    int64_t done = ufix_add_video(&f, shortclip, "Sized clip");
    ck_assert_int_gt(done, 0);
    json_t *v = NULL;
    ck_assert_int_eq(ufix_wait_video(&f, done, "ready", 120000, &v), 0);
    json_decref(v);
    char path[256];
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/", done);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &v), 200);
    struct stat st;
    ck_assert_int_eq(stat(shortclip, &st), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "source_size")), st.st_size);
    ck_assert_int_gt(json_integer_value(json_object_get(v, "renditions_size")), 0);
    json_decref(v);
    /* Its jobs: one per rendition and the thumbnail, all done (the queue
     * records a job done just after its task's commit made the video
     * ready: waited for). */
    json_t *tasks = NULL, *t;
    size_t i;
    int all_done = 0;
    for (int waited = 0; waited < 30000 && !all_done; waited += 100) {
        json_decref(tasks);
        tasks = jobs_of_video(done);
        all_done = json_array_size(tasks) == 3;
        json_array_foreach(tasks, i, t) {
            ck_assert_str_eq(json_string_value(json_object_get(t, "state")), "done");
            const char *queued = json_string_value(json_object_get(json_object_get(t, "job"), "state"));
            all_done = all_done && queued && strcmp(queued, "done") == 0;
        }
        if (!all_done)
            sleep_ms(100);
    }
    ck_assert_msg(all_done, "the jobs of a ready video: %s", json_dumps(tasks, 0));
    json_decref(tasks);

    /* Cancelled while it runs: the video fails at once, saying why, and
     * its other tasks with it. */
    int64_t vid = ufix_add_video(&f, longclip, "Cancelled clip");
    ck_assert_int_gt(vid, 0);
    char job[64];
    wait_running_job(vid, job, sizeof job);
    snprintf(path, sizeof path, "/admin/api/jobs/%s/cancel/", job);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 200);
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/", vid);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &v), 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_error")), "Cancelled by staff.");
    json_decref(v);
    tasks = jobs_of_video(vid);
    json_array_foreach(tasks, i, t) {
        ck_assert_str_eq(json_string_value(json_object_get(t, "state")), "failed");
        if (strcmp(json_string_value(json_object_get(t, "job_id")), job) == 0) {
            ck_assert_str_eq(json_string_value(json_object_get(t, "error")), "Cancelled by staff.");
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(t, "job"), "state")), "failed");
        } else
            ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(t, "error")), "Cancelled by staff."));
    }
    json_decref(tasks);
    /* The worker stops the handler at its next keep-alive, and the video
     * stays failed. */
    char needle[128];
    snprintf(needle, sizeof needle, "job %s (", job);
    char *log = NULL;
    const char *line = NULL;
    for (int waited = 0; waited < 60000; waited += 100) {
        free(log);
        log = ufix_worker_log(&f, w);
        line = strstr(log, needle);
        if (line && strstr(line, "stopped"))
            break;
        sleep_ms(100);
    }
    ck_assert_msg(line && strstr(line, "stopped"), "the worker went on with job %s: %s", job, log);
    free(log);
    ck_assert_int_eq(ufix_json(&f, "GET", path, NULL, &v), 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "processing_state")), "failed");
    json_decref(v);

    /* Retry: the failed tasks' jobs run again and the video gets ready;
     * only a failed video can be retried. */
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/retry/", vid);
    json_t *answer = NULL;
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, &answer), 200);
    ck_assert_int_ge(json_array_size(json_object_get(answer, "requeued")), 1);
    json_decref(answer);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 409);
    ck_assert_int_eq(ufix_wait_video(&f, vid, "ready", 240000, &v), 0);
    json_decref(v);
    char q[128];
    snprintf(q, sizeof q, "?object_type=video&object_id=%" PRId64 "&action=video.retry", vid);
    json_t *page = audit_page(q);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 1);
    json_decref(page);
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/videos/999999999/jobs/", NULL, NULL), 404);
    ck_assert_int_eq(ufix_json(&f, "POST", "/admin/api/videos/999999999/retry/", NULL, NULL), 404);

    /* Requeue on the jobs dashboard of a failed video's job retries the
     * video (alone, the job would find it failed and skip). */
    char upload[33];
    upload_bytes(upload);
    int64_t junk = ufix_create_video(&f, "Junk clip", "Other", upload);
    ck_assert_int_gt(junk, 0);
    ck_assert_int_eq(ufix_wait_video(&f, junk, "failed", 120000, &v), 0);
    json_decref(v);
    char failed_job[64] = "";
    int settled = 0;
    for (int waited = 0; waited < 60000 && !settled; waited += 100) {
        tasks = jobs_of_video(junk);
        settled = json_array_size(tasks) == 3;
        json_array_foreach(tasks, i, t) {
            const char *st = json_string_value(json_object_get(json_object_get(t, "job"), "state"));
            settled = settled && st && (!strcmp(st, "failed") || !strcmp(st, "done"));
            if (st && !strcmp(st, "failed"))
                snprintf(failed_job, sizeof failed_job, "%s", json_string_value(json_object_get(t, "job_id")));
        }
        json_decref(tasks);
        if (!settled)
            sleep_ms(100);
    }
    ck_assert_msg(settled && *failed_job, "the junk video's jobs did not finish");
    snprintf(path, sizeof path, "/admin/api/jobs/%s/requeue/", failed_job);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 200);
    snprintf(q, sizeof q, "?object_type=video&object_id=%" PRId64 "&action=video.retry", junk);
    page = audit_page(q);
    ck_assert_int_eq(json_array_size(json_object_get(page, "results")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(json_array_get(json_object_get(page, "results"), 0),
                                                                     "detail"), "jobs")), 3);
    json_decref(page);
    /* Processing again (the retry committed before the answer), it fails again. */
    ck_assert_int_eq(ufix_wait_video(&f, junk, "failed", 120000, &v), 0);
    json_decref(v);
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/retry/", done);
    ck_assert_int_eq(ufix_json(&f, "POST", path, NULL, NULL), 409);
    ufix_stop_worker(&f, w, SIGTERM);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

/* -------------------------------------------------------------- pages */

static void get_page(const char *cookie, const char *path, vft_response_t *resp)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", f.base, path);
    ck_assert_int_eq(vft_http_raw("GET", url, NULL, 0, NULL, cookie, resp), 0);
}

/* Every <script of a page names a file: no inline script anywhere. */
static void assert_no_inline_script(const char *html)
{
    for (const char *p = strstr(html, "<script"); p; p = strstr(p + 1, "<script")) {
        const char *end = strchr(p, '>');
        ck_assert_ptr_nonnull(end);
        char tag[512];
        snprintf(tag, sizeof tag, "%.*s", (int)(end - p), p);
        ck_assert_msg(strstr(tag, " src=\"/admin/") != NULL, "inline script: %s", tag);
        ck_assert_msg(strncmp(end, "></script>", 10) == 0, "a script with a body: %s", tag);
    }
    ck_assert_ptr_null(strstr(html, " on"));   /* no inline event handlers (onclick=...) */
    ck_assert_ptr_null(strstr(html, "style=")); /* nor inline styles */
}

START_TEST(pages_served_with_a_strict_policy)
{
    const char *pages[] = {"/admin/", "/admin/videos.html", "/admin/jobs.html", "/admin/users.html",
                           "/admin/audit.html", "/admin/signin.html"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        vft_response_t resp;
        get_page(f.cookie, pages[i], &resp);
        ck_assert_int_eq(resp.status, 200);
        char *csp = vft_header(&resp, "Content-Security-Policy", 0);
        ck_assert_ptr_nonnull(csp);
        ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
        ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
        ck_assert_ptr_nonnull(strstr(csp, "object-src 'none'"));
        ck_assert_ptr_null(strstr(csp, "unsafe"));
        free(csp);
        char *type = vft_header(&resp, "Content-Type", 0);
        ck_assert_str_eq(type, "text/html; charset=utf-8");
        free(type);
        char *nosniff = vft_header(&resp, "X-Content-Type-Options", 0);
        ck_assert_str_eq(nosniff, "nosniff");
        free(nosniff);
        assert_no_inline_script(resp.body);
        vft_response_free(&resp);
    }
    /* Staff get the page they asked for; viewers and strangers the sign-in page. */
    vft_response_t resp;
    get_page(f.cookie, "/admin/jobs.html", &resp);
    ck_assert_ptr_nonnull(strstr(resp.body, "<title>Videoflix admin · jobs</title>"));
    vft_response_free(&resp);
    get_page(viewer_cookie, "/admin/jobs.html", &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_ptr_nonnull(strstr(resp.body, "<title>Videoflix admin · sign in</title>"));
    vft_response_free(&resp);
    get_page(NULL, "/admin/", &resp);
    ck_assert_ptr_nonnull(strstr(resp.body, "<title>Videoflix admin · sign in</title>"));
    vft_response_free(&resp);
    /* Scripts and styles for anyone (the sign-in page needs them), typed. */
    get_page(NULL, "/admin/js/api.js", &resp);
    ck_assert_int_eq(resp.status, 200);
    char *type = vft_header(&resp, "Content-Type", 0);
    ck_assert_str_eq(type, "text/javascript; charset=utf-8");
    free(type);
    vft_response_free(&resp);
    get_page(NULL, "/admin/vendor/tus.min.js", &resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_gt(resp.body_len, 10000);
    vft_response_free(&resp);
    /* Nothing else: hidden files, other folders, unknown kinds. */
    const char *refused[] = {"/admin/vendor/.vf-installed", "/admin/../README.md", "/admin/js/%2e%2e/%2e%2e/README.md",
                             "/admin/js/../../README.md", "/admin/nothing.js", "/admin/js", "/admin/js/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        get_page(f.cookie, refused[i], &resp);
        ck_assert_msg(resp.status == 404 || resp.status == 400, "%s: %ld", refused[i], resp.status);
        ck_assert_ptr_null(strstr(resp.body, "Videoflix"));
        vft_response_free(&resp);
    }
}
END_TEST

/* ------------------------------------------------------------- events */

typedef struct sse {
    int fd;
    char buf[256 * 1024];
    size_t len;
} sse_t;

/* Open the event stream of the server on `port` with `cookie`. */
static void sse_open_on(sse_t *e, int port, const char *cookie)
{
    e->len = 0;
    e->fd = vft_connect(port, 2000);
    ck_assert_int_ge(e->fd, 0);
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "GET /admin/api/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                     "Cookie: %s\r\n\r\n",
                     cookie);
    ck_assert_int_eq(write(e->fd, req, (size_t)n), n);
}

/* Open the event stream with the staff cookie. */
static void sse_open(sse_t *e) { sse_open_on(e, f.port, f.cookie); }

/* Read until `needle` appears after byte `from` (or timeout_ms passes);
 * the offset just past it, or -1.  Reads give up after 2 s each (vft_connect). */
static long sse_wait(sse_t *e, size_t from, const char *needle, int timeout_ms)
{
    for (int waited = 0;; waited += 2000) {
        e->buf[e->len] = '\0';
        char *hit = from <= e->len ? strstr(e->buf + from, needle) : NULL;
        if (hit)
            return (long)(hit - e->buf) + (long)strlen(needle);
        if (waited >= timeout_ms || e->len + 1 >= sizeof e->buf)
            return -1;
        ssize_t n = read(e->fd, e->buf + e->len, sizeof e->buf - e->len - 1);
        if (n == 0)
            return -1;
        if (n > 0)
            e->len += (size_t)n;
    }
}

static json_int_t event_clients(void)
{
    json_t *sum = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/summary/", NULL, &sum), 200);
    json_int_t n = json_integer_value(json_object_get(sum, "event_clients"));
    json_decref(sum);
    return n;
}

START_TEST(events_stream_live_changes)
{
    sse_t *e = calloc(1, sizeof *e);
    sse_open(e);
    long at = sse_wait(e, 0, "\r\n\r\n", 10000);
    ck_assert_msg(at > 0, "no head: %s", e->buf);
    ck_assert_ptr_nonnull(strstr(e->buf, "HTTP/1.1 200"));
    ck_assert_ptr_nonnull(strstr(e->buf, "Content-Type: text/event-stream"));
    ck_assert_ptr_nonnull(strstr(e->buf, "Transfer-Encoding: chunked"));
    at = sse_wait(e, (size_t)at, "event: hello\ndata: {\"heartbeat\": 1}\n\n", 10000);
    ck_assert_int_gt(at, 0);
    ck_assert_int_eq(event_clients(), 1);

    /* A new video: its row and its jobs appear as they change. */
    char upload[33];
    upload_bytes(upload);
    int64_t id = ufix_create_video(&f, "Live clip", "Action", upload);
    ck_assert_int_gt(id, 0);
    char want[128];
    snprintf(want, sizeof want, "event: video\ndata: {\"id\" : %" PRId64 ", \"op\" : \"insert\"", id);
    long v = sse_wait(e, (size_t)at, want, 30000);
    ck_assert_msg(v > 0, "no video event %s in: %s", want, e->buf + at);
    long j = sse_wait(e, (size_t)at, "event: job\ndata: {", 30000);
    ck_assert_msg(j > 0, "no job event in: %s", e->buf + at);
    ck_assert_ptr_nonnull(strstr(e->buf + j, "\"state\":\"queued\""));

    /* An edit, and a job cancelled from the dashboard. */
    char path[128];
    snprintf(path, sizeof path, "/admin/api/videos/%" PRId64 "/", id);
    size_t mark = e->len;
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"title\": \"Live clip, renamed\"}", NULL), 200);
    snprintf(want, sizeof want, "event: video\ndata: {\"id\" : %" PRId64 ", \"op\" : \"update\"", id);
    ck_assert_int_gt(sse_wait(e, mark, want, 30000), 0);
    json_t *page = NULL;
    ck_assert_int_eq(ufix_json(&f, "GET", "/admin/api/jobs/?state=queued&limit=1", NULL, &page), 200);
    char job[64], cancel[128];
    snprintf(job, sizeof job, "%s", json_string_value(json_object_get(json_array_get(json_object_get(page, "results"), 0), "id")));
    json_decref(page);
    snprintf(cancel, sizeof cancel, "/admin/api/jobs/%s/cancel/", job);
    mark = e->len;
    ck_assert_int_eq(ufix_json(&f, "POST", cancel, NULL, NULL), 200);
    snprintf(want, sizeof want, "\"id\":\"%s\"", job);
    long c = sse_wait(e, mark, want, 30000);
    ck_assert_msg(c > 0, "no event for job %s in: %s", job, e->buf + mark);
    ck_assert_ptr_nonnull(strstr(e->buf + mark, "\"state\":\"failed\""));

    /* The users and audit pages follow too: a new account, a change of it
     * and the audit row of that change arrive as `user` and `audit`. */
    char cookie[4096];
    int64_t uid;
    mark = e->len;
    ck_assert_int_eq(ufix_user(&f, "frank@example.com", "frank-password-1", 0, cookie, sizeof cookie, &uid), 0);
    snprintf(want, sizeof want, "event: user\ndata: {\"id\" : %" PRId64 ", \"op\" : \"insert\"", uid);
    ck_assert_msg(sse_wait(e, mark, want, 30000) > 0, "no %s in: %s", want, e->buf + mark);
    snprintf(path, sizeof path, "/admin/api/users/%" PRId64 "/", uid);
    mark = e->len;
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_staff\": true}", NULL), 200);
    snprintf(want, sizeof want,
             "event: user\ndata: {\"id\" : %" PRId64 ", \"op\" : \"update\", \"is_active\" : true, "
             "\"is_staff\" : true}", uid);
    ck_assert_msg(sse_wait(e, mark, want, 30000) > 0, "no %s in: %s", want, e->buf + mark);
    snprintf(want, sizeof want, "\"action\" : \"user.update\", \"object_type\" : \"user\", \"object_id\" : \"%" PRId64 "\"}",
             uid);
    long a = sse_wait(e, mark, want, 30000);
    ck_assert_msg(a > 0, "no audit event %s in: %s", want, e->buf + mark);
    ck_assert_ptr_nonnull(strstr(e->buf + mark, "event: audit\ndata: {\"id\" : "));
    ck_assert_ptr_null(strstr(e->buf + mark, "password"));

    /* Heartbeats keep an idle stream alive. */
    mark = e->len;
    ck_assert_int_gt(sse_wait(e, mark, ": keep-alive\n\n", 30000), 0);

    /* A client that goes away is dropped (at its next heartbeat at most). */
    close(e->fd);
    json_int_t n = 1;
    for (int waited = 0; waited < 60000 && (n = event_clients()) != 0; waited += 200)
        sleep_ms(200);
    ck_assert_int_eq(n, 0);
    free(e);
}
END_TEST

START_TEST(events_end_when_the_session_is_revoked)
{
    char cookie[4096];
    int64_t other;
    ck_assert_int_eq(ufix_user(&f, OTHER_EMAIL, OTHER_PASSWORD, 1, cookie, sizeof cookie, &other), 0);
    sse_t *e = calloc(1, sizeof *e);
    e->fd = vft_connect(f.port, 2000);
    ck_assert_int_ge(e->fd, 0);
    char req[8192];
    int n = snprintf(req, sizeof req, "GET /admin/api/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n",
                     cookie);
    ck_assert_int_eq(write(e->fd, req, (size_t)n), n);
    long at = sse_wait(e, 0, "event: hello", 10000);
    ck_assert_int_gt(at, 0);
    /* Demoted by another staff member: the stream ends (at its next
     * heartbeat at most), with the last chunk. */
    char path[128];
    snprintf(path, sizeof path, "/admin/api/users/%" PRId64 "/", other);
    ck_assert_int_eq(ufix_json(&f, "PATCH", path, "{\"is_staff\": false}", NULL), 200);
    ck_assert_msg(sse_wait(e, (size_t)at, "0\r\n\r\n", 30000) > 0, "the stream went on: %s", e->buf + at);
    close(e->fd);
    free(e);
}
END_TEST

/* Last: the server is stopped here, with a stream open. */
/* A server whose access tokens live 10 s (the shortest allowed): a stream
 * ends, after an `expired` event, when the token it was opened with
 * expires; the old cookie opens no new one, the renewed session does. */
static ufix_t short_lived;

START_TEST(events_end_when_the_access_token_expires)
{
    ufix_opts_t opts = {.auth = "access_ttl = 10;"};
    ck_assert_int_eq(ufix_setup(&short_lived, &opts), 0);
    sse_t *e = calloc(1, sizeof *e);
    sse_open_on(e, short_lived.port, short_lived.cookie);
    long at = sse_wait(e, 0, "event: hello\n", 10000);
    ck_assert_msg(at > 0, "no hello: %s", e->buf);
    /* Within the token's life and a little more: `expired`, then the end
     * of the chunked body. */
    long x = sse_wait(e, (size_t)at, "event: expired\ndata: {}\n\n", 30000);
    ck_assert_msg(x > 0, "the stream outlived its token: %s", e->buf + at);
    ck_assert_int_gt(sse_wait(e, (size_t)x, "\r\n0\r\n\r\n", 10000), 0);
    close(e->fd);

    /* What the page does next: the old cookie is refused; renewed
     * (POST /users/refresh/, new cookies), a new stream opens. */
    sse_open_on(e, short_lived.port, short_lived.cookie);
    ck_assert_msg(sse_wait(e, 0, "HTTP/1.1 401", 10000) > 0, "an expired token opened a stream: %s", e->buf);
    close(e->fd);
    char url[256];
    snprintf(url, sizeof url, "%s/users/refresh/", short_lived.base);
    const char *headers[] = {"Content-Type: application/json", NULL};
    vft_response_t resp;
    ck_assert_int_eq(vft_http_raw("POST", url, "{}", 2, headers, short_lived.cookie, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    char renewed[4096] = "";
    for (int i = 0;; i++) {
        char *set = vft_header(&resp, "Set-Cookie", i);
        if (!set)
            break;
        size_t used = strlen(renewed);
        snprintf(renewed + used, sizeof renewed - used, "%s%.*s", used ? "; " : "", (int)strcspn(set, ";"), set);
        free(set);
    }
    vft_response_free(&resp);
    ck_assert_msg(strstr(renewed, "vf_access="), "no new access cookie: %s", renewed);
    sse_open_on(e, short_lived.port, renewed);
    ck_assert_msg(sse_wait(e, 0, "event: hello\n", 10000) > 0, "the renewed session opened no stream: %s", e->buf);
    close(e->fd);
    free(e);
    ufix_teardown(&short_lived);
}
END_TEST

START_TEST(server_stops_with_streams_open)
{
    sse_t *e = calloc(1, sizeof *e);
    sse_open(e);
    ck_assert_int_gt(sse_wait(e, 0, "event: hello", 10000), 0);
    /* SIGTERM: open streams are ended at once, not waited for (the
     * server's shutdown_timeout is 10 s). */
    ck_assert_int_eq(kill(f.server_pid, SIGTERM), 0);
    ck_assert_int_gt(sse_wait(e, 0, "0\r\n\r\n", 5000), 0);
    char log[4096];
    snprintf(log, sizeof log, "%s/server.log", f.dir);
    char *text = NULL;
    for (int waited = 0; waited < 5000; waited += 100) {
        size_t len = 0;
        free(text);
        text = vft_read_file(log, &len);
        if (text && strstr(text, "http: stopped"))
            break;
        sleep_ms(100);
    }
    ck_assert_msg(text && strstr(text, "http: stopped"), "the server did not stop cleanly");
    ck_assert_ptr_null(strstr(text, "still open after the shutdown timeout"));
    free(text);
    close(e->fd);
    free(e);
}
END_TEST

static Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("api");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, every_route_refuses_anonymous_and_viewers);
    tcase_add_test(tc, video_actions_are_audited);
    tcase_add_test(tc, videos_listed_in_keyset_pages);
    tcase_add_test(tc, videos_sorted_in_keyset_pages_at_10000);
    tcase_add_test(tc, users_listed_and_searched);
    tcase_add_test(tc, staff_cannot_demote_or_delete_themselves);
    tcase_add_test(tc, rights_changes_revoke_sessions_at_once);
    tcase_add_test(tc, deleting_a_user_takes_favourites_with_it);
    tcase_add_test(tc, account_emails_are_queued_and_sent);
    tcase_add_test(tc, jobs_dashboard);
    tcase_add_test(tc, video_sizes_jobs_and_cancel);
    tcase_add_test(tc, pages_served_with_a_strict_policy);
    tcase_add_test(tc, events_stream_live_changes);
    tcase_add_test(tc, events_end_when_the_session_is_revoked);
    tcase_add_test(tc, server_stops_with_streams_open);
    suite_add_tcase(s, tc);
    /* Its own server: short-lived access tokens. */
    tc = tcase_create("expiry");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, events_end_when_the_access_token_expires);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(admin_suite)
