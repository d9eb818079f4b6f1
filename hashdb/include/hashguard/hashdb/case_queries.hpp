// What reviewers and compliance read from the case store: the filtered review queue with its
// counts, and everything one case holds (files, sightings, hits with their provenance,
// decisions, CyberTipline submissions). The exports (export.hpp) and the api's review handlers
// are built on these queries.
//
// Times are ISO 8601 UTC text with microseconds ("2026-11-28T20:43:11.123456Z"); hashes and
// digests are lowercase hex ("" when absent). Read-only: nothing here writes an audit row (the
// api records case views itself, export.hpp records custody).
// A review_store borrows a connection (one per thread).
#pragma once

#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/database.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hashguard::hashdb {

/// The review queue's filters; every field is optional. Dates compare with the case's
/// last_seen: from <= last_seen < to.
struct queue_filter {
  std::optional<std::string>
      status;  ///< open, disputed, confirmed, false_positive, escalated, reported
  std::optional<std::string> zone;             ///< exact zone
  std::optional<std::int64_t> list_id;         ///< cases that cover an entry of this list
  std::optional<std::int64_t> from_us, to_us;  ///< microseconds since the Unix epoch
  std::size_t limit{50};                       ///< 1..500
  std::size_t offset{0};
};

struct queue_page {
  std::vector<case_summary> cases;  ///< newest first (id descending)
  std::int64_t total{};             ///< cases matching the filter
  /// Cases per status over the other filters (zone, list, dates), for the queue's tabs.
  std::map<std::string, std::int64_t> by_status;
};

/// One list entry an event matched, with the list's name at export time.
struct hit_record {
  std::int64_t list_id{};
  std::string list_name;    ///< "" when the list no longer exists
  std::int64_t entry_id{};  ///< hashes.id
  std::string external_id;  ///< the entry's id in its source list ("" when none)
  std::string signal;       ///< pdq, phash, md5, sha1, sha256
  int distance{};
  int threshold{};
  std::int64_t list_version{};
  std::string action;
  std::string variant;
};

/// One stored event (a sighting).
struct event_record {
  std::string id;
  std::string occurred_at, recorded_at;
  std::string zone, source_url, request_id, node;
  std::string md5, sha1, sha256, pdq, phash;
  std::optional<int> pdq_quality;
  std::string action;
  std::optional<std::int64_t> case_id;
  bool suppressed{false};
  std::vector<hit_record> hits;
};

/// One distinct content of a case.
struct file_record {
  std::string content;  ///< the case's key for it (SHA-256, or the best hash sent)
  std::string md5, sha1, sha256, pdq, phash;
  std::string first_seen, last_seen;
  std::int64_t sightings{};
  std::vector<std::string> urls;  ///< distinct source URLs it was seen at, oldest first
  /// Whether anyone at the provider viewed the file (CyberTipline fileViewedByEsp), by whom
  /// and when: set by the first reveal of preserved evidence (evidence.hpp).
  bool viewed_by_esp{false};
  std::string viewed_by, viewed_at;
  bool evidence_preserved{false};  ///< an encrypted copy is held (evidence.hpp)
};

struct decision_record {
  std::int64_t id{};
  std::int64_t reviewer_key_id{};
  std::string decision;  ///< confirmed, false_positive, escalated
  std::optional<std::string> classification;
  std::string note;
  std::string decided_at;
};

struct report_record {
  std::int64_t id{};
  std::string report_id;
  std::vector<std::string> file_ids;
  std::string submitted_at;
  std::optional<std::string> finished_at;
  std::string environment;
  std::string responses;
  std::string recorded_at;
};

struct case_detail {
  case_summary summary;
  std::vector<file_record> files;    ///< first seen first
  std::vector<event_record> events;  ///< oldest first (empty once a false positive was reduced)
  std::vector<decision_record> decisions;  ///< oldest first
  std::vector<report_record> reports;      ///< oldest first
  int confirmations{};                     ///< distinct reviewers who confirmed
};

class review_store {
 public:
  explicit review_store(connection& c) noexcept : conn_(c) {}

  /// errc::invalid_argument for a limit outside 1..500 or an unknown status.
  [[nodiscard]] core::result<queue_page> queue(const queue_filter& f);
  /// errc::not_found when the case does not exist.
  [[nodiscard]] core::result<case_detail> detail(std::int64_t case_id);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
