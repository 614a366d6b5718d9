/*
 * check_import_django.c - `videoflix import-django` from a source database
 * made by Django 3.2 itself (tests/django/build_source.py: makemigrations
 * and migrate of a project with the old backend's tables, filled with a
 * user per hasher, an unusable and an inactive user, videos with files,
 * favourites), into a running Videoflix (uploads_fixture):
 *   imports     --dry-run changes nothing; the import logs in every user
 *               with the old password over HTTP (pbkdf2_sha256, argon2,
 *               bcrypt_sha256, md5; each hash then Argon2id), not the
 *               unusable or inactive one; profile fields kept; the
 *               catalogue has the titles, a complete video ready with the
 *               same bytes behind its URLs, one without renditions queued,
 *               one without its source reported as skipped; favourites
 *               kept; a second run changes nothing
 *   into_s3     the same into storage_s3: the files behind the URLs
 *   from_s3_source  the Django files in a bucket (--source-storage)
 *   not_django  a database without the Django tables: exit 1, the message
 *               names the missing table
 *   killed      SIGKILL in the middle of a run (thousands of users), then
 *               a second run: every row once, nothing half-made
 */
#include "config.h"
#include "uploads_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The Django side: its database, MEDIA_ROOT and project copy. */
typedef struct django {
    char *conninfo;
    char *dir;
    char media_root[4096];
    /* Where import-django reads the files: "--media-root '<media_root>'",
     * or --source-storage. */
    char source[4200];
} django_t;

static ufix_t f;
static django_t dj;

static const char *const media_ladder =
    "renditions = ( { name = \"120p\"; height = 120; }, { name = \"360p\"; height = 360; }, "
    "{ name = \"720p\"; height = 720; }, { name = \"1080p\"; height = 1080; } );";

static void build_django(int bulk_users)
{
    dj.conninfo = vft_pg_create("vf_django");
    dj.dir = vft_tmpdir("vf-django");
    ck_assert_ptr_nonnull(dj.conninfo);
    ck_assert_ptr_nonnull(dj.dir);
    snprintf(dj.media_root, sizeof dj.media_root, "%s/media", dj.dir);
    snprintf(dj.source, sizeof dj.source, "--media-root '%s'", dj.media_root);
    char *out = NULL;
    /* Debian's Python and its Django packages, never another interpreter
     * on PATH; a missing package fails here. */
    int rc = vft_sh(&out,
                    "VF_DJANGO_DSN='%s' VF_DJANGO_MEDIA_ROOT='%s' VF_DJANGO_BULK_USERS=%d "
                    "/usr/bin/python3 '%s/tests/django/build_source.py' '%s/project' 2>&1",
                    dj.conninfo, dj.media_root, bulk_users, getenv("VF_SRCDIR"), dj.dir);
    ck_assert_msg(rc == 0, "build_source.py failed (%d): %s", rc, out ? out : "");
    free(out);
}

static void setup(void)
{
    /* Many logins from one address: no rate limit in the way. */
    ufix_opts_t opts = {.media = media_ladder, .extra = "ratelimit = { login_limit = 0; };"};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    memset(&dj, 0, sizeof dj);
}

/* The same with storage_s3 on the test bucket as Videoflix's storage. */
static void setup_s3(void)
{
    ufix_opts_t opts = {.media = media_ladder, .s3 = 1, .extra = "ratelimit = { login_limit = 0; };"};
    ck_assert_int_eq(ufix_setup(&f, &opts), 0);
    memset(&dj, 0, sizeof dj);
}

static void teardown(void)
{
    ufix_teardown(&f);
    if (dj.conninfo)
        vft_pg_drop(dj.conninfo);
    if (dj.dir && !getenv("VF_TEST_KEEP"))
        vft_rmrf(dj.dir);
    free(dj.conninfo);
    free(dj.dir);
}

/* Run import-django with extra arguments; its exit status, and its stdout
 * and stderr into *out. */
static int import(const char *dsn, const char *extra, char **out)
{
    return vft_sh(out, "'%s' --config '%s' import-django --dsn '%s' %s %s 2>&1", getenv("VF_BINARY"), f.config, dsn,
                  dj.source, extra);
}

