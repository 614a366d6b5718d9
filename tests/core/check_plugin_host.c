/*
 * check_plugin_host.c - what the core offers plugins through vf_host_api_t
 * (ABI 1.1): the settings walker (every type, defaults, every problem
 * reported as file:line: plugin: ...), secrets that say why they cannot be
 * read, the storage key grammar, the slots that limit an encoder's jobs,
 * and upload parts planned by a storage's declared limits.
 */
#include "config.h"
#include "vftest.h"

#include <errno.h>
#include <libconfig.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugins/job_slots.h"
#include "core/uploads/upload_store.h"

typedef struct demo {
    int workers;
    int64_t big;
    int on;
    double ratio;
    char *name;
    int mode;
    char *password;
    char **tags;
    char *token;
} demo_t;

static const char *const modes[] = {"fast", "slow", NULL};
static const vf_setting_t demo_table[] = {
    {.name = "workers", .type = VF_SETTING_INT, .offset = offsetof(demo_t, workers), .min = 1, .max = 8,
     .int_default = 2},
    {.name = "big", .type = VF_SETTING_INT64, .offset = offsetof(demo_t, big), .int_default = INT64_C(1) << 40},
    {.name = "on", .type = VF_SETTING_BOOL, .offset = offsetof(demo_t, on), .int_default = 1},
    {.name = "ratio", .type = VF_SETTING_FLOAT, .offset = offsetof(demo_t, ratio), .fmin = 0, .fmax = 1,
     .float_default = 0.5},
    {.name = "name", .type = VF_SETTING_STRING, .flags = VF_SETTING_REQUIRED | VF_SETTING_NONEMPTY,
     .offset = offsetof(demo_t, name)},
    {.name = "mode", .type = VF_SETTING_ENUM, .offset = offsetof(demo_t, mode), .str_default = "slow",
     .choices = modes},
    {.name = "password", .type = VF_SETTING_SECRET, .flags = VF_SETTING_REQUIRED,
     .offset = offsetof(demo_t, password), .str_default = "VFT_DEMO_PASSWORD"},
    {.name = "tags", .type = VF_SETTING_STRINGS, .offset = offsetof(demo_t, tags)},
    {.name = "token", .type = VF_SETTING_SECRET, .offset = offsetof(demo_t, token)},
};
#define NDEMO (sizeof demo_table / sizeof demo_table[0])

static config_t cfg;

/* Parse `text` as "demo = { ... };" (the group on line 1) and walk it. */
static int walk(const char *body, demo_t *d, vf_error_t *err)
{
    char text[2048];
    snprintf(text, sizeof text, "demo = {\n%s\n};", body);
    config_destroy(&cfg);
    config_init(&cfg);
    ck_assert_int_eq(config_read_string(&cfg, text), CONFIG_TRUE);
    memset(d, 0x5a, sizeof *d); /* the walker must set every field */
    return vf_host_api.settings("demo", config_lookup(&cfg, "demo"), demo_table, NDEMO, d, err);
}

static void setup(void) { config_init(&cfg); }
static void teardown(void)
{
    config_destroy(&cfg);
    unsetenv("VFT_DEMO_PASSWORD");
    unsetenv("VFT_DEMO_OTHER");
}

