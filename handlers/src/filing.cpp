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
//     409 harm_type_refused the case's harm type is not csam
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
#include "area.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/report_jobs.hpp"
#include "hashguard/reporting/case_content.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object job_json(const services& deps, const hashdb::report_job& j) {
  json::array file_ids;
  for (const auto& f : j.file_ids) file_ids.emplace_back(f);
  return json::object{{"id", j.id},
                      {"case_id", j.case_id},
                      {"environment", j.environment},
                      {"state", j.running ? std::string("running") : j.state},
                      {"retracted", j.retracted},
                      {"step", j.step},
                      {"file_index", j.file_index},
                      {"file_count", j.file_count},
                      {"report_id", opt(j.report_id)},
                      {"file_ids", std::move(file_ids)},
                      {"attempts", j.attempts},
                      {"max_attempts", deps.filing.max_attempts},
                      {"restarts", j.restarts},
                      {"last_error", opt(j.last_error)},
                      {"requested_by", j.requested_by},
                      {"created_at", j.created_at},
                      {"updated_at", j.updated_at},
                      {"next_attempt_at", j.next_attempt_at},
                      {"opened_at", opt(j.opened_at)},
                      {"open_deadline", opt(j.open_deadline)},
                      {"finished_at", opt(j.finished_at)},
                      {"steps", json::array{}}};
}

json::value step_json(const hashdb::report_receipt& r) {
  return json::object{
      {"step", r.step},
      {"file_index", r.file_index ? json::value(*r.file_index) : json::value(nullptr)},
      {"attempt", r.attempt},
      {"method", r.method},
      {"url", r.url},
      {"request", r.request_body},
      {"response", r.response_body},
      {"http_status", r.http_status ? json::value(*r.http_status) : json::value(nullptr)},
      {"response_code", r.response_code ? json::value(*r.response_code) : json::value(nullptr)},
      {"error", opt(r.error)},
      {"at", r.recorded_at}};
}

// POST /v1/cases/{id}/cybertipline
api::response post_filing(const services& deps, hashdb::connection& c, const api::request& req,
                          const api::auth_context& who) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  if (!req.body.empty()) {  // the body is optional; when sent, the JSON rule applies
    if (auto parsed = api::parse_json_object(req); !parsed) {
      return api::response::error(parsed.error());
    }
  }
  hashdb::report_job_store jobs(c);
  auto made = jobs.create(*id, deps.filing.environment, who.key_id, deps.filing.allow_no_files);
  if (!made) return api::response::error(made.error(), deps.retry_after_s);
  auto j = jobs.get(*made);
  if (!j) return api::response::error(j.error(), deps.retry_after_s);
  if (deps.filing.job_queued) deps.filing.job_queued();
  return api::response::json(202, json::serialize(job_json(deps, *j)));
}

// GET /v1/cases/{id}/cybertipline
api::response get_filing(const services& deps, hashdb::connection& c, const api::request& req,
                         const api::auth_context&) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  hashdb::report_job_store jobs(c);
  auto j = jobs.latest_for_case(*id);
  if (!j) return api::response::error(j.error(), deps.retry_after_s);
  if (!*j) return api::response::error(api::errc::not_found, "the case has no filing job");
  auto receipts = jobs.receipts((*j)->id);
  if (!receipts) return api::response::error(receipts.error(), deps.retry_after_s);
  json::object out = job_json(deps, **j);
  json::array steps;
  for (const auto& r : *receipts) steps.push_back(step_json(r));
  out["steps"] = std::move(steps);
  return api::response::json(200, json::serialize(out));
}

// GET /v1/cases/{id}/cybertipline/preview[?part=fileDetails-N.xml]
api::response get_preview(const services& deps, hashdb::connection& c, const api::request& req,
                          const api::auth_context& who) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  // What the job would send: the same content source, so the preview cannot drift from it.
  reporting::case_content_options o;
  o.package = deps.package;
  o.evidence = deps.evidence;
  hashdb::report_job probe;
  probe.case_id = *id;
  auto content = reporting::case_content(c, std::move(o))(probe);
  if (!content) return api::response::error(content.error(), deps.retry_after_s);
  std::string body = content->report_xml;
  const auto part = req.query_param("part");
  if (part && *part != "report.xml") {
    std::size_t n = 0;
    const std::string prefix = "fileDetails-";
    const bool named = part->starts_with(prefix) && part->ends_with(".xml");
    const char* first = part->data() + prefix.size();
    const char* last = part->data() + part->size() - 4;
    if (!named || first >= last || std::from_chars(first, last, n).ptr != last || n < 1 ||
        n > content->files.size()) {
      return api::response::error(api::errc::not_found, "no such part of this filing");
    }
    body = content->file_details(n - 1, "", "");
  }
  hashdb::audit_log audit(c);
  auto logged =
      audit.append(who.key_id, "report.preview", "case:" + std::to_string(*id),
                   json::serialize(json::object{{"part", part ? *part : std::string("report.xml")},
                                                {"environment", deps.filing.environment}}));
  if (!logged) return api::response::error(logged.error(), deps.retry_after_s);
  auto res = api::response::text(200, std::move(body), "application/xml; charset=utf-8");
  res.headers.push_back({"Cache-Control", "no-store"});
  return res;
}

