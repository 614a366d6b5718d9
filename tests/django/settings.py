# tests/django/settings.py - the smallest Django project with the tables of
# the old Videoflix backend (users_app, content_app), so that the import
# tests read a source database made by Django's own migrations.  The
# database comes from VF_DJANGO_DSN (a libpq "key=value ..." string).
import os

def _dsn(text):
    fields = dict(part.split("=", 1) for part in text.split())
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": fields.get("dbname", ""),
        "USER": fields.get("user", ""),
        "PASSWORD": fields.get("password", ""),
        "HOST": fields.get("host", ""),
        "PORT": fields.get("port", ""),
    }

SECRET_KEY = "videoflix-import-test-only"
USE_TZ = True
DATABASES = {"default": _dsn(os.environ["VF_DJANGO_DSN"])}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "content_app",
    "users_app",
]
AUTH_USER_MODEL = "users_app.UserProfile"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MEDIA_ROOT = os.environ.get("VF_DJANGO_MEDIA_ROOT", "/nonexistent")
# Every hasher the importer must carry over; the first is Django's default.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
