// The legal case store (DESIGN.md section 6): events, cases, decisions, CyberTipline reports,
// the suppression list and retention.
//
// Grouping: an event joins the case of its zone that already covers one of its list entries,
// else the case of its zone that already holds its content (SHA-256, or the best hash sent),
// else opens a new case. A case's files are the distinct contents seen; sightings counts its
// events. Content on the suppression list (dismissed as a false positive with suppression)
// no longer opens or feeds cases: its events are still stored, marked suppressed. A case that
// becomes confirmed takes its contents off the suppression list again.
//
// Decisions (two-person integrity; docs/internals.md "Decisions" has the table). R is the
// case's required_confirmations (1 or 2; 2 by default). A case is reviewed in rounds; only the
// decisions of its current round count, and each reviewer records at most one per round
// (confirmed, false_positive or escalated; errc::conflict for a second one, so a double submit
// records one decision). With C confirmations and F dismissals in the round:
//   confirmed       C >= R and C > F              final: the case is locked
//   false_positive  F >= R and F > C              final: the case is locked
//   disputed        C > 0 and F > 0, neither final: one more reviewer (the majority reaches R)
//                   or an admin ruling (rule()) decides
//   escalated       a reviewer escalated, nothing above applies
//   open            otherwise
// So a dismissal needs as many reviewers as a confirmation, and never overrides a pending one.
// The case's classification is set only when it becomes confirmed (the most severe one its
// confirming reviewers gave: A1 > A2 > B1 > B2), so nothing of a pending decision shows in the
// case row. Every decision runs in one transaction holding the case row's lock (FOR UPDATE):
// two concurrent requests are serialised and the second sees the first.
//
// A locked case (confirmed, false_positive) refuses decisions (errc::case_locked). It changes
// only through reopen requests: request_reopen() records one per reviewer who made no
// decision in the round being reopened; when max(2, R) distinct reviewers have asked, the same
// transaction reopens it (round + 1, status open, classification cleared; a dismissal's
// suppressions are lifted and fed as `reopened`; a confirmation's block stays in the feed until
// a later final decision changes it). A reported case is never reopened (errc::case_locked).
//
// Blind review: until a reviewer has recorded their own decision in the current round of an
// undecided case (open, disputed, escalated), they see it as `needs_review`, with no earlier
// decision, classification or count (decided_in_round(), blind_summary(); the handlers hide
// the decisions and counts of a case detail). Final cases are shown as they are.
//
// Dismissals: a reviewer may not record false_positive while the case holds preserved evidence
// that this actor never revealed unblurred (evidence.hpp; errc::evidence_not_viewed).
// Suppression (`suppress`, asked for with false_positive) is refused (errc::suppression_refused)
// when any hit of the case is an exact digest (md5, sha1, sha256: a bad exact entry is disabled
// by an admin instead, list_store::disable_entry), or when any of its contents belongs to
// another case that is confirmed or reported. It takes effect when the case becomes a false
// positive, and only if every reviewer who dismissed it in that round asked for it.
//
// Reports: record_report() needs a confirmed (or already reported) case: errc::not_confirmed
// for an open, disputed, escalated or dismissed one; errc::job_exists while the case has a
// queued or finished CyberTipline filing job (report_jobs.hpp: the job records its own report).
//
// Retention: a reported case is preserved until `preserve_days` after its first report; a
// false-positive case keeps only its hashes (its events go) `false_positive_days` after
// dismissal (its evidence likewise: purge_evidence); a case on legal hold is never purged.
// purge() refuses a named case that is held or unexpired (errc::purge_refused).
//
// Decisions, rulings, reopen requests, reports, holds and purges write an audit row in the
// same transaction. A case_store borrows a connection (one per thread).
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
  int required_confirmations{2};  ///< for new cases: 2 (the two-person rule), or 1
  int preserve_days{365};         ///< after the first report
  int hold_days{365};  ///< reporting.hold_days: a finished production report's hold (>= 365)
  int false_positive_days{30};  ///< details kept after a false-positive dismissal
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
  std::string status;  ///< open, disputed, confirmed, false_positive, escalated, reported;
                       ///< needs_review only in a blind_summary()
  std::string opened_at, first_seen, last_seen;
  std::int64_t sightings{};
  std::int64_t files{};
  int required_confirmations{2};
  int round{1};                               ///< the review round (a reopen starts the next)
  std::optional<std::string> classification;  ///< A1, A2, B1, B2 (set once confirmed)
  std::optional<std::string> dismissed_at, reported_at, preserve_until;
  bool legal_hold{false};
  bool details_purged{false};
  /// Near-miss: every hit recorded into the case lay in its list's review band (above the
  /// list's threshold); the smallest such distance. nullopt once any hit was within a
  /// threshold, or when none was in a band.
  std::optional<int> near_miss_distance;
  /// What the case holds (0013_exchanges): csam, ncii or tvec, from its entries' lists. Only a
  /// csam case may carry a classification, enter the CyberTipline queue or be preserved by
  /// default (README "Harm types").
  std::string harm_type{"csam"};
  /// Holds (holds.hpp). The preservation hold of a finished production CyberTipline report:
  /// its end (finish + reporting.hold_days), never shortened.
  std::optional<std::string> report_hold_until;
  /// The manual legal hold (legal_hold): why, until when (nullopt: until lifted), who set it
  /// and when.
  std::optional<std::string> legal_hold_reason, legal_hold_until, legal_hold_by, legal_hold_at;
  /// When the case's evidence was destroyed on a law-enforcement request.
  std::optional<std::string> evidence_destroyed_at;
  /// Why the case is held now (the report hold first, then a legal hold with its reason), or
  /// nullopt when nothing holds it: what a refused purge says.
  std::optional<std::string> held_because;
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
  int confirmations{};  ///< distinct reviewers who confirmed in the current round
  int dismissals{};     ///< distinct reviewers who dismissed in the current round
};

