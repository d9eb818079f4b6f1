-- Hash lists and their entries, API keys, the audit log.
CREATE SEQUENCE list_version_seq;

CREATE TABLE hash_lists (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  source      text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
  signal      text NOT NULL CHECK (signal IN ('pdq', 'phash', 'md5', 'sha1', 'sha256')),
  threshold   integer NOT NULL CHECK (threshold BETWEEN 0 AND 256),
  action      text NOT NULL CHECK (action IN ('block', 'report', 'review', 'none')),
  dihedral    boolean NOT NULL DEFAULT true,
  enabled     boolean NOT NULL DEFAULT true,
  retired_at  timestamptz,
  version     bigint NOT NULL DEFAULT nextval('list_version_seq'),
  entries     bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hashes (
  id          bigserial PRIMARY KEY,
  list_id     bigint NOT NULL REFERENCES hash_lists(id),
  value       bytea NOT NULL,
  external_id text,
  quality     smallint,
  note        text,
  added_at    timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz,
  UNIQUE (list_id, value)
);

CREATE TABLE api_keys (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  role        text NOT NULL CHECK (role IN ('ingest', 'reviewer', 'compliance', 'admin')),
  key_sha256  bytea NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
  prefix      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE audit_log (
  id          bigint PRIMARY KEY,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  subject     text NOT NULL,
  detail      text NOT NULL,
  prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
  row_hash    bytea NOT NULL CHECK (length(row_hash) = 32)
);
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

-- Append-only: the service never updates or deletes audit rows. The hash chain (verified by
-- hashguard audit verify) catches what a superuser does around this trigger.
CREATE FUNCTION hg_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION hg_audit_append_only();