static long sql_long(const char *sql)
{
    char *v = ufix_sql(&f, sql);
    ck_assert_msg(v != NULL, "query failed: %s", sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* Everything the import writes, as one digest: equal digests, nothing
 * changed. */
static char *snapshot(void)
{
    char *s = ufix_sql(&f, "SELECT md5(concat_ws('|', "
                           "(SELECT string_agg(t::text, ',' ORDER BY t.id) FROM users t), "
                           "(SELECT string_agg(t::text, ',' ORDER BY t.id) FROM videos t), "
                           "(SELECT string_agg(t::text, ',' ORDER BY t::text) FROM video_renditions t), "
                           "(SELECT string_agg(t::text, ',' ORDER BY t::text) FROM user_favorites t), "
                           "(SELECT string_agg(t::text, ',' ORDER BY t::text) FROM video_tasks t), "
                           "(SELECT string_agg(t::text, ',' ORDER BY t::text) FROM django_import_map t)))");
    ck_assert_ptr_nonnull(s);
    return s;
}

/* GET path with a user's cookie; the parsed JSON body. */
static json_t *get_as(const char *cookie, const char *path, long *status)
{
    char header[4200];
    snprintf(header, sizeof header, "Cookie: %s", cookie);
    const char *headers[] = {header, NULL};
    ufix_resp_t resp;
    ck_assert_int_eq(ufix_request(&f, "GET", path, headers, NULL, 0, 0, &resp), 0);
    *status = resp.status;
    json_t *body = json_loads(resp.body ? resp.body : "", 0, NULL);
    ufix_resp_free(&resp);
    return body;
}

/* The URL the API gives for a video (quality NULL: the source) serves the
 * bytes of the Django file `name`. */
static void assert_url_serves(const char *cookie, json_int_t id, const char *quality, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/content/video-url/%lld/%s%s", (long long)id, quality ? "?quality=" : "",
             quality ? quality : "");
    long status = 0;
    json_t *body = get_as(cookie, path, &status);
    ck_assert_msg(status == 200, "%s: %ld", path, status);
    const char *url = json_string_value(json_object_get(body, "url"));
    ck_assert_ptr_nonnull(url);
    vft_response_t resp;
    ck_assert_int_eq(vft_http_raw("GET", url, NULL, 0, NULL, cookie, &resp), 0);
    ck_assert_msg(resp.status == 200, "%s: %ld", url, resp.status);
    char file[8192];
    snprintf(file, sizeof file, "%s/%s", dj.media_root, name);
    size_t len = 0;
    char *want = vft_read_file(file, &len);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(resp.body_len == len && memcmp(resp.body, want, len) == 0, "%s does not serve %s", url, name);
    free(want);
    vft_response_free(&resp);
    json_decref(body);
}

/* The report's line for a table holds these counts. */
static int report_has(const char *out, const char *table, int imported, int earlier, int skipped, int queued)
{
    char line[128];
    snprintf(line, sizeof line, "  %-12s %9d %9d %9d %9d\n", table, imported, earlier, skipped, queued);
    return strstr(out, line) != NULL;
}

static json_t *video_titled(json_t *list, const char *title)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(json_object_get(v, "title")), title) == 0) return v;
    return NULL;
}

