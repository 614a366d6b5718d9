/*
 * mail.c - see mail.h.
 */
#include "config.h"
#include "accounts/mail.h"
#include "accounts/auth.h"
#include "jobs/worker.h"
#include "runtime/db.h"
#include "util/log.h"
#include "util/text.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAIL_JOB_TYPE "mail"
#define TEMPLATE_MAX_SIZE (256 * 1024)

/* ------------------------------------------------------------ templates */

static char *read_text(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(TEMPLATE_MAX_SIZE + 1);
    size_t n = buf ? fread(buf, 1, TEMPLATE_MAX_SIZE + 1, f) : 0;
    int bad = !buf || ferror(f) || n > TEMPLATE_MAX_SIZE;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: cannot read (or larger than %d bytes)", path, TEMPLATE_MAX_SIZE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void put_escaped_html(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#x27;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* Replace each {{ name }} with vars[name]. */
static char *substitute(const char *tpl, const json_t *vars, int html, const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int ok = 1;
    const char *p = tpl;
    while (ok && *p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            fputs(p, out);
            break;
        }
        fwrite(p, 1, (size_t)(open - p), out);
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            snprintf(err, errlen, "%s: '{{' without '}}'", path);
            ok = 0;
            break;
        }
        const char *a = open + 2, *b = close;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        char name[64];
        if ((size_t)(b - a) >= sizeof name || b == a) {
            snprintf(err, errlen, "%s: bad placeholder", path);
            ok = 0;
            break;
        }
        memcpy(name, a, (size_t)(b - a));
        name[b - a] = '\0';
        const char *value = json_string_value(json_object_get(vars, name));
        if (!value) {
            snprintf(err, errlen, "%s: unknown placeholder {{ %s }}", path, name);
            ok = 0;
            break;
        }
        if (html)
            put_escaped_html(out, value);
        else
            fputs(value, out);
        p = close + 2;
    }
    if (fclose(out) != 0 && ok) {
        snprintf(err, errlen, "out of memory");
        ok = 0;
    }
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

int vf_mail_render(const char *dir, const char *name, const json_t *vars, char **subject, char **text,
                   char **html, char *err, size_t errlen)
{
    *subject = *text = *html = NULL;
    char *txt_tpl = NULL, *html_tpl = NULL, *rendered = NULL;
    int ret = -EINVAL;
    char path[4096], hpath[4096];
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    snprintf(hpath, sizeof hpath, "%s/%s.html", dir, name);
    if (!(txt_tpl = read_text(path, err, errlen)) || !(html_tpl = read_text(hpath, err, errlen))) {
        ret = -ENOENT;
        goto out;
    }
    if (!(rendered = substitute(txt_tpl, vars, 0, path, err, errlen)) ||
        !(*html = substitute(html_tpl, vars, 1, hpath, err, errlen)))
        goto out;
    if (strncmp(rendered, "Subject:", 8) != 0) {
        snprintf(err, errlen, "%s: must start with a \"Subject: ...\" line", path);
        goto out;
    }
    const char *s = rendered + 8;
    while (*s == ' ')
        s++;
    size_t slen = strcspn(s, "\r\n");
    const char *body = s + slen;
    /* Skip the end of the subject line and the blank line after it. */
    for (int i = 0; i < 2 && *body; i++) {
        if (*body == '\r')
            body++;
        if (*body == '\n')
            body++;
    }
    *subject = strndup(s, slen);
    *text = strdup(body);
    if (!*subject || !*text) {
        snprintf(err, errlen, "out of memory");
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
out:
    if (ret < 0) {
        free(*subject);
        free(*text);
        free(*html);
        *subject = *text = *html = NULL;
    }
    free(txt_tpl);
    free(html_tpl);
    free(rendered);
    return ret;
}

/* ------------------------------------------------------------------ MIME */

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

static int lines_short(const char *s, size_t max)
{
    size_t run = 0;
    for (; *s; s++) {
        run = (*s == '\n') ? 0 : run + 1;
        if (run > max)
            return 0;
    }
    return 1;
}

/* The text with CRLF line ends, quoted-printable when it is not plain
 * short-lined ASCII (then links stay readable in the .eml files). */
static void put_body(FILE *out, const char *s)
{
    int qp = !is_ascii(s) || !lines_short(s, 900);
    fprintf(out, "Content-Transfer-Encoding: %s\r\n\r\n", qp ? "quoted-printable" : "7bit");
    int col = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r')
            continue;
        if (c == '\n') {
            fputs("\r\n", out);
            col = 0;
            continue;
        }
        if (!qp) {
            fputc(c, out);
            continue;
        }
        int literal = (c >= 33 && c <= 126 && c != '=') || (c == ' ' && s[1] != '\n' && s[1] != '\r' && s[1]);
        int width = literal ? 1 : 3;
        if (col + width > 75) {
            fputs("=\r\n", out);
            col = 0;
        }
        if (literal)
            fputc(c, out);
        else
            fprintf(out, "=%02X", c);
        col += width;
    }
    if (col)
        fputs("\r\n", out);
}

