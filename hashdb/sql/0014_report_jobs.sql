-- CyberTipline filing jobs (issue 19): one durable job per case drives submit -> (upload,
-- fileinfo) per file -> finish against NCMEC's ISPWS, step by step from its stored position, so
-- a crash or a node change resumes from the last completed step.
--  - state: queued (runnable, possibly waiting for next_attempt_at), finished, failed.
--    A runner claims a queued job under a lease (lease_owner, lease_until) taken with
--    FOR UPDATE SKIP LOCKED; an expired lease is claimable again.
--  - step / file_index: the next step to do (submit, upload, fileinfo, finish, retract) and the
--    file it is at (0-based); done once finished.
--  - report_id: stored in the same transaction as submit's receipt, before any upload;
--    file_ids[i]: the fileId NCMEC gave the i-th file.
--  - open_deadline: when the open report must be finished or retracted (opened + 23 h: NCMEC
--    deletes an unfinished report no earlier than 24 h after it was opened).
--  - attempts: failed tries of the current step; restarts: retract-and-submit-again cycles.
-- At most one active (queued) job per case (the unique index).
CREATE TABLE report_jobs (
  id              bigserial PRIMARY KEY,
  case_id         bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  environment     text NOT NULL CHECK (environment IN ('production', 'test')),
  state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'finished', 'failed')),
  step            text NOT NULL DEFAULT 'submit'
                  CHECK (step IN ('submit', 'upload', 'fileinfo', 'finish', 'retract', 'done')),
  file_index      integer NOT NULL DEFAULT 0 CHECK (file_index >= 0),
  file_count      integer NOT NULL DEFAULT 0 CHECK (file_count >= 0),
  report_id       text,
  file_ids        text[] NOT NULL DEFAULT '{}',
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  restarts        integer NOT NULL DEFAULT 0 CHECK (restarts >= 0),
  last_error      text,
  requested_by    text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner     text,
  lease_until     timestamptz,
  opened_at       timestamptz,
  open_deadline   timestamptz,
  finished_at     timestamptz
);
CREATE UNIQUE INDEX report_jobs_one_active ON report_jobs (case_id) WHERE state = 'queued';
CREATE INDEX report_jobs_runnable ON report_jobs (next_attempt_at) WHERE state = 'queued';

-- Every ISPWS request of a job and its answer (the receipt): method, URL, request body (an
-- upload's file bytes are summarised by the client, never stored), HTTP status, responseCode
-- and answer body, or the error when there was no answer. Never the Authorization header.
CREATE TABLE report_receipts (
  id            bigserial PRIMARY KEY,
  job_id        bigint NOT NULL REFERENCES report_jobs(id) ON DELETE CASCADE,
  environment   text NOT NULL CHECK (environment IN ('production', 'test')),
  step          text NOT NULL,
  file_index    integer,
  attempt       integer NOT NULL,
  method        text NOT NULL DEFAULT '',
  url           text NOT NULL DEFAULT '',
  request_body  text NOT NULL DEFAULT '',
  http_status   integer,
  response_code integer,
  response_body text NOT NULL DEFAULT '',
  error         text,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_receipts_job ON report_receipts (job_id, id);
