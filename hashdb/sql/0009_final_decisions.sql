-- Final, symmetric decisions (two-person integrity; the rules are in cases.hpp and
-- docs/internals.md "Decisions").
--  - A case is reviewed in rounds. Only the decisions of its current round count; a reopen
--    starts the next one. One decision per reviewer and round (the unique index below), so a
--    double-clicked submit or two concurrent requests of one reviewer record one decision.
--  - `disputed`: reviewers of one round disagree; one more reviewer or an admin ruling decides.
--  - A reopen request is a row per (case, round, reviewer); enough of them reopen the case.
--  - evidence_views: who saw a file's original bytes unblurred (a blurred preview is not a view).
--  - New cases need two reviewers unless configured otherwise.
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check
  CHECK (status IN ('open', 'disputed', 'confirmed', 'false_positive', 'escalated', 'reported'));
ALTER TABLE cases ALTER COLUMN required_confirmations SET DEFAULT 2;
ALTER TABLE cases ADD COLUMN round integer NOT NULL DEFAULT 1;

ALTER TABLE decisions ADD COLUMN round integer NOT NULL DEFAULT 1,
                      ADD COLUMN suppress boolean NOT NULL DEFAULT false,
                      ADD COLUMN ruling boolean NOT NULL DEFAULT false;
-- Before this migration a reviewer could decide one case more than once: the latest decision
-- of each reviewer stays in round 1, earlier ones move to round 0 (history, never counted).
UPDATE decisions d SET round = 0
 WHERE EXISTS (SELECT 1 FROM decisions later
                WHERE later.case_id = d.case_id AND later.reviewer_key_id = d.reviewer_key_id
                  AND later.id > d.id);
CREATE UNIQUE INDEX decisions_one_per_round ON decisions (case_id, round, reviewer_key_id)
  WHERE round > 0;

CREATE TABLE reopen_requests (
  case_id         bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  round           integer NOT NULL,
  reviewer_key_id bigint NOT NULL,
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 10000),
  requested_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, round, reviewer_key_id)
);

CREATE TABLE evidence_views (
  case_id    bigint NOT NULL,
  content    bytea NOT NULL,
  viewer     text NOT NULL,
  viewed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, content, viewer),
  FOREIGN KEY (case_id, content) REFERENCES case_files (case_id, content) ON DELETE CASCADE
);

-- A reopened dismissal lifts its suppressions: the feed says so (`reopened`, action review),
-- and a node's suppression set drops the content, as it does for `confirmed`.
ALTER TABLE decision_feed DROP CONSTRAINT decision_feed_decision_check;
ALTER TABLE decision_feed ADD CONSTRAINT decision_feed_decision_check
  CHECK (decision IN ('confirmed', 'dismissed', 'reopened'));
ALTER TABLE decision_feed DROP CONSTRAINT decision_feed_action_check;
ALTER TABLE decision_feed ADD CONSTRAINT decision_feed_action_check
  CHECK (action IN ('block', 'none', 'review'));
