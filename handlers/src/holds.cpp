// The compliance routes of a case's preservation (hashdb/holds.hpp):
//   GET  /v1/cases/{id}/compliance            the case read-only for compliance: the full
//                                             case (no blind view), its uploaders, holds and
//                                             destruction requests (audited as case.view)
//   POST /v1/cases/{id}/hold                  {reason, until?}: set the legal hold (compliance)
//   POST /v1/cases/{id}/hold/lift             {reason}: lift the legal hold (never the report
//                                             hold)
//   POST /v1/cases/{id}/destruction           {reference}: a law-enforcement request to
//                                             destroy the case's evidence (compliance)
//   POST /v1/cases/{id}/destruction/approve   the second person approves it (admin, another
//                                             key): the evidence is destroyed, holds or not
#include "area.hpp"
#include "case_json.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/holds.hpp"

#include <boost/json.hpp>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

/// A hashdb refusal with what the store said (its message names the case and the reason);
/// other failures with their generic message.
api::response refusal(const services& deps, hashdb::connection& c, const core::error_code& ec) {
  if (ec == hashdb::errc::conflict || ec == hashdb::errc::not_found ||
      ec == hashdb::errc::already_exists || ec == hashdb::errc::purge_refused) {
    return api::response::error(core::error_name(ec), c.last_error(), deps.retry_after_s);
  }
  return api::response::error(ec, deps.retry_after_s);
}

json::object request_json(const hashdb::destruction_request& d) {
  return json::object{{"id", d.id},
                      {"case_id", d.case_id},
                      {"reference", d.reference},
                      {"requested_by", d.requested_by},
                      {"requested_at", d.requested_at},
                      {"approved_by", opt(d.approved_by)},
                      {"approved_at", opt(d.approved_at)},
                      {"destroyed", d.destroyed ? json::value(*d.destroyed) : nullptr},
                      {"state", d.approved_at ? "destroyed" : "pending"}};
}

/// The holds block of the compliance view: what holds the case, until when, and why.
json::object holds_json(const hashdb::case_summary& s,
                        const std::vector<hashdb::destruction_request>& requests) {
  json::array reqs;
  for (const auto& r : requests) reqs.push_back(request_json(r));
  json::value legal = nullptr;
  if (s.legal_hold) {
    legal = json::object{{"reason", opt(s.legal_hold_reason)},
                         {"until", opt(s.legal_hold_until)},
                         {"set_by", opt(s.legal_hold_by)},
                         {"set_at", opt(s.legal_hold_at)}};
  }
  return json::object{{"held", s.held_because.has_value()},
                      {"held_because", opt(s.held_because)},
                      {"report_hold_until", opt(s.report_hold_until)},
                      {"legal_hold", std::move(legal)},
                      {"evidence_destroyed_at", opt(s.evidence_destroyed_at)},
                      {"destruction_requests", std::move(reqs)}};
}

std::optional<api::response> read_post(const api::request& req, std::int64_t& id,
                                       json::object& body) {
  auto parsed_id = id_param(req);
  if (!parsed_id) return api::response::error(api::errc::not_found, "no such case");
  auto parsed = api::parse_json_object(req);
  if (!parsed) return api::response::error(parsed.error());
  id = *parsed_id;
  body = std::move(*parsed);
  return std::nullopt;
}

// GET /v1/cases/{id}/compliance
api::response get_compliance_case(const services& deps, hashdb::connection& c,
                                  const api::request& req, const api::auth_context& who) {
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  hashdb::event_page page;
  auto limit =
      api::int_query(req, "limit", 100, 1, static_cast<std::int64_t>(hashdb::max_event_page));
  if (!limit) return malformed("limit must be 1..500");
  page.limit = static_cast<std::size_t>(*limit);
  if (auto b = req.query_param("before"); b && !b->empty()) page.before = *b;
  hashdb::review_store review(c);
  auto d = review.compliance_detail(*id, page);
  if (!d && d.error() == hashdb::errc::invalid_argument) {
    return malformed("before must be the id of an event of this case (next_before)");
  }
  if (!d) return refusal(deps, c, d.error());
  auto requests = hashdb::destruction_requests(c, *id);
  if (!requests) return api::response::error(requests.error(), deps.retry_after_s);
  // Every read of a case is an audit entry (DESIGN.md section 3); this one shows personal data.
  hashdb::audit_log audit(c);
  if (auto a = audit.append(who.key_id, "case.view", "case:" + std::to_string(*id),
                            R"({"view":"compliance"})");
      !a) {
    return api::response::error(a.error(), deps.retry_after_s);
  }
  json::object out = detail_json(*d);
  // Uploader fields per event and per person: compliance sees who is reported.
  auto& events = out["events"].as_array();
  for (std::size_t i = 0; i < events.size() && i < d->events.size(); ++i) {
    const auto& e = d->events[i];
    events[i].as_object()["uploader"] = json::object{
        {"account",
         e.uploader_account.empty() ? json::value(nullptr) : json::value(e.uploader_account)},
        {"ip", e.uploader_ip.empty() ? json::value(nullptr) : json::value(e.uploader_ip)},
        {"at", e.uploader_at.empty() ? json::value(nullptr) : json::value(e.uploader_at)}};
  }
  json::array uploaders;
  for (const auto& u : d->uploaders) {
    json::array evs;
    for (const auto& ev : u.events) {
      evs.push_back(json::object{{"ip", ev.ip.empty() ? json::value(nullptr) : json::value(ev.ip)},
                                 {"at", ev.at.empty() ? json::value(nullptr) : json::value(ev.at)},
                                 {"sightings", ev.sightings}});
    }
    uploaders.push_back(
        json::object{{"account", u.account.empty() ? json::value(nullptr) : json::value(u.account)},
                     {"upload_events", std::move(evs)},
                     {"upload_events_total", u.events_total}});
  }
  out["uploaders"] = std::move(uploaders);
  out["uploaders_total"] = d->uploaders_total;
  out["holds"] = holds_json(d->summary, *requests);
  return api::response::json(200, json::serialize(out));
}

