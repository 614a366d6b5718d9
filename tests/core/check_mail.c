/*
 * check_mail.c - account emails without the queue: templates (the installed
 * ones from the source tree), MIME composition, the file transport, and the
 * smtp transport against a real SMTP server (Debian's python3-aiosmtpd)
 * with STARTTLS, implicit TLS, plain connections, authentication, a refused
 * login (permanent) and a server that is down (retryable).
 */
#include "config.h"
#include "core/config/conf.h"
#include "core/accounts/mail.h"
#include "vftest.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *srcdir(void)
{
    const char *s = getenv("VF_SRCDIR");
    return s ? s : ".";
}

static vf_config_t *config(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static vf_config_t *config(const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *errors = NULL;
    vf_config_t *cfg = vf_config_load_string(text, "test", &errors);
    ck_assert_msg(cfg != NULL, "config: %s", errors ? errors : "?");
    free(errors);
    return cfg;
}

static json_t *vars(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "link",
                     "http://127.0.0.1:8000/users/confirm/?uid=2s&token=abc-DEF_123", "email", "a&b@example.com",
                     "username", "<b>", "valid_for", "3 days", "site_name", "Videoflix");
}

START_TEST(render_installed_templates)
{
    char dir[4096], err[256];
    snprintf(dir, sizeof dir, "%s/templates", srcdir());
    const char *names[] = {VF_MAIL_CONFIRM, VF_MAIL_RESET};
    for (int i = 0; i < 2; i++) {
        json_t *v = vars();
        char *subject = NULL, *text = NULL, *html = NULL;
        ck_assert_msg(vf_mail_render(dir, names[i], v, &subject, &text, &html, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(strstr(subject, "Videoflix") != NULL, "subject: %s", subject);
        ck_assert_ptr_null(strchr(subject, '\n'));
        ck_assert_msg(text[0] != '\n' && strncmp(text, "Subject", 7) != 0, "text starts with: %.20s", text);
        /* Plain text as is; HTML escaped, the link included. */
        ck_assert_ptr_nonnull(strstr(text, "http://127.0.0.1:8000/users/confirm/?uid=2s&token=abc-DEF_123\n"));
        ck_assert_ptr_nonnull(strstr(text, "a&b@example.com"));
        ck_assert_ptr_nonnull(strstr(html, "href=\"http://127.0.0.1:8000/users/confirm/?uid=2s&amp;token=abc-DEF_123\""));
        ck_assert_ptr_nonnull(strstr(html, "a&amp;b@example.com"));
        ck_assert_ptr_nonnull(strstr(text, "3 days"));
        ck_assert_ptr_null(strstr(html, "{{"));
        free(subject);
        free(text);
        free(html);
        json_decref(v);
    }
}
END_TEST

START_TEST(render_errors)
{
    char *dir = vft_tmpdir("vf-mail-tpl");
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/t.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("Subject: Hi {{ nope }}\n\nbody\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/t.html", dir);
    f = fopen(path, "w");
    fputs("<p>{{ link }}</p>\n", f);
    fclose(f);
    json_t *v = vars();
    char *s = NULL, *t = NULL, *h = NULL;
    ck_assert_int_lt(vf_mail_render(dir, "t", v, &s, &t, &h, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "unknown placeholder {{ nope }}") != NULL, "%s", err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(vf_mail_render(dir, "missing", v, &s, &t, &h, err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "missing.txt"));
    json_decref(v);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(compose_mime)
{
    char *msg = NULL;
    ck_assert_int_eq(vf_mail_compose("Videoflix <noreply@videoflix.example>", "user@example.com", "Hello",
                                     "line one\nhttp://x/?a=1&b=2\n", "<p>hi</p>\n", 1700000000, &msg),
                     0);
    ck_assert_ptr_nonnull(strstr(msg, "From: Videoflix <noreply@videoflix.example>\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "To: user@example.com\r\nSubject: Hello\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "@videoflix.example>\r\nMIME-Version: 1.0\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "Content-Type: multipart/alternative; boundary=\"=_vf_"));
    ck_assert_ptr_nonnull(strstr(msg, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"
                                      "\r\nline one\r\nhttp://x/?a=1&b=2\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "Content-Type: text/html; charset=utf-8\r\n"));
    ck_assert_msg(strlen(msg) > 4 && strcmp(msg + strlen(msg) - 4, "--\r\n") == 0, "no closing boundary");
    ck_assert_ptr_null(strstr(msg, "\n\n")); /* every line end is CRLF */
    free(msg);

    /* Non-ASCII: RFC 2047 subject, quoted-printable bodies. */
    ck_assert_int_eq(vf_mail_compose("x@y.de", "u@example.com", "Gr\xc3\xbc\xc3\x9f" "e",
                                     "Gr\xc3\xbc\xc3\x9f" "e = ok\n", "<p>\xc3\xa4</p>", 0, &msg),
                     0);
    ck_assert_ptr_nonnull(strstr(msg, "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe =3D ok\r\n"));
    ck_assert_ptr_nonnull(strstr(msg, "<p>=C3=A4</p>\r\n"));
    free(msg);
    /* Header injection through an address is refused. */
    ck_assert_int_eq(vf_mail_compose("x@y.de", "u@example.com\r\nBcc: all@example.com", "s", "t", "h", 0, &msg),
                     -EINVAL);
    char d[32];
    vf_mail_duration(259200, d, sizeof d);
    ck_assert_str_eq(d, "3 days");
    vf_mail_duration(3600, d, sizeof d);
    ck_assert_str_eq(d, "1 hour");
    vf_mail_duration(5400, d, sizeof d);
    ck_assert_str_eq(d, "90 minutes");
    vf_mail_duration(61, d, sizeof d);
    ck_assert_str_eq(d, "61 seconds");
}
END_TEST

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0 && e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

START_TEST(file_transport)
{
    char *dir = vft_tmpdir("vf-mail-file");
    char maildir[4096], err[256];
    snprintf(maildir, sizeof maildir, "%s/deep/mail", dir); /* created on demand */
    vf_config_t *cfg = config("mail = { transport = \"file\"; dir = \"%s\"; };", maildir);
    ck_assert_msg(vf_mail_deliver(cfg, "a@b.de", "Subject: one\r\n\r\nbody\r\n", err, sizeof err) == 0, "%s", err);
    ck_assert_msg(vf_mail_deliver(cfg, "a@b.de", "Subject: two\r\n\r\nbody\r\n", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(count_files(maildir, ".eml"), 2);
    struct stat st;
    ck_assert_int_eq(stat(maildir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    vf_config_free(&cfg);
    /* A directory that cannot be made: an error, not a crash. */
    cfg = config("mail = { transport = \"file\"; dir = \"/proc/vf-no/such\"; };");
    ck_assert_int_lt(vf_mail_deliver(cfg, "a@b.de", "x", err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "/proc/vf-no/such"));
    vf_config_free(&cfg);
    vft_rmrf(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------------ SMTP */

static const char SERVER_PY[] =
    "import json, os, signal, ssl, sys\n"
    "from aiosmtpd.controller import Controller\n"
    "from aiosmtpd.smtp import AuthResult, LoginPassword\n"
    "mode, port, cert, key, outdir, user, password = sys.argv[1:8]\n"
    "class Handler:\n"
    "    async def handle_DATA(self, server, session, envelope):\n"
    "        n = len(os.listdir(outdir))\n"
    "        tmp = os.path.join(outdir, '.m%d' % n)\n"
    "        with open(tmp, 'w') as f:\n"
    "            json.dump({'from': envelope.mail_from, 'to': envelope.rcpt_tos,\n"
    "                       'tls': server.transport.get_extra_info('ssl_object') is not None,\n"
    "                       'auth': bool(session.authenticated),\n"
    "                       'data': envelope.content.decode('utf-8', 'replace')}, f)\n"
    "        os.rename(tmp, os.path.join(outdir, 'm%d.json' % n))\n"
    "        return '250 OK'\n"
    "def check(server, session, envelope, mechanism, auth_data):\n"
    "    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \\\n"
    "        and auth_data.password == password.encode()\n"
    "    return AuthResult(success=ok, handled=False)\n"
    "ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
    "ctx.load_cert_chain(cert, key)\n"
    "kw = dict(hostname='127.0.0.1', port=int(port))\n"
    "if mode == 'starttls':\n"
    "    kw.update(tls_context=ctx, require_starttls=True, authenticator=check, auth_required=True)\n"
    "elif mode == 'implicit':\n"
    /* aiosmtpd 1.4 offers AUTH only after its own STARTTLS unless told. */
    "    kw.update(ssl_context=ctx, authenticator=check, auth_required=True, auth_require_tls=False)\n"
    "c = Controller(Handler(), **kw)\n"
    "c.start()\n"
    /* Gone with the test, even when an assertion cut it short. */
    "import threading, time\n"
    "parent = os.getppid()\n"
    "def watch():\n"
    "    while os.getppid() == parent: time.sleep(0.2)\n"
    "    os.kill(os.getpid(), signal.SIGTERM)\n"
    "threading.Thread(target=watch, daemon=True).start()\n"
    "print('ready', flush=True)\n"
    "signal.sigwait({signal.SIGTERM, signal.SIGINT})\n"
    "c.stop()\n";

typedef struct smtp_server {
    char *dir;
    char outdir[4096];
    int port, pid;
} smtp_server_t;

static smtp_server_t smtp;

static void smtp_start(const char *mode)
{
    if (vft_sh(NULL, "/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0)
        ck_abort_msg("python3-aiosmtpd is missing: apt-get install python3-aiosmtpd");
    smtp.dir = vft_tmpdir("vf-smtp");
    char script[4096], cert[4096], key[4096], log[4096];
    snprintf(script, sizeof script, "%s/server.py", smtp.dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", smtp.dir);
    snprintf(key, sizeof key, "%s/key.pem", smtp.dir);
    snprintf(log, sizeof log, "%s/server.log", smtp.dir);
    snprintf(smtp.outdir, sizeof smtp.outdir, "%s/out", smtp.dir);
    ck_assert_int_eq(mkdir(smtp.outdir, 0700), 0);
    FILE *f = fopen(script, "w");
    fputs(SERVER_PY, f);
    fclose(f);
    ck_assert_int_eq(vft_sh(NULL,
                            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                            "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
                            "-keyout %s -out %s >/dev/null 2>&1",
                            key, cert),
                     0);
    /* libcurl trusts the test's certificate through SSL_CERT_FILE. */
    setenv("SSL_CERT_FILE", cert, 1);
    smtp.port = vft_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", smtp.port);
    char *argv[] = {"/usr/bin/python3", script, (char *)mode, port, cert, key, smtp.outdir, "mailer", "s3cret", NULL};
    smtp.pid = vft_spawn(argv, log);
    ck_assert_int_gt(smtp.pid, 0);
    if (vft_wait_port(smtp.port, 15000) != 0) {
        char *out = NULL;
        vft_sh(&out, "cat %s", log);
        ck_abort_msg("SMTP server did not start: %s", out ? out : "");
    }
}

static void smtp_stop(void)
{
    if (smtp.pid > 0)
        vft_stop(smtp.pid, SIGTERM, 5000);
    smtp.pid = 0;
    if (smtp.dir) {
        vft_rmrf(smtp.dir);
        free(smtp.dir);
        smtp.dir = NULL;
    }
}

/* The first message the server received, as JSON. */
static json_t *received(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/m0.json", smtp.outdir);
    json_t *j = json_load_file(path, 0, NULL);
    ck_assert_msg(j != NULL, "the server received nothing");
    return j;
}

static int send_with(const char *tls, const char *user, const char *password, char *err, size_t errlen)
{
    vf_config_t *cfg = config("mail = { transport = \"smtp\"; from = \"Videoflix <noreply@videoflix.example>\";"
                              " smtp_url = \"smtp://127.0.0.1:%d\"; smtp_tls = \"%s\"; smtp_user = \"%s\";"
                              " smtp_password = \"%s\"; };",
                              smtp.port, tls, user, password);
    char *msg = NULL;
    ck_assert_int_eq(vf_mail_compose(cfg->mail.from, "user@example.com", "Confirm", "link: http://x/?a=1&b=2\n",
                                     "<p>x</p>", 1700000000, &msg),
                     0);
    int rc = vf_mail_deliver(cfg, "user@example.com", msg, err, errlen);
    free(msg);
    vf_config_free(&cfg);
    return rc;
}

static void assert_delivered(int tls)
{
    json_t *m = received();
    ck_assert_str_eq(json_string_value(json_object_get(m, "from")), "noreply@videoflix.example");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "to"), 0)), "user@example.com");
    ck_assert_int_eq(json_is_true(json_object_get(m, "tls")), tls);
    ck_assert_int_eq(json_is_true(json_object_get(m, "auth")), tls);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(m, "data")), "link: http://x/?a=1&b=2"));
    json_decref(m);
}

START_TEST(smtp_starttls_with_login)
{
    smtp_start("starttls");
    char err[512] = "";
    ck_assert_msg(send_with("starttls", "mailer", "s3cret", err, sizeof err) == 0, "%s", err);
    assert_delivered(1);
    smtp_stop();
}
END_TEST

START_TEST(smtp_implicit_tls)
{
    smtp_start("implicit");
    char err[512] = "";
    ck_assert_msg(send_with("implicit", "mailer", "s3cret", err, sizeof err) == 0, "%s", err);
    assert_delivered(1);
    smtp_stop();
}
END_TEST

START_TEST(smtp_plain)
{
    smtp_start("plain");
    char err[512] = "";
    ck_assert_msg(send_with("none", "", "", err, sizeof err) == 0, "%s", err);
    assert_delivered(0);
    smtp_stop();
}
END_TEST

START_TEST(smtp_refusals)
{
    smtp_start("starttls");
    char err[512] = "";
    /* A wrong password is refused for good (535): no point retrying. */
    ck_assert_int_eq(send_with("starttls", "mailer", "wrong", err, sizeof err), -EPERM);
    ck_assert_msg(strstr(err, "535") != NULL, "%s", err);
    ck_assert_ptr_null(strstr(err, "wrong"));
    /* STARTTLS required by us, but the certificate is not trusted: an error. */
    unsetenv("SSL_CERT_FILE");
    ck_assert_int_lt(send_with("starttls", "mailer", "s3cret", err, sizeof err), 0);
    ck_assert_int_eq(count_files(smtp.outdir, ".json"), 0);
    int port = smtp.port;
    smtp_stop();
    /* Nobody listening: a temporary failure, retried by the queue. */
    smtp.port = port;
    ck_assert_int_eq(send_with("starttls", "mailer", "s3cret", err, sizeof err), -EIO);
}
END_TEST

static Suite *mail_suite(void)
{
    Suite *s = suite_create("mail");
    TCase *tc = tcase_create("compose");
    tcase_add_test(tc, render_installed_templates);
    tcase_add_test(tc, render_errors);
    tcase_add_test(tc, compose_mime);
    tcase_add_test(tc, file_transport);
    suite_add_tcase(s, tc);
    TCase *net = tcase_create("smtp");
    tcase_set_timeout(net, 60);
    tcase_add_checked_fixture(net, NULL, smtp_stop);
    tcase_add_test(net, smtp_starttls_with_login);
    tcase_add_test(net, smtp_implicit_tls);
    tcase_add_test(net, smtp_plain);
    tcase_add_test(net, smtp_refusals);
    suite_add_tcase(s, net);
    return s;
}

VFT_MAIN(mail_suite)
