-- Capabilities an admin grants a key beyond its role (core::capability names, e.g.
-- 'match_details': ingest answers carry each hit's entry, distance and detail). A key made
-- before this migration has none, so ingest answers hide those fields from it by default.
ALTER TABLE api_keys ADD COLUMN capabilities text[] NOT NULL DEFAULT '{}';
