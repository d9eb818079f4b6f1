-- Exchanges: hash lists that follow an outside source (NCMEC hash sharing, StopNCII,
-- ThreatExchange, another hashguard, a watched folder), with the harm type every list and case
-- holds and the provenance of every entry an exchange delivered.

-- What a list holds (core::harm_type names): csam by default; ncii (intimate images of adults,
-- StopNCII) and tvec (terrorist and violent extremist content, GIFCT) hits open cases of their
-- own type, never enter the CyberTipline queue and carry no A1-B2 classification.
ALTER TABLE hash_lists ADD COLUMN harm_type text NOT NULL DEFAULT 'csam'
  CHECK (harm_type IN ('csam', 'ncii', 'tvec'));
ALTER TABLE cases ADD COLUMN harm_type text NOT NULL DEFAULT 'csam'
  CHECK (harm_type IN ('csam', 'ncii', 'tvec'));

-- A case's harm type follows the lists of the entries it covers: csam as soon as one of them is
-- a csam list (the strictest handling wins), otherwise the first of the others by name.
CREATE FUNCTION hg_case_harm_type() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cases c SET harm_type = x.harm
    FROM (SELECT ce.case_id,
                 CASE WHEN bool_or(l.harm_type = 'csam') THEN 'csam' ELSE min(l.harm_type) END
                   AS harm
            FROM case_entries ce JOIN hash_lists l ON l.id = ce.list_id
           WHERE ce.case_id IN (SELECT n.case_id FROM hg_new_case_entries n)
           GROUP BY ce.case_id) x
   WHERE c.id = x.case_id AND c.harm_type IS DISTINCT FROM x.harm;
  RETURN NULL;
END $$;
CREATE TRIGGER case_entries_harm_type AFTER INSERT ON case_entries
  REFERENCING NEW TABLE AS hg_new_case_entries
  FOR EACH STATEMENT EXECUTE FUNCTION hg_case_harm_type();

-- One row per configured exchange: its settings as serve last registered them, and its sync
-- state. The checkpoint is committed in the same transaction as the entries it covers.
CREATE TABLE exchanges (
  id                   bigserial PRIMARY KEY,
  name                 text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  kind                 text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
  harm_type            text NOT NULL DEFAULT 'csam' CHECK (harm_type IN ('csam', 'ncii', 'tvec')),
  reshare              boolean NOT NULL DEFAULT false,
  feedback             boolean NOT NULL DEFAULT false,
  auto_quarantine      boolean NOT NULL DEFAULT false,
  checkpoint           text NOT NULL DEFAULT '' CHECK (length(checkpoint) <= 4096),
  -- A `restart` page starts a new generation; entries not delivered again before the re-fetch
  -- ends (refetching goes false) are deleted then.
  generation           bigint NOT NULL DEFAULT 0,
  refetching           boolean NOT NULL DEFAULT false,
  -- Pages applied since the fed lists' versions last moved (the bump happens once per batch).
  dirty                boolean NOT NULL DEFAULT false,
  entries              bigint NOT NULL DEFAULT 0,  -- entries held, matchable or not
  added                bigint NOT NULL DEFAULT 0,  -- cumulative counts since registration
  updated              bigint NOT NULL DEFAULT 0,
  deleted              bigint NOT NULL DEFAULT 0,
  pages                bigint NOT NULL DEFAULT 0,
  last_page_at         timestamptz,
  last_success_at      timestamptz,
  last_failure_at      timestamptz,
  last_error           text NOT NULL DEFAULT '',
  consecutive_failures integer NOT NULL DEFAULT 0,
  -- The node syncing it now: exactly one at a time (exchange_store's lease).
  lease_holder         text,
  lease_until          timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- The list an exchange feeds with each signal it delivers.
CREATE TABLE exchange_lists (
  exchange_id bigint NOT NULL REFERENCES exchanges(id),
  signal      text NOT NULL CHECK (signal IN ('pdq', 'phash', 'md5', 'sha1', 'sha256')),
  list_id     bigint NOT NULL,
  PRIMARY KEY (exchange_id, signal)
);
CREATE INDEX exchange_lists_list ON exchange_lists (list_id);

-- Provenance of entries an exchange delivered (NULL for imported ones).
ALTER TABLE hashes ADD COLUMN exchange_id bigint,
                   ADD COLUMN source_id text,
                   ADD COLUMN tags text[],
                   ADD COLUMN opinion text,
                   ADD COLUMN first_seen timestamptz,
                   ADD COLUMN last_seen timestamptz,
                   ADD COLUMN exchange_generation bigint;
CREATE INDEX hashes_exchange_source ON hashes (exchange_id, list_id, source_id)
  WHERE exchange_id IS NOT NULL;

-- Entries of a signal hashguard does not match (tmk, video_md5, photodna...) or for which the
-- exchange feeds no list: kept with their provenance, never loaded into a matcher.
CREATE TABLE exchange_unmatched (
  exchange_id bigint NOT NULL REFERENCES exchanges(id),
  signal      text NOT NULL CHECK (signal ~ '^[a-z0-9_]{1,32}$'),
  source_id   text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 1024),
  value       text NOT NULL CHECK (length(value) <= 4096),
  tags        text[] NOT NULL DEFAULT '{}',
  opinion     text,
  first_seen  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  generation  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (exchange_id, signal, source_id)
);