/* A header value: ASCII as is, else RFC 2047 base64; CR/LF never pass. */
static void put_header_text(FILE *out, const char *s)
{
    if (is_ascii(s)) {
        for (; *s; s++)
            fputc(*s == '\r' || *s == '\n' ? ' ' : *s, out);
        return;
    }
    size_t n = strlen(s);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64)
        return;
    sodium_bin2base64(b64, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
    fprintf(out, "=?UTF-8?B?%s?=", b64);
    free(b64);
}

/* The address inside "Name <addr>", or the whole string. */
static char *address_of(const char *from)
{
    const char *lt = strrchr(from, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        return strndup(lt + 1, (size_t)(gt - lt - 1));
    while (*from == ' ')
        from++;
    return strndup(from, strcspn(from, " "));
}

int vf_mail_compose(const char *from, const char *to, const char *subject, const char *text, const char *html,
                    int64_t now, char **out)
{
    *out = NULL;
    if (strpbrk(from, "\r\n") || strpbrk(to, "\r\n"))
        return -EINVAL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    char *from_addr = address_of(from);
    if (!f || !from_addr) {
        if (f)
            fclose(f);
        free(buf);
        free(from_addr);
        return -ENOMEM;
    }
    unsigned char rnd[12];
    char boundary[48], msgid[32], date[64];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(msgid, sizeof msgid, rnd, sizeof rnd);
    snprintf(boundary, sizeof boundary, "=_vf_%s", msgid);
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *domain = strchr(from_addr, '@');

    fprintf(f, "From: %s\r\nTo: %s\r\nSubject: ", from, to);
    put_header_text(f, subject);
    fprintf(f,
            "\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
            "This is a multi-part message in MIME format.\r\n\r\n",
            date, msgid, domain && domain[1] ? domain + 1 : "videoflix.invalid", boundary);
    fprintf(f, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n", boundary);
    put_body(f, text);
    fprintf(f, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n", boundary);
    put_body(f, html);
    fprintf(f, "--%s--\r\n", boundary);
    free(from_addr);
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    return 0;
}

void vf_mail_duration(int seconds, char *buf, size_t len)
{
    static const struct {
        int size;
        const char *unit;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (seconds % units[i].size == 0 || units[i].size == 1) {
            int n = seconds / units[i].size;
            snprintf(buf, len, "%d %s%s", n, units[i].unit, n == 1 ? "" : "s");
            return;
        }
    }
}

/* ------------------------------------------------------------ transports */

static int mkdir_p(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int deliver_file(const vf_config_t *cfg, const char *message, char *err, size_t errlen)
{
    const char *dir = cfg->mail.dir;
    int ret = mkdir_p(dir);
    if (ret < 0) {
        snprintf(err, errlen, "mail.dir %s: cannot create: %s", dir, strerror(-ret));
        return ret;
    }
    unsigned char rnd[8];
    char hex[17], stamp[32], tmp[4096], final[4096];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(tmp, sizeof tmp, "%s/.%s-%s.eml.tmp", dir, stamp, hex);
    snprintf(final, sizeof final, "%s/%s-%s.eml", dir, stamp, hex);
    /* Written aside and renamed: a reader never sees half a message. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return ret;
    }
    size_t len = strlen(message), done = 0;
    while (done < len) {
        ssize_t n = write(fd, message + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    ret = done == len ? 0 : -EIO;
    if (ret == 0 && fsync(fd) != 0)
        ret = -errno;
    if (close(fd) != 0 && ret == 0)
        ret = -EIO;
    if (ret == 0 && rename(tmp, final) != 0)
        ret = -errno;
    if (ret < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", final, strerror(-ret));
        unlink(tmp);
    }
    return ret;
}

typedef struct upload {
    const char *data;
    size_t len, pos;
} upload_t;

static size_t read_upload(char *buf, size_t size, size_t nmemb, void *arg)
{
    upload_t *u = arg;
    size_t n = size * nmemb;
    if (n > u->len - u->pos)
        n = u->len - u->pos;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

static int deliver_smtp(const vf_config_t *cfg, const char *to, const char *message, char *err, size_t errlen)
{
    int ret = -ENOMEM;
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    char *from_addr = address_of(cfg->mail.from), *url = NULL, *mail_from = NULL, *rcpt_to = NULL;
    if (!c || !from_addr)
        goto out;
    const char *tls = cfg->mail.smtp_tls;
    const char *u = cfg->mail.smtp_url;
    /* Implicit TLS is the smtps:// scheme to libcurl. */
    if (strcmp(tls, "implicit") == 0 && strncmp(u, "smtp://", 7) == 0) {
        if (asprintf(&url, "smtps://%s", u + 7) < 0)
            url = NULL;
    } else {
        url = strdup(u);
    }
    if (!url || asprintf(&mail_from, "<%s>", from_addr) < 0 || asprintf(&rcpt_to, "<%s>", to) < 0)
        goto out;
    rcpt = curl_slist_append(NULL, rcpt_to);
    if (!rcpt)
        goto out;
    upload_t up = {message, strlen(message), 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    int bad = 0;
    bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_READDATA, &up) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USE_SSL,
                            strcmp(tls, "starttls") == 0 ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK;
    /* The standard OpenSSL variable, for a private CA (tests, intranets). */
    const char *ca = getenv("SSL_CERT_FILE");
    if (ca && *ca)
        bad |= curl_easy_setopt(c, CURLOPT_CAINFO, ca) != CURLE_OK;
    if (*cfg->mail.smtp_user) {
        bad |= curl_easy_setopt(c, CURLOPT_USERNAME, cfg->mail.smtp_user) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->mail.smtp_password ? cfg->mail.smtp_password : "") !=
               CURLE_OK;
    }
    if (bad) {
        snprintf(err, errlen, "smtp: libcurl refused an option (built without SMTP or TLS?)");
        ret = -EINVAL;
        goto out;
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        snprintf(err, errlen, "smtp %s: %s%s%s (reply %ld)", cfg->mail.smtp_url, curl_easy_strerror(rc),
                 curl_err[0] ? ": " : "", curl_err, code);
        err[strcspn(err, "\r\n")] = '\0';
        /* 5xx: the server will not take this message, now or later. */
        ret = code >= 500 && code < 600 ? -EPERM : -EIO;
        goto out;
    }
    ret = 0;
out:
    if (ret == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    curl_slist_free_all(rcpt);
    if (c)
        curl_easy_cleanup(c);
    free(from_addr);
    free(url);
    free(mail_from);
    free(rcpt_to);
    return ret;
}

int vf_mail_deliver(const vf_config_t *cfg, const char *to, const char *message, char *err, size_t errlen)
{
    if (strcmp(cfg->mail.transport, "smtp") == 0)
        return deliver_smtp(cfg, to, message, err, errlen);
    return deliver_file(cfg, message, err, errlen);
}

/* ------------------------------------------------------------- the job */

int vf_mail_enqueue_tx(vf_thread_ctx_t *ctx, const char *template_name, int64_t user_id)
{
    json_t *payload = json_pack("{s:s, s:I}", "template", template_name, "user_id", (json_int_t)user_id);
    if (!payload)
        return -ENOMEM;
    char id[VF_JOB_ID_SIZE];
    int ret = vf_queue_enqueue_tx(ctx, MAIL_JOB_TYPE, payload, id);
    json_decref(payload);
    return ret;
}

typedef struct account {
    char *email;
    char *username;
    char *password;
    int active;
    int confirmed;
} account_t;

static void account_free(account_t *a)
{
    free(a->email);
    free(a->username);
    if (a->password) {
        sodium_memzero(a->password, strlen(a->password));
        free(a->password);
    }
    memset(a, 0, sizeof *a);
}

/* 0 found, -ENOENT, or another negative errno. */
static int load_account(vf_thread_ctx_t *ctx, int64_t user_id, account_t *a)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%lld", (long long)user_id);
    const char *params[] = {uid};
    PGresult *res = NULL;
    int ret = vf_db_exec(ctx->db, &res,
                         "SELECT email, username, password, is_active, email_confirmed_at IS NOT NULL"
                         " FROM users WHERE id = $1::bigint",
                         1, params);
    if (ret == 0 && PQntuples(res) != 1)
        ret = -ENOENT;
    if (ret == 0) {
        a->email = strdup(PQgetvalue(res, 0, 0));
        a->username = strdup(PQgetvalue(res, 0, 1));
        a->password = strdup(PQgetvalue(res, 0, 2));
        a->active = PQgetvalue(res, 0, 3)[0] == 't';
        a->confirmed = PQgetvalue(res, 0, 4)[0] == 't';
        if (!a->email || !a->username || !a->password) {
            account_free(a);
            ret = -ENOMEM;
        }
    }
    PQclear(res);
    return ret;
}

static void skipped(vf_job_t *job, const char *why)
{
    vf_job_set_result(job, json_pack("{s:b, s:s}", "sent", 0, "reason", why));
}

int vf_mail_job(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen)
{
    const vf_config_t *cfg = ctx->app->cfg;
    const json_t *payload = vf_job_payload(job);
    const char *tpl = json_string_value(json_object_get(payload, "template"));
    json_int_t user_id = json_integer_value(json_object_get(payload, "user_id"));
    int confirm = tpl && strcmp(tpl, VF_MAIL_CONFIRM) == 0;
    if (!tpl || (!confirm && strcmp(tpl, VF_MAIL_RESET) != 0) || user_id <= 0) {
        snprintf(err, errlen, "mail job: payload needs \"template\" (%s or %s) and \"user_id\"", VF_MAIL_CONFIRM,
                 VF_MAIL_RESET);
        return VF_JOB_FAIL_PERMANENT;
    }
    const char *key = cfg->auth.secret_key;
    if (!key || strlen(key) < 32) {
        snprintf(err, errlen, "auth.secret_key is not set: links cannot be signed");
        return VF_JOB_FAIL_PERMANENT;
    }

    account_t a = {0};
    char *subject = NULL, *text = NULL, *html = NULL, *message = NULL, *link = NULL;
    json_t *vars = NULL;
    int ret = load_account(ctx, (int64_t)user_id, &a);
    if (ret == -ENOENT) {
        skipped(job, "no such user");
        return 0;
    }
    if (ret < 0) {
        snprintf(err, errlen, "cannot read user %lld: %s", (long long)user_id, vf_db_last_error(ctx->db));
        return ret;
    }
    /* The state may have moved on since the request: nothing to send. */
    if (confirm && a.confirmed) {
        skipped(job, "already confirmed");
        ret = 0;
        goto out;
    }
    if (!confirm && !a.active) {
        skipped(job, "user inactive");
        ret = 0;
        goto out;
    }

    int64_t now = (int64_t)time(NULL);
    vf_link_state_t st = {(int64_t)user_id, a.email, a.password, a.confirmed};
    char token[VF_LINK_TOKEN_SIZE], uid36[16], valid_for[32];
    ret = vf_link_token_make(key, confirm ? VF_LINK_CONFIRM : VF_LINK_RESET, &st, now, token);
    if (ret < 0) {
        snprintf(err, errlen, "cannot make the link token");
        goto out;
    }
    vf_base36_encode((int64_t)user_id, uid36);
    const char *base = confirm ? cfg->server.public_origin : cfg->auth.reset_url;
    char *confirm_url = confirm ? vf_url_join(base, "/users/confirm/") : NULL;
    int n = -1;
    if (!confirm)
        n = asprintf(&link, "%s%cuid=%s&token=%s", base, strchr(base, '?') ? '&' : '?', uid36, token);
    else if (confirm_url)
        n = asprintf(&link, "%s?uid=%s&token=%s", confirm_url, uid36, token);
    free(confirm_url);
    sodium_memzero(token, sizeof token);
    if (n < 0) {
        link = NULL;
        ret = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    vf_mail_duration(confirm ? cfg->auth.confirm_ttl : cfg->auth.reset_ttl, valid_for, sizeof valid_for);
    vars = json_pack("{s:s, s:s, s:s, s:s, s:s}", "link", link, "email", a.email, "username", a.username,
                     "valid_for", valid_for, "site_name", "Videoflix");
    if (!vars) {
        ret = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ret = vf_mail_render(cfg->mail.templates_dir, tpl, vars, &subject, &text, &html, err, errlen);
    if (ret < 0) {
        /* A broken or missing template is fixed by an operator, after which
         * the retries succeed: keep it retryable. */
        goto out;
    }
    ret = vf_mail_compose(cfg->mail.from, a.email, subject, text, html, now, &message);
    if (ret < 0) {
        snprintf(err, errlen, "cannot compose the message");
        goto out;
    }
    ret = vf_mail_deliver(cfg, a.email, message, err, errlen);
    if (ret == -EPERM)
        ret = VF_JOB_FAIL_PERMANENT;
    if (ret == 0) {
        vf_job_set_result(job, json_pack("{s:b, s:s}", "sent", 1, "transport", cfg->mail.transport));
        vf_info("mail: %s sent to user %lld through %s", tpl, (long long)user_id, cfg->mail.transport);
    }
out:
    if (link) {
        sodium_memzero(link, strlen(link));
        free(link);
    }
    json_decref(vars);
    free(subject);
    /* The bodies hold the link too. */
    if (text)
        sodium_memzero(text, strlen(text));
    if (html)
        sodium_memzero(html, strlen(html));
    if (message)
        sodium_memzero(message, strlen(message));
    free(text);
    free(html);
    free(message);
    account_free(&a);
    return ret;
}

void vf_mail_register_jobs(void)
{
    /* libcurl's global state, before any worker thread can use it. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        vf_error("mail: curl_global_init failed: SMTP delivery will not work");
    if (vf_worker_register(MAIL_JOB_TYPE, vf_mail_job) < 0)
        vf_error("mail: cannot register the \"mail\" job type");
}
