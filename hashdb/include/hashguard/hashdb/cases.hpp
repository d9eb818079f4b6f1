// The legal case store (DESIGN.md section 6): events, cases, decisions, CyberTipline reports,
// the suppression list and retention.
//
// Grouping: an event joins the case of its zone that already covers one of its list entries,
// else the case of its zone that already holds its content (SHA-256, or the best hash sent),
// else opens a new case. A case's files are the distinct contents seen; sightings counts its
// events. Content on the suppression list (a reviewer dismissed it as a false positive and
// asked for suppression) no longer opens or feeds cases: its events are still stored, marked
// suppressed. A case that becomes confirmed takes its contents off the suppression list again
// (the latest decision wins, as in the decisions feed).
//
// Statuses: open -> confirmed (after `required_confirmations` confirmations by distinct
// reviewers; 1 or 2) | false_positive | escalated; confirmed -> reported when a CyberTipline
// submission is recorded.
//
// Retention: a reported case is preserved until `preserve_days` after its first report; a
// false-positive case keeps only its hashes (its events go) `false_positive_days` after
// dismissal; a case on legal hold is never purged. purge() refuses a named case that is held or
// unexpired (errc::purge_refused).
//
// Decisions, reports, holds and purges write an audit row in the same transaction.
// A case_store borrows a connection (one per thread).
#pragma once

#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/event.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct case_options {
  int dedupe_window_s{3600};      ///< same (zone, request id, SHA-256) within this: one event
  int required_confirmations{1};  ///< for new cases: 1, or 2 for the two-person rule
  int preserve_days{365};         ///< after the first report
  int false_positive_days{30};    ///< details kept after a false-positive dismissal
};

enum class record_outcome : std::uint8_t { recorded, suppressed, duplicate_id, duplicate_request };
[[nodiscard]] std::string_view to_string(record_outcome o) noexcept;

struct record_result {
  std::string event_id;  ///< for duplicate_request: the first event's id
  std::optional<std::int64_t> case_id;
  record_outcome outcome{record_outcome::recorded};
};

struct case_summary {
  std::int64_t id{};
  std::string zone;
  std::string status;  ///< open, confirmed, false_positive, escalated, reported
  std::string opened_at, first_seen, last_seen;
  std::int64_t sightings{};
  std::int64_t files{};
  int required_confirmations{1};
  std::optional<std::string> classification;  ///< A1, A2, B1, B2
  std::optional<std::string> dismissed_at, reported_at, preserve_until;
  bool legal_hold{false};
  bool details_purged{false};
};

enum class decision_kind : std::uint8_t { confirmed, false_positive, escalated };
[[nodiscard]] std::string_view to_string(decision_kind d) noexcept;
[[nodiscard]] std::optional<decision_kind> parse_decision(std::string_view text) noexcept;

struct decision_input {
  std::int64_t case_id{};
  std::int64_t reviewer_key_id{};
  decision_kind kind{decision_kind::confirmed};
  std::optional<std::string> classification;  ///< A1, A2, B1 or B2 (industry classification)
  std::string note;
  bool suppress{false};  ///< false_positive only: put the case's contents on the suppression list
};

struct decision_result {
  std::int64_t decision_id{};
  std::string status;   ///< the case's status afterwards
  int confirmations{};  ///< distinct reviewers who confirmed so far
};

struct report_input {
  std::int64_t case_id{};
  std::string report_id;              ///< the CyberTipline reportId
  std::vector<std::string> file_ids;  ///< the CyberTipline fileIds
  std::int64_t submitted_us{};        ///< when it was submitted (0 = now)
  std::optional<std::int64_t> finished_us;
  std::string environment{"production"};  ///< production or test
  std::string responses;                  ///< the service's responses, verbatim
};

struct purge_report {
  std::vector<std::int64_t> deleted;       ///< reported cases past preservation: removed
  std::vector<std::int64_t> reduced;       ///< false-positive cases: events removed, hashes kept
  std::vector<std::int64_t> held_skipped;  ///< expired but on legal hold
};

class case_store {
 public:
  case_store(connection& c, case_options options) noexcept : conn_(c), options_(options) {}

  /// Records one event in its own transaction (idempotent by event id).
  [[nodiscard]] core::result<record_result> record(const match_event& e);
  /// Records events in one transaction (group commit), all or nothing, with the outcome of
  /// recording them one after another in order: a later event of the batch sees the cases,
  /// requests and ids of the earlier ones. One call of hg_record_events (migration 6), which
  /// records the batch set-based in a few statements.
  [[nodiscard]] core::result<std::vector<record_result>> record_batch(
      std::span<const match_event> events);

  [[nodiscard]] core::result<case_summary> get(std::int64_t id);
  /// Cases by id descending; `status` filters when set.
  [[nodiscard]] core::result<std::vector<case_summary>> list(
      std::optional<std::string> status, std::size_t limit,
      std::optional<std::int64_t> before_id = std::nullopt);
  /// Event ids of a case, oldest first.
  [[nodiscard]] core::result<std::vector<std::string>> event_ids(std::int64_t case_id);

  /// errc::not_found (case), errc::conflict (the reviewer already confirmed this case, or a
  /// decision on a reported case), errc::invalid_argument (classification).
  [[nodiscard]] core::result<decision_result> decide(const decision_input& d,
                                                     std::string_view actor);
  /// Records a CyberTipline submission and starts (or keeps) the preservation clock.
  /// errc::conflict for a false-positive case.
  [[nodiscard]] core::result<std::int64_t> record_report(const report_input& r,
                                                         std::string_view actor);
  [[nodiscard]] core::result<void> set_legal_hold(std::int64_t case_id, bool hold,
                                                  std::string_view actor);
  /// Whether content (hex SHA-256, or the hash that stands for it) is suppressed.
  [[nodiscard]] core::result<bool> is_suppressed(std::string_view content_hex);

  /// Purges what has expired; with `only_case`, that case alone, refusing (errc::purge_refused)
  /// when it is held or unexpired. `dry_run` reports without changing anything.
  [[nodiscard]] core::result<purge_report> purge(std::optional<std::int64_t> only_case,
                                                 std::string_view actor, bool dry_run = false);

 private:
  connection& conn_;
  case_options options_;
};

}  // namespace hashguard::hashdb
