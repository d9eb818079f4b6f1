-- One list check per statement instead of a foreign-key trigger per row. An import of a
-- million hashes spent 40% of its time in the per-row RI trigger of hashes.list_id. Lists are
-- retired, never deleted, so what the foreign key guarded comes down to: every row a statement
-- inserts into or updates in hashes names an existing list (one anti-join over the statement's
-- transition table), and no list row is ever deleted, truncated or renumbered.
ALTER TABLE hashes DROP CONSTRAINT hashes_list_id_fkey;

CREATE FUNCTION hg_hashes_list_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM hg_changed_hashes n
              WHERE NOT EXISTS (SELECT 1 FROM hash_lists l WHERE l.id = n.list_id)) THEN
    RAISE EXCEPTION 'hashes.list_id names no hash list' USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER hashes_list_exists_insert AFTER INSERT ON hashes
  REFERENCING NEW TABLE AS hg_changed_hashes
  FOR EACH STATEMENT EXECUTE FUNCTION hg_hashes_list_exists();
CREATE TRIGGER hashes_list_exists_update AFTER UPDATE ON hashes
  REFERENCING NEW TABLE AS hg_changed_hashes
  FOR EACH STATEMENT EXECUTE FUNCTION hg_hashes_list_exists();

CREATE FUNCTION hg_hash_lists_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'hash lists are retired, never deleted or renumbered'
    USING ERRCODE = 'foreign_key_violation';
END $$;
CREATE TRIGGER hash_lists_no_delete BEFORE DELETE ON hash_lists
  FOR EACH ROW EXECUTE FUNCTION hg_hash_lists_kept();
CREATE TRIGGER hash_lists_no_renumber BEFORE UPDATE OF id ON hash_lists
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION hg_hash_lists_kept();
CREATE TRIGGER hash_lists_no_truncate BEFORE TRUNCATE ON hash_lists
  FOR EACH STATEMENT EXECUTE FUNCTION hg_hash_lists_kept();
