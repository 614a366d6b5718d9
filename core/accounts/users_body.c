/*
 * users_body.c - reading the JSON bodies of the /users/ endpoints (see
 * users.h): email addresses, required fields, and each endpoint's body as
 * its handler needs it, with DRF's messages.  Pure: no database, no
 * request, no reply, so the fuzz harness tests/fuzz/fuzz_json_body.c runs
 * exactly what the handlers run.
 */
#include "config.h"
#include "accounts/users.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define MSG_BLANK "This field may not be blank."

/* ------------------------------------------------------------- addresses */

static int atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

int vf_email_normalize(const char *in, char out[VF_EMAIL_SIZE])
{
    out[0] = '\0';
    if (!in)
        return -EINVAL;
    while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
        in++;
    size_t n = strlen(in);
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r' || in[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= VF_EMAIL_SIZE)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';

    /* local@domain: a dot-atom local part, a domain of letter/digit/hyphen
     * labels with at least one dot and an alphabetic top level. */
    char *at = strrchr(out, '@');
    if (!at || at == out || at - out > 64 || !at[1])
        goto bad;
    for (const char *p = out; p < at; p++)
        if (!(atext(*p) || (*p == '.' && p != out && p + 1 != at && p[1] != '.')))
            goto bad;
    const char *label = at + 1;
    int labels = 0;
    for (;;) {
        size_t len = strcspn(label, ".");
        if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
            goto bad;
        for (size_t i = 0; i < len; i++)
            if (!((label[i] >= 'a' && label[i] <= 'z') || (label[i] >= '0' && label[i] <= '9') || label[i] == '-'))
                goto bad;
        labels++;
        if (!label[len]) {
            /* The top level: letters, or an IDN in punycode ("xn--..."). */
            if (labels < 2 || len < 2)
                goto bad;
            int punycode = len > 4 && strncmp(label, "xn--", 4) == 0;
            for (size_t i = 0; i < len && !punycode; i++)
                if (label[i] < 'a' || label[i] > 'z')
                    goto bad;
            break;
        }
        label += len + 1;
    }
    return 0;
bad:
    out[0] = '\0';
    return -EINVAL;
}

/* ---------------------------------------------------------------- fields */

const char *vf_users_str(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

int vf_users_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

void vf_users_add_error(json_t *errors, const char *field, const char *message)
{
    json_t *list = json_object_get(errors, field);
    if (!list) {
        list = json_array();
        json_object_set_new(errors, field, list);
    }
    json_array_append_new(list, json_string(message));
}

const char *vf_users_required(const json_t *body, const char *name, json_t *errors)
{
    const json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) {
        vf_users_add_error(errors, name, VF_MSG_REQUIRED);
        return NULL;
    }
    if (!json_is_string(v)) {
        vf_users_add_error(errors, name, "Not a valid string.");
        return NULL;
    }
    if (vf_users_blank(json_string_value(v))) {
        vf_users_add_error(errors, name, MSG_BLANK);
        return NULL;
    }
    return json_string_value(v);
}

int vf_users_truthy(const json_t *v)
{
    if (json_is_true(v))
        return 1;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    const char *s = json_string_value(v);
    return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "on") == 0);
}

/* ---------------------------------------------------------------- bodies */

void vf_users_register_body(const json_t *body, vf_register_body_t *out, json_t *errors)
{
    out->email_ok = vf_email_normalize(vf_users_str(body, "email"), out->email) == 0;
    if (vf_users_required(body, "email", errors) && !out->email_ok)
        vf_users_add_error(errors, "email", VF_MSG_BAD_EMAIL);
    out->password = vf_users_required(body, "password", errors);
    out->confirm = vf_users_required(body, "confirm_password", errors);
}

void vf_users_login_body(const json_t *body, vf_login_body_t *out, json_t *errors)
{
    out->email_ok = vf_email_normalize(vf_users_str(body, "email"), out->email) == 0;
    vf_users_required(body, "email", errors);
    out->password = vf_users_required(body, "password", errors);
    out->remember = vf_users_truthy(json_object_get(body, "remember"));
}

int vf_users_forgot_body(const json_t *body, char email[VF_EMAIL_SIZE])
{
    const char *in = vf_users_str(body, "email");
    int ok = vf_email_normalize(in, email) == 0;
    if (!in || vf_users_blank(in))
        return -ENODATA;
    return ok;
}

int vf_users_reset_body(const json_t *body, vf_reset_body_t *out)
{
    out->uid = vf_users_str(body, "uid");
    out->token = vf_users_str(body, "token");
    out->password = vf_users_str(body, "new_password");
    if (!out->password || !*out->password)
        out->password = vf_users_str(body, "password");
    if (!out->uid || !*out->uid || !out->token || !*out->token || !out->password || !*out->password)
        return -ENODATA;
    return 0;
}
