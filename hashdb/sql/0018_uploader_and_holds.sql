-- Issue 19: the reported person of a CyberTipline report, the preservation hold a finished
-- report starts, the legal hold compliance sets, and evidence destruction on a law-enforcement
-- request.

-- Who uploaded an event's content, as the ingest request said (X-Uploader-Account,
-- X-Uploader-Ip, X-Uploader-Time). Personal data: never logged; it goes with the events of a
-- dismissed case (case_store::purge reduces them) and with a purged case. NULL: not given.
ALTER TABLE events
  ADD COLUMN uploader_account text CHECK (octet_length(uploader_account) BETWEEN 1 AND 256),
  ADD COLUMN uploader_ip      inet,
  ADD COLUMN uploader_at      timestamptz;

-- Holds on a case (its evidence and events):
--  - report_hold_until: a finished production CyberTipline report holds the case for
--    reporting.hold_days (>= 365) from the finish time (18 U.S.C. 2258A(h) as amended by the
--    REPORT Act); a later report can only lengthen it.
--  - legal_hold (existing) with its reason, optional end, who set it and when: a manual hold
--    set by compliance (audited). legal_hold_until NULL: until lifted.
--  - evidence_destroyed_at: the case's evidence was destroyed on a law-enforcement request
--    (18 U.S.C. 2258B(c)), overriding the holds.
ALTER TABLE cases
  ADD COLUMN report_hold_until     timestamptz,
  ADD COLUMN legal_hold_reason     text,
  ADD COLUMN legal_hold_until      timestamptz,
  ADD COLUMN legal_hold_by         text,
  ADD COLUMN legal_hold_at         timestamptz,
  ADD COLUMN evidence_destroyed_at timestamptz;

-- Why a case is held now, or NULL when it is not: the report hold first (it cannot be lifted),
-- then a manual legal hold (with its reason). One rule for the purges and the case view.
CREATE FUNCTION hg_hold_reason(report_until timestamptz, legal boolean, legal_until timestamptz,
                               legal_reason text)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN report_until IS NOT NULL AND report_until > now() THEN
      'held until ' || to_char(report_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
      ' by the preservation hold of a finished CyberTipline report'
    WHEN legal AND (legal_until IS NULL OR legal_until > now()) THEN
      'on legal hold' ||
      coalesce(' until ' || to_char(legal_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               '') ||
      coalesce(': ' || legal_reason, '')
  END
$$;

-- Destruction of a case's evidence on a law-enforcement request: two people. One role
-- (compliance) records the request with its reference; the other (admin), with another key,
-- approves it, which destroys the evidence in the same transaction. Both steps are audited.
CREATE TABLE destruction_requests (
  id            bigserial PRIMARY KEY,
  case_id       bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  reference     text NOT NULL CHECK (length(reference) BETWEEN 1 AND 500),
  requested_by  text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  approved_by   text,
  approved_at   timestamptz,
  destroyed     integer,
  CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
CREATE UNIQUE INDEX destruction_requests_one_pending ON destruction_requests (case_id)
  WHERE approved_at IS NULL;

-- The audit filters (GET /v1/audit?actor=&case=, GET /v1/exports/audit): a case's trail and a
-- key's trail are index scans, not a walk of the whole log.
CREATE INDEX audit_log_subject ON audit_log (subject, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
