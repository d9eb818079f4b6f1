-- Two changes to match events (issue 15).
--
-- The request key is (zone, request id, content): the same request id sent again with other
-- bytes is a different scan, recorded as its own event (before, a reused request id answered
-- `match` for a different image and recorded it nowhere). Its content is the SHA-256 the
-- scan computed.
--
-- An event the caller was already answered with under its own id (one the recorder spooled:
-- the answer went out before the database saw it) carries "answered": true and is stored as its
-- own event even when its request key repeats a stored event's: classifying it as a repeat
-- would leave the id the caller holds stored nowhere (another node, or an earlier process,
-- recorded the same request meanwhile).
--
-- source_url_truncated: the URL the event stores is the first part of a longer one (the cache
-- layer said so with X-Source-Url-Truncated: 1, or hashguard cut a URL over its 8 KiB limit).
ALTER TABLE events ADD COLUMN source_url_truncated boolean NOT NULL DEFAULT false;

ALTER TYPE hg_event_row ADD ATTRIBUTE url_truncated boolean, ADD ATTRIBUTE answered boolean;

-- batch: a JSON array of events in hg_record_event's form. Returns one row per event with its
-- position (1-based) in the batch; the caller orders by it.
CREATE OR REPLACE FUNCTION hg_record_events(batch jsonb, window_s integer, confirmations integer)
RETURNS TABLE (ord integer, event_id uuid, case_id bigint, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ev     hg_event_row[];
  v_cur    hg_event_row[];
  v_rnd    integer[];
  v_rounds integer := 1;
  v_pair   record;
  v_lost   boolean;
  v_win    interval := make_interval(secs => window_s);
BEGIN
  SELECT array_agg(row(p.ord, 1, p.id, p.zone, p.req, p.at, p.source_url, p.node, p.md5, p.sha1,
                       p.sha256, p.pdq, p.pdq_quality, p.phash, p.action,
                       coalesce(p.sha256, p.pdq, p.phash, p.md5, p.sha1),
                       p.list_ids, p.entry_ids, p.hits, NULL, NULL, NULL, false,
                       p.url_truncated, p.answered)::hg_event_row
                   ORDER BY p.ord)
    INTO v_ev
    FROM (SELECT e.n::integer AS ord, x.id, x.zone, nullif(x.request_id, '') AS req,
                 'epoch'::timestamptz + x.occurred_us * interval '1 microsecond' AS at,
                 x.source_url, coalesce(x.source_url_truncated, false) AS url_truncated,
                 coalesce(x.answered, false) AS answered, x.node,
                 decode(nullif(x.md5, ''), 'hex') AS md5,
                 decode(nullif(x.sha1, ''), 'hex') AS sha1,
                 decode(nullif(x.sha256, ''), 'hex') AS sha256,
                 decode(nullif(x.pdq, ''), 'hex') AS pdq,
                 x.pdq_quality, decode(nullif(x.phash, ''), 'hex') AS phash, x.action,
                 ARRAY(SELECT (h->>'list_id')::bigint FROM jsonb_array_elements(x.hits) h) AS list_ids,
                 ARRAY(SELECT (h->>'entry_id')::bigint FROM jsonb_array_elements(x.hits) h) AS entry_ids,
                 x.hits
            FROM jsonb_array_elements(batch) WITH ORDINALITY AS e(j, n),
                 jsonb_to_record(e.j) AS x(id uuid, occurred_us bigint, zone text, request_id text,
                                           source_url text, source_url_truncated boolean,
                                           answered boolean, node text, md5 text, sha1 text,
                                           sha256 text, pdq text, pdq_quality smallint,
                                           phash text, action text, hits jsonb)) p;
  IF v_ev IS NULL THEN
    RETURN;
  END IF;

  -- One case per (zone, item) and one event per (zone, request id), across connections and
  -- nodes: writers of a zone are serialised. The zones are locked in one order, so two
  -- batches never wait on each other in a cycle.
  PERFORM pg_advisory_xact_lock(l.k)
     FROM (SELECT DISTINCT hashtextextended(e.zone, 7002) AS k FROM unnest(v_ev) e ORDER BY 1) l;

  -- Rounds: an event goes one round after the last earlier event it shares a key with (the
  -- request key is zone, request id and content).
  v_rnd := array_fill(1, ARRAY[cardinality(v_ev)]);
  FOR v_pair IN
    SELECT k.ord AS later, k.prev AS earlier
      FROM (SELECT kk.ord, lag(kk.ord) OVER (PARTITION BY kk.kind, kk.zone, kk.k ORDER BY kk.ord) AS prev
              FROM (SELECT DISTINCT y.ord, y.kind, y.zone, y.k FROM (
                      SELECT e.ord, 'i' AS kind, '' AS zone, e.id::text AS k FROM unnest(v_ev) e
                      UNION ALL
                      SELECT e.ord, 'r', e.zone, e.req || ':' || coalesce(encode(e.sha256, 'hex'), '')
                        FROM unnest(v_ev) e WHERE e.req IS NOT NULL
                      UNION ALL
                      SELECT e.ord, 'c', e.zone, encode(e.content, 'hex') FROM unnest(v_ev) e
                       WHERE e.content IS NOT NULL
                      UNION ALL
                      SELECT e.ord, 'e', e.zone, h.l::text || ':' || h.en::text
                        FROM unnest(v_ev) e, unnest(e.list_ids, e.entry_ids) h(l, en)) y) kk) k
     WHERE k.prev IS NOT NULL
     ORDER BY k.ord, k.prev
  LOOP
    v_rnd[v_pair.later] := greatest(v_rnd[v_pair.later], v_rnd[v_pair.earlier] + 1);
    v_rounds := greatest(v_rounds, v_rnd[v_pair.later]);
  END LOOP;

  FOR r IN 1..v_rounds LOOP
    -- Classify the round's events against what is committed or recorded by earlier rounds.
    SELECT array_agg(row(e.ord, r, e.id, e.zone, e.req, e.at, e.source_url, e.node, e.md5,
                         e.sha1, e.sha256, e.pdq, e.pdq_quality, e.phash, e.action, e.content,
                         e.list_ids, e.entry_ids, e.hits, c.outcome,
                         CASE c.outcome WHEN 'duplicate_request' THEN c.first_id ELSE e.id END,
                         CASE c.outcome
                           WHEN 'duplicate_id' THEN c.dup_case
                           WHEN 'duplicate_request' THEN c.first_case
                           WHEN 'suppressed' THEN NULL
                           ELSE coalesce(c.entry_case, c.content_case, nextval('cases_id_seq'))
                         END,
                         c.outcome = 'recorded' AND c.entry_case IS NULL
                           AND c.content_case IS NULL,
                         e.url_truncated, e.answered)::hg_event_row)
      INTO v_cur
      FROM unnest(v_ev) e
      CROSS JOIN LATERAL (
        SELECT d.id AS dup_id, d.case_id AS dup_case, q.id AS first_id, q.case_id AS first_case,
               ec.case_id AS entry_case, fc.case_id AS content_case,
               CASE WHEN d.id IS NOT NULL THEN 'duplicate_id'
                    WHEN q.id IS NOT NULL THEN 'duplicate_request'
                    WHEN s.yes THEN 'suppressed'
                    ELSE 'recorded' END AS outcome
          FROM (SELECT 1) one
          LEFT JOIN events d ON d.id = e.id
          LEFT JOIN LATERAL (
            SELECT ev.id, ev.case_id FROM events ev
             WHERE e.req IS NOT NULL AND NOT e.answered AND ev.zone = e.zone
               AND ev.request_id = e.req AND ev.sha256 IS NOT DISTINCT FROM e.sha256
               AND ev.occurred_at > e.at - v_win AND ev.occurred_at < e.at + v_win
             ORDER BY ev.occurred_at, ev.id LIMIT 1) q ON true
          LEFT JOIN LATERAL (
            SELECT true AS yes FROM suppressions s WHERE s.content = e.content) s ON true
          LEFT JOIN LATERAL (
            SELECT min(ce.case_id) AS case_id
              FROM unnest(e.list_ids, e.entry_ids) h(l, en)
              JOIN case_entries ce
                ON ce.zone = e.zone AND ce.list_id = h.l AND ce.entry_id = h.en) ec ON true
          LEFT JOIN LATERAL (
            -- A content is in few cases (one per zone that saw it): probe each one's zone.
            SELECT min(cf.case_id) AS case_id FROM case_files cf
             WHERE cf.content = e.content
               AND (SELECT k.zone FROM cases k WHERE k.id = cf.case_id) = e.zone) fc ON true) c
     WHERE v_rnd[e.ord] = r;

    -- Record them: new cases, sightings of the cases they join, the cases' entries and
    -- files, the events and their hits. No two events of a round share a case entry, a case
    -- file or an id, so every row below is written once per statement.
    WITH cur AS (SELECT * FROM unnest(v_cur) c WHERE c.outcome IN ('recorded', 'suppressed')),
    opened AS (
      INSERT INTO cases (id, zone, first_seen, last_seen, sightings, required_confirmations)
      SELECT c.case_id, c.zone, c.at, c.at, 1, confirmations FROM cur c WHERE c.new_case),
    found AS (
      SELECT c.case_id, count(*) AS n, min(c.at) AS lo, max(c.at) AS hi FROM cur c
       WHERE c.case_id IS NOT NULL AND NOT c.new_case GROUP BY c.case_id),
    joined AS (
      UPDATE cases k SET sightings = k.sightings + a.n,
                         first_seen = least(k.first_seen, a.lo),
                         last_seen = greatest(k.last_seen, a.hi)
        FROM found a
       WHERE k.id = a.case_id
      RETURNING k.id),
    entries AS (
      INSERT INTO case_entries (case_id, list_id, entry_id, zone)
      SELECT DISTINCT c.case_id, h.l, h.en, c.zone
        FROM cur c, unnest(c.list_ids, c.entry_ids) h(l, en) WHERE c.case_id IS NOT NULL
      ON CONFLICT DO NOTHING),
    files AS (
      INSERT INTO case_files AS cf (case_id, content, md5, sha1, sha256, pdq, phash,
                                    first_seen, last_seen, sightings)
      SELECT c.case_id, c.content, c.md5, c.sha1, c.sha256, c.pdq, c.phash, c.at, c.at, 1
        FROM cur c WHERE c.case_id IS NOT NULL AND c.content IS NOT NULL
      ON CONFLICT (case_id, content) DO UPDATE
        SET sightings = cf.sightings + 1,
            first_seen = least(cf.first_seen, excluded.first_seen),
            last_seen = greatest(cf.last_seen, excluded.last_seen)),
    stored AS (
      INSERT INTO events (id, occurred_at, zone, source_url, source_url_truncated, request_id,
                          node, md5, sha1, sha256, pdq, pdq_quality, phash, action, case_id,
                          suppressed)
      SELECT c.id, c.at, c.zone, c.source_url, c.url_truncated, c.req, c.node, c.md5, c.sha1,
             c.sha256, c.pdq, c.pdq_quality, c.phash, c.action, c.case_id,
             c.outcome = 'suppressed'
        FROM cur c),
    hits AS (
      INSERT INTO event_hits (event_id, ordinal, list_id, entry_id, signal, distance, threshold,
                              list_version, action, variant)
      SELECT c.id, h.n::integer, (h.j->>'list_id')::bigint, (h.j->>'entry_id')::bigint,
             h.j->>'signal', (h.j->>'distance')::integer, (h.j->>'threshold')::integer,
             (h.j->>'list_version')::bigint, h.j->>'action', h.j->>'variant'
        FROM cur c, jsonb_array_elements(c.hits) WITH ORDINALITY AS h(j, n))
    SELECT (SELECT count(*) FROM joined) < (SELECT count(*) FROM found) INTO v_lost;
    IF v_lost THEN
      RAISE EXCEPTION 'a case was deleted while events were recorded into it'
        USING ERRCODE = 'foreign_key_violation';
    END IF;

    RETURN QUERY SELECT c.ord, c.result_id, c.case_id, c.outcome FROM unnest(v_cur) c;
  END LOOP;
END $$;
