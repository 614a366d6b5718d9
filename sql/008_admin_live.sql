-- 008_admin_live.sql - notifications for the live users and audit pages
-- (docs/admin.md, "Live events"): one per new audit row on channel
-- vf_admin_audit, one per changed account on vf_admin_users.
-- core/admin/events_feed.c LISTENs and passes them to /admin/api/events/
-- as `audit` and `user` events.  Row by row, like vf_admin_videos of
-- 006_admin.sql; the payload says which row, never what a password or a
-- detail holds (the pages read the row through the API).

CREATE FUNCTION vf_admin_audit_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vf_admin_audit', json_build_object(
    'id', NEW.id, 'action', NEW.action, 'object_type', NEW.object_type, 'object_id', NEW.object_id)::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER admin_audit_added
  AFTER INSERT ON admin_audit
  FOR EACH ROW EXECUTE FUNCTION vf_admin_audit_added();

CREATE FUNCTION vf_admin_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  u users;
BEGIN
  IF TG_OP = 'DELETE' THEN u := OLD; ELSE u := NEW; END IF;
  PERFORM pg_notify('vf_admin_users', json_build_object(
    'id', u.id, 'op', lower(TG_OP), 'is_active', u.is_active, 'is_staff', u.is_staff)::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER users_admin_changed
  AFTER INSERT OR UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION vf_admin_user_changed();
