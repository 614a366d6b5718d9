-- 009_import_django.sql - what `videoflix import-django` has brought over
-- from a Django Videoflix database (docs/migrating-from-django.md): one row
-- per source row, written in the same transaction as the row it made, so a
-- second run skips it and an interrupted run resumes after the last commit.
-- Owned by core/cli/import_django*.c; nothing else reads it.

CREATE TABLE django_import_map (
    -- 'user', 'video' or 'favorite'
    kind text NOT NULL CHECK (kind IN ('user', 'video', 'favorite')),
    -- id in the Django table (users_app_userprofile, content_app_video,
    -- users_app_userprofile_favorite_videos)
    django_id bigint NOT NULL,
    -- id of the row made here (users.id, videos.id; a favourite's user id)
    local_id bigint NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, django_id)
);
