/*
 * check_log.c - the logger's two formats and its file: JSON string
 * escaping (quotes, backslashes, control bytes, invalid UTF-8, cutting to
 * fit), log.format = "json" giving one parseable object per line with time,
 * level, component and message, the access-log fields, text lines still
 * escaped, the log file reopened after it was moved (what logrotate does
 * before SIGHUP), and the real server writing its access log as JSON for a
 * request whose path holds quotes, newlines and bytes that are not UTF-8.
 */
#include "config.h"
#include "util/json_escape.h"
#include "util/log.h"
#include "vftest.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(json_escape_rules)
{
    char out[256];
    vf_json_escape("a\"b\\c", out, sizeof out);
    ck_assert_str_eq(out, "a\\\"b\\\\c");
    vf_json_escape("l1\nl2\r\t\x01\x1f\x7f", out, sizeof out);
    ck_assert_str_eq(out, "l1\\nl2\\r\\t\\u0001\\u001f\\u007f");
    /* Valid UTF-8 passes as it is; what is not becomes U+FFFD. */
    vf_json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out, sizeof out);
    ck_assert_str_eq(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    vf_json_escape("x\xffy", out, sizeof out);
    ck_assert_str_eq(out, "x\\ufffdy");
    vf_json_escape("\xc0\xaf", out, sizeof out); /* overlong '/' */
    ck_assert_str_eq(out, "\\ufffd\\ufffd");
    vf_json_escape("\xed\xa0\x80", out, sizeof out); /* a surrogate */
    ck_assert_str_eq(out, "\\ufffd\\ufffd\\ufffd");
    vf_json_escape("\xf4\x90\x80\x80", out, sizeof out); /* past U+10FFFF */
    ck_assert_str_eq(out, "\\ufffd\\ufffd\\ufffd\\ufffd");
    vf_json_escape("end\xe2\x82", out, sizeof out); /* cut short */
    ck_assert_str_eq(out, "end\\ufffd\\ufffd");
    /* Cut to fit: never inside an escape or a character. */
    vf_json_escape("ab\"", out, 4);
    ck_assert_str_eq(out, "ab");
    vf_json_escape("a\xe2\x82\xac", out, 4);
    ck_assert_str_eq(out, "a");
    vf_json_escape("a\x01", out, 7);
    ck_assert_str_eq(out, "a");
    ck_assert_uint_eq(vf_json_escape("abc", out, 0), 0);
}
END_TEST

static char *read_text(const char *path)
{
    size_t len = 0;
    return vft_read_file(path, &len);
}

/* The lines of a file, each parsed as JSON (failing on any that is not). */
static json_t *json_lines(const char *path)
{
    char *text = read_text(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    json_t *lines = json_array();
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        ck_assert_msg(o != NULL && json_is_object(o), "not a JSON object: %s (%s)", line, jerr.text);
        json_array_append_new(lines, o);
    }
    free(text);
    return lines;
}

static const char *member(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    ck_assert_msg(v != NULL, "no string member %s", name);
    return v;
}

