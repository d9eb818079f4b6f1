// The CyberTipline filing routes (issue 19): a compliance officer queues a case's filing job,
// watches it, previews what it sends; an admin checks the ISPWS credentials. The job itself is
// hashdb::report_job_store's, driven by serve's report task (reporting::job_runner).
//
// THE CONTRACT (the compliance UI is built against it; every JSON answer is one object):
//
// POST /v1/cases/{id}/cybertipline                       (compliance; body optional, {} or none)
//   Queues the case's filing job in reporting.environment. 202 with the job JSON (below; steps
//   empty). Refusals, each {"error":{"code","message"}} from the one status table:
//     409 not_confirmed    a csam case must be confirmed (two-person rule) before a report
//     409 job_exists       the case has a queued/running job, or a finished one
//     409 report_recorded  a production report is already recorded for the case
//     409 not_reportable   the case's harm type is not csam
//     422 no_evidence      no preserved evidence and reporting.allow_no_files is off
//     404 not_found        no such case
//   A failed job does not block a new one (POST again to retry from the start).
//
// GET /v1/cases/{id}/cybertipline                        (compliance)
//   The case's newest job; 404 not_found when the case has none.
//   {
//     "id": 7, "case_id": 42,
//     "environment": "test" | "production",
//     "state": "queued" | "running" | "finished" | "failed",
//              (running: a runner holds its lease right now; queued: waiting, maybe for a retry)
//     "retracted": false,          (true when an open report of this job was withdrawn)
//     "step": "submit" | "upload" | "fileinfo" | "finish" | "retract" | "done",
//     "file_index": 0, "file_count": 10,
//     "report_id": "12345" | null, "file_ids": ["f1", ...],
//     "attempts": 0,               (failed tries of the current step)
//     "max_attempts": 3, "restarts": 0,
//     "last_error": null | "upload: responseCode 1000 (...)",
//     "requested_by": "<key id or system:auto_file>",
//     "created_at": "...", "updated_at": "...", "next_attempt_at": "...",
//     "opened_at": null | "...", "open_deadline": null | "...", "finished_at": null | "...",
//     "steps": [                   (the receipt: every ISPWS exchange, oldest first)
//       {"step": "submit", "file_index": null | 0, "attempt": 1,
//        "method": "POST", "url": "https://exttest.cybertip.org/ispws/submit",
//        "request": "<report ...>...",   (an upload's bytes are summarised, never stored)
//        "response": "<reportResponse>...</reportResponse>",
//        "http_status": 200 | null, "response_code": 0 | null,
//        "error": null | "no answer: ...", "at": "2026-12-08T00:01:02.345678Z"}
//     ]
//   }
//   Times are ISO 8601 UTC.
//
// GET /v1/cases/{id}/cybertipline/preview[?part=fileDetails-N.xml]  (compliance)
//   application/xml; charset=utf-8: the <report> document the job submits (or with part, the
//   N-th file's <fileDetails>, reportId/fileId left out until known). Audited like an export.
//
// GET /v1/cybertipline/queue?limit=50&after=CURSOR       (compliance; limit 1..500)
//   Confirmed csam cases with no finished report in reporting.environment, oldest confirmation
//   first:
//   {"environment": "test",
//    "cases": [{"case_id": 42, "zone": "...", "confirmed_at": "...", "waiting_s": 3600,
//               "files": 3, "evidence_files": 3,
//               "job": null | {"id", "state", "step", "attempts", "last_error", "updated_at"}}],
//    "next": null | "CURSOR"}     (pass as ?after= for the next page)
//
// POST /v1/reporting/check                               (admin; no body)
//   Calls ISPWS GET /status with the configured credentials now:
//   200 {"environment": "test", "base_url": "...", "ok": true | false,
//        "detail": "responseCode 0 (...)" | "no answer: ...", "checked_at": "..."}
//   (ok false is still a 200: the check ran; credentials are never echoed.)
//
// POST /v1/cases/{id}/report (record-only, compliance.cpp) answers 409 job_exists while the case
// has a queued or finished job. With reporting.auto_file, serve's report task queues a job for
// each case of the queue without one.
