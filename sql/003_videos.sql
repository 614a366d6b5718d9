-- 003_videos.sql - the video catalogue: videos, their renditions, users'
-- favourites, and the notification that tells every server process that the
-- catalogue changed (docs/content.md, "Catalogue cache").

CREATE TABLE videos (
  id bigserial PRIMARY KEY,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  category text NOT NULL CHECK (category IN (
    'Action', 'Adventure', 'Comedy', 'Crime', 'Drama', 'Fantasy', 'Historical', 'Horror', 'Mystery',
    'Philosophical', 'Political', 'Romance', 'Science fiction', 'Thriller', 'Western', 'Animation',
    'Documentary', 'Biographical', 'Educational', 'Erotic', 'Musical', 'Reality', 'Sports', 'Superhero',
    'Surreal', 'Other')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  source_key text,
  thumbnail_key text,
  processing_state text NOT NULL DEFAULT 'pending'
    CHECK (processing_state IN ('pending', 'processing', 'ready', 'failed')),
  processing_error text NOT NULL DEFAULT '',
  processing_progress int NOT NULL DEFAULT 0 CHECK (processing_progress BETWEEN 0 AND 100),
  generation int NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX videos_title_key ON videos (lower(title));
CREATE INDEX videos_created_at_idx ON videos (created_at DESC, id DESC);

CREATE TABLE video_renditions (
  video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  quality text NOT NULL,
  storage_key text NOT NULL,
  generation int NOT NULL,
  PRIMARY KEY (video_id, quality)
);

CREATE TABLE user_favorites (
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, video_id)
);
-- ON DELETE CASCADE from videos looks favourites up by video.
CREATE INDEX user_favorites_video_idx ON user_favorites (video_id);

-- Every statement that changes videos or video_renditions, whoever runs it
-- (a server thread, another server, the worker, psql), notifies channel
-- vf_catalog.  PostgreSQL delivers the notification only after the commit and
-- folds repeats within one transaction into one, so the writers need nothing
-- special and a listener that re-reads after a notification sees the change.
-- A notification rather than a counter row: a counter would serialise every
-- transaction that touches a video on that one row until it commits.
CREATE FUNCTION vf_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vf_catalog', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

CREATE TRIGGER videos_catalog_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON videos
  FOR EACH STATEMENT EXECUTE FUNCTION vf_catalog_changed();
CREATE TRIGGER video_renditions_catalog_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON video_renditions
  FOR EACH STATEMENT EXECUTE FUNCTION vf_catalog_changed();
