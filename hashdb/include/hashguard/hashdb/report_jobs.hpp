// The durable CyberTipline filing job of a case (issue 19): its stored position and the receipt
// of every ISPWS exchange (tables report_jobs and report_receipts).
//
// A job's position is (step, file_index): submit, then upload and fileinfo for each file, then
// finish (retract when an open report must be abandoned), done when finished. The runner
// (reporting/job_runner) decides each step's outcome; this store persists it: record_step()
// writes the receipt and the job's new position in ONE transaction, so a crash leaves the job at
// the last completed step, and the reportId is stored the moment submit's answer is recorded.
//
// Rules kept here:
//  - create(): refusals, checked in this order: errc::not_found (no case); errc::harm_type_refused
//    (harm type not csam); errc::report_recorded (a production report is already recorded for
//    the case); errc::not_confirmed (a csam case must be confirmed under the two-person rule);
//    errc::job_exists (a queued or finished job: a case never gets two filings from jobs; a
//    failed job does not block a new one); errc::no_evidence (no preserved evidence and
//    `allow_no_files` false).
//  - claim(): the oldest runnable job (queued, next_attempt_at passed, no live lease) is leased
//    to `owner` for `lease`; FOR UPDATE SKIP LOCKED, so concurrent runners on any node never
//    take the same job. A crashed runner's lease expires and the job is claimable again.
//  - record_step(): fenced by the lease owner: errc::conflict when `owner` no longer holds the
//    job (another runner took it after the lease expired), so a stale runner writes nothing.
//    The lease is renewed. A step that makes the job `finished` also records the report
//    (case_store::record_report's row and audit; production starts the preservation clock), in
//    the same transaction: a case never gets two finished reports from jobs.
//  - receipts never hold credentials or file bytes (the ISPWS client's exchange is already
//    without them; nothing else is stored).
//
// A report_job_store borrows a connection (one per thread).
#pragma once

#include "hashguard/hashdb/database.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

/// How long an open report may stay unfinished before the runner retracts it and submits again:
/// NCMEC deletes an unfinished report at the later of 24 h after it was opened and 1 h after its
/// last change, so 23 h after opening is always before the deletion, with an hour to spare.
inline constexpr std::chrono::hours open_report_deadline{23};

struct report_job {
  std::int64_t id{};
  std::int64_t case_id{};
  std::string environment;  ///< production or test
  std::string state;        ///< queued, finished, failed
  std::string step;         ///< submit, upload, fileinfo, finish, retract, done
  int file_index{};         ///< the file the upload / fileinfo step is at (0-based)
  int file_count{};
  std::optional<std::string> report_id;
  std::vector<std::string> file_ids;  ///< file_ids[i]: the i-th file's fileId
  int attempts{};                     ///< failed tries of the current step
  int restarts{};                     ///< retract-and-submit-again cycles
  std::optional<std::string> last_error;
  std::string requested_by;
  std::string created_at, updated_at;  ///< ISO 8601 UTC
  std::optional<std::string> opened_at, open_deadline, finished_at;
  bool open_deadline_passed{false};  ///< the open report must be retracted, not continued
  bool running{false};               ///< queued and leased right now (a runner is at it)
  std::string next_attempt_at;       ///< ISO 8601 UTC: not run before then (a retry's wait)
  bool retracted{false};             ///< a retract of this job's open report succeeded
};

/// One case of the filing queue: confirmed csam, no finished report in the environment.
struct queue_row {
  std::int64_t case_id{};
  std::string zone;
  std::string confirmed_at;  ///< ISO 8601 UTC: the last confirming decision of its round
  std::int64_t confirmed_us{};
  std::int64_t waiting_s{};  ///< seconds since confirmed_at
  std::int64_t files{};
  std::int64_t evidence_files{};
  std::optional<report_job> job;  ///< its newest job, if any
};

/// One exchange with the service, as stored.
struct report_receipt {
  std::string step;
  std::optional<int> file_index;
  int attempt{};
  std::string method, url, request_body;
  std::optional<int> http_status;
  std::optional<int> response_code;
  std::string response_body;
  std::optional<std::string> error;  ///< why there was no usable answer
  std::string recorded_at;           ///< ISO 8601 UTC (read back only)
};

/// The job's position after a step (everything record_step writes besides the receipt).
struct job_update {
  std::string state{"queued"};
  std::string step;
  int file_index{};
  int file_count{};
  std::optional<std::string> report_id;  ///< set: stored; a change of id (re)opens the report
  std::vector<std::string> file_ids;
  int attempts{};
  int restarts{};
  std::optional<std::string> last_error;
  std::chrono::milliseconds retry_after{0};  ///< next_attempt_at = now + this
};

class report_job_store {
 public:
  explicit report_job_store(connection& c, int preserve_days = 365) noexcept
      : conn_(c), preserve_days_(preserve_days) {}

  /// Queues a job for `case_id` (the rules above); audits "report.job_start". Returns its id.
  [[nodiscard]] core::result<std::int64_t> create(std::int64_t case_id,
                                                  std::string_view environment,
                                                  std::string_view actor,
                                                  bool allow_no_files = true);
  [[nodiscard]] core::result<report_job> get(std::int64_t job_id);
  /// The case's newest job, if any.
  [[nodiscard]] core::result<std::optional<report_job>> latest_for_case(std::int64_t case_id);
  /// Leases the oldest runnable job to `owner`; nullopt when none is runnable.
  [[nodiscard]] core::result<std::optional<report_job>> claim(std::string_view owner,
                                                              std::chrono::milliseconds lease);
  /// Gives the lease up (the job stays where it is).
  [[nodiscard]] core::result<void> release(std::int64_t job_id, std::string_view owner);
  /// Stores `receipt` and the job's new position in one transaction (the rules above);
  /// returns the job as stored.
  [[nodiscard]] core::result<report_job> record_step(std::int64_t job_id, std::string_view owner,
                                                     std::chrono::milliseconds lease,
                                                     const report_receipt& receipt,
                                                     const job_update& update,
                                                     std::string_view actor);
  /// The filing queue of `environment`: confirmed csam cases without a finished report there,
  /// oldest confirmation first; `after` is the (confirmed_us, case_id) of the last row of the
  /// previous page.
  [[nodiscard]] core::result<std::vector<queue_row>> queue(
      std::string_view environment, std::size_t limit,
      std::optional<std::pair<std::int64_t, std::int64_t>> after = {});
  /// reporting.auto_file: a job for every case of the queue that never had one and is
  /// fileable (evidence preserved, or `allow_no_files`), audited as `actor`. Returns how many.
  [[nodiscard]] core::result<int> queue_unfiled(std::string_view environment, bool allow_no_files,
                                                std::string_view actor);
  /// Jobs per state for /metrics: queued (waiting), running (leased now), finished, failed.
  [[nodiscard]] core::result<std::vector<std::pair<std::string, std::int64_t>>> counts();
  /// The job's receipts, oldest first.
  [[nodiscard]] core::result<std::vector<report_receipt>> receipts(std::int64_t job_id);

 private:
  connection& conn_;
  int preserve_days_;
};

}  // namespace hashguard::hashdb
