# core/accounts.mk - accounts and authentication: users, passwords, tokens,
# sessions, rate limits, the Origin check, account emails, createsuperuser,
# their tests, migration and templates.  See docs/accounts.md.

core_libvfcore_la_SOURCES += \
	core/accounts/auth.c core/accounts/auth.h \
	core/accounts/sessions.c core/accounts/sessions.h \
	core/accounts/password.c core/accounts/password.h \
	core/accounts/users.c core/accounts/users_login.c core/accounts/users_body.c core/accounts/users.h \
	core/cli/users_cli.c \
	core/accounts/ratelimit.c core/accounts/ratelimit.h \
	core/accounts/mail.c core/accounts/mail.h \
	core/accounts/audit.c core/accounts/audit.h
# Django bcrypt hashes are verified with libxcrypt.
core_libvfcore_la_LIBADD += -lcrypt

dist_sql_DATA += sql/001_users.sql

templatesdir = $(pkgdatadir)/templates
dist_templates_DATA = \
	templates/confirm_email.txt templates/confirm_email.html \
	templates/reset_password.txt templates/reset_password.html

check_PROGRAMS += tests/core/check_password
TESTS += tests/core/check_password
tests_core_check_password_SOURCES = tests/core/check_password.c
tests_core_check_password_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_password_CFLAGS = $(TEST_CFLAGS)
tests_core_check_password_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/core/check_tokens
TESTS += tests/core/check_tokens
tests_core_check_tokens_SOURCES = tests/core/check_tokens.c
tests_core_check_tokens_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_tokens_CFLAGS = $(TEST_CFLAGS)
tests_core_check_tokens_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/core/check_mail
TESTS += tests/core/check_mail
tests_core_check_mail_SOURCES = tests/core/check_mail.c
tests_core_check_mail_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_mail_CFLAGS = $(TEST_CFLAGS)
tests_core_check_mail_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/e2e/check_accounts
TESTS += tests/e2e/check_accounts
tests_e2e_check_accounts_SOURCES = tests/e2e/check_accounts.c
tests_e2e_check_accounts_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_accounts_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_accounts_LDADD = $(TEST_LIBS)
