-- Provenance kept with what a match leaves behind (issue 18): each event hit and each case entry
-- stores the exchange and source id of the entry it matched, as they were when it was recorded,
-- so a case still names its source after the exchange deleted the entry (StopNCII withdrawals
-- delete, not retire) and the CyberTipline package and exports carry it. NULL for an imported
-- entry. Filled here from the entry row at insert time (a primary-key probe per row, on the
-- recorder's path, never the scan's), so every writer of these tables gets it.
ALTER TABLE event_hits ADD COLUMN exchange text, ADD COLUMN source_id text;
ALTER TABLE case_entries ADD COLUMN exchange text, ADD COLUMN source_id text;

CREATE FUNCTION hg_hit_source() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT x.name, h.source_id INTO NEW.exchange, NEW.source_id
    FROM hashes h JOIN exchanges x ON x.id = h.exchange_id
   WHERE h.id = NEW.entry_id;
  RETURN NEW;
END $$;

CREATE TRIGGER event_hits_source BEFORE INSERT ON event_hits
  FOR EACH ROW WHEN (NEW.exchange IS NULL) EXECUTE FUNCTION hg_hit_source();
CREATE TRIGGER case_entries_source BEFORE INSERT ON case_entries
  FOR EACH ROW WHEN (NEW.exchange IS NULL) EXECUTE FUNCTION hg_hit_source();
