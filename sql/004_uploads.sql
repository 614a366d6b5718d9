-- 004_uploads.sql - resumable (tus) uploads, and the tasks a video's
-- processing is split into.  Owned by core/upload_store.c (uploads) and
-- core/video_lifecycle.c + core/pipeline.c (video_tasks); see docs/uploads.md
-- and docs/pipeline.md.

-- One row per tus upload until a video takes its file (the row is deleted
-- then: the video owns the object from that moment) or it expires.
CREATE TABLE uploads (
    id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    -- Only its creator may resume, read or end it; kept when the user goes so
    -- that expiry still removes the stored parts.
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    upload_length bigint NOT NULL CHECK (upload_length >= 0),
    -- Bytes acknowledged to the client: in stored parts plus `tail`.
    upload_offset bigint NOT NULL DEFAULT 0 CHECK (upload_offset BETWEEN 0 AND upload_length),
    -- The Upload-Metadata header as the client sent it (validated).
    metadata text NOT NULL DEFAULT '',
    -- Where the finished object lands; also the multipart upload's key.
    storage_key text NOT NULL,
    -- The storage plugin's multipart upload id; NULL once completed (or for
    -- an empty upload, which never starts one).
    multipart_id text,
    -- ETags of parts 1..n as multipart_write returned them.
    part_etags text[] NOT NULL DEFAULT '{}',
    -- Bytes received but not yet written as a part, because S3 refuses
    -- parts under 5 MiB except the last: durable here, so that any server
    -- process can take the next chunk.  Always shorter than one part.
    tail bytea NOT NULL DEFAULT ''::bytea,
    state text NOT NULL DEFAULT 'receiving' CHECK (state IN ('receiving', 'complete')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Pushed forward by every chunk; past it the upload is gone (410) and
    -- the sweep removes its parts.
    expires_at timestamptz NOT NULL
);
-- Video bytes do not compress: skip the attempt when the tail is toasted.
ALTER TABLE uploads ALTER COLUMN tail SET STORAGE EXTERNAL;
CREATE INDEX uploads_expires_idx ON uploads (expires_at);

-- The jobs one generation of a video's processing was split into (one per
-- rendition and one for the thumbnail, or one "ladder" task for all), with
-- their progress.  videos.processing_progress is their weighted average;
-- the video is ready when every task of its generation is done.
CREATE TABLE video_tasks (
    video_id bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    task text NOT NULL,        -- a rendition name ("720p"), "thumbnail" or "ladder"
    generation int NOT NULL,
    weight int NOT NULL CHECK (weight > 0),
    progress int NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    job_id text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, task)
);