START_TEST(settings_values_and_defaults)
{
    ck_assert(VF_HAS_FIELD(vf_host_api_t, &vf_host_api, key_check));
    ck_assert_uint_eq(vf_host_api.abi_minor, VF_ABI_MINOR);
    demo_t d;
    vf_error_t err = {0};
    setenv("VFT_DEMO_PASSWORD", "from-default-env", 1);
    int rc = walk("name = \"x\";", &d, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    ck_assert_int_eq(d.workers, 2);
    ck_assert(d.big == INT64_C(1) << 40);
    ck_assert_int_eq(d.on, 1);
    ck_assert(d.ratio == 0.5);
    ck_assert_str_eq(d.name, "x");
    ck_assert_int_eq(d.mode, 1);
    ck_assert_str_eq(d.password, "from-default-env");
    ck_assert_ptr_null(d.tags);
    ck_assert_ptr_null(d.token);
    vf_host_api.settings_free(demo_table, NDEMO, &d);
    ck_assert_ptr_null(d.name);
    ck_assert_ptr_null(d.password);

    rc = walk("workers = 8; big = 5000000000L; on = false; ratio = 1; name = \"n\"; mode = \"fast\";\n"
              "password = \"inline\"; tags = [\"a\", \"b\"]; token_env = \"VFT_DEMO_OTHER\";",
              &d, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    ck_assert_int_eq(d.workers, 8);
    ck_assert(d.big == INT64_C(5000000000));
    ck_assert_int_eq(d.on, 0);
    ck_assert(d.ratio == 1.0);
    ck_assert_int_eq(d.mode, 0);
    ck_assert_str_eq(d.password, "inline");
    ck_assert_str_eq(d.tags[0], "a");
    ck_assert_str_eq(d.tags[1], "b");
    ck_assert_ptr_null(d.tags[2]);
    ck_assert_ptr_null(d.token); /* optional, its variable unset: no value, no error */
    vf_host_api.settings_free(demo_table, NDEMO, &d);
    ck_assert_ptr_null(d.tags);

    /* No group at all: defaults, and the required key is reported without a place. */
    memset(&d, 0, sizeof d);
    rc = vf_host_api.settings("demo", NULL, demo_table, NDEMO, &d, &err);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_str_eq(err.message, "demo: 'name' is required");
}
END_TEST

/* Every problem of one group, each with its line, in one format. */
START_TEST(settings_every_problem_reported)
{
    demo_t d;
    vf_error_t err = {0};
    int rc = walk("workers = 9;\n"
                  "big = \"many\";\n"
                  "on = 1;\n"
                  "ratio = 2.5;\n"
                  "mode = \"medium\";\n"
                  "wrokers = 3;\n"
                  "tags = [1];\n"
                  "password_file = \"/nonexistent/pw\";",
                  &d, &err);
    ck_assert_int_eq(rc, -EINVAL);
    static const char *const expected[] = {
        "line 2: demo: 'workers' must be between 1 and 8",
        "line 3: demo: 'big' must be an integer",
        "line 4: demo: 'on' must be true or false",
        "line 5: demo: 'ratio' must be between 0 and 1",
        "line 6: demo: 'mode' must be \"fast\" or \"slow\"",
        "line 7: demo: unknown setting 'wrokers' (did you mean 'workers'?)",
        "line 8: demo: 'tags' must be a list of strings",
        "line 1: demo: 'name' is required",
        "line 9: demo: 'password': cannot read /nonexistent/pw: No such file or directory",
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        ck_assert_msg(strstr(err.message, expected[i]), "lacks '%s' in:\n%s", expected[i], err.message);
    /* Nothing is left to free after a failure. */
    ck_assert_ptr_null(d.name);
    ck_assert_ptr_null(d.tags);

    /* A name like none of the known ones gets the list. */
    ck_assert_int_eq(walk("name = \"x\"; password = \"p\"; colour = 1;", &d, &err), -EINVAL);
    ck_assert_str_eq(err.message, "line 2: demo: unknown setting 'colour' (known: workers, big, on, ratio, name, "
                                  "mode, password[_env|_file], tags, token[_env|_file])");

    /* A file location when the config came from a file. */
    char *dir = vft_tmpdir("plugin-host");
    char path[600];
    snprintf(path, sizeof path, "%s/v.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("demo = {\n  name = \"\";\n  password = \"p\";\n};\n", f);
    ck_assert_int_eq(fclose(f), 0);
    config_destroy(&cfg);
    config_init(&cfg);
    ck_assert_int_eq(config_read_file(&cfg, path), CONFIG_TRUE);
    rc = vf_host_api.settings("demo", config_lookup(&cfg, "demo"), demo_table, NDEMO, &d, &err);
    ck_assert_int_eq(rc, -EINVAL);
    char want[700];
    snprintf(want, sizeof want, "%s:2: demo: 'name' is empty", path);
    ck_assert_msg(strcmp(err.message, want) == 0, "%s", err.message);
    /* setting_error: the same format for a plugin's own checks. */
    rc = vf_host_api.setting_error("demo", config_lookup(&cfg, "demo"), "password", &err, EINVAL, "'%s' is weak",
                                   "password");
    ck_assert_int_eq(rc, -EINVAL);
    snprintf(want, sizeof want, "%s:3: demo: 'password' is weak", path);
    ck_assert_str_eq(err.message, want);
    rc = vf_host_api.setting_error("demo", config_lookup(&cfg, "demo"), "absent", &err, ENOENT, "at the group");
    ck_assert_int_eq(rc, -ENOENT);
    snprintf(want, sizeof want, "%s:1: demo: at the group", path);
    ck_assert_str_eq(err.message, want);
    vft_rmrf(dir);
    free(dir);

    /* A group that is not a group. */
    config_destroy(&cfg);
    config_init(&cfg);
    ck_assert_int_eq(config_read_string(&cfg, "demo = 5;"), CONFIG_TRUE);
    rc = vf_host_api.settings("demo", config_lookup(&cfg, "demo"), demo_table, 1, &d, &err);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_str_eq(err.message, "line 1: demo: the settings must be a group { ... }");
}
END_TEST

/* More problems than fit in one message: the rest are counted (and logged). */
START_TEST(settings_overflow_counted)
{
    char body[2048] = "";
    for (int i = 0; i < 20; i++) {
        char line[64];
        snprintf(line, sizeof line, "unknown_setting_number_%02d = 1;\n", i);
        strcat(body, line);
    }
    strcat(body, "name = \"x\"; password = \"p\";");
    demo_t d;
    vf_error_t err = {0};
    ck_assert_int_eq(walk(body, &d, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "more in the log)"), "%s", err.message);
    ck_assert_msg(strstr(err.message, "unknown_setting_number_00"), "%s", err.message);
}
END_TEST

START_TEST(secrets_say_why)
{
    char *dir = vft_tmpdir("plugin-secret");
    char good[600], empty[600];
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    FILE *f = fopen(good, "w");
    fputs("s3cr3t\nsecond line\n", f);
    fclose(f);
    f = fopen(empty, "w");
    fputs("\n", f);
    fclose(f);

    char *out = NULL;
    vf_error_t err = {0};
    ck_assert_int_eq(vf_host_api.read_secret(NULL, good, &out, &err), 0);
    ck_assert_str_eq(out, "s3cr3t");
    free(out);
    setenv("VFT_DEMO_OTHER", "from-env", 1);
    ck_assert_int_eq(vf_host_api.read_secret("VFT_DEMO_OTHER", good, &out, &err), 0);
    ck_assert_str_eq(out, "from-env");
    free(out);
    unsetenv("VFT_DEMO_OTHER");
    ck_assert_int_eq(vf_host_api.read_secret("VFT_DEMO_OTHER", NULL, &out, &err), -ENOENT);
    ck_assert_str_eq(err.message, "the environment variable VFT_DEMO_OTHER is not set");
    ck_assert_int_eq(vf_host_api.read_secret(NULL, "/nonexistent/x", &out, &err), -ENOENT);
    ck_assert_str_eq(err.message, "cannot read /nonexistent/x: No such file or directory");
    ck_assert_int_eq(vf_host_api.read_secret(NULL, empty, &out, &err), -ENODATA);
    ck_assert_ptr_null(out);
    /* A file that opens but cannot be read (a directory, which even root
     * cannot read as a file). */
    char want[700];
    ck_assert_int_eq(vf_host_api.read_secret(NULL, dir, &out, &err), -EISDIR);
    snprintf(want, sizeof want, "cannot read %s: Is a directory", dir);
    ck_assert_str_eq(err.message, want);
    ck_assert_int_eq(vf_host_api.read_secret(NULL, NULL, &out, &err), -ENOENT);

    /* The 1.0 secret() keeps its answers: an empty first line is "". */
    char *old = vf_host_api.secret(NULL, empty);
    ck_assert_str_eq(old, "");
    free(old);
    ck_assert_ptr_null(vf_host_api.secret(NULL, "/nonexistent/x"));
    vft_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(key_grammar)
{
    static const char *const good[] = {"a", "videos/clip.mp4", "sources/0123.MOV", "a/b/c/d.e",
                                       "unicode/\xc3\xa9t\xc3\xa9.mp4", ".hidden/x", "a..b/c"};
    vf_error_t err = {0};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(vf_host_api.key_check(good[i], &err) == 0, "%s: %s", good[i], err.message);
    static const struct {
        const char *key, *why;
    } bad[] = {
        {"", "empty"},
        {"/abs", "absolute"},
        {"a//b", "empty segment"},
        {"a/", "empty segment"},
        {".", "'.' segment"},
        {"a/./b", "'.' segment"},
        {"..", "'..' segment"},
        {"a/../b", "'..' segment"},
        {"back\\slash", "backslash"},
        {"ctl\nx", "control character at byte 3"},
        {"del\x7f", "control character"},
        {"bad\xff", "not valid UTF-8"},
        {"over\xc0\xaflong", "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(vf_host_api.key_check(bad[i].key, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, bad[i].why), "'%s': %s", bad[i].key, err.message);
    }
    ck_assert_int_eq(vf_host_api.key_check(NULL, NULL), -EINVAL);
    char key[1100];
    memset(key, 'k', 255);
    key[255] = '\0';
    ck_assert_int_eq(vf_host_api.key_check(key, &err), 0);
    strcat(key, "k");
    ck_assert_int_eq(vf_host_api.key_check(key, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "longer than 255"), "%s", err.message);
    memset(key, 'k', sizeof key - 1);
    for (int i = 200; i < 1100; i += 200)
        key[i] = '/';
    key[1024] = '\0';
    ck_assert_int_eq(vf_host_api.key_check(key, &err), 0);
    key[1024] = 'k';
    key[1025] = '\0';
    ck_assert_int_eq(vf_host_api.key_check(key, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "longer than 1024"), "%s", err.message);
}
END_TEST

/* ---- job slots: never more holders than slots; waiting gives way to cancel ---- */

typedef struct holder {
    vf_job_slots_t *slots;
    pthread_mutex_t *lock;
    int *inside, *most;
} holder_t;

static void *hold(void *arg)
{
    holder_t *h = arg;
    for (int round = 0; round < 20; round++) {
        ck_assert_int_eq(vf_job_slots_enter(h->slots, NULL, NULL), 0);
        pthread_mutex_lock(h->lock);
        if (++*h->inside > *h->most)
            *h->most = *h->inside;
        pthread_mutex_unlock(h->lock);
        usleep(2000);
        pthread_mutex_lock(h->lock);
        --*h->inside;
        pthread_mutex_unlock(h->lock);
        vf_job_slots_leave(h->slots);
    }
    return NULL;
}

static int cancel_flag;
static int is_cancelled(void *ud)
{
    (void)ud;
    return cancel_flag;
}

START_TEST(job_slots_limit)
{
    vf_job_slots_t *slots = vf_job_slots_new(2);
    ck_assert_ptr_nonnull(slots);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int inside = 0, most = 0;
    holder_t h = {slots, &lock, &inside, &most};
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hold, &h), 0);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(most, 2);
    ck_assert_uint_eq(vf_job_slots_busy(slots), 0);

    /* Full: a cancelled waiter gives up instead of waiting. */
    ck_assert_int_eq(vf_job_slots_enter(slots, NULL, NULL), 0);
    ck_assert_int_eq(vf_job_slots_enter(slots, NULL, NULL), 0);
    cancel_flag = 1;
    ck_assert_int_eq(vf_job_slots_enter(slots, is_cancelled, NULL), -ECANCELED);
    ck_assert_uint_eq(vf_job_slots_busy(slots), 2);
    vf_job_slots_leave(slots);
    vf_job_slots_leave(slots);
    vf_job_slots_free(&slots);
    ck_assert_ptr_null(slots);
    /* No limit: NULL slots never wait. */
    ck_assert_int_eq(vf_job_slots_enter(NULL, NULL, NULL), 0);
}
END_TEST

/* Upload parts sized by what the storage declares. */
START_TEST(upload_parts_follow_capabilities)
{
    vf_storage_caps_t s3 = {.size = sizeof s3, .max_parts = 10000, .min_part_size = 5u << 20,
                            .max_part_size = (uint64_t)5 << 30};
    ck_assert(vf_upload_part_threshold(&s3, 100) == 5u << 20);
    /* 90 GiB over at most 9000 parts: parts of about 10 MiB. */
    uint64_t big = (uint64_t)90 << 30;
    uint64_t t = vf_upload_part_threshold(&s3, (int64_t)big);
    ck_assert(t > 10u << 20 && t < 11u << 20);
    ck_assert((big + t - 1) / t <= 9000);
    ck_assert(vf_upload_max_length(&s3) == (uint64_t)9000 * ((uint64_t)5 << 30));
    size_t piece = 0;
    ck_assert_uint_eq(vf_upload_part_count(&s3, 16u << 20, &piece), 1);
    ck_assert_uint_eq(piece, 16u << 20);

    /* A storage of few, small parts: the threshold is capped by the largest
     * part, and a longer sum is split into equal parts. */
    vf_storage_caps_t small = {.size = sizeof small, .max_parts = 20, .min_part_size = 100, .max_part_size = 1000};
    ck_assert(vf_upload_part_threshold(&small, 1000000) == 1000);
    ck_assert(vf_upload_max_length(&small) == 18 * 1000);
    ck_assert_uint_eq(vf_upload_part_count(&small, 2500, &piece), 3);
    ck_assert_uint_eq(piece, 834); /* 834 + 834 + 832 */
    ck_assert_uint_eq(vf_upload_part_count(&small, 1000, &piece), 1);
    ck_assert_uint_eq(vf_upload_part_count(&small, 1, &piece), 1);
    ck_assert_uint_eq(piece, 1);
}
END_TEST

static Suite *plugin_host_suite(void)
{
    Suite *s = suite_create("plugin_host");
    TCase *tc = tcase_create("host_api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, settings_values_and_defaults);
    tcase_add_test(tc, settings_every_problem_reported);
    tcase_add_test(tc, settings_overflow_counted);
    tcase_add_test(tc, secrets_say_why);
    tcase_add_test(tc, key_grammar);
    tcase_add_test(tc, job_slots_limit);
    tcase_add_test(tc, upload_parts_follow_capabilities);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(plugin_host_suite)