/// A reopen request by one reviewer.
struct reopen_input {
  std::int64_t case_id{};
  std::int64_t reviewer_key_id{};
  std::string reason;  ///< required, up to 10000 characters
};

struct reopen_result {
  int requests{};        ///< distinct reviewers who asked to reopen the current round
  int needed{};          ///< max(2, required_confirmations)
  bool reopened{false};  ///< this request reopened the case
  std::string status;    ///< the case's status afterwards
  int round{};           ///< the case's round afterwards
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

  /// One reviewer's decision in the case's current round (the rules above); `actor` is the
  /// key id that revealed evidence (the evidence check) and is written to the audit row.
  /// errc::not_found (case), errc::invalid_argument (classification, note over 10000 bytes,
  /// suppress without false_positive), errc::case_locked (confirmed, false_positive or
  /// reported), errc::conflict (this reviewer already decided in this round),
  /// errc::evidence_not_viewed, errc::suppression_refused.
  [[nodiscard]] core::result<decision_result> decide(const decision_input& d,
                                                     std::string_view actor);
  /// An admin's ruling on a disputed case: final at once, for one of the verdicts its reviewers
  /// recorded (confirmed needs a classification). d.reviewer_key_id is the admin's id.
  /// errc::conflict unless the case is disputed; errc::invalid_argument for escalated or a
  /// missing classification; errc::suppression_refused as decide().
  [[nodiscard]] core::result<decision_result> rule(const decision_input& d, std::string_view actor);
  /// Records a reopen request for a locked case (reopening it when enough have asked).
  /// errc::conflict when the case is not locked, the reviewer decided the round being
  /// reopened, or already asked; errc::case_locked for a reported case;
  /// errc::invalid_argument for an empty reason.
  [[nodiscard]] core::result<reopen_result> request_reopen(const reopen_input& r,
                                                           std::string_view actor);
  /// Of `case_ids`, those in which `reviewer_key_id` recorded a decision in the current round.
  [[nodiscard]] core::result<std::vector<std::int64_t>> decided_in_round(
      std::int64_t reviewer_key_id, std::span<const std::int64_t> case_ids);
  /// Records a CyberTipline submission and starts (or keeps) the preservation clock.
  /// errc::not_confirmed unless the case is confirmed or already reported.
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

/// Whether a reviewer who has not decided in the case's current round must see it blind: true
/// for an undecided case (open, disputed, escalated).
[[nodiscard]] bool blind_to_undecided(const case_summary& c) noexcept;
/// The case as a reviewer sees it before deciding: status `needs_review`, no classification,
/// no dismissal time.
[[nodiscard]] case_summary blind_summary(case_summary c);

}  // namespace hashguard::hashdb
