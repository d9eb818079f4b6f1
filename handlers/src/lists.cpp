// The admin list routes: GET/POST /v1/lists, PATCH and DELETE /v1/lists/{id}, POST
// /v1/lists/{id}/hashes (import with its line report) and GET /v1/lists/{id}/export ({id} is a
// list's numeric id or its name). Every change and export writes an audit row with the
// caller's key id as actor, as `hashguard lists` does with the CLI user, and a change asks for
// this node's snapshot to be rebuilt at once (other nodes see it at their next poll).
#include "area.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/api/http.hpp"
#include "hashguard/api/json_io.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/decision_feed.hpp"
#include "hashguard/hashdb/errc.hpp"
#include "hashguard/hashdb/floods.hpp"
#include "hashguard/hashdb/list_formats.hpp"
#include "hashguard/hashdb/lists.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <sstream>
#include <variant>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

json::object list_json(const hashdb::hash_list& l) {
  json::object o;
  o["id"] = l.id;
  o["name"] = l.name;
  o["source"] = l.source;
  o["signal"] = core::to_string(l.sig);
  o["threshold"] = l.threshold;
  o["action"] = core::to_string(l.act);
  o["dihedral"] = l.dihedral;
  o["review_threshold"] =
      l.review_threshold ? json::value(*l.review_threshold) : json::value(nullptr);
  o["auto_quarantine"] = l.auto_quarantine;
  if (l.sig == core::signal::vpdq) {
    o["video_query_percent"] = l.video_query_percent;
    o["video_compared_percent"] = l.video_compared_percent;
  }
  o["enabled"] = l.enabled;
  o["retired"] = l.retired;
  o["version"] = l.version;
  o["entries"] = l.entries;
  o["created_at"] = l.created_at;
  o["updated_at"] = l.updated_at;
  return o;
}

/// The list's name from the {id} segment (a numeric id or a name).
core::result<std::string> list_name(hashdb::list_store& lists, std::string_view id) {
  if (auto n = core::parse_int<std::int64_t>(id, 0); n) {
    auto l = lists.get(*n);
    if (!l) return l.error();
    return l->name;
  }
  return std::string(id);
}

// The typed fields of list bodies. A bad value sets `problem` (the first one only) to a message
// that names the field and what it accepts, and the field reads as absent.
void note(std::string& problem, std::string message) {
  if (problem.empty()) problem = std::move(message);
}

template <class Enum, std::size_t N>
std::optional<Enum> enum_field(const json::object& o, std::string_view key,
                               const std::array<std::string_view, N>& names, std::string& problem) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  std::optional<Enum> e;
  if (v->is_string()) e = core::parse_name<Enum>(std::string_view(v->as_string()), names);
  if (!e) {
    std::string accepted;
    for (std::size_t i = 0; i < N; ++i) {
      accepted += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i]);
    }
    note(problem, std::string(key) + " must be " + accepted);
  }
  return e;
}

std::optional<bool> bool_field(const json::object& o, std::string_view key, std::string& problem) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    note(problem, std::string(key) + " must be true or false");
    return std::nullopt;
  }
  return v->as_bool();
}

/// A threshold: an integer in 0..max_threshold(sig).
std::optional<int> threshold_field(const json::object& o, core::signal sig, std::string& problem) {
  const auto* v = o.if_contains("threshold");
  if (v == nullptr) return std::nullopt;
  const int max = core::max_threshold(sig);
  if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > max) {
    note(problem, "threshold must be 0.." + std::to_string(max) + " for a " +
                      std::string(core::to_string(sig)) + " list");
    return std::nullopt;
  }
  return static_cast<int>(v->as_int64());
}

