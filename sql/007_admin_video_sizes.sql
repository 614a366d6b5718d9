-- 007_admin_video_sizes.sql - what the staff video list needs to show and
-- sort by size, and the indexes its keyset orders walk (docs/admin.md,
-- "Videos").  The sizes are written by core/pipeline/pipeline_db.c: the
-- source's size as the storage reports it when a task starts on it, each
-- rendition's bytes when stored.  0 means "not known yet" (a video no task
-- has looked at, or one processed before this migration).

ALTER TABLE videos ADD COLUMN source_size bigint NOT NULL DEFAULT 0 CHECK (source_size >= 0);
ALTER TABLE video_renditions ADD COLUMN size bigint NOT NULL DEFAULT 0 CHECK (size >= 0);

-- Keyset pages by title and by size: (key, id) so that the row comparison
-- of the cursor is an index condition (the unique index on lower(title)
-- alone would serve the order but not the comparison).  Date order walks
-- videos_created_at_idx of 003_videos.sql.
CREATE INDEX videos_title_sort_idx ON videos (lower(title), id);
CREATE INDEX videos_source_size_idx ON videos (source_size, id);
