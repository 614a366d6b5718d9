/*
 * check_config.c - configuration parsing: defaults, every problem reported
 * with file:line, unknown keys and sections, wrong types and ranges, secrets
 * from the environment and from files, the rendition ladder, and the shipped
 * config files themselves.
 */
#include "config.h"
#include "vftest.h"
#include "core/config/conf.h"

#include <stdio.h>
#include <string.h>

static vf_config_t *load(const char *text, char **errors)
{
    return vf_config_load_string(text, "test.conf", errors);
}

START_TEST(defaults_when_empty)
{
    char *errors = NULL;
    vf_config_t *cfg = load("", &errors);
    ck_assert_msg(cfg != NULL, "errors: %s", errors);
    ck_assert_int_eq(cfg->server.port, 8000);
    ck_assert_str_eq(cfg->server.listen_address, "127.0.0.1");
    ck_assert_uint_eq(cfg->server.cors_origins.n, 2);
    ck_assert_str_eq(cfg->server.cors_origins.items[0], "http://localhost:4200");
    ck_assert_str_eq(cfg->auth.cookie_access, "vf_access");
    ck_assert_int_eq(cfg->auth.access_ttl, 300);
    ck_assert_int_eq(cfg->auth.remember_ttl, 604800);
    ck_assert_str_eq(cfg->storage.plugin, "storage_local");
    ck_assert_ptr_null(cfg->storage.settings);
    ck_assert_uint_eq(cfg->media.nrenditions, 4);
    ck_assert_str_eq(cfg->media.renditions[3].name, "1080p");
    ck_assert_int_eq(cfg->media.renditions[3].height, 1080);
    ck_assert_int_eq(cfg->upload.max_size, (int64_t)20 << 30);
    ck_assert_int_eq(cfg->upload.chunk_max, 16 << 20);
    ck_assert_int_eq(cfg->server.storage_threads, 4);
    ck_assert_int_eq(cfg->server.storage_queue, 16);
    ck_assert_ptr_null(cfg->auth.secret_key);
    vf_config_free(&cfg);
    ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(values_override_defaults)
{
    char *errors = NULL;
    vf_config_t *cfg = load("server = { port = 9000; cors_origins = [\"https://app.example\"]; };\n"
                            "upload = { max_size = 1000000000000L; };\n"
                            "media = { thumbnail_at = 2; renditions = ( { name = \"240p\"; height = 240; } ); };\n"
                            "queue = { types = ( { type = \"transcode\"; max_attempts = 3; timeout = 60; } ); };\n",
                            &errors);
    ck_assert_msg(cfg != NULL, "errors: %s", errors);
    ck_assert_int_eq(cfg->server.port, 9000);
    ck_assert_uint_eq(cfg->server.cors_origins.n, 1);
    ck_assert(vf_config_origin_allowed(cfg, "https://app.example", 19));
    ck_assert(!vf_config_origin_allowed(cfg, "https://app.example.evil", 24));
    ck_assert_int_eq(cfg->upload.max_size, 1000000000000LL);
    ck_assert(cfg->media.thumbnail_at == 2.0);
    ck_assert_uint_eq(cfg->media.nrenditions, 1);
    ck_assert_ptr_nonnull(vf_config_rendition(cfg, "240p"));
    ck_assert_ptr_null(vf_config_rendition(cfg, "720p"));
    ck_assert_int_eq(vf_config_job_max_attempts(cfg, "transcode"), 3);
    ck_assert_int_eq(vf_config_job_timeout(cfg, "transcode"), 60);
    ck_assert_int_eq(vf_config_job_max_attempts(cfg, "mail"), 5);
    vf_config_free(&cfg);
}
END_TEST

START_TEST(every_problem_with_its_line)
{
    char *errors = NULL;
    vf_config_t *cfg = load("server = {\n"
                            "  port = \"eighty\";\n"
                            "  threads = -1;\n"
                            "  colour = \"blue\";\n"
                            "};\n"
                            "nonsense = { a = 1; };\n"
                            "auth = { cookie_secure = 1; cookie_samesite = \"Sometimes\"; };\n",
                            &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(errors);
    ck_assert_msg(strstr(errors, "test.conf:2: server.port must be an integer, not a string"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:3: server.threads must be an integer in 0..256"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:4: unknown setting 'colour' in section 'server'"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:6: unknown section 'nonsense'"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:7: auth.cookie_secure must be true or false"), "%s", errors);
    ck_assert_msg(strstr(errors, "auth.cookie_samesite must be"), "%s", errors);
    free(errors);
    /* The storage pool needs a thread and room for one waiting request. */
    cfg = load("server = {\n  storage_threads = 0;\n  storage_queue = 0;\n};\n", &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, "test.conf:2: server.storage_threads must be an integer in 1..256"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:3: server.storage_queue must be an integer in 1..100000"), "%s", errors);
    free(errors);
}
END_TEST

/* Found by tests/fuzz/fuzz_config: a string setting given another type
 * was left unset, and the checks after the walk read it. */
START_TEST(wrong_type_strings_named)
{
    char *errors = NULL;
    vf_config_t *cfg = load("auth = { cookie_samesite = 2; };\n"
                            "log = { level = 1; };\n"
                            "mail = { transport = [ ]; smtp_tls = 3.5; };\n"
                            "media = { job_split = true; };\n"
                            "server = { public_origin = { }; };\n",
                            &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(errors);
    ck_assert_msg(strstr(errors, "test.conf:1: auth.cookie_samesite must be a string, not an integer"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:2: log.level must be a string, not an integer"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:3: mail.transport must be a string, not an array"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:3: mail.smtp_tls must be a string, not a number"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:4: media.job_split must be a string, not a boolean"), "%s", errors);
    ck_assert_msg(strstr(errors, "test.conf:5: server.public_origin must be a string, not a group"), "%s", errors);
    /* Only those: the defaults standing in for them pass the later checks. */
    int lines = 0;
    for (const char *p = errors; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    ck_assert_msg(lines == 6, "%s", errors);
    free(errors);
}
END_TEST

START_TEST(syntax_error_with_line)
{
    char *errors = NULL;
    vf_config_t *cfg = load("server = {\n port = 1;\n listen_address = ;\n};\n", &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, "test.conf:3: syntax error") != NULL, "%s", errors);
    free(errors);
}
END_TEST

START_TEST(samesite_none_needs_secure)
{
    char *errors = NULL;
    vf_config_t *cfg = load("auth = { cookie_samesite = \"None\"; };", &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, "requires auth.cookie_secure = true") != NULL, "%s", errors);
    free(errors);
    cfg = load("auth = { cookie_samesite = \"None\"; cookie_secure = true; };", &errors);
    ck_assert_ptr_nonnull(cfg);
    vf_config_free(&cfg);
}
END_TEST

/* An X-Accel-Redirect prefix is a plain path Nginx can match a location on. */
START_TEST(accel_redirect_is_a_path)
{
    const char *bad[] = {"protected-media/", "/protected-media", "/p?x/", "/p%2f/", "/p q/", "/p#/", "/p\\\\/"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128], *errors = NULL;
        snprintf(text, sizeof text, "media = { accel_redirect = \"%s\"; };", bad[i]);
        vf_config_t *cfg = load(text, &errors);
        ck_assert_msg(cfg == NULL, "accel_redirect '%s' was accepted", bad[i]);
        ck_assert_msg(strstr(errors, "test.conf:1: media.accel_redirect must be \"\" or a path"), "%s", errors);
        free(errors);
    }
    char *errors = NULL;
    vf_config_t *cfg = load("media = { accel_redirect = \"/protected-media/\"; };", &errors);
    ck_assert_msg(cfg != NULL, "%s", errors ? errors : "");
    ck_assert_str_eq(cfg->media.accel_redirect, "/protected-media/");
    vf_config_free(&cfg);
    cfg = load("", &errors);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(cfg->media.accel_redirect, "");
    vf_config_free(&cfg);
}
END_TEST

/* media.outputs: both by default; known names only, each once, at least
 * one; media.hls_segment_seconds in 1..15. */
START_TEST(media_outputs_and_segments)
{
    char *errors = NULL;
    vf_config_t *cfg = load("", &errors);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(cfg->media.output_mp4, 1);
    ck_assert_int_eq(cfg->media.output_hls, 1);
    ck_assert_int_eq(cfg->media.hls_segment_seconds, 4);
    vf_config_free(&cfg);
    cfg = load("media = { outputs = [\"hls\"]; hls_segment_seconds = 15; };", &errors);
    ck_assert_msg(cfg != NULL, "%s", errors ? errors : "");
    ck_assert_int_eq(cfg->media.output_mp4, 0);
    ck_assert_int_eq(cfg->media.output_hls, 1);
    ck_assert_int_eq(cfg->media.hls_segment_seconds, 15);
    vf_config_free(&cfg);
    cfg = load("media = { outputs = [\"mp4\"]; };", &errors);
    ck_assert_msg(cfg != NULL, "%s", errors ? errors : "");
    ck_assert_int_eq(cfg->media.output_mp4, 1);
    ck_assert_int_eq(cfg->media.output_hls, 0);
    vf_config_free(&cfg);
    static const struct {
        const char *text, *message;
    } bad[] = {
        {"media = {\n outputs = [\"mp4\", \"dash\"]; };",
         "test.conf:2: media.outputs: 'dash' is not an output (\"mp4\" or \"hls\")"},
        {"media = {\n outputs = [\"hls\", \"hls\"]; };", "test.conf:2: media.outputs: 'hls' appears twice"},
        {"media = {\n\n outputs = []; };", "test.conf:3: media.outputs must name at least one of \"mp4\" and \"hls\""},
        {"media = {\n outputs = \"mp4\"; };", "test.conf:2: media.outputs must be a list of strings"},
        {"media = { hls_segment_seconds = 0; };", "test.conf:1: media.hls_segment_seconds must be an integer in 1..15"},
        {"media = { hls_segment_seconds = 16; };", "test.conf:1: media.hls_segment_seconds must be an integer in 1..15"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errors = NULL;
        cfg = load(bad[i].text, &errors);
        ck_assert_msg(cfg == NULL, "accepted: %s", bad[i].text);
        ck_assert_msg(strstr(errors, bad[i].message), "%s: %s", bad[i].text, errors);
        free(errors);
    }
}
END_TEST

START_TEST(secrets_from_env_and_file)
{
    char *dir = vft_tmpdir("conf");
    char path[512];
    snprintf(path, sizeof path, "%s/db.pass", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("from-a-file\n", f);
    fclose(f);
    setenv("VF_TEST_SECRET_KEY", "0123456789abcdef0123456789abcdef-env", 1);
    char text[1024];
    snprintf(text, sizeof text,
             "auth = { secret_key_env = \"VF_TEST_SECRET_KEY\"; };\n"
             "database = { password_file = \"%s\"; };\n"
             "redis = { password = \"inline\"; };\n",
             path);
    char *errors = NULL;
    vf_config_t *cfg = load(text, &errors);
    ck_assert_msg(cfg != NULL, "errors: %s", errors);
    ck_assert_str_eq(cfg->auth.secret_key, "0123456789abcdef0123456789abcdef-env");
    ck_assert_str_eq(cfg->database.password, "from-a-file");
    ck_assert_str_eq(cfg->redis.password, "inline");
    vf_config_free(&cfg);

    snprintf(text, sizeof text, "database = { password_file = \"%s/missing\"; };\n", dir);
    cfg = load(text, &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, "database.password_file: cannot read") != NULL, "%s", errors);
    free(errors);

    setenv("VF_TEST_SECRET_KEY", "short", 1);
    cfg = load("auth = { secret_key_env = \"VF_TEST_SECRET_KEY\"; };", &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, "at least 32 bytes") != NULL, "%s", errors);
    free(errors);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(bad_renditions)
{
    char *errors = NULL;
    vf_config_t *cfg = load("media = { renditions = (\n"
                            "  { name = \"720p\"; height = 721; },\n"
                            "  { name = \"Bad Name\"; height = 240; },\n"
                            "  { name = \"x\"; },\n"
                            "  { name = \"360p\"; height = 360; },\n"
                            "  { name = \"360p\"; height = 360; }\n"
                            "); };\n",
                            &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, ":2: media.renditions[0].height must be an even number"), "%s", errors);
    ck_assert_msg(strstr(errors, ":3: media.renditions[1].name must be"), "%s", errors);
    ck_assert_msg(strstr(errors, ":4: media.renditions[2] must be"), "%s", errors);
    ck_assert_msg(strstr(errors, "'360p' appears twice"), "%s", errors);
    free(errors);
}
END_TEST

/* The files we ship must load as they are. */
START_TEST(shipped_configs_load)
{
    const char *src = vft_env_or_skip("VF_SRCDIR");
    const char *names[] = {"conf/videoflix.conf", "conf/videoflix-production.conf"};
    setenv("VIDEOFLIX_SECRET_KEY", "0123456789abcdef0123456789abcdef", 1);
    setenv("VIDEOFLIX_DB_PASSWORD", "x", 1);
    setenv("AWS_ACCESS_KEY_ID", "x", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "x", 1);
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", src, names[i]);
        char *errors = NULL;
        vf_config_t *cfg = vf_config_load(path, &errors);
        ck_assert_msg(cfg != NULL, "%s: %s", names[i], errors ? errors : "?");
        /* Their plugin settings must be accepted by the plugins themselves
         * (the development storage root is relative: not created here). */
        const char *plugdir = vft_env_or_skip("VF_PLUGIN_DIR");
        char err[1024] = "";
        vf_plugin_t *p = NULL;
        ck_assert_msg(vf_plugin_load(plugdir, cfg->encoder.plugin, VF_PLUGIN_ENCODER, cfg->encoder.settings, &p,
                                     err, sizeof err) == 0, "%s: %s", names[i], err);
        vf_plugin_free(&p);
        if (strcmp(cfg->storage.plugin, "storage_s3") == 0) {
            ck_assert_msg(vf_plugin_load(plugdir, cfg->storage.plugin, VF_PLUGIN_STORAGE, cfg->storage.settings,
                                         &p, err, sizeof err) == 0, "%s: %s", names[i], err);
            vf_plugin_free(&p);
        }
        vf_config_free(&cfg);
    }
}
END_TEST

START_TEST(missing_file_reported)
{
    char *errors = NULL;
    vf_config_t *cfg = vf_config_load("/nonexistent/videoflix.conf", &errors);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(errors, "/nonexistent/videoflix.conf: cannot read the file") != NULL, "%s", errors);
    free(errors);
}
END_TEST