/// review_threshold: absent (returns false), null (true, `band` empty: no band), or the top of
/// the near-miss band (true, `band` set): an integer above the list's threshold and at most the
/// signal's bits, perceptual lists only. `threshold` is the list's threshold after the change.
bool review_threshold_field(const json::object& o, core::signal sig, int threshold,
                            std::optional<int>& band, std::string& problem) {
  band.reset();
  const auto* v = o.if_contains("review_threshold");
  if (v == nullptr) return false;
  if (v->is_null()) return true;
  if (!core::is_perceptual(sig)) {
    note(problem, "review_threshold is for pdq and phash lists only (a " +
                      std::string(core::to_string(sig)) + " list matches exactly)");
    return false;
  }
  const int max = core::max_threshold(sig);
  if (!v->is_int64() ||
      !hashdb::valid_review_threshold(
          sig, threshold, static_cast<int>(std::clamp<std::int64_t>(v->as_int64(), -1, max + 1)))) {
    note(problem, "review_threshold must be an integer above the threshold (" +
                      std::to_string(threshold) + ") and at most " + std::to_string(max) +
                      ", or null for no band");
    return false;
  }
  band = static_cast<int>(v->as_int64());
  return true;
}

/// The audit row of a list change made over HTTP. The change has committed already (list_store
/// runs its own transaction), so a failure here cannot undo it: the caller hears 500 so that it
/// knows the trail lacks the row, and the message says the change itself was made.
std::optional<api::response> audit_change(hashdb::connection& conn, const api::auth_context& who,
                                          std::string_view action, std::string_view list,
                                          const json::object& detail) {
  hashdb::audit_log audit(conn);
  auto a = audit.append(who.key_id, action, "list:" + std::string(list), json::serialize(detail));
  if (a) return std::nullopt;
  return api::response::error(api::errc::internal, std::string(action) +
                                                       " was made, but its audit row failed: " +
                                                       std::string(a.error().message()));
}

api::response get_lists(const services&, hashdb::connection& conn, const api::request& req,
                        const api::auth_context&) {
  hashdb::list_store lists(conn);
  const bool retired = req.query_param("include_retired").value_or("") == "true";
  auto all = lists.list(retired);
  if (!all) return api::response::error(all.error());
  json::array arr;
  for (const auto& l : *all) arr.push_back(list_json(l));
  json::object out;
  out["lists"] = std::move(arr);
  return api::json_response(200, out);
}

api::response create_list(const services& deps, hashdb::connection& conn, const api::request& req,
                          const api::auth_context& who) {
  hashdb::list_store lists(conn);
  auto body = api::parse_json_object(req);
  if (!body) return api::response::error(body.error());
  hashdb::list_spec spec;
  const auto* name = body->if_contains("name");
  if (name == nullptr || !name->is_string()) return malformed("name (string) is required");
  spec.name = std::string(name->as_string());
  std::string problem;
  if (auto s = enum_field<core::signal>(*body, "signal", core::signal_names, problem)) {
    spec.sig = *s;
  }
  if (auto a = enum_field<core::action>(*body, "action", core::action_names, problem)) {
    spec.act = *a;
  }
  // No threshold named: the signal's documented default, never 0 (exact only) by accident.
  spec.threshold =
      threshold_field(*body, spec.sig, problem).value_or(core::default_threshold(spec.sig));
  if (auto d = bool_field(*body, "dihedral", problem)) spec.dihedral = *d;
  if (auto e = bool_field(*body, "enabled", problem)) spec.enabled = *e;
  review_threshold_field(*body, spec.sig, spec.threshold, spec.review_threshold, problem);
  if (auto q = bool_field(*body, "auto_quarantine", problem)) spec.auto_quarantine = *q;
  // vpdq lists: the shares a video match needs (percent; defaults 80 and 0).
  for (auto [key, slot] : {std::pair{"video_query_percent", &spec.video_query_percent},
                           std::pair{"video_compared_percent", &spec.video_compared_percent}}) {
    const auto* v = body->if_contains(key);
    if (v == nullptr) continue;
    if (spec.sig != core::signal::vpdq) {
      problem = std::string(key) + " is for vpdq lists only";
    } else if (!v->is_number()) {
      problem = std::string(key) + " must be a number";
    } else {
      *slot = v->to_number<double>();
    }
  }
  if (!hashdb::valid_video_percents(spec.video_query_percent, spec.video_compared_percent)) {
    problem = "video_query_percent must be in (0, 100], video_compared_percent in [0, 100]";
  }
  if (const auto* src = body->if_contains("source"); src != nullptr && src->is_string()) {
    spec.source = std::string(src->as_string());
  }
  if (!problem.empty()) return malformed(problem);
  auto created = lists.create(spec);
  if (!created) return api::response::error(created.error());
  if (deps.lists_changed) deps.lists_changed();
  if (auto failed = audit_change(conn, who, "list.create", created->name, list_json(*created))) {
    return *failed;
  }
  auto r = api::json_response(201, list_json(*created));
  r.headers.push_back({"Location", "/v1/lists/" + std::to_string(created->id)});
  return r;
}

