-- Review and compliance: who at the provider viewed a file (CyberTipline fileViewedByEsp),
-- and preserved evidence (matched content only, AES-256-GCM under a configured key).
ALTER TABLE case_files ADD COLUMN viewed_by text, ADD COLUMN viewed_at timestamptz;

CREATE TABLE evidence (
  case_id       bigint NOT NULL,
  content       bytea NOT NULL,
  key_id        text NOT NULL CHECK (length(key_id) BETWEEN 1 AND 64),
  nonce         bytea NOT NULL CHECK (length(nonce) = 12),
  ciphertext    bytea NOT NULL,
  tag           bytea NOT NULL CHECK (length(tag) = 16),
  plain_sha256  bytea NOT NULL CHECK (length(plain_sha256) = 32),
  media_type    text NOT NULL,
  stored_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, content),
  FOREIGN KEY (case_id, content) REFERENCES case_files (case_id, content) ON DELETE CASCADE
);
