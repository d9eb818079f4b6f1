-- The case store: cases, their entries and files, events and their hits, decisions,
-- CyberTipline reports, the suppression list, and hg_record_event.
CREATE TABLE cases (
  id                     bigserial PRIMARY KEY,
  zone                   text NOT NULL,
  status                 text NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'confirmed', 'false_positive', 'escalated', 'reported')),
  opened_at              timestamptz NOT NULL DEFAULT now(),
  first_seen             timestamptz NOT NULL,
  last_seen              timestamptz NOT NULL,
  sightings              bigint NOT NULL DEFAULT 0,
  required_confirmations smallint NOT NULL DEFAULT 1 CHECK (required_confirmations BETWEEN 1 AND 2),
  classification         text CHECK (classification IN ('A1', 'A2', 'B1', 'B2')),
  dismissed_at           timestamptz,
  reported_at            timestamptz,
  preserve_until         timestamptz,
  legal_hold             boolean NOT NULL DEFAULT false,
  details_purged_at      timestamptz
);
CREATE INDEX cases_zone ON cases (zone);
CREATE INDEX cases_status ON cases (status);

-- The known items (list entries) a case covers.
CREATE TABLE case_entries (
  case_id   bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  list_id   bigint NOT NULL,
  entry_id  bigint NOT NULL,
  PRIMARY KEY (case_id, list_id, entry_id)
);
CREATE INDEX case_entries_entry ON case_entries (list_id, entry_id);

-- The distinct contents a case covers. content = SHA-256 when the caller sent the bytes,
-- otherwise the best hash it sent (PDQ, pHash, MD5, SHA-1).
CREATE TABLE case_files (
  case_id    bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  content    bytea NOT NULL,
  md5        bytea,
  sha1       bytea,
  sha256     bytea,
  pdq        bytea,
  phash      bytea,
  first_seen timestamptz NOT NULL,
  last_seen  timestamptz NOT NULL,
  sightings  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (case_id, content)
);
CREATE INDEX case_files_content ON case_files (content);

CREATE TABLE events (
  id           uuid PRIMARY KEY,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  zone         text NOT NULL,
  source_url   text,
  request_id   text,
  node         text,
  md5          bytea,
  sha1         bytea,
  sha256       bytea,
  pdq          bytea,
  pdq_quality  smallint,
  phash        bytea,
  action       text NOT NULL CHECK (action IN ('block', 'report', 'review', 'none')),
  case_id      bigint REFERENCES cases(id) ON DELETE CASCADE,
  suppressed   boolean NOT NULL DEFAULT false
);
CREATE INDEX events_request ON events (zone, request_id, occurred_at) WHERE request_id IS NOT NULL;
CREATE INDEX events_case ON events (case_id);

-- One row per list entry an event matched.
CREATE TABLE event_hits (
  event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  ordinal      integer NOT NULL,
  list_id      bigint NOT NULL,
  entry_id     bigint NOT NULL,
  signal       text NOT NULL,
  distance     integer NOT NULL,
  threshold    integer NOT NULL,
  list_version bigint NOT NULL,
  action       text NOT NULL,
  variant      text NOT NULL,
  PRIMARY KEY (event_id, ordinal)
);