/// The JSON body and the list {id} names (its id or name) of a POST or PATCH on a list; the
/// answer refusing them otherwise.
std::optional<api::response> read_list_post(hashdb::list_store& lists, const api::request& req,
                                            json::object& body, hashdb::hash_list& list) {
  auto parsed = api::parse_json_object(req);
  if (!parsed) return api::response::error(parsed.error());
  auto name = list_name(lists, req.param("id"));
  if (!name) return api::response::error(name.error());
  auto found = lists.get(std::string_view(*name));
  if (!found) return api::response::error(found.error());
  body = std::move(*parsed);
  list = std::move(*found);
  return std::nullopt;
}

api::response patch_list(const services& deps, hashdb::connection& conn, const api::request& req,
                         const api::auth_context& who) {
  hashdb::list_store lists(conn);
  json::object body;
  hashdb::hash_list current;
  if (auto refused = read_list_post(lists, req, body, current)) return *refused;
  hashdb::list_changes changes;
  std::string problem;
  changes.enabled = bool_field(body, "enabled", problem);
  changes.dihedral = bool_field(body, "dihedral", problem);
  changes.threshold = threshold_field(body, current.sig, problem);
  changes.act = enum_field<core::action>(body, "action", core::action_names, problem);
  changes.set_review_threshold =
      review_threshold_field(body, current.sig, changes.threshold.value_or(current.threshold),
                             changes.review_threshold, problem);
  changes.auto_quarantine = bool_field(body, "auto_quarantine", problem);
  // A threshold raised to or past the band it leaves in place is refused by name too.
  if (problem.empty() && changes.threshold && !changes.set_review_threshold &&
      current.review_threshold &&
      !hashdb::valid_review_threshold(current.sig, *changes.threshold, *current.review_threshold)) {
    note(problem, "threshold must stay below the list's review_threshold (" +
                      std::to_string(*current.review_threshold) +
                      "): change or clear review_threshold in the same request");
  }
  if (!problem.empty()) return malformed(problem);
  auto updated = lists.update(current.name, changes);
  if (!updated) return api::response::error(updated.error());
  if (deps.lists_changed) deps.lists_changed();
  json::object detail = list_json(*updated);
  detail["changes"] = body;
  if (auto failed = audit_change(conn, who, "list.update", current.name, detail)) return *failed;
  return api::json_response(200, list_json(*updated));
}

api::response retire_list(const services& deps, hashdb::connection& conn, const api::request& req,
                          const api::auth_context& who) {
  hashdb::list_store lists(conn);
  auto name = list_name(lists, req.param("id"));
  if (!name) return api::response::error(name.error());
  auto retired = lists.retire(*name);
  if (!retired) return api::response::error(retired.error());
  if (deps.lists_changed) deps.lists_changed();
  if (auto failed = audit_change(conn, who, "list.retire", *name, list_json(*retired))) {
    return *failed;
  }
  return api::json_response(200, list_json(*retired));
}

