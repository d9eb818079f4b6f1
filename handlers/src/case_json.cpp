// The JSON shapes of cases (case_json.hpp).
#include "case_json.hpp"

#include "hashguard/core/hex.hpp"

#include <boost/json.hpp>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

// A matched entry's provenance as recorded: {"exchange", "source_id"}, null for an imported one
// (the shape match answers use, README "Provenance").
json::value source_of(const std::string& exchange, const std::string& source_id) {
  if (exchange.empty()) return nullptr;
  return json::object{{"exchange", exchange}, {"source_id", source_id}};
}

}  // namespace

json::object summary_json(const hashdb::case_summary& c) {
  return json::object{
      {"id", c.id},
      {"zone", c.zone},
      {"harm_type", c.harm_type},
      {"status", c.status},
      {"opened_at", c.opened_at},
      {"first_seen", c.first_seen},
      {"last_seen", c.last_seen},
      {"sightings", c.sightings},
      {"files", c.files},
      {"required_confirmations", c.required_confirmations},
      {"classification", opt(c.classification)},
      {"dismissed_at", opt(c.dismissed_at)},
      {"reported_at", opt(c.reported_at)},
      {"preserve_until", opt(c.preserve_until)},
      {"legal_hold", c.legal_hold},
      {"details_purged", c.details_purged},
      {"near_miss", c.near_miss_distance.has_value()},
      {"near_miss_distance",
       c.near_miss_distance ? json::value(*c.near_miss_distance) : json::value(nullptr)},
      // Holds (hashdb/holds.hpp): the report hold's end, the legal hold, why it is held now.
      {"report_hold_until", opt(c.report_hold_until)},
      {"legal_hold_reason", opt(c.legal_hold_reason)},
      {"legal_hold_until", opt(c.legal_hold_until)},
      {"legal_hold_by", opt(c.legal_hold_by)},
      {"legal_hold_at", opt(c.legal_hold_at)},
      {"held_because", opt(c.held_because)},
      {"evidence_destroyed_at", opt(c.evidence_destroyed_at)}};
}

std::string reviewer_label(std::int64_t id) {
  // The 48 bits as 12 hex digits: the last 12 of the 64-bit form.
  return "k_" + core::to_hex(core::hash64{static_cast<std::uint64_t>(id)}).substr(4);
}