START_TEST(imports)
{
    build_django(0);
    long users_before = sql_long("SELECT count(*) FROM users");
    char *out = NULL;

    /* --dry-run: says what it would do, writes nothing. */
    int rc = import(dj.conninfo, "--dry-run", &out);
    ck_assert_msg(rc == 0, "dry run: %d: %s", rc, out);
    ck_assert_msg(strstr(out, "would import user 1 (alice@example.com)") && strstr(out, "would import video") &&
                      strstr(out, "dry run: nothing was changed") && report_has(out, "users", 6, 0, 0, 0) &&
                      report_has(out, "videos", 2, 0, 1, 1) && report_has(out, "favourites", 3, 0, 0, 0),
                  "%s", out);
    free(out);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM users"), users_before);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM videos"), 0);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM django_import_map"), 0);
    ck_assert_int_eq(ufix_count_files(f.media_root) > 0 ? 1 : 0, 0);

    rc = import(dj.conninfo, "", &out);
    ck_assert_msg(rc == 0, "import: %d: %s", rc, out);
    /* users: 6 imported; videos: 2 (1 queued), 1 skipped; favourites: 3. */
    ck_assert_msg(report_has(out, "users", 6, 0, 0, 0) &&
                      report_has(out, "videos", 2, 0, 1, 1) &&
                      report_has(out, "favourites", 3, 0, 0, 0) &&
                      strstr(out, "skipped video 3 (Lost Film): its source file") &&
                      strstr(out, "video 2 (Half Film): category \"\" is not one of the genres"),
                  "%s", out);
    free(out);

    /* Profiles as they were. */
    char *row = ufix_sql(&f, "SELECT concat_ws('|', username, is_staff, is_superuser, phone, address, "
                             "date_joined AT TIME ZONE 'UTC', last_login AT TIME ZONE 'UTC', "
                             "email_confirmed_at IS NOT NULL) FROM users WHERE email = 'alice@example.com'");
    ck_assert_str_eq(row, "alice@example.com|t|t|+49 30 1234|1 Old Street|2024-01-02 03:04:05|2024-06-07 08:09:10|t");
    free(row);
    row = ufix_sql(&f, "SELECT concat_ws('|', is_active, email_confirmed_at IS NULL, password) FROM users "
                       "WHERE email = 'frank@example.com'");
    ck_assert_msg(strncmp(row, "f|t|pbkdf2_sha256$", 18) == 0, "%s", row);
    free(row);
    row = ufix_sql(&f, "SELECT password FROM users WHERE email = 'erin@example.com'");
    ck_assert_str_eq(row, "!");
    free(row);

    /* Every hasher logs in with the old password, and is upgraded. */
    static const char *const logins[][2] = {
        {"alice@example.com", "pbkdf2_sha256$"}, {"bob@example.com", "argon2$argon2id$"},
        {"carol@example.com", "bcrypt_sha256$"}, {"dave@example.com", "md5$"}};
    char alice[4096], bob[4096], cookie[4096];
    for (size_t i = 0; i < sizeof logins / sizeof *logins; i++) {
        const char *email = logins[i][0];
        char sql[256], password[128];
        snprintf(sql, sizeof sql, "SELECT password FROM users WHERE email = '%s'", email);
        row = ufix_sql(&f, sql);
        ck_assert_msg(strncmp(row, logins[i][1], strlen(logins[i][1])) == 0, "%s: %s", email, row);
        free(row);
        snprintf(password, sizeof password, "Old-Passw0rd-%.*s", (int)strcspn(email, "@"), email);
        ck_assert_int_eq(ufix_login(&f, email, "Wrong-Passw0rd", cookie, sizeof cookie), 400);
        char *jar = i == 0 ? alice : i == 1 ? bob : cookie;
        long status = ufix_login(&f, email, password, jar, sizeof cookie);
        ck_assert_msg(status == 200, "%s cannot log in: %ld", email, status);
        int upgraded = 0;
        for (int t = 0; t < 100 && !upgraded; t++) {
            row = ufix_sql(&f, sql);
            upgraded = strncmp(row, "$argon2id$", 10) == 0;
            free(row);
            if (!upgraded)
                usleep(50 * 1000);
        }
        ck_assert_msg(upgraded, "%s: hash not upgraded to Argon2id", email);
        ck_assert_int_eq(ufix_login(&f, email, password, cookie, sizeof cookie), 200);
    }
    ck_assert_int_eq(ufix_login(&f, "erin@example.com", "Old-Passw0rd-erin", cookie, sizeof cookie), 400);
    ck_assert_int_eq(ufix_login(&f, "erin@example.com", "", cookie, sizeof cookie), 400);
    ck_assert_int_eq(ufix_login(&f, "frank@example.com", "Old-Passw0rd-frank", cookie, sizeof cookie), 400);

    /* The catalogue: the titles, the complete video ready and playable. */
    long status = 0;
    json_t *list = get_as(alice, "/content/", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_int_eq(json_array_size(list), 2);
    json_t *complete = video_titled(list, "Complete Film");
    json_t *half = video_titled(list, "Half Film");
    ck_assert_ptr_nonnull(complete);
    ck_assert_ptr_nonnull(half);
    ck_assert_ptr_null(video_titled(list, "Lost Film"));
    ck_assert_str_eq(json_string_value(json_object_get(complete, "processing_state")), "ready");
    ck_assert_str_eq(json_string_value(json_object_get(complete, "category")), "Drama");
    ck_assert_str_eq(json_string_value(json_object_get(complete, "description")), "About Complete Film");
    ck_assert_str_eq(json_string_value(json_object_get(complete, "created_at")), "2023-05-06T07:08:09.000000Z");
    ck_assert_int_eq(json_object_size(json_object_get(complete, "converted_files")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(half, "processing_state")), "pending");
    ck_assert_str_eq(json_string_value(json_object_get(half, "category")), "Other");
    json_int_t complete_id = json_integer_value(json_object_get(complete, "id"));
    json_int_t half_id = json_integer_value(json_object_get(half, "id"));
    assert_url_serves(alice, complete_id, NULL, "videos/complete.mp4");
    assert_url_serves(alice, complete_id, "120p", "videos/complete_120p.mp4");
    assert_url_serves(alice, complete_id, "1080p", "videos/complete_1080p.mp4");
    assert_url_serves(bob, half_id, NULL, "videos/half.mp4");
    /* Nothing re-encoded for the complete one; the other has its jobs. */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM video_tasks WHERE video_id = %lld", (long long)complete_id);
    ck_assert_int_eq(sql_long(sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM video_tasks WHERE video_id = %lld", (long long)half_id);
    ck_assert_int_eq(sql_long(sql), 5);
    json_decref(list);

    /* Favourites, as the login answer and the database hold them. */
    json_t *me = get_as(alice, "/users/me/", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(me, "favorite_videos")), 2);
    json_decref(me);
    me = get_as(bob, "/users/me/", &status);
    ck_assert_int_eq(json_array_size(json_object_get(me, "favorite_videos")), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(me, "favorite_videos"), 0)), complete_id);
    json_decref(me);

    /* Again: nothing changes (not even the upgraded hashes). */
    char *before = snapshot();
    rc = import(dj.conninfo, "", &out);
    ck_assert_msg(rc == 0, "second import: %d: %s", rc, out);
    ck_assert_msg(report_has(out, "users", 0, 6, 0, 0) &&
                      report_has(out, "videos", 0, 2, 1, 0) &&
                      report_has(out, "favourites", 0, 3, 0, 0),
                  "%s", out);
    free(out);
    char *after = snapshot();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

