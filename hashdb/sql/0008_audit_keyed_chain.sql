-- The audit chain is keyed (HMAC-SHA-256 with a key held outside the database) and covers the
-- row id. key_id names the key of a keyed row; NULL marks a row written before this change,
-- whose row_hash stays the plain SHA-256 chain (the first keyed row chains from the last of
-- them). The key never enters the database: only its id does.
ALTER TABLE audit_log ADD COLUMN key_id text
  CHECK (key_id IS NULL OR key_id ~ '^[A-Za-z0-9._-]{1,64}$');