START_TEST(default_path_order)
{
    unsetenv("VIDEOFLIX_CONFIG");
    ck_assert_str_eq(vf_config_default_path("/a.conf"), "/a.conf");
    ck_assert_ptr_nonnull(strstr(vf_config_default_path(NULL), "/videoflix/videoflix.conf"));
    setenv("VIDEOFLIX_CONFIG", "/b.conf", 1);
    ck_assert_str_eq(vf_config_default_path(NULL), "/b.conf");
    ck_assert_str_eq(vf_config_default_path("/a.conf"), "/a.conf");
    unsetenv("VIDEOFLIX_CONFIG");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults_when_empty);
    tcase_add_test(tc, values_override_defaults);
    tcase_add_test(tc, every_problem_with_its_line);
    tcase_add_test(tc, wrong_type_strings_named);
    tcase_add_test(tc, syntax_error_with_line);
    tcase_add_test(tc, samesite_none_needs_secure);
    tcase_add_test(tc, accel_redirect_is_a_path);
    tcase_add_test(tc, media_outputs_and_segments);
    tcase_add_test(tc, secrets_from_env_and_file);
    tcase_add_test(tc, bad_renditions);
    tcase_add_test(tc, shipped_configs_load);
    tcase_add_test(tc, missing_file_reported);
    tcase_add_test(tc, default_path_order);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(config_suite)
