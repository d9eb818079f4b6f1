// hashguard serve's background work for the review side:
//  - evidence_keeper: when evidence preservation is on (evidence.enabled), the scan handler
//    hands it the bytes of every scan whose match event was recorded; a periodic task of its
//    own (core::periodic_task "evidence", with its own connection) seals them into the
//    event's case (hashdb::evidence_store::preserve_event). The scan's answer never waits for
//    this: submit() pokes the task. An event that went to the spool is not in the database
//    yet: its bytes wait in memory (bounded by evidence.pending_bytes) and are retried every
//    evidence.retry_ms (the task's interval) until the event appears, for at most
//    evidence.pending_s; a no_match scan is never handed over. A run fails (the task's
//    status, options::on_failure) when the database was unreachable or some content could not
//    be preserved; an event still in the spool is not a failure.
//  - purge_expired: what `hashguard cases purge` does, once: expired evidence
//    (hashdb::purge_evidence) first, so each deleted file is audited, then the case store's
//    retention (hashdb::case_store::purge). Cases on legal hold are kept. serve runs it every
//    retention.purge_interval_s (serve_tasks.hpp).
// Both log one line per preserved-or-lost content and per purge that did something to stderr
// (app code logs; the libraries never print).
// Thread-safety: submit() may be called from any thread.
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/core/periodic_task.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/evidence.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace hashguard::app {

/// evidence.pending_bytes, evidence.pending_s, evidence.retry_ms, evidence.preserve_ncii,
/// evidence.preserve_tvec, retention.purge_interval_s.
void declare_upkeep_config(core::config& cfg);

class evidence_keeper {
 public:
  struct options {
    std::string database_url;
    hashdb::evidence_key key;
    std::shared_ptr<const hashdb::audit_keyring> audit_keys;  ///< preservations are audited
    std::string actor{"hashguard-serve"};                     ///< who preserved, in the audit log
    std::size_t max_pending_bytes{256u << 20};                ///< bytes waiting (queued + retrying)
    std::chrono::milliseconds retry{500};          ///< between attempts for a spooled event
    std::chrono::seconds give_up{600};             ///< a spooled event not replayed by then
    core::periodic_task::failure_hook on_failure;  ///< a failed run (optional)
    /// Which harm types' cases are preserved (evidence.preserve_ncii / _tvec; csam always).
    hashdb::preserve_policy policy;
  };
  struct counters {
    std::uint64_t stored{}, no_case{}, dropped{}, failed{};
    std::uint64_t harm_type_off{};  ///< ncii/tvec content not kept (its harm type is off)
  };

  /// Starts the task.
  explicit evidence_keeper(options o);
  /// Stops the task (a run in progress ends after its current item) and says how many
  /// contents were left unpreserved.
  ~evidence_keeper();
  evidence_keeper(const evidence_keeper&) = delete;
  evidence_keeper& operator=(const evidence_keeper&) = delete;

  /// Queues the bytes of a recorded match event. False (and counted as dropped) when the
  /// pending budget is full.
  bool submit(std::string event_id, std::string bytes, std::string media_type);
  [[nodiscard]] counters stats() const;
  [[nodiscard]] std::size_t pending_bytes() const;
  /// The worker's task, for its status (metrics).
  [[nodiscard]] const core::periodic_task& task() const noexcept { return task_; }

 private:
  struct item {
    std::string event_id, bytes, media_type;
    std::chrono::steady_clock::time_point first, due;
  };
  core::result<void> run_due();
  bool attempt(const item& it, core::error_code& error);

  options options_;
  mutable std::mutex mutex_;
  std::deque<item> queue_;
  std::size_t pending_bytes_{0};
  std::atomic<std::uint64_t> stored_{0}, no_case_{0}, dropped_{0}, failed_{0}, harm_type_off_{0};
  std::optional<hashdb::connection> conn_;  // the task's only
  core::periodic_task task_;                // last: stopped before the rest goes
};

/// One purge as described above; `actor` is who purged, in the audit log. Returns the first
/// error (an evidence purge that failed does not stop the case purge).
[[nodiscard]] core::result<void> purge_expired(
    const std::string& database_url, const hashdb::case_options& cases,
    std::shared_ptr<const hashdb::audit_keyring> audit_keys,
    const std::string& actor = "hashguard-serve");

}  // namespace hashguard::app