/* Import into an empty Videoflix, log in as `email`, and see the complete
 * video's source and `quality` served with the Django files' bytes. */
static void import_and_play(const char *email, const char *quality)
{
    char *out = NULL;
    int rc = import(dj.conninfo, "", &out);
    ck_assert_msg(rc == 0, "import: %d: %s", rc, out);
    ck_assert_msg(report_has(out, "users", 6, 0, 0, 0) && report_has(out, "videos", 2, 0, 1, 1) &&
                      strstr(out, "files copied: 7\n"),
                  "%s", out);
    free(out);
    char cookie[4096], password[128];
    snprintf(password, sizeof password, "Old-Passw0rd-%.*s", (int)strcspn(email, "@"), email);
    ck_assert_int_eq(ufix_login(&f, email, password, cookie, sizeof cookie), 200);
    long status = 0;
    json_t *list = get_as(cookie, "/content/", &status);
    ck_assert_int_eq(status, 200);
    json_t *complete = video_titled(list, "Complete Film");
    ck_assert_ptr_nonnull(complete);
    json_int_t id = json_integer_value(json_object_get(complete, "id"));
    assert_url_serves(cookie, id, NULL, "videos/complete.mp4");
    char name[64];
    snprintf(name, sizeof name, "videos/complete_%s.mp4", quality);
    assert_url_serves(cookie, id, quality, name);
    json_decref(list);
}

START_TEST(into_s3)
{
    build_django(0);
    import_and_play("carol@example.com", "720p");
}
END_TEST

/* Django's files in a bucket (django-storages): --source-storage names
 * storage_s3 on it; the MEDIA_ROOT copy is not given to the import. */
