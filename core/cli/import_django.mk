# core/cli/import_django.mk - `videoflix import-django` (moving a Django
# Videoflix deployment over), its migration, the Django project its tests
# build the source database with, and its test.  See
# docs/migrating-from-django.md.

core_libvfcore_la_SOURCES += \
	core/cli/import_django.c core/cli/import_django_videos.c core/cli/import_django.h

dist_sql_DATA += sql/009_import_django.sql

EXTRA_DIST += tests/django/build_source.py tests/django/settings.py \
	tests/django/users_app/__init__.py tests/django/users_app/models.py \
	tests/django/content_app/__init__.py tests/django/content_app/models.py

# From a source database made by Django's own migrations (needs Debian's
# python3-django, -djangorestframework, -argon2, -bcrypt, -psycopg2).
check_PROGRAMS += tests/e2e/check_import_django
TESTS += tests/e2e/check_import_django
tests_e2e_check_import_django_SOURCES = tests/e2e/check_import_django.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_import_django_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_import_django_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_import_django_LDADD = $(TEST_LIBS) -lm