api::response hold_answer(const services& deps, hashdb::connection& c, std::int64_t id,
                          const hashdb::case_summary& s) {
  auto requests = hashdb::destruction_requests(c, id);
  if (!requests) return api::response::error(requests.error(), deps.retry_after_s);
  return api::response::json(
      200, json::serialize(
               json::object{{"case", summary_json(s)}, {"holds", holds_json(s, *requests)}}));
}

// POST /v1/cases/{id}/hold
api::response post_hold(const services& deps, hashdb::connection& c, const api::request& req,
                        const api::auth_context& who) {
  std::int64_t id = 0;
  json::object body;
  if (auto refused = read_post(req, id, body)) return *refused;
  hashdb::legal_hold_input in;
  in.case_id = id;
  auto reason = api::string_field(body, "reason");
  if (!reason || reason->find_first_not_of(" \t\r\n") == std::string::npos) {
    return unprocessable("reason is required: why the case is held (audited)");
  }
  if (reason->size() > 10000) return unprocessable("reason is at most 10000 bytes");
  in.reason = *reason;
  if (auto it = body.find("until"); it != body.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return unprocessable("until must be a time or null");
    auto us = core::parse_utc_time_us(std::string_view(it->value().as_string()));
    if (!us) return unprocessable("until must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    if (*us <= hashdb::now_us()) return unprocessable("until must lie in the future");
    in.until_us = *us;
  }
  auto s = hashdb::set_legal_hold(c, in, who.key_id);
  if (!s) return refusal(deps, c, s.error());
  return hold_answer(deps, c, id, *s);
}

// POST /v1/cases/{id}/hold/lift
api::response post_hold_lift(const services& deps, hashdb::connection& c, const api::request& req,
                             const api::auth_context& who) {
  std::int64_t id = 0;
  json::object body;
  if (auto refused = read_post(req, id, body)) return *refused;
  auto reason = api::string_field(body, "reason");
  if (!reason || reason->find_first_not_of(" \t\r\n") == std::string::npos) {
    return unprocessable("reason is required: why the hold is lifted (audited)");
  }
  if (reason->size() > 10000) return unprocessable("reason is at most 10000 bytes");
  auto s = hashdb::lift_legal_hold(c, id, *reason, who.key_id);
  if (!s) return refusal(deps, c, s.error());
  return hold_answer(deps, c, id, *s);
}

// POST /v1/cases/{id}/destruction
api::response post_destruction(const services& deps, hashdb::connection& c, const api::request& req,
                               const api::auth_context& who) {
  std::int64_t id = 0;
  json::object body;
  if (auto refused = read_post(req, id, body)) return *refused;
  auto reference = api::string_field(body, "reference");
  if (!reference || reference->find_first_not_of(" \t\r\n") == std::string::npos ||
      reference->size() > 500) {
    return unprocessable(
        "reference is required (at most 500 bytes): the law-enforcement request's reference");
  }
  auto r = hashdb::request_destruction(c, id, *reference, who.key_id);
  if (!r && r.error() == hashdb::errc::already_exists) {
    return api::response::error(
        "conflict", "a destruction request for this case is already pending", deps.retry_after_s);
  }
  if (!r) return refusal(deps, c, r.error());
  return api::response::json(202, json::serialize(request_json(*r)));
}

// POST /v1/cases/{id}/destruction/approve
api::response post_destruction_approve(const services& deps, hashdb::connection& c,
                                       const api::request& req, const api::auth_context& who) {
  if (!req.body.empty()) {  // the body is optional; when sent, the JSON rule applies
    if (auto parsed = api::parse_json_object(req); !parsed) {
      return api::response::error(parsed.error());
    }
  }
  auto id = id_param(req);
  if (!id) return api::response::error(api::errc::not_found, "no such case");
  auto r = hashdb::approve_destruction(c, *id, who.key_id);
  if (!r) return refusal(deps, c, r.error());
  return api::response::json(200, json::serialize(request_json(*r)));
}

}  // namespace

handler_list hold_handlers(const services& deps) {
  handler_list out;
  out.push_back({"GET", "/v1/cases/{id}/compliance", db_route(deps, get_compliance_case)});
  out.push_back({"POST", "/v1/cases/{id}/hold", db_route(deps, post_hold)});
  out.push_back({"POST", "/v1/cases/{id}/hold/lift", db_route(deps, post_hold_lift)});
  out.push_back({"POST", "/v1/cases/{id}/destruction", db_route(deps, post_destruction)});
  out.push_back(
      {"POST", "/v1/cases/{id}/destruction/approve", db_route(deps, post_destruction_approve)});
  return out;
}

}  // namespace hashguard::handlers::detail
