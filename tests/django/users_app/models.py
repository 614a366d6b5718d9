# The user table of the old backend (users_app_userprofile: Django's
# AbstractUser plus phone and address) and its favourites
# (users_app_userprofile_favorite_videos), written for this test.
from django.contrib.auth.models import AbstractUser
from django.db import models

from content_app.models import Video


class UserProfile(AbstractUser):
    phone = models.CharField(max_length=20, blank=True, null=True)
    address = models.TextField(max_length=120, blank=True, null=True)
    favorite_videos = models.ManyToManyField(Video, related_name="users", blank=True)
