-- The near-miss review band and flood detection (issue 16).
--
-- review_threshold: a perceptual list also finds hits above its threshold up to this distance;
-- such a hit never blocks (it acts as `review`) and its case is marked near-miss. NULL: no
-- band. auto_quarantine: flood detection may quarantine this list's perceptual entries by
-- itself (never an exact digest, never an entry a confirmed case matched).
ALTER TABLE hash_lists
  ADD COLUMN review_threshold integer
    CHECK (review_threshold IS NULL OR (review_threshold > threshold AND review_threshold <= 256
                                        AND signal IN ('pdq', 'phash'))),
  ADD COLUMN auto_quarantine boolean NOT NULL DEFAULT false;

-- A quarantined entry still matches but acts as `review` at most, on every node (setting or
-- clearing it bumps the list's version). quarantined_by: 'flood' or the admin key's id.
ALTER TABLE hashes
  ADD COLUMN quarantined_at timestamptz,
  ADD COLUMN quarantined_by text;

-- A case is near-miss while every hit recorded into it lay in its list's band (distance above
-- the threshold the hit row keeps). Kept at write time by the trigger below, so the queue
-- never scans a case's events to know it.
ALTER TABLE cases
  ADD COLUMN band_distance integer,
  ADD COLUMN within_threshold boolean NOT NULL DEFAULT false;

CREATE FUNCTION hg_case_band() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cases k
     SET within_threshold = k.within_threshold OR a.within,
         band_distance = least(k.band_distance, a.band)
    FROM (SELECT e.case_id, bool_or(n.distance <= n.threshold) AS within,
                 min(n.distance) FILTER (WHERE n.distance > n.threshold) AS band
            FROM new_hits n JOIN events e ON e.id = n.event_id
           WHERE e.case_id IS NOT NULL
           GROUP BY e.case_id) a
   WHERE k.id = a.case_id;
  RETURN NULL;
END $$;

CREATE TRIGGER event_hits_case_band AFTER INSERT ON event_hits
  REFERENCING NEW TABLE AS new_hits FOR EACH STATEMENT EXECUTE FUNCTION hg_case_band();

-- The match sightings flood detection counts: every recorded event's hits. Issue 21's
-- retroactive events (old content matched against a newly added entry) must not count: when
-- they exist, exclude them here (e.g. AND NOT e.retroactive), nowhere else.
CREATE VIEW hg_flood_sightings AS
  SELECT h.list_id, h.entry_id, e.occurred_at, coalesce(e.sha256, e.pdq, e.phash) AS content
    FROM event_hits h JOIN events e ON e.id = h.event_id;

-- Entries flagged by flood detection: one open row (cleared_at NULL) per flooded entry.
CREATE TABLE entry_floods (
  id                bigserial PRIMARY KEY,
  list_id           bigint NOT NULL,
  entry_id          bigint NOT NULL,
  flagged_at        timestamptz NOT NULL DEFAULT now(),
  window_s          integer NOT NULL,
  distinct_contents bigint NOT NULL,
  baseline          double precision NOT NULL,
  reason            text NOT NULL CHECK (reason IN ('over_limit', 'over_baseline')),
  auto_quarantined  boolean NOT NULL DEFAULT false,
  cleared_at        timestamptz
);
CREATE UNIQUE INDEX entry_floods_open ON entry_floods (entry_id) WHERE cleared_at IS NULL;