START_TEST(json_lines_in_a_file)
{
    char *dir = vft_tmpdir("log");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/videoflix.log", dir);
    ck_assert_msg(vf_log_open(path, err, sizeof err) == 0, "%s", err);
    vf_log_set_format(VF_LOG_JSON);
    vf_log_set_level(VF_LOG_INFO);
    vf_info("http: listening on %s", "127.0.0.1:8000");
    vf_log(VF_LOG_WARNING, "storage_s3", "key \"%s\"\nnext\\line \xff", "a\tb");
    vf_debug("not at this level");
    vf_error("no component here");
    vf_access_entry_t a = {"GET", "/media/\"x\"\n\xfe", 404, 12, 345, "req-1", "203.0.113.7"};
    vf_log_access(&a);

    json_t *lines = json_lines(path);
    ck_assert_uint_eq(json_array_size(lines), 4);
    json_t *l0 = json_array_get(lines, 0), *l1 = json_array_get(lines, 1);
    json_t *l2 = json_array_get(lines, 2), *l3 = json_array_get(lines, 3);
    ck_assert_str_eq(member(l0, "level"), "info");
    ck_assert_str_eq(member(l0, "component"), "http");
    ck_assert_str_eq(member(l0, "message"), "listening on 127.0.0.1:8000");
    ck_assert_msg(strlen(member(l0, "time")) >= 20 && member(l0, "time")[10] == 'T', "%s", member(l0, "time"));
    ck_assert_str_eq(member(l1, "level"), "warning");
    ck_assert_str_eq(member(l1, "component"), "storage_s3");
    ck_assert_str_eq(member(l1, "message"), "key \"a\tb\"\nnext\\line \xef\xbf\xbd");
    ck_assert_str_eq(member(l2, "level"), "error");
    ck_assert_str_eq(member(l2, "component"), "videoflix");
    ck_assert_str_eq(member(l2, "message"), "no component here");
    ck_assert_str_eq(member(l3, "component"), "access");
    ck_assert_str_eq(member(l3, "method"), "GET");
    ck_assert_str_eq(member(l3, "path"), "/media/\"x\"\n\xef\xbf\xbd");
    ck_assert_int_eq(json_integer_value(json_object_get(l3, "status")), 404);
    ck_assert_int_eq(json_integer_value(json_object_get(l3, "bytes")), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(l3, "duration_us")), 345);
    ck_assert_str_eq(member(l3, "request_id"), "req-1");
    ck_assert_str_eq(member(l3, "client"), "203.0.113.7");
    json_decref(lines);

    /* Text lines stay one line each, control bytes escaped. */
    vf_log_set_format(VF_LOG_TEXT);
    vf_info("two\nlines");
    vf_log_access(&a);
    char *text = read_text(path);
    ck_assert_ptr_nonnull(strstr(text, " info two\\x0alines\n"));
    ck_assert_ptr_nonnull(strstr(text, " info GET /media/\"x\"\\x0a\xfe 404 12B 345us id=req-1 client=203.0.113.7\n"));
    free(text);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(reopen_after_move)
{
    char *dir = vft_tmpdir("log");
    char path[1024], moved[1024], err[256];
    snprintf(path, sizeof path, "%s/videoflix.log", dir);
    snprintf(moved, sizeof moved, "%s/videoflix.log.1", dir);
    ck_assert_msg(vf_log_open(path, err, sizeof err) == 0, "%s", err);
    vf_info("before the move");
    ck_assert_int_eq(rename(path, moved), 0);
    vf_info("after the move, before reopening");
    ck_assert_msg(vf_log_reopen(err, sizeof err) == 0, "%s", err);
    vf_info("after reopening");
    char *old = read_text(moved), *cur = read_text(path);
    ck_assert_ptr_nonnull(old);
    ck_assert_ptr_nonnull(cur);
    ck_assert_ptr_nonnull(strstr(old, "before the move"));
    ck_assert_ptr_nonnull(strstr(old, "before reopening"));
    ck_assert_ptr_null(strstr(old, "after reopening"));
    ck_assert_ptr_nonnull(strstr(cur, "after reopening"));
    ck_assert_ptr_null(strstr(cur, "before"));
    free(old);
    free(cur);
    /* A file that cannot be opened is refused with its name and reason. */
    ck_assert_int_eq(vf_log_open("/nonexistent-dir/x.log", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/nonexistent-dir/x.log") && strstr(err, "No such file"), "%s", err);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

/* The real server, log.format = "json" and log.file: a request for a path
 * of quotes, a newline and a byte that is not UTF-8 is one access object. */
START_TEST(server_access_log_json)
{
    char *dir = vft_tmpdir("log");
    int port = vft_free_port();
    char extra[1024], logfile[1024], out[1024];
    snprintf(logfile, sizeof logfile, "%s/server.log", dir);
    snprintf(out, sizeof out, "%s/stderr.log", dir);
    snprintf(extra, sizeof extra,
             "server = { port = %d; threads = 1; };\n"
             "auth = { secret_key = \"log-test-secret-0123456789abcdef0123\"; };\n",
             port);
    char *cfg = vft_write_config(dir, "host=127.0.0.1 port=1 dbname=unused", 1, extra);
    ck_assert_ptr_nonnull(cfg);
    /* vft_write_config writes the log group: point it at the file, as JSON. */
    ck_assert_int_eq(vft_sh(NULL, "sed -i 's|^log = { level = \"[a-z]*\"; };|log = { level = \"info\"; format = \"json\"; "
                                  "file = \"%s\"; };|' %s", logfile, cfg), 0);
    char *argv[] = {(char *)vft_env_or_skip("VF_BINARY"), "--config", cfg, "serve", NULL};
    int pid = vft_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    ck_assert_msg(vft_wait_port(port, 15000) == 0, "server did not start; see %s", logfile);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/media/%%22q%%22%%0Aline%%FF.mp4", port);
    vft_response_t resp;
    ck_assert_int_eq(vft_http("GET", url, NULL, NULL, &resp), 0);
    long status = resp.status;
    char *request_id = vft_header(&resp, "X-Request-Id", 0);
    vft_response_free(&resp);
    ck_assert_int_eq(vft_stop(pid, SIGTERM, 10000), 0);

    json_t *lines = json_lines(logfile);
    json_t *access = NULL;
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *o = json_array_get(lines, i);
        member(o, "time");
        member(o, "level");
        member(o, "message");
        if (strcmp(member(o, "component"), "access") == 0)
            access = o;
    }
    ck_assert_msg(access != NULL, "no access line in %s", logfile);
    ck_assert_str_eq(member(access, "method"), "GET");
    ck_assert_str_eq(member(access, "path"), "/media/\"q\"\nline\xef\xbf\xbd.mp4");
    ck_assert_int_eq(json_integer_value(json_object_get(access, "status")), status);
    ck_assert_ptr_nonnull(request_id);
    ck_assert_str_eq(member(access, "request_id"), request_id);
    ck_assert_str_eq(member(access, "client"), "127.0.0.1");
    /* Nothing of the server's went to the inherited stderr. */
    char *rest = read_text(out);
    ck_assert_msg(rest == NULL || rest[0] == '\0', "written to stderr, not log.file: %s", rest ? rest : "");
    free(rest);
    free(request_id);
    json_decref(lines);
    free(cfg);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, json_escape_rules);
    tcase_add_test(tc, json_lines_in_a_file);
    tcase_add_test(tc, reopen_after_move);
    tcase_add_test(tc, server_access_log_json);
    suite_add_tcase(s, tc);
    return s;
}

VFT_MAIN(log_suite)
