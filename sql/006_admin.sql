-- 005_admin.sql - what the staff admin needs of the database (docs/admin.md):
-- the record of every staff action taken through the admin API ("Audit";
-- written by core/accounts/audit.c, read by GET /admin/api/audit/, never
-- changed), and a notification per changed video for its live view.

CREATE TABLE admin_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  -- The staff member; the address is copied so that the row still says who
  -- it was after that account is deleted.
  actor_id bigint REFERENCES users (id) ON DELETE SET NULL,
  actor_email text NOT NULL,
  action text NOT NULL CHECK (action <> ''),
  object_type text NOT NULL CHECK (object_type <> ''),
  object_id text NOT NULL DEFAULT '',
  client_ip text NOT NULL DEFAULT '',
  -- What changed, small: the fields of a PATCH, a job's type...
  detail jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (octet_length(detail::text) <= 4096)
);
-- Keyset pages go newest first by id; the filters are narrow ones.
CREATE INDEX admin_audit_object_idx ON admin_audit (object_type, object_id, id DESC);
CREATE INDEX admin_audit_actor_idx ON admin_audit (actor_id, id DESC);

-- One notification per changed video row on channel vf_admin_videos, with
-- what the admin's table shows live; core/admin/events_feed.c LISTENs and
-- passes them to /admin/api/events/.  Row by row (the catalogue's own
-- notification is per statement and says only that something changed);
-- PostgreSQL folds identical payloads of one transaction into one.
CREATE FUNCTION vf_admin_video_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v videos;
BEGIN
  IF TG_OP = 'DELETE' THEN v := OLD; ELSE v := NEW; END IF;
  PERFORM pg_notify('vf_admin_videos', json_build_object(
    'id', v.id, 'op', lower(TG_OP), 'state', v.processing_state,
    'progress', v.processing_progress, 'generation', v.generation)::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER videos_admin_changed
  AFTER INSERT OR UPDATE OR DELETE ON videos
  FOR EACH ROW EXECUTE FUNCTION vf_admin_video_changed();
