// What reviewers and compliance read from the case store: the filtered review queue with its
// counts, and one case (files with their provenance, a page of its sightings with their hits,
// the list entries it covers, decisions, CyberTipline submissions). The exports (export.hpp)
// and the api's review handlers are built on these queries.
//
// A case can hold hundreds of thousands of events (a popular item seen again and again), so
// nothing here grows with them: events come a page at a time (newest first, with their total),
// a file's first/last seen and sightings are counters kept at ingest, and its source URLs are
// computed with SQL aggregates and capped (the kept ones and the distinct total, so the cap is
// always visible). What still grows with the case: the files (one per distinct content) and the
// list entries it covers; and the URL aggregate's time (one pass over the case's events in
// PostgreSQL: about 0.2 s for 200,000 events).
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
  /// Provenance as recorded with the hit (0015_hit_provenance): the exchange that delivered the
  /// entry and its id there; both "" for an imported entry.
  std::string exchange;
  std::string source_id;
  std::string signal;  ///< pdq, phash, md5, sha1, sha256
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
  bool source_url_truncated{false};  ///< source_url is the first part of a longer URL
  std::string md5, sha1, sha256, pdq, phash;
  std::optional<int> pdq_quality;
  std::string action;
  std::optional<std::int64_t> case_id;
  bool suppressed{false};
  std::vector<hit_record> hits;
  /// The uploader the ingest request named ("" when not given): account, IP, upload time.
  std::string uploader_account, uploader_ip, uploader_at;
};

/// At most this many distinct source URLs are kept per file (file_record::urls), in the case
/// detail, the exports and the CyberTipline package alike.
inline constexpr std::size_t urls_per_file = 20;
/// At most this many distinct match records are kept per file (file_record::matches).
inline constexpr std::size_t matches_per_file = 20;

/// What one file's events matched: a distinct hit (list, entry, signal, distance, threshold,
/// list version, action, variant), with how often and when.
struct file_match {
  hit_record hit;
  std::int64_t sightings{};  ///< events of the file with this hit
  std::string first_seen, last_seen;
};

/// One distinct content of a case.
struct file_record {
  std::string content;  ///< the case's key for it (SHA-256, or the best hash sent)
  std::string md5, sha1, sha256, pdq, phash;
  std::string first_seen, last_seen;
  std::int64_t sightings{};
  /// Distinct source URLs it was seen at: the urls_per_file most recently seen, newest first.
  std::vector<std::string> urls;
  std::int64_t urls_total{};  ///< distinct source URLs in all (> urls.size() when capped)
  std::string first_url;      ///< the URL of its first sighting ("" when none had one)
  /// Only in the CyberTipline package (exporter::cybertipline; empty in review_store::detail):
  /// its distinct hits, the matches_per_file seen most often, and how many there are in all.
  std::vector<file_match> matches;
  std::int64_t matches_total{};
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

/// One list entry a case covers (every entry any of its events matched).
struct case_entry {
  std::int64_t list_id{};
  std::string list_name;  ///< "" when the list no longer exists
  std::int64_t entry_id{};
  std::string external_id;  ///< "" when none
  std::string exchange;     ///< provenance as recorded with the case; "" when imported
  std::string source_id;
};

/// Feedback on one of the case's exchange-fed entries, sent back to its exchange
/// (feedback_store.hpp): what was sent and how it went.
struct feedback_record {
  std::int64_t round{};
  std::string exchange;
  std::string source_id;
  std::string signal;
  bool positive{};     ///< confirmed (true) or dismissed as a false positive (false)
  std::string status;  ///< pending, sent, failed (for good)
  int attempts{};
  std::string last_error;  ///< "" when none
  std::string created_at;
  std::optional<std::string> sent_at;
  std::optional<std::string> next_attempt_at;  ///< while pending
};

/// Which events a case detail carries: the newest `limit` (0: none, only the total), or with
/// `before` (an event id of the case, e.g. the previous page's next_before) the newest
/// `limit` older than that event. Events are ordered by (occurred_at, id).
struct event_page {
  std::size_t limit{100};  ///< 0..500 (the api allows 1..500)
  std::optional<std::string> before;
};
inline constexpr std::size_t max_event_page = 500;

/// One upload event of a reported person: the IP and time an ingest request named.
struct upload_event {
  std::string ip;            ///< "" when not given
  std::string at;            ///< ISO 8601 UTC, "" when not given
  std::int64_t sightings{};  ///< the case's events that named this (account, IP, time)
};

/// A person the case's events named as uploader (X-Uploader-*): the reported person of the
/// CyberTipline report.
struct uploader_record {
  std::string account;               ///< "" for events that named only an IP or time
  std::vector<upload_event> events;  ///< first seen first, at most upload_events_per_uploader
  std::int64_t events_total{};       ///< distinct (IP, time) in all
};
inline constexpr std::size_t uploaders_per_case = 20;
inline constexpr std::size_t upload_events_per_uploader = 20;

struct case_detail {
  case_summary summary;
  std::vector<file_record> files;   ///< first seen first
  std::vector<case_entry> entries;  ///< by list id, entry id
  std::int64_t urls_total{};        ///< distinct source URLs over all its files
  /// A page of the events, newest first (empty once a false positive was reduced).
  std::vector<event_record> events;
  std::int64_t events_total{};  ///< all the case's events
  /// The id to pass as event_page::before for the next older page; empty on the last page.
  std::string next_before;
  std::vector<decision_record> decisions;  ///< oldest first
  std::vector<report_record> reports;      ///< oldest first
  int confirmations{};                     ///< distinct reviewers who confirmed
  std::vector<feedback_record> feedback;   ///< oldest first
  /// Only in the CyberTipline package and the compliance view (empty in review_store::detail):
  /// the uploaders its events named, at most uploaders_per_case, and how many there are.
  std::vector<uploader_record> uploaders;
  std::int64_t uploaders_total{};
};

class review_store {
 public:
  explicit review_store(connection& c) noexcept : conn_(c) {}

  /// errc::invalid_argument for a limit outside 1..500 or an unknown status.
  [[nodiscard]] core::result<queue_page> queue(const queue_filter& f);
  /// errc::not_found when the case does not exist; errc::invalid_argument for a page limit
  /// over max_event_page or a `before` that is not an event of this case.
  [[nodiscard]] core::result<case_detail> detail(std::int64_t case_id, const event_page& page = {});
  /// detail() with the uploaders the case's events named (case_detail::uploaders): the
  /// compliance view, never the reviewers'.
  [[nodiscard]] core::result<case_detail> compliance_detail(std::int64_t case_id,
                                                            const event_page& page = {});

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