CREATE TABLE decisions (
  id              bigserial PRIMARY KEY,
  case_id         bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  reviewer_key_id bigint NOT NULL,
  decision        text NOT NULL CHECK (decision IN ('confirmed', 'false_positive', 'escalated')),
  classification  text CHECK (classification IN ('A1', 'A2', 'B1', 'B2')),
  note            text NOT NULL DEFAULT '',
  decided_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_case ON decisions (case_id);

CREATE TABLE reports (
  id            bigserial PRIMARY KEY,
  case_id       bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  report_id     text NOT NULL,
  file_ids      text NOT NULL DEFAULT '',
  submitted_at  timestamptz NOT NULL,
  finished_at   timestamptz,
  environment   text NOT NULL CHECK (environment IN ('production', 'test')),
  responses     text NOT NULL DEFAULT '',
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (environment, report_id)
);

-- Content a reviewer dismissed as a false positive: it no longer opens cases.
CREATE TABLE suppressions (
  content     bytea PRIMARY KEY,
  case_id     bigint,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Records one match event and attaches it to its case, in the caller's transaction.
-- e: {id, occurred_us, zone, source_url, request_id, node, md5, sha1, sha256, pdq,
--     pdq_quality, phash, action, hits: [{list_id, entry_id, signal, distance, threshold,
--     list_version, action, variant}]}; hex strings for the digests and hashes.
-- outcome: recorded | suppressed | duplicate_id (replay) | duplicate_request (same zone and
-- request id within the window: the first event's id is returned).
CREATE FUNCTION hg_record_event(e jsonb, window_s integer, confirmations integer)
RETURNS TABLE (event_id uuid, case_id bigint, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_id      uuid := (e->>'id')::uuid;
  v_zone    text := e->>'zone';
  v_req     text := nullif(e->>'request_id', '');
  v_at      timestamptz := 'epoch'::timestamptz + (e->>'occurred_us')::bigint * interval '1 microsecond';
  v_md5     bytea := decode(nullif(e->>'md5', ''), 'hex');
  v_sha1    bytea := decode(nullif(e->>'sha1', ''), 'hex');
  v_sha256  bytea := decode(nullif(e->>'sha256', ''), 'hex');
  v_pdq     bytea := decode(nullif(e->>'pdq', ''), 'hex');
  v_phash   bytea := decode(nullif(e->>'phash', ''), 'hex');
  v_content bytea;
  v_case    bigint;
  v_first   uuid;
  v_suppressed boolean := false;
BEGIN
  SELECT ev.case_id INTO v_case FROM events ev WHERE ev.id = v_id;
  IF FOUND THEN
    RETURN QUERY SELECT v_id, v_case, 'duplicate_id'::text;
    RETURN;
  END IF;
  IF v_req IS NOT NULL THEN
    -- Serialises writers of the same (zone, request id) across connections and nodes.
    PERFORM pg_advisory_xact_lock(hashtextextended(v_zone || chr(1) || v_req, 7001));
    SELECT ev.id, ev.case_id INTO v_first, v_case FROM events ev
     WHERE ev.zone = v_zone AND ev.request_id = v_req
       AND ev.occurred_at > v_at - make_interval(secs => window_s)
       AND ev.occurred_at < v_at + make_interval(secs => window_s)
     ORDER BY ev.occurred_at, ev.id LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT v_first, v_case, 'duplicate_request'::text;
      RETURN;
    END IF;
  END IF;

  v_content := coalesce(v_sha256, v_pdq, v_phash, v_md5, v_sha1);
  v_suppressed := v_content IS NOT NULL
                  AND EXISTS (SELECT 1 FROM suppressions s WHERE s.content = v_content);
  v_case := NULL;
  IF NOT v_suppressed THEN
    -- One case per (zone, known item) or (zone, content): serialise case creation per zone.
    PERFORM pg_advisory_xact_lock(hashtextextended(v_zone, 7002));
    SELECT ce.case_id INTO v_case FROM case_entries ce JOIN cases c ON c.id = ce.case_id
     WHERE c.zone = v_zone
       AND (ce.list_id, ce.entry_id) IN (
             SELECT (h->>'list_id')::bigint, (h->>'entry_id')::bigint
               FROM jsonb_array_elements(e->'hits') h)
     ORDER BY ce.case_id LIMIT 1;
    IF v_case IS NULL AND v_content IS NOT NULL THEN
      SELECT cf.case_id INTO v_case FROM case_files cf JOIN cases c ON c.id = cf.case_id
       WHERE cf.content = v_content AND c.zone = v_zone
       ORDER BY cf.case_id LIMIT 1;
    END IF;
    IF v_case IS NULL THEN
      INSERT INTO cases (zone, first_seen, last_seen, required_confirmations)
      VALUES (v_zone, v_at, v_at, confirmations) RETURNING id INTO v_case;
    END IF;
    UPDATE cases c SET sightings = c.sightings + 1,
                       first_seen = least(c.first_seen, v_at),
                       last_seen = greatest(c.last_seen, v_at)
     WHERE c.id = v_case;
    INSERT INTO case_entries (case_id, list_id, entry_id)
    SELECT DISTINCT v_case, (h->>'list_id')::bigint, (h->>'entry_id')::bigint
      FROM jsonb_array_elements(e->'hits') h
    ON CONFLICT DO NOTHING;
    IF v_content IS NOT NULL THEN
      INSERT INTO case_files AS cf (case_id, content, md5, sha1, sha256, pdq, phash,
                                    first_seen, last_seen, sightings)
      VALUES (v_case, v_content, v_md5, v_sha1, v_sha256, v_pdq, v_phash, v_at, v_at, 1)
      ON CONFLICT (case_id, content) DO UPDATE
        SET sightings = cf.sightings + 1,
            first_seen = least(cf.first_seen, excluded.first_seen),
            last_seen = greatest(cf.last_seen, excluded.last_seen);
    END IF;
  END IF;

  INSERT INTO events (id, occurred_at, zone, source_url, request_id, node, md5, sha1, sha256,
                      pdq, pdq_quality, phash, action, case_id, suppressed)
  VALUES (v_id, v_at, v_zone, e->>'source_url', v_req, e->>'node', v_md5, v_sha1, v_sha256,
          v_pdq, (e->>'pdq_quality')::smallint, v_phash, e->>'action', v_case, v_suppressed);
  INSERT INTO event_hits (event_id, ordinal, list_id, entry_id, signal, distance, threshold,
                          list_version, action, variant)
  SELECT v_id, h.ord::integer, (h.j->>'list_id')::bigint, (h.j->>'entry_id')::bigint,
         h.j->>'signal', (h.j->>'distance')::integer, (h.j->>'threshold')::integer,
         (h.j->>'list_version')::bigint, h.j->>'action', h.j->>'variant'
    FROM jsonb_array_elements(e->'hits') WITH ORDINALITY AS h(j, ord);
  RETURN QUERY SELECT v_id, v_case,
                      CASE WHEN v_suppressed THEN 'suppressed' ELSE 'recorded' END;
END $$;
