#!/usr/bin/python3
# tests/django/build_source.py WORKDIR - the source database of the import
# tests, made by Django itself: copies this project into WORKDIR, generates
# its migrations with makemigrations, applies them with migrate to the
# database of $VF_DJANGO_DSN and fills it: one user per password hasher, an
# unusable and an inactive one, $VF_DJANGO_BULK_USERS more, videos with
# their files under $VF_DJANGO_MEDIA_ROOT (one complete, one missing
# renditions, one missing its source) and favourites.  What it made is
# what tests/e2e/check_import_django.c expects: change both together.
# A missing Python package is an error (exit 1), never a skip.
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
QUALITIES = ("120p", "360p", "720p", "1080p")


def copy_project(workdir):
    for app in ("users_app", "content_app"):
        shutil.copytree(os.path.join(HERE, app), os.path.join(workdir, app), dirs_exist_ok=True)
        os.makedirs(os.path.join(workdir, app, "migrations"), exist_ok=True)
        open(os.path.join(workdir, app, "migrations", "__init__.py"), "a").close()
    shutil.copy(os.path.join(HERE, "settings.py"), os.path.join(workdir, "settings.py"))


def media_file(root, name):
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        # Distinct content per file, so that a test can tell them apart.
        f.write(("%s\n" % name).encode() * 512)
    return name


def fill(media_root, bulk):
    from datetime import datetime, timezone
    from django.contrib.auth.hashers import make_password
    from content_app.models import Video
    from users_app.models import UserProfile

    def user(email, hasher, **extra):
        u = UserProfile(username=email, email=email, **extra)
        u.password = make_password("Old-Passw0rd-" + email.split("@")[0].lower(), hasher=hasher)
        u.save()
        return u

    alice = user("alice@example.com", "pbkdf2_sha256", is_staff=True, is_superuser=True,
                 phone="+49 30 1234", address="1 Old Street")
    bob = user("Bob@Example.com", "argon2", phone=None, address=None)
    user("carol@example.com", "bcrypt_sha256")
    user("dave@example.com", "md5")
    erin = UserProfile(username="erin", email="erin@example.com")
    erin.set_unusable_password()
    erin.save()
    user("frank@example.com", "pbkdf2_sha256", is_active=False)
    UserProfile.objects.filter(pk=alice.pk).update(
        date_joined=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        last_login=datetime(2024, 6, 7, 8, 9, 10, tzinfo=timezone.utc))
    # Cheap hashes: these are here to make the import take a while.
    md5 = make_password("bulk-password", salt="bulksalt", hasher="md5")
    UserProfile.objects.bulk_create(
        [UserProfile(username="bulk%05d" % i, email="bulk%05d@example.com" % i, password=md5)
         for i in range(bulk)], batch_size=1000)

    def video(title, stem, category, renditions, with_source=True, thumb=True):
        source = "videos/%s.mp4" % stem
        converted = {q: "videos/%s_%s.mp4" % (stem, q) for q in QUALITIES}
        v = Video.objects.create(title=title, description="About " + title, category=category,
                                 video_file=source, image_file=("images/%s.jpg" % stem) if thumb else None,
                                 converted_files=converted, processing_state="ready")
        if with_source:
            media_file(media_root, source)
        if thumb:
            media_file(media_root, "images/%s.jpg" % stem)
        for q in renditions:
            media_file(media_root, converted[q])
        return v

    complete = video("Complete Film", "complete", "Drama", QUALITIES)
    half = video("Half Film", "half", None, ("120p",))
    video("Lost Film", "lost", "Comedy", QUALITIES, with_source=False)
    Video.objects.filter(pk=complete.pk).update(created_at=datetime(2023, 5, 6, 7, 8, 9, tzinfo=timezone.utc))
    alice.favorite_videos.add(complete, half)
    bob.favorite_videos.add(complete)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: build_source.py WORKDIR")
    workdir = sys.argv[1]
    copy_project(workdir)
    sys.path.insert(0, workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    import django
    import argon2  # noqa: F401 - the hashers need them: fail here, clearly
    import bcrypt  # noqa: F401
    import rest_framework  # noqa: F401
    from django.core.management import call_command
    django.setup()
    call_command("makemigrations", "content_app", "users_app", verbosity=0)
    call_command("migrate", verbosity=0)
    fill(os.environ["VF_DJANGO_MEDIA_ROOT"], int(os.environ.get("VF_DJANGO_BULK_USERS", "0")))


if __name__ == "__main__":
    main()