START_TEST(from_s3_source)
{
    build_django(0);
    char err[512];
    vf_plugin_t *bucket = ufix_s3_plugin(err, sizeof err);
    ck_assert_msg(bucket != NULL, "%s", err);
    char *list = NULL;
    ck_assert_int_eq(vft_sh(&list, "cd '%s' && find . -type f | sed 's|^\\./||'", dj.media_root), 0);
    int uploaded = 0;
    for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n")) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dj.media_root, name);
        vf_error_t verr = {0};
        ck_assert_msg(vf_storage_ops(bucket)->put_file(bucket->state, name, path, &verr) == 0, "%s: %s", name,
                      verr.message);
        uploaded++;
    }
    free(list);
    vft_plugin_free(bucket);
    ck_assert_int_eq(uploaded, 14);
    char conf[4096];
    snprintf(conf, sizeof conf, "%s/source.conf", dj.dir);
    FILE *fp = fopen(conf, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp,
            "storage = { plugin = \"storage_s3\"; settings = { bucket = \"%s\"; endpoint = \"%s\"; "
            "access_key_id_env = \"VF_TEST_S3_ACCESS_KEY\"; secret_access_key_env = \"VF_TEST_S3_SECRET_KEY\"; }; };\n",
            getenv("VF_TEST_S3_BUCKET"), getenv("VF_TEST_S3_ENDPOINT"));
    ck_assert_int_eq(fclose(fp), 0);
    snprintf(dj.source, sizeof dj.source, "--source-storage '%s'", conf);
    import_and_play("dave@example.com", "360p");
}
END_TEST

START_TEST(not_django)
{
    char *out = NULL;
    memset(&dj, 0, sizeof dj);
    snprintf(dj.media_root, sizeof dj.media_root, "%s", f.media_root);
    snprintf(dj.source, sizeof dj.source, "--media-root '%s'", dj.media_root);
    /* The Videoflix database itself has none of Django's tables. */
    int rc = import(f.conninfo, "", &out);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(out, "not a Django Videoflix database: table users_app_userprofile is missing"), "%s", out);
    free(out);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM django_import_map"), 0);
}
END_TEST

START_TEST(killed)
{
    const int bulk = 4000, users = bulk + 6;
    build_django(bulk);
    char log[4096];
    snprintf(log, sizeof log, "%s/import.log", dj.dir);
    char *argv[] = {getenv("VF_BINARY"), "--config", f.config, "import-django", "--dsn", dj.conninfo,
                    "--media-root", dj.media_root, NULL};
    int pid = vft_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    long mapped = 0;
    for (int t = 0; t < 2000 && mapped < 100; t++) {
        usleep(5 * 1000);
        mapped = sql_long("SELECT count(*) FROM django_import_map");
    }
    ck_assert_int_eq(vft_stop(pid, SIGKILL, 5000), 128 + SIGKILL);
    mapped = sql_long("SELECT count(*) FROM django_import_map WHERE kind = 'user'");
    ck_assert_msg(mapped >= 100 && mapped < users, "killed after %ld of %d users", mapped, users);
    /* Whole rows only: every user made is mapped, and the other way round. */
    ck_assert_int_eq(sql_long("SELECT count(*) FROM users u JOIN django_import_map m "
                              "ON m.kind = 'user' AND m.local_id = u.id"),
                     mapped);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM users WHERE email LIKE '%@example.com' "
                              "AND email <> 'staff@example.com'"),
                     mapped);

    char *out = NULL;
    int rc = import(dj.conninfo, "", &out);
    ck_assert_msg(rc == 0, "resumed import: %d: %s", rc, out);
    ck_assert_msg(report_has(out, "users", users - (int)mapped, (int)mapped, 0, 0), "after %ld: %s", mapped, out);
    free(out);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM django_import_map WHERE kind = 'user'"), users);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM users WHERE email <> 'staff@example.com'"), users);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM videos"), 2);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM user_favorites"), 3);
    ck_assert_int_eq(ufix_login(&f, "dave@example.com", "Old-Passw0rd-dave", log, sizeof log), 200);
}
END_TEST

static Suite *import_django_suite(void)
{
    Suite *s = suite_create("import_django");
    TCase *tc = tcase_create("import_django");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, imports);
    tcase_add_test(tc, not_django);
    tcase_add_test(tc, from_s3_source);
    tcase_add_test(tc, killed);
    suite_add_tcase(s, tc);
    TCase *s3 = tcase_create("import_django_s3");
    tcase_add_checked_fixture(s3, setup_s3, teardown);
    tcase_set_timeout(s3, 240);
    tcase_add_test(s3, into_s3);
    suite_add_tcase(s, s3);
    return s;
}

VFT_MAIN(import_django_suite)
