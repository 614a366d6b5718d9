# The video table of the old backend: same table and column names
# (content_app_video), written for this test.
from django.db import models

GENRES = [(g, g) for g in (
    "Action", "Adventure", "Comedy", "Crime", "Drama", "Fantasy", "Historical", "Horror", "Mystery",
    "Philosophical", "Political", "Romance", "Science fiction", "Thriller", "Western", "Animation",
    "Documentary", "Biographical", "Educational", "Erotic", "Musical", "Reality", "Sports", "Superhero",
    "Surreal", "Other")]


class Video(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    title = models.CharField(max_length=100, unique=True)
    description = models.TextField()
    category = models.CharField(max_length=50, choices=GENRES, blank=True, null=True)
    image_file = models.FileField(upload_to="images", blank=True, null=True)
    video_file = models.FileField(upload_to="videos", blank=True, null=True)
    # {"360p": "videos/<name>_360p.mp4", ...}
    converted_files = models.JSONField(blank=True, null=True, default=dict)
    processing_state = models.CharField(max_length=16, default="pending")
    processing_error = models.TextField(blank=True, null=True)
