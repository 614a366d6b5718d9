-- 010_hls.sql - the HLS stream of a video (docs/pipeline.md, "HLS"): per
-- rendition of a generation, what the initialisation segment says and how
-- many media segments are published, and per segment its length and size.
-- Written by core/pipeline/hls_publish.c as each file reaches storage;
-- playlists are rendered from these rows (core/pipeline/hls_playlist.c), by
-- the worker into storage and by the server for private S3.
--
-- videos.hls_state, for the video's current generation: 'live' once the
-- master playlist lists every rendition with at least one segment and not
-- every rendition has ended; 'complete' when every one has; 'none'
-- otherwise.  It changes on videos, so the catalogue notification of
-- 003_videos.sql moves the catalogue version with it.  The stream tables
-- have no such trigger: a segment every few seconds must not rebuild the
-- catalogue; their `version` is the playlist's cache key instead.

ALTER TABLE videos ADD hls_state text NOT NULL DEFAULT 'none'
  CHECK (hls_state IN ('none', 'live', 'complete'));

CREATE TABLE video_hls_streams (
  video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  generation int NOT NULL,
  quality text NOT NULL,
  -- From the initialisation segment (avc1 sample entry, avcC, esds).
  width int NOT NULL DEFAULT 0,
  height int NOT NULL DEFAULT 0,
  codecs text NOT NULL DEFAULT '',
  -- From the probe of the source (frames per second).
  frame_rate double precision NOT NULL DEFAULT 0,
  -- Media segments published (0..segments-1): a retried job's resume position.
  segments int NOT NULL DEFAULT 0,
  ended bool NOT NULL DEFAULT false,
  -- Bumped on every change of the row or its segments: the playlist's cache key.
  version int NOT NULL DEFAULT 1,
  PRIMARY KEY (video_id, generation, quality)
);

CREATE TABLE video_hls_segments (
  video_id bigint NOT NULL,
  generation int NOT NULL,
  quality text NOT NULL,
  sequence int NOT NULL CHECK (sequence >= 0),
  duration double precision NOT NULL CHECK (duration >= 0),
  bytes bigint NOT NULL CHECK (bytes >= 0),
  PRIMARY KEY (video_id, generation, quality, sequence),
  FOREIGN KEY (video_id, generation, quality)
    REFERENCES video_hls_streams (video_id, generation, quality) ON DELETE CASCADE
);

-- A new generation (a replaced source) starts without HLS: its state is
-- 'none' again, and the rows of other generations go (their objects are
-- removed by the lifecycle's remove_files job; a job of the old generation
-- still running finds its generation gone and writes nothing more).
CREATE FUNCTION vf_hls_generation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.hls_state := 'none';
  RETURN NEW;
END;
$$;

CREATE TRIGGER videos_hls_generation_changed
  BEFORE UPDATE OF generation ON videos
  FOR EACH ROW WHEN (OLD.generation IS DISTINCT FROM NEW.generation)
  EXECUTE FUNCTION vf_hls_generation_changed();

CREATE FUNCTION vf_hls_old_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM video_hls_streams WHERE video_id = NEW.id AND generation <> NEW.generation;
  RETURN NULL;
END;
$$;

CREATE TRIGGER videos_hls_old_generations
  AFTER UPDATE OF generation ON videos
  FOR EACH ROW WHEN (OLD.generation IS DISTINCT FROM NEW.generation)
  EXECUTE FUNCTION vf_hls_old_generations();