// The queue's ?after= cursor: "CONFIRMED_US.CASE_ID".
std::optional<std::pair<std::int64_t, std::int64_t>> parse_cursor(std::string_view s) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::int64_t a = 0;
  std::int64_t b = 0;
  const char* end = s.data() + s.size();
  if (std::from_chars(s.data(), s.data() + dot, a).ptr != s.data() + dot) return std::nullopt;
  if (std::from_chars(s.data() + dot + 1, end, b).ptr != end) return std::nullopt;
  return std::make_pair(a, b);
}

// GET /v1/cybertipline/queue?limit=&after=
api::response get_queue(const services& deps, hashdb::connection& c, const api::request& req,
                        const api::auth_context&) {
  auto limit = api::int_query(req, "limit", 50, 1, 500);
  if (!limit) return malformed("limit must be 1..500");
  std::optional<std::pair<std::int64_t, std::int64_t>> after;
  if (auto a = req.query_param("after"); a && !a->empty()) {
    after = parse_cursor(*a);
    if (!after) return malformed("after must be a cursor this route gave as next");
  }
  hashdb::report_job_store jobs(c);
  // One more than asked: whether there is a next page.
  auto rows = jobs.queue(deps.filing.environment, static_cast<std::size_t>(*limit) + 1, after);
  if (!rows) return api::response::error(rows.error(), deps.retry_after_s);
  const bool more = rows->size() > static_cast<std::size_t>(*limit);
  if (more) rows->pop_back();
  json::array cases;
  for (const auto& q : *rows) {
    json::value job = nullptr;
    if (q.job) {
      job = json::object{{"id", q.job->id},
                         {"state", q.job->running ? std::string("running") : q.job->state},
                         {"step", q.job->step},
                         {"attempts", q.job->attempts},
                         {"last_error", opt(q.job->last_error)},
                         {"updated_at", q.job->updated_at}};
    }
    cases.push_back(json::object{{"case_id", q.case_id},
                                 {"zone", q.zone},
                                 {"confirmed_at", q.confirmed_at},
                                 {"waiting_s", q.waiting_s},
                                 {"files", q.files},
                                 {"evidence_files", q.evidence_files},
                                 {"job", std::move(job)}});
  }
  json::value next = nullptr;
  if (more && !rows->empty()) {
    next = std::to_string(rows->back().confirmed_us) + "." + std::to_string(rows->back().case_id);
  }
  return api::response::json(200,
                             json::serialize(json::object{{"environment", deps.filing.environment},
                                                          {"cases", std::move(cases)},
                                                          {"next", std::move(next)}}));
}

// POST /v1/reporting/check
api::response post_check(const services& deps, hashdb::connection& c, const api::request& req,
                         const api::auth_context& who) {
  if (!req.body.empty()) {  // the body is optional; when sent, the JSON rule applies
    if (auto parsed = api::parse_json_object(req); !parsed) {
      return api::response::error(parsed.error());
    }
  }
  if (!deps.filing.check) {
    return api::response::error(api::errc::not_implemented, "reporting is not wired here");
  }
  const filing_check r = deps.filing.check();
  hashdb::audit_log audit(c);
  auto logged = audit.append(who.key_id, "reporting.check", "reporting:" + r.environment,
                             json::serialize(json::object{{"ok", r.ok}, {"detail", r.detail}}));
  if (!logged) return api::response::error(logged.error(), deps.retry_after_s);
  return api::response::json(200, json::serialize(json::object{{"environment", r.environment},
                                                               {"base_url", r.base_url},
                                                               {"ok", r.ok},
                                                               {"detail", r.detail},
                                                               {"checked_at", r.checked_at}}));
}

}  // namespace

handler_list filing_handlers(const services& deps) {
  handler_list out;
  out.push_back({"POST", "/v1/cases/{id}/cybertipline", db_route(deps, post_filing)});
  out.push_back({"GET", "/v1/cases/{id}/cybertipline", db_route(deps, get_filing)});
  out.push_back({"GET", "/v1/cases/{id}/cybertipline/preview", db_route(deps, get_preview)});
  out.push_back({"GET", "/v1/cybertipline/queue", db_route(deps, get_queue)});
  out.push_back({"POST", "/v1/reporting/check", db_route(deps, post_check)});
  return out;
}

}  // namespace hashguard::handlers::detail