api::response import_hashes(const services& deps, hashdb::connection& conn, const api::request& req,
                            const api::auth_context& who) {
  hashdb::list_store lists(conn);
  auto name = list_name(lists, req.param("id"));
  if (!name) return api::response::error(name.error());
  hashdb::import_options options;
  if (auto f = req.query_param("format")) {
    options.format = hashdb::parse_list_format(*f);
    if (!options.format) return malformed("format: hex, te_local, csv or hashguard");
  }
  // vpdq lists: the name of a one-video file's video (the reference's files name none).
  if (auto v = req.query_param("video")) options.video_name = std::string(*v);
  std::istringstream in(req.body);
  auto report = lists.import(*name, in, options);
  if (!report) return api::response::error(report.error());
  if (deps.lists_changed) deps.lists_changed();
  json::object out;
  out["list"] = *name;
  out["format"] = hashdb::to_string(report->format);
  out["lines"] = report->lines;
  out["accepted"] = report->accepted;
  out["duplicates"] = report->duplicates;
  out["rejected"] = report->rejected;
  auto lines = [](const std::vector<hashdb::import_line>& v) {
    json::array a;
    for (const auto& l : v) a.push_back(json::object{{"line", l.line}, {"reason", l.reason}});
    return a;
  };
  out["rejected_lines"] = lines(report->rejected_lines);
  out["duplicate_lines"] = lines(report->duplicate_lines);
  out["version"] = report->version;
  json::object detail{{"list", *name},
                      {"format", out["format"]},
                      {"lines", report->lines},
                      {"accepted", report->accepted},
                      {"duplicates", report->duplicates},
                      {"rejected", report->rejected},
                      {"version", report->version}};
  if (auto failed = audit_change(conn, who, "list.import", *name, detail)) return *failed;
  return api::json_response(200, out);
}

api::response export_list(const services&, hashdb::connection& conn, const api::request& req,
                          const api::auth_context& who) {
  hashdb::list_store lists(conn);
  auto name = list_name(lists, req.param("id"));
  if (!name) return api::response::error(name.error());
  hashdb::list_format format = hashdb::list_format::hashguard;
  if (auto f = req.query_param("format")) {
    auto parsed = hashdb::parse_list_format(*f);
    if (!parsed) return malformed("format: hex, te_local, csv or hashguard");
    format = *parsed;
  }
  std::ostringstream out;
  auto n = lists.export_to(*name, format, out);
  if (!n) return api::response::error(n.error());
  if (auto failed =
          audit_change(conn, who, "list.export", *name,
                       json::object{{"format", hashdb::to_string(format)}, {"entries", *n}})) {
    return *failed;
  }
  auto r = api::response::text(200, out.str(), "text/plain; charset=utf-8");
  r.headers.push_back({"X-Entries", std::to_string(*n)});
  return r;
}

/// What a POST on one entry of a list names: the list, the entry id and the reason.
struct entry_post {
  hashdb::hash_list list;
  std::int64_t entry{};
  std::string reason;
};

/// The list, {entry} and a non-blank `reason` of a POST on one entry; the answer refusing them
/// otherwise (404 for a list or entry that is not there, 422 without a reason).
std::variant<entry_post, api::response> read_entry_post(hashdb::list_store& lists,
                                                        const api::request& req) {
  entry_post out;
  json::object body;
  if (auto refused = read_list_post(lists, req, body, out.list)) return *refused;
  auto entry = id_param(req, "entry");
  if (!entry) return api::response::error(api::errc::not_found, "no such entry in this list");
  auto reason = api::string_field(body, "reason");
  if (!reason || reason->find_first_not_of(" \t\r\n") == std::string::npos) {
    return unprocessable("a reason is required");
  }
  out.entry = *entry;
  out.reason = std::move(*reason);
  return out;
}

// POST /v1/lists/{id}/entries/{entry}/disable {reason}: clears one wrong entry for good (an
// exact digest that matched innocent content cannot be suppressed by reviewers: cases.hpp).
// Audited by the store in the same transaction ("list.entry_disable").
api::response disable_entry(const services& deps, hashdb::connection& conn, const api::request& req,
                            const api::auth_context& who) {
  hashdb::list_store lists(conn);
  auto read = read_entry_post(lists, req);
  if (auto* refused = std::get_if<api::response>(&read)) return *refused;
  const auto& [list, entry, reason] = std::get<entry_post>(read);
  auto r = lists.disable_entry(list.id, entry, reason, who.key_id);
  if (!r) return api::response::error(r.error());
  if (r->changed && deps.lists_changed) deps.lists_changed();
  return api::json_response(200, json::object{{"list", list.name},
                                              {"list_id", r->list_id},
                                              {"entry_id", r->entry_id},
                                              {"value", r->value},
                                              {"external_id", r->external_id},
                                              {"changed", r->changed},
                                              {"version", r->version}});
}