json::object detail_json(const hashdb::case_detail& d) {
  json::object o;
  o["case"] = summary_json(d.summary);
  o["confirmations"] = d.confirmations;
  json::array files;
  for (const auto& f : d.files) {
    json::array urls;
    for (const auto& u : f.urls) urls.emplace_back(u);
    files.push_back(json::object{{"content", f.content},
                                 {"md5", f.md5},
                                 {"sha1", f.sha1},
                                 {"sha256", f.sha256},
                                 {"pdq", f.pdq},
                                 {"phash", f.phash},
                                 {"first_seen", f.first_seen},
                                 {"last_seen", f.last_seen},
                                 {"sightings", f.sightings},
                                 {"urls", std::move(urls)},
                                 {"urls_total", f.urls_total},
                                 {"first_url", f.first_url},
                                 {"viewed_by_esp", f.viewed_by_esp},
                                 {"viewed_by", f.viewed_by},
                                 {"viewed_at", f.viewed_at},
                                 {"evidence_preserved", f.evidence_preserved}});
  }
  o["files"] = std::move(files);
  o["urls_total"] = d.urls_total;
  json::array entries;
  for (const auto& e : d.entries) {
    entries.push_back(json::object{{"list_id", e.list_id},
                                   {"list_name", e.list_name},
                                   {"entry_id", e.entry_id},
                                   {"external_id", e.external_id},
                                   {"source", source_of(e.exchange, e.source_id)}});
  }
  o["entries"] = std::move(entries);
  json::array events;
  for (const auto& e : d.events) {
    json::array hits;
    for (const auto& h : e.hits) {
      hits.push_back(json::object{{"list_id", h.list_id},
                                  {"list_name", h.list_name},
                                  {"entry_id", h.entry_id},
                                  {"external_id", h.external_id},
                                  {"source", source_of(h.exchange, h.source_id)},
                                  {"signal", h.signal},
                                  {"distance", h.distance},
                                  {"threshold", h.threshold},
                                  {"list_version", h.list_version},
                                  {"action", h.action},
                                  {"variant", h.variant}});
    }
    events.push_back(json::object{
        {"id", e.id},
        {"occurred_at", e.occurred_at},
        {"zone", e.zone},
        {"source_url", e.source_url},
        {"source_url_truncated", e.source_url_truncated},
        {"request_id", e.request_id},
        {"node", e.node},
        {"sha256", e.sha256},
        {"md5", e.md5},
        {"sha1", e.sha1},
        {"pdq", e.pdq},
        {"pdq_quality", e.pdq_quality ? json::value(*e.pdq_quality) : json::value(nullptr)},
        {"phash", e.phash},
        {"action", e.action},
        {"hits", std::move(hits)}});
  }
  o["events"] = std::move(events);
  o["events_total"] = d.events_total;
  o["next_before"] = d.next_before.empty() ? json::value(nullptr) : json::value(d.next_before);
  json::array decisions;
  for (const auto& x : d.decisions) {
    decisions.push_back(json::object{{"id", x.id},
                                     {"reviewer", reviewer_label(x.reviewer_key_id)},
                                     {"decision", x.decision},
                                     {"classification", opt(x.classification)},
                                     {"note", x.note},
                                     {"decided_at", x.decided_at}});
  }
  o["decisions"] = std::move(decisions);
  json::array reports;
  for (const auto& r : d.reports) {
    json::array ids;
    for (const auto& f : r.file_ids) ids.emplace_back(f);
    reports.push_back(json::object{{"report_id", r.report_id},
                                   {"file_ids", std::move(ids)},
                                   {"submitted_at", r.submitted_at},
                                   {"finished_at", opt(r.finished_at)},
                                   {"environment", r.environment},
                                   {"recorded_at", r.recorded_at}});
  }
  o["reports"] = std::move(reports);
  // What was sent back to the exchanges the case's entries came from, and how it went.
  json::array feedback;
  for (const auto& f : d.feedback) {
    feedback.push_back(json::object{{"round", f.round},
                                    {"exchange", f.exchange},
                                    {"source_id", f.source_id},
                                    {"signal", f.signal},
                                    {"outcome", f.positive ? "confirmed" : "false_positive"},
                                    {"status", f.status},
                                    {"attempts", f.attempts},
                                    {"last_error", f.last_error},
                                    {"created_at", f.created_at},
                                    {"sent_at", opt(f.sent_at)},
                                    {"next_attempt_at", opt(f.next_attempt_at)}});
  }
  o["feedback"] = std::move(feedback);
  return o;
}

std::int64_t reviewer_id_of(std::string_view key_id) noexcept {
  // "k_" + 12 hex digits (api::key_id_of): those 48 bits. Other ids (the bootstrap key, test
  // keys): FNV-1a folded to 47 bits, kept apart from the hex ids by the top bit.
  // Lower case only: key_id_of writes lower case, and "k_AB..." must stay another key.
  if (key_id.starts_with("k_") && core::is_canonical_hex(key_id.substr(2), 12)) {
    std::int64_t v = 0;
    for (const char ch : key_id.substr(2)) v = v * 16 + core::hex_digit_value(ch);
    return v;
  }
  std::uint64_t h = 1469598103934665603ULL;
  for (char ch : key_id) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ULL;
  }
  return static_cast<std::int64_t>((h & 0x7FFFFFFFFFFFULL) | 0x800000000000ULL);
}

}  // namespace hashguard::handlers::detail
