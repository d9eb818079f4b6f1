-- Feedback sent back to exchanges (issue 18): when a case reaches a final outcome, confirmed or
-- dismissed as a false positive, each entry it covers that came from an exchange taking feedback
-- (exchanges.feedback, `feedback = on` in its section) gets one row here, in the same
-- transaction as the decision, so nothing is lost between the decision and the send. serve's
-- feedback task sends due rows (the entry's source id, signal and value with the outcome: never
-- the content) and records the outcome; a failed send is retried with capped exponential
-- backoff until max attempts, then the row is `failed` for good. One row per case, round and
-- entry: a reopened case decided again sends its new outcome once more.
CREATE TABLE exchange_feedback (
  id              bigserial PRIMARY KEY,
  case_id         bigint NOT NULL,
  round           integer NOT NULL,
  exchange        text NOT NULL,
  source_id       text NOT NULL,
  signal          text NOT NULL,
  value           text NOT NULL DEFAULT '',  -- the entry's value as hex ('' once deleted)
  positive        boolean NOT NULL,          -- confirmed (true) or dismissed (false)
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1024),
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  UNIQUE (case_id, round, exchange, source_id, signal)
);
CREATE INDEX exchange_feedback_due ON exchange_feedback (exchange, next_attempt_at)
  WHERE status = 'pending';
CREATE INDEX exchange_feedback_case ON exchange_feedback (case_id);

CREATE FUNCTION hg_case_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO exchange_feedback (case_id, round, exchange, source_id, signal, value, positive)
  SELECT NEW.id, NEW.round, ce.exchange, ce.source_id, l.signal,
         coalesce(encode(h.value, 'hex'), ''), NEW.status = 'confirmed'
    FROM case_entries ce
    JOIN exchanges x ON x.name = ce.exchange AND x.feedback
    JOIN hash_lists l ON l.id = ce.list_id
    LEFT JOIN hashes h ON h.id = ce.entry_id
   WHERE ce.case_id = NEW.id AND ce.source_id IS NOT NULL
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER cases_feedback AFTER UPDATE OF status ON cases
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('confirmed', 'false_positive'))
  EXECUTE FUNCTION hg_case_feedback();
