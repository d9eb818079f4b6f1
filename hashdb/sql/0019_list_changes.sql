-- The change feed of a list (GET /v1/lists/{id}/changes, issue 18): what another hashguard
-- following this list reads, and the `exchange` role whose keys may read it, each scoped to
-- named lists.
--
-- Every entry row carries the id of the transaction that last changed what a follower sees
-- (its value, its retirement, its provenance), and every deleted row leaves a tombstone with
-- the deleting transaction's id. The feed pages in (transaction id, entry id) order and only
-- ever shows rows of transactions older than the oldest one still running
-- (pg_snapshot_xmin): nothing can later appear behind a cursor it gave out, whatever imports
-- or syncs commit meanwhile, and in whatever order.
--
-- Rows that existed before this migration read as transaction 0 (a constant default: no
-- rewrite of the table); new rows take the writing transaction's id.
ALTER TABLE hashes ADD COLUMN change_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE hashes ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX hashes_list_changes ON hashes (list_id, change_xid, id);

CREATE FUNCTION hg_hash_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_xid := pg_current_xact_id();
  RETURN NEW;
END $$;
-- Only changes a follower sees move the row in the feed: an exchange re-delivering an entry
-- unchanged (last_seen) or a quarantine (a local decision) do not.
CREATE TRIGGER hashes_changed BEFORE UPDATE ON hashes FOR EACH ROW
  WHEN (OLD.value IS DISTINCT FROM NEW.value OR OLD.retired_at IS DISTINCT FROM NEW.retired_at
        OR OLD.external_id IS DISTINCT FROM NEW.external_id
        OR OLD.exchange_id IS DISTINCT FROM NEW.exchange_id
        OR OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.tags IS DISTINCT FROM NEW.tags
        OR OLD.opinion IS DISTINCT FROM NEW.opinion)
  EXECUTE FUNCTION hg_hash_changed();

-- Deleted entries (exchange deletions, a re-fetch's leftovers): the entry's id (numbered from
-- the entries' own sequence, so one order covers both tables), its list and value.
CREATE TABLE hash_tombstones (
  id          bigint PRIMARY KEY,
  list_id     bigint NOT NULL,
  value       bytea NOT NULL,
  exchange_id bigint,
  change_xid  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  deleted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hash_tombstones_list_changes ON hash_tombstones (list_id, change_xid, id);

CREATE FUNCTION hg_hash_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hash_tombstones (id, list_id, value, exchange_id)
    SELECT g.id, g.list_id, g.value, g.exchange_id FROM hg_gone_hashes g
    ON CONFLICT (id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER hashes_deleted AFTER DELETE ON hashes REFERENCING OLD TABLE AS hg_gone_hashes
  FOR EACH STATEMENT EXECUTE FUNCTION hg_hash_deleted();

-- The exchange role: read-only, only the change feed of the lists named in `lists`.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('ingest', 'reviewer', 'compliance', 'admin', 'exchange'));
ALTER TABLE api_keys ADD COLUMN lists text[] NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD CONSTRAINT api_keys_exchange_lists
  CHECK ((role = 'exchange') = (cardinality(lists) > 0));