// POST /v1/lists/{id}/entries/{entry}/quarantine and .../restore {reason}: an admin's hand on
// one entry, any signal (floods.hpp). Audited by the store in the same transaction.
api::response set_quarantine(const services& deps, hashdb::connection& conn,
                             const api::request& req, const api::auth_context& who, bool on) {
  hashdb::list_store lists(conn);
  auto read = read_entry_post(lists, req);
  if (auto* refused = std::get_if<api::response>(&read)) return *refused;
  const auto& [list, entry, reason] = std::get<entry_post>(read);
  hashdb::flood_store floods(conn);
  auto r = floods.set_quarantine(list.id, entry, on, reason, who.key_id);
  if (!r) return api::response::error(r.error());
  if (r->changed && deps.lists_changed) deps.lists_changed();
  return api::json_response(200, json::object{{"list", list.name},
                                              {"list_id", r->list_id},
                                              {"entry_id", r->entry_id},
                                              {"quarantined", r->quarantined},
                                              {"changed", r->changed},
                                              {"version", r->version}});
}

api::response quarantine_entry(const services& deps, hashdb::connection& conn,
                               const api::request& req, const api::auth_context& who) {
  return set_quarantine(deps, conn, req, who, true);
}
api::response restore_entry(const services& deps, hashdb::connection& conn, const api::request& req,
                            const api::auth_context& who) {
  return set_quarantine(deps, conn, req, who, false);
}

json::object flood_json(const hashdb::flood_flag& f) {
  return json::object{{"id", f.id},
                      {"list_id", f.list_id},
                      {"list", f.list_name},
                      {"entry_id", f.entry_id},
                      {"signal", f.signal},
                      {"flagged_at", f.flagged_at},
                      {"window_s", f.window_s},
                      {"distinct_contents", f.distinct_contents},
                      {"baseline", f.baseline},
                      {"reason", f.reason},
                      {"auto_quarantined", f.auto_quarantined},
                      {"quarantined", f.quarantined},
                      {"cleared_at", f.cleared_at ? json::value(*f.cleared_at) : json::value()}};
}

// GET /v1/floods[?include_cleared=true][&limit=N]: the entries flood detection flagged.
api::response get_floods(const services&, hashdb::connection& conn, const api::request& req,
                         const api::auth_context&) {
  const auto cleared = req.query_param("include_cleared").value_or("false");
  if (cleared != "true" && cleared != "false") return malformed("include_cleared: true or false");
  std::size_t limit = 100;
  if (auto l = req.query_param("limit")) {
    auto n = core::parse_int<std::int64_t>(*l, 1, 1000);
    if (!n) return malformed("limit must be 1..1000");
    limit = static_cast<std::size_t>(*n);
  }
  hashdb::flood_store floods(conn);
  auto flags = floods.list(cleared == "true", limit);
  if (!flags) return api::response::error(flags.error());
  auto open = floods.open_count();
  if (!open) return api::response::error(open.error());
  json::array arr;
  for (const auto& f : *flags) arr.push_back(flood_json(f));
  return api::json_response(200, json::object{{"floods", std::move(arr)}, {"open", *open}});
}

}  // namespace

handler_list list_handlers(const services& deps) {
  handler_list out;
  out.push_back({"GET", "/v1/lists", db_route(deps, get_lists)});
  out.push_back({"POST", "/v1/lists", db_route(deps, create_list)});
  out.push_back({"PATCH", "/v1/lists/{id}", db_route(deps, patch_list)});
  out.push_back({"DELETE", "/v1/lists/{id}", db_route(deps, retire_list)});
  out.push_back({"POST", "/v1/lists/{id}/hashes", db_route(deps, import_hashes)});
  out.push_back({"GET", "/v1/lists/{id}/export", db_route(deps, export_list)});
  out.push_back({"POST", "/v1/lists/{id}/entries/{entry}/disable", db_route(deps, disable_entry)});
  out.push_back(
      {"POST", "/v1/lists/{id}/entries/{entry}/quarantine", db_route(deps, quarantine_entry)});
  out.push_back({"POST", "/v1/lists/{id}/entries/{entry}/restore", db_route(deps, restore_entry)});
  out.push_back({"GET", "/v1/floods", db_route(deps, get_floods)});
  return out;
}

}  // namespace hashguard::handlers::detail
