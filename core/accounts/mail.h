/*
 * mail.h - the account emails (address confirmation, password reset): the
 * "mail" job that renders them from templates and hands them to the
 * configured transport.
 *
 * Requests enqueue only {"template", "user_id"}; the worker makes the link's
 * token when it sends, so no token is ever stored in the queue.
 * Transports (mail.transport): "file" writes one .eml per message into
 * mail.dir (development, tests); "smtp" sends through libcurl to
 * mail.smtp_url with STARTTLS, implicit TLS or none (mail.smtp_tls) and
 * optional authentication.  A failed delivery fails the job, and the job
 * queue retries it with backoff; a permanent SMTP refusal (5xx) does not.
 *
 * Owns: templates and their rendering, MIME, the transports, the job type.
 * Must not: decide when an email is due (users.c does).
 */
#ifndef VF_MAIL_H
#define VF_MAIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jobs/queue.h"
#include "runtime/app.h"

#define VF_MAIL_CONFIRM "confirm_email"
#define VF_MAIL_RESET "reset_password"

/* Registers the "mail" job type; call before the worker starts. */
void vf_mail_register_jobs(void);
/* The "mail" job handler. */
int vf_mail_job(vf_job_t *job, vf_thread_ctx_t *ctx, char *err, size_t errlen);

/* Queue an account email inside the caller's open transaction (the queue's
 * outbox): it is sent only if the transaction commits.  Call
 * vf_queue_flush(ctx) after COMMIT.  0 or a negative errno. */
int vf_mail_enqueue_tx(vf_thread_ctx_t *ctx, const char *template_name, int64_t user_id);

/* Render <dir>/<name>.txt (first line "Subject: ...", a blank line, the
 * text) and <dir>/<name>.html with {{ var }} replaced by the string members
 * of vars (HTML-escaped in the .html).  All three out strings malloc()ed.
 * 0, or a negative errno with err filled. */
int vf_mail_render(const char *dir, const char *name, const json_t *vars, char **subject, char **text,
                   char **html, char *err, size_t errlen);

/* A complete RFC 5322 message, multipart/alternative text + HTML, CRLF
 * line ends; *out malloc()ed.  0 or a negative errno. */
int vf_mail_compose(const char *from, const char *to, const char *subject, const char *text, const char *html,
                    int64_t now, char **out);

/* Deliver through mail.transport.  0; -EPERM when the server refused for
 * good (do not retry); another negative errno otherwise (retry). */
int vf_mail_deliver(const vf_config_t *cfg, const char *to, const char *message, char *err, size_t errlen);

/* "3 days", "1 hour", "90 seconds". */
void vf_mail_duration(int seconds, char *buf, size_t len);

#endif
