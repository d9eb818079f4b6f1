-- The decisions feed for the cache layer (GET /v1/decisions, decision_feed.hpp): one row per
-- content when its case becomes confirmed (block it) and when a reviewer suppresses it (answer
-- no_match). Triggers fill it, so every path that decides a case feeds it. The advisory lock
-- serialises feed writers until they commit, so ids become visible in id order and a reader's
-- cursor (the last id it saw) never skips a row that commits later.
CREATE TABLE decision_feed (
  id          bigserial PRIMARY KEY,
  case_id     bigint,
  decision    text NOT NULL CHECK (decision IN ('confirmed', 'dismissed')),
  action      text NOT NULL CHECK (action IN ('block', 'none')),
  content     bytea NOT NULL,
  md5         bytea,
  sha1        bytea,
  sha256      bytea,
  pdq         bytea,
  phash       bytea,
  decided_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION hg_feed_confirmed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7003);
  INSERT INTO decision_feed (case_id, decision, action, content, md5, sha1, sha256, pdq, phash)
  SELECT NEW.id, 'confirmed', 'block', f.content, f.md5, f.sha1, f.sha256, f.pdq, f.phash
    FROM case_files f WHERE f.case_id = NEW.id ORDER BY f.first_seen, f.content;
  RETURN NULL;
END $$;
CREATE TRIGGER cases_feed_confirmed AFTER UPDATE OF status ON cases
  FOR EACH ROW WHEN (NEW.status = 'confirmed' AND OLD.status IS DISTINCT FROM 'confirmed')
  EXECUTE FUNCTION hg_feed_confirmed();

CREATE FUNCTION hg_feed_suppressed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7003);
  INSERT INTO decision_feed (case_id, decision, action, content, md5, sha1, sha256, pdq, phash)
  SELECT NEW.case_id, 'dismissed', 'none', NEW.content, f.md5, f.sha1, f.sha256, f.pdq, f.phash
    FROM (SELECT 1) one
    LEFT JOIN case_files f ON f.case_id = NEW.case_id AND f.content = NEW.content;
  RETURN NULL;
END $$;
CREATE TRIGGER suppressions_feed AFTER INSERT ON suppressions
  FOR EACH ROW EXECUTE FUNCTION hg_feed_suppressed();
