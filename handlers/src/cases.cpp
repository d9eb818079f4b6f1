// The review routes on the case store (role reviewer; compliance for reports, admin for
// rulings):
//   GET  /v1/cases?status=&zone=&list=&from=&to=&limit=&offset=   the queue
//   GET  /v1/cases/{id}?limit=&before=    one case (audited: case.view) with a page of its
//                                         events: the newest `limit` (1..500, default 100), or
//                                         those older than event `before` (next_before)
//   POST /v1/cases/{id}/decision          {decision, note, classification?, suppress?}
//   POST /v1/cases/{id}/reopen            {reason}: a reopen request for a decided case
//   POST /v1/cases/{id}/ruling            (admin) {decision, note, classification?, suppress?}
//   POST /v1/cases/{id}/report            record a CyberTipline submission
// Dates in queries: YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ; `to` is exclusive. A
// decision needs a non-empty note, and a classification (A1, A2, B1, B2) when it confirms a
// csam case; an ncii or tvec case carries none (harm_type_refused).
// The rules of decisions live in hashdb (cases.hpp); these handlers map their results to
// answers. Blind review: a reviewer who has not decided the current round of an undecided
// case sees it as needs_review, without its decisions, classification or counts, in the queue
// and in the case.
#include "area.hpp"
#include "case_json.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/cases.hpp"

#include <boost/json.hpp>

#include <set>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

/// The reviewer id of the caller, as decisions count it.
std::int64_t caller_reviewer(const api::auth_context& who) {
  return reviewer_id_of(who.key_id);
}

/// Of `cases`, the ids the caller must see blind (undecided, and no decision of theirs in the
/// current round).
core::result<std::set<std::int64_t>> blind_ids(hashdb::connection& c,
                                               const std::vector<hashdb::case_summary>& cases,
                                               const api::auth_context& who) {
  std::vector<std::int64_t> undecided;
  for (const auto& s : cases) {
    if (hashdb::blind_to_undecided(s)) undecided.push_back(s.id);
  }
  std::set<std::int64_t> out(undecided.begin(), undecided.end());
  if (undecided.empty()) return out;
  hashdb::case_store store(c, {});
  auto decided = store.decided_in_round(caller_reviewer(who), undecided);
  if (!decided) return decided.error();
  for (const auto id : *decided) out.erase(id);
  return out;
}

/// The body of a decision or ruling: {decision, note, classification?, suppress?}; the answer
/// refusing it otherwise (422).
std::optional<api::response> read_decision(const json::object& body, std::int64_t id,
                                           const api::auth_context& who,
                                           hashdb::decision_input& in) {
  auto decision = api::string_field(body, "decision");
  auto kind = decision ? hashdb::parse_decision(*decision) : std::nullopt;
  if (!kind) return unprocessable("decision must be confirmed, false_positive or escalated");
  auto note = api::string_field(body, "note");
  if (!note || note->find_first_not_of(" \t\r\n") == std::string::npos) {
    return unprocessable("a note is required");
  }
  in.case_id = id;
  in.reviewer_key_id = caller_reviewer(who);
  in.kind = *kind;
  in.note = *note;
  in.classification = api::string_field(body, "classification");
  if (in.classification && in.classification->empty()) in.classification.reset();
  // Whether confirming needs a classification depends on the case's harm type: the case store
  // decides (classification_required 422 for csam, harm_type_refused 409 for one on ncii/tvec).
  if (auto it = body.find("suppress"); it != body.end() && it->value().is_bool()) {
    in.suppress = it->value().as_bool();
  }
  return std::nullopt;
}

api::response decision_answer(const hashdb::decision_result& r, std::int64_t reviewer) {
  return api::response::json(200,
                             json::serialize(json::object{{"decision_id", r.decision_id},
                                                          {"status", r.status},
                                                          {"confirmations", r.confirmations},
                                                          {"dismissals", r.dismissals},
                                                          {"reviewer", reviewer_label(reviewer)}}));
}

/// The case id and JSON object body of a POST on /v1/cases/{id}/...; the answer refusing them
/// otherwise (404 for an id that names no case, the JSON rule's 415 or 400).
std::optional<api::response> read_case_post(const api::request& req, std::int64_t& id,
                                            json::object& body) {
  auto parsed_id = id_param(req);
  if (!parsed_id) return api::response::error(api::errc::not_found, "no such case");
  auto parsed = api::parse_json_object(req);
  if (!parsed) return api::response::error(parsed.error());
  id = *parsed_id;
  body = std::move(*parsed);
  return std::nullopt;
}

