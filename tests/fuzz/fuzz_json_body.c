/*
 * fuzz_json_body.c - request bodies as every JSON route reads them: the
 * parse of vf_req_json (http/json_body.c), then each route's validation
 * that needs no database, run on every body: register, login,
 * forgot-password and reset-password (accounts/users_body.c, with the
 * password rules and the reset link), add-favorite (catalog/content.c) and
 * the staff video API's create and update (catalog/video_lifecycle.c).
 * Checks: a parse failure has the API's message; a body the validators
 * pass has every required field, a normalised address that normalises to
 * itself, and a favourite id that was digits.
 */
#include "config.h"
#include "fuzz.h"

#include <errno.h>

#include "accounts/auth.h"
#include "accounts/password.h"
#include "accounts/users.h"
#include "catalog/content.h"
#include "catalog/video_lifecycle.h"
#include "http/json_body.h"
#include "util/log.h"

#define KEY "videoflix fuzzing key, not a secret: 0123456789abcdef"
#define NOW INT64_C(1767225600)
#define PASSWORD_MIN 8

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vf_log_set_level(VF_LOG_ERROR);
    FUZZ_CHECK(vf_sodium_init() == 0);
    return 0;
}

/* A string a validator hands on is the whole JSON string: a NUL inside
 * would let C code see less than the client sent (vf_json_body_parse
 * refuses "\u0000", as jansson does unless told to allow it). */
static void check_whole(const json_t *body, const char *name, const char *value)
{
    const json_t *v = json_object_get(body, name);
    FUZZ_CHECK(json_is_string(v) && json_string_value(v) == value && strlen(value) == json_string_length(v));
}

static void check_email(const char *email)
{
    char again[VF_EMAIL_SIZE];
    FUZZ_CHECK(email[0] && strchr(email, '@'));
    FUZZ_CHECK(vf_email_normalize(email, again) == 0 && strcmp(again, email) == 0);
}

static void password_rules(const char *password, const char *email)
{
    json_t *rules = vf_password_rule_errors(password, email, PASSWORD_MIN);
    FUZZ_CHECK(!rules || (json_is_array(rules) && json_array_size(rules) > 0));
    json_decref(rules);
}

static void register_body(const json_t *body)
{
    json_t *errors = json_object();
    FUZZ_CHECK(errors != NULL);
    vf_register_body_t in;
    vf_users_register_body(body, &in, errors);
    if (in.email_ok)
        check_email(in.email);
    if (json_object_size(errors) == 0) {
        FUZZ_CHECK(in.email_ok && in.password && in.confirm);
        check_whole(body, "email", vf_users_str(body, "email"));
        check_whole(body, "password", in.password);
        check_whole(body, "confirm_password", in.confirm);
        if (strcmp(in.password, in.confirm) == 0)
            password_rules(in.password, in.email);
    }
    json_decref(errors);
}

static void login_body(const json_t *body)
{
    json_t *errors = json_object();
    FUZZ_CHECK(errors != NULL);
    vf_login_body_t in;
    vf_users_login_body(body, &in, errors);
    if (in.email_ok)
        check_email(in.email);
    if (json_object_size(errors) == 0) {
        FUZZ_CHECK(in.password && !vf_users_blank(in.password));
        check_whole(body, "password", in.password);
    }
    FUZZ_CHECK(in.remember == 0 || in.remember == 1);
    json_decref(errors);
}

static void forgot_body(const json_t *body)
{
    char email[VF_EMAIL_SIZE];
    int rc = vf_users_forgot_body(body, email);
    FUZZ_CHECK(rc == 1 || rc == 0 || rc == -ENODATA);
    if (rc == 1) {
        check_email(email);
        check_whole(body, "email", vf_users_str(body, "email"));
    }
}

static void reset_body(const json_t *body)
{
    vf_reset_body_t in;
    if (vf_users_reset_body(body, &in) < 0)
        return;
    FUZZ_CHECK(in.uid[0] && in.token[0] && in.password[0]);
    check_whole(body, "uid", in.uid);
    check_whole(body, "token", in.token);
    check_whole(body, json_string_value(json_object_get(body, "new_password")) == in.password ? "new_password" : "password",
                in.password);
    int64_t id = 0;
    if (vf_base36_decode(in.uid, &id) == 0) {
        FUZZ_CHECK(id > 0);
        vf_link_state_t st = {id, "user@example.com", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", 1};
        FUZZ_CHECK(vf_link_token_check(KEY, VF_LINK_RESET, &st, in.token, NOW, 3600) != 0);
    }
    password_rules(in.password, "user@example.com");
}

static void favorite_body(const json_t *body)
{
    int64_t id = -1;
    int rc = vf_favorite_video_id(body, &id);
    FUZZ_CHECK(rc == 0 || rc == -ENODATA || rc == -EINVAL);
    const json_t *v = json_object_get(body, "video_id");
    if (rc == 0 && json_is_string(v)) {
        const char *s = json_string_value(v);
        FUZZ_CHECK(strlen(s) == json_string_length(v) && strspn(s, "0123456789") == strlen(s) && id >= 0);
    }
}

static void video_body(const json_t *body)
{
    for (int creating = 0; creating <= 1; creating++) {
        vf_video_fields_t f;
        json_t *errors = NULL;
        int rc = vf_video_fields_from_json(body, &f, &errors);
        FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
        if (rc == 0 && !errors)
            vf_video_fields_check(&f, creating, f.upload_id != NULL, &errors);
        if (!errors && creating)
            FUZZ_CHECK(f.title && f.title[0] && f.category && vf_video_category_valid(f.category) && f.upload_id);
        if (!errors) {
            static const char *const fields[] = {"title", "description", "category", "upload_id"};
            for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
                const json_t *v = json_object_get(body, fields[i]);
                FUZZ_CHECK(!v || strlen(json_string_value(v)) == json_string_length(v));
            }
        }
        FUZZ_CHECK(!errors || json_object_size(errors) > 0);
        json_decref(errors);
        vf_video_fields_free(&f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024)
        return 0; /* VF_USERS_MAX_BODY; the rest of the API has smaller bodies still */
    char msg[256] = "";
    json_t *body = vf_json_body_parse(data, size, msg, sizeof msg);
    if (!body) {
        FUZZ_CHECK(strncmp(msg, "JSON parse error - ", 19) == 0);
        return 0;
    }
    FUZZ_CHECK(json_is_object(body));
    register_body(body);
    login_body(body);
    forgot_body(body);
    reset_body(body);
    favorite_body(body);
    video_body(body);
    json_decref(body);
    return 0;
}