// GET /v1/cases
api::response get_queue(const services& deps, hashdb::connection& c, const api::request& req,
                        const api::auth_context& who) {
  hashdb::queue_filter f;
  if (auto s = req.query_param("status"); s && !s->empty()) f.status = *s;
  if (auto z = req.query_param("zone"); z && !z->empty()) f.zone = *z;
  if (auto l = req.query_param("list"); l && !l->empty()) {
    auto id = api::int_query(req, "list", 0, 1, INT64_MAX);
    if (!id) return malformed("list must be a list id");
    f.list_id = *id;
  }
  auto from = api::time_query(req, "from");
  if (!from) return malformed("from must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  f.from_us = *from;
  auto to = api::time_query(req, "to");
  if (!to) return malformed("to must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  f.to_us = *to;
  auto limit = api::int_query(req, "limit", 50, 1, 500);
  if (!limit) return malformed("limit must be 1..500");
  f.limit = static_cast<std::size_t>(*limit);
  auto offset = api::int_query(req, "offset", 0, 0, INT32_MAX);
  if (!offset) return malformed("offset must be 0 or more");
  f.offset = static_cast<std::size_t>(*offset);
  hashdb::review_store review(c);
  auto page = review.queue(f);
  if (!page) return api::response::error(page.error(), deps.retry_after_s);
  auto blind = blind_ids(c, page->cases, who);
  if (!blind) return api::response::error(blind.error(), deps.retry_after_s);
  json::array cases;
  for (const auto& s : page->cases) {
    cases.push_back(summary_json(blind->contains(s.id) ? hashdb::blind_summary(s) : s));
  }
  json::object counts;
  for (const auto& [k, v] : page->by_status) counts[k] = v;
  return api::response::json(200, json::serialize(json::object{{"cases", std::move(cases)},
                                                               {"total", page->total},
                                                               {"by_status", std::move(counts)},
                                                               {"limit", f.limit},
                                                               {"offset", f.offset}}));
}

// GET /v1/cases/{id}
api::response get_case(const services& deps, hashdb::connection& c, const api::request& req,
                       const api::auth_context& who) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  hashdb::event_page page;
  auto limit =
      api::int_query(req, "limit", 100, 1, static_cast<std::int64_t>(hashdb::max_event_page));
  if (!limit) return malformed("limit must be 1..500");
  page.limit = static_cast<std::size_t>(*limit);
  if (auto b = req.query_param("before"); b && !b->empty()) page.before = *b;
  hashdb::review_store review(c);
  auto d = review.detail(*id, page);
  if (!d && d.error() == hashdb::errc::invalid_argument) {
    return malformed("before must be the id of an event of this case (next_before)");
  }
  if (!d) return api::response::error(d.error(), deps.retry_after_s);
  auto blind = blind_ids(c, {d->summary}, who);
  if (!blind) return api::response::error(blind.error(), deps.retry_after_s);
  const bool is_blind = blind->contains(*id);
  if (is_blind) {
    // The second review is blind: no earlier decision, classification or count.
    d->summary = hashdb::blind_summary(std::move(d->summary));
    d->decisions.clear();
    d->confirmations = 0;
  }
  // Every read of a case is an audit entry (DESIGN.md section 3).
  hashdb::audit_log audit(c);
  if (auto a = audit.append(who.key_id, "case.view", "case:" + std::to_string(*id), "{}"); !a) {
    return api::response::error(a.error(), deps.retry_after_s);
  }
  json::object out = detail_json(*d);
  const std::string& status = d->summary.status;
  const bool locked = status == "confirmed" || status == "false_positive" || status == "reported";
  // Those who made a decision may not ask to reopen it.
  bool made_it = false;
  if (locked && status != "reported") {
    hashdb::case_store store(c, {});
    const std::vector<std::int64_t> one{*id};
    auto decided = store.decided_in_round(caller_reviewer(who), one);
    if (!decided) return api::response::error(decided.error(), deps.retry_after_s);
    made_it = !decided->empty();
  }
  // What the UI needs to show one state: whether this reviewer may decide now (not locked, no
  // decision of theirs in this round), or may only ask for a reopen.
  const bool decided = !locked && !is_blind && hashdb::blind_to_undecided(d->summary);
  out["review"] = json::object{{"round", d->summary.round},
                               {"blind", is_blind},
                               {"locked", locked},
                               {"you_decided", decided},
                               {"can_decide", !locked && !decided},
                               {"can_reopen", locked && status != "reported" && !made_it}};
  return api::response::json(200, json::serialize(out));
}

// POST /v1/cases/{id}/decision (a reviewer) and POST /v1/cases/{id}/ruling (an admin, on a
// disputed case): the same body, the same answer.
api::response decide_or_rule(const services& deps, hashdb::connection& c, const api::request& req,
                             const api::auth_context& who, bool ruling) {
  std::int64_t id = 0;
  json::object body;
  if (auto refused = read_case_post(req, id, body)) return *refused;
  hashdb::decision_input in;
  if (auto refused = read_decision(body, id, who, in)) return *refused;
  if (ruling && in.kind == hashdb::decision_kind::escalated) {
    return unprocessable("a ruling is confirmed or false_positive");
  }
  hashdb::case_options opts;
  opts.required_confirmations = deps.required_confirmations;
  hashdb::case_store store(c, opts);
  auto r = ruling ? store.rule(in, who.key_id) : store.decide(in, who.key_id);
  if (!r) return api::response::error(r.error(), deps.retry_after_s);
  return decision_answer(*r, in.reviewer_key_id);
}

api::response post_decision(const services& deps, hashdb::connection& c, const api::request& req,
                            const api::auth_context& who) {
  return decide_or_rule(deps, c, req, who, false);
}

api::response post_ruling(const services& deps, hashdb::connection& c, const api::request& req,
                          const api::auth_context& who) {
  return decide_or_rule(deps, c, req, who, true);
}

// POST /v1/cases/{id}/reopen
api::response post_reopen(const services& deps, hashdb::connection& c, const api::request& req,
                          const api::auth_context& who) {
  std::int64_t id = 0;
  json::object body;
  if (auto refused = read_case_post(req, id, body)) return *refused;
  auto reason = api::string_field(body, "reason");
  if (!reason || reason->find_first_not_of(" \t\r\n") == std::string::npos) {
    return unprocessable("a reason is required");
  }
  hashdb::reopen_input in;
  in.case_id = id;
  in.reviewer_key_id = caller_reviewer(who);
  in.reason = *reason;
  hashdb::case_store store(c, {});
  auto r = store.request_reopen(in, who.key_id);
  if (!r) return api::response::error(r.error(), deps.retry_after_s);
  return api::response::json(200, json::serialize(json::object{{"requests", r->requests},
                                                               {"needed", r->needed},
                                                               {"reopened", r->reopened},
                                                               {"status", r->status},
                                                               {"round", r->round}}));
}

// POST /v1/cases/{id}/report
api::response post_report(const services& deps, hashdb::connection& c, const api::request& req,
                          const api::auth_context& who) {
  std::int64_t id = 0;
  json::object body;
  if (auto refused = read_case_post(req, id, body)) return *refused;
  hashdb::report_input in;
  in.case_id = id;
  auto report_id = api::string_field(body, "report_id");
  if (!report_id || report_id->empty()) return unprocessable("report_id is required");
  in.report_id = *report_id;
  if (auto it = body.find("file_ids"); it != body.end()) {
    if (!it->value().is_array()) return unprocessable("file_ids must be an array");
    for (const auto& v : it->value().as_array()) {
      if (!v.is_string() || v.as_string().empty() ||
          std::string_view(v.as_string()).find(',') != std::string_view::npos) {
        return unprocessable("file_ids must be non-empty strings without commas");
      }
      in.file_ids.emplace_back(v.as_string());
    }
  }
  if (auto t = api::string_field(body, "submitted_at")) {
    auto us = core::parse_utc_time_us(*t);
    if (!us) return unprocessable("submitted_at must be YYYY-MM-DDTHH:MM:SSZ");
    in.submitted_us = *us;
  }
  if (auto t = api::string_field(body, "finished_at")) {
    auto us = core::parse_utc_time_us(*t);
    if (!us) return unprocessable("finished_at must be YYYY-MM-DDTHH:MM:SSZ");
    in.finished_us = *us;
  }
  if (auto e = api::string_field(body, "environment")) {
    if (*e != "production" && *e != "test") {
      return unprocessable("environment must be production or test");
    }
    in.environment = *e;
  }
  if (auto it = body.find("responses"); it != body.end()) {
    in.responses = it->value().is_string() ? std::string(it->value().as_string())
                                           : json::serialize(it->value());
  }
  hashdb::case_options options;
  options.hold_days = deps.report_hold_days;  // a finished production report starts the hold
  hashdb::case_store store(c, options);
  auto r = store.record_report(in, who.key_id);
  if (!r) return api::response::error(r.error(), deps.retry_after_s);
  hashdb::review_store review(c);
  auto d = review.detail(id);
  if (!d) return api::response::error(d.error(), deps.retry_after_s);
  return api::response::json(
      201, json::serialize(json::object{{"id", *r}, {"case", summary_json(d->summary)}}));
}

}  // namespace

handler_list case_handlers(const services& deps) {
  handler_list out;
  out.push_back({"GET", "/v1/cases", db_route(deps, get_queue)});
  out.push_back({"GET", "/v1/cases/{id}", db_route(deps, get_case)});
  out.push_back({"POST", "/v1/cases/{id}/decision", db_route(deps, post_decision)});
  out.push_back({"POST", "/v1/cases/{id}/reopen", db_route(deps, post_reopen)});
  out.push_back({"POST", "/v1/cases/{id}/ruling", db_route(deps, post_ruling)});
  out.push_back({"POST", "/v1/cases/{id}/report", db_route(deps, post_report)});
  return out;
}

}  // namespace hashguard::handlers::detail
