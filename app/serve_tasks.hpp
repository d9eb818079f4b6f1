// hashguard serve's periodic work, in one place (core::periodic_task): what runs, how often,
// how failures are logged (one line on stderr per failed run) and how /metrics shows it.
//
// The tasks started here (one-shot functions of their modules, run on the tasks' threads):
//   keys          load_keys (serve_keys.hpp): first run in start, then every auth.refresh_ms
//   snapshot      hashdb::snapshot_loader::refresh: first run in start (the node is ready as
//                 soon as it listens when the database or the cache allows), then every
//                 snapshot.poll_ms, and at once when poked (a list changed through this node);
//                 those later rebuilds run at low priority (lower_this_threads_priority) and
//                 build the MIH index on that one thread, so a swap never takes the CPU from
//                 the scans
//   suppressions  hashdb::refresh_suppressions: first run in start, then every
//                 suppressions.poll_ms
//   probe_audit   one audit row (key.probe_suspected) per key the probe detector starts
//                 refusing (handlers::probe_guard), every second; rows that fail are retried
//   purge         purge_expired (serve_evidence.hpp): every retention.purge_interval_s, first
//                 after one interval; not started when the interval is 0
//   postgres      hashdb::embedded_server::keep_running: with the embedded PostgreSQL only,
//                 every second: restarts it when its postmaster is gone, takes ownership of
//                 it when the command that started it has ended (one line on stderr each)
//   audit_head    hashdb::audit_log::head, published when it changed: one line on stderr
//                 ("hashguard serve: audit head ID HASH TIME") and audit.head_file rewritten
//                 (hashdb::write_audit_head: atomic, 0600); first run in start, then every
//                 audit.publish_interval_s; not started when the interval is 0. A head behind
//                 the one the file holds (a lower id, or the same id with another hash) is
//                 never written: the run fails with hashdb::errc::audit_head_behind
// and two that their workers own, only watched here (for /metrics): log_flush
// (api::batched_log_writer) and evidence (evidence_keeper). While the database is down every
// task fails and retries at its interval; what it last loaded stays in force.
//
// /metrics, for every task:
//   hg_task_last_success_timestamp_seconds{task}  gauge, Unix time of the last success (0: never)
//   hg_task_failures_total{task}                  counter, failed runs
//
// Lifetime: the referenced registry and holders must outlive this object, whose destructor
// stops the tasks it started; a watched task must outlive every /metrics render.
// Thread-safety: start and watch from one thread; the metrics callbacks may run on any thread
// (tasks added later appear in the next render).
#pragma once

#include "hashguard/api/auth.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/core/periodic_task.hpp"
#include "hashguard/handlers/probe_guard.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/embedded_postgres.hpp"
#include "hashguard/hashdb/floods.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"
#include "hashguard/hashdb/suppressions.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hashguard::app {

/// The failure hook every serve task reports through: "hashguard serve: task NAME failed:
/// MESSAGE" on stderr.
[[nodiscard]] core::periodic_task::failure_hook log_task_failure();

/// Background bulk work (an exchange sync, a snapshot rebuild after the first load) yields the
/// CPU to matching: the calling thread, and the threads it starts later, get nice 19
/// (setpriority on its thread id; Linux keeps a nice value per thread). The scan and HTTP
/// threads keep nice 0, so under load the bulk work takes what is left over. Best effort: a
/// refusal changes nothing.
void lower_this_threads_priority() noexcept;

class serve_tasks {
 public:
  serve_tasks() = default;
  /// Stops the tasks started here, the last started first.
  ~serve_tasks();
  serve_tasks(const serve_tasks&) = delete;
  serve_tasks& operator=(const serve_tasks&) = delete;

  /// The probe_audit task: writes the guard's new suspects to the audit log as node `node`,
  /// keyed with `audit_keys`.
  core::periodic_task& start_probe_audit(const std::string& database_url,
                                         handlers::probe_guard& guard, std::string node,
                                         std::shared_ptr<const hashdb::audit_keyring> audit_keys);

  /// The keys task; prints how many keys the first load gave.
  core::periodic_task& start_keys(api::key_registry& registry,
                                  std::vector<api::key_record> config_keys,
                                  const std::string& database_url,
                                  std::chrono::milliseconds interval);
  /// The snapshot task; prints what the first load gave (version, lists, entries, source).
  core::periodic_task& start_snapshot(hashdb::snapshot_load_options options,
                                      matcher::snapshot_holder& holder,
                                      std::chrono::milliseconds interval);
  /// The suppressions task; prints how many contents the first load suppressed.
  core::periodic_task& start_suppressions(const std::string& database_url,
                                          hashdb::suppression_holder& holder,
                                          std::chrono::milliseconds interval);
  /// The purge task, unless `interval` is 0.
  void start_purge(const std::string& database_url, const hashdb::case_options& cases,
                   std::shared_ptr<const hashdb::audit_keyring> audit_keys,
                   std::chrono::seconds interval);
  /// The postgres task over serve's embedded server (which must outlive this object).
  void start_embedded_upkeep(hashdb::embedded_server& server, std::chrono::milliseconds interval);
  /// The audit_head task, unless `interval` is 0.
  void start_audit_publish(const std::string& database_url, std::filesystem::path head_file,
                           std::chrono::seconds interval);
  /// The floods task (hashdb/floods.hpp), unless `interval` is 0: evaluates flood detection
  /// (once per cluster at a time: evaluate() takes an advisory lock) and keeps the figures of
  /// the hg_floods_flagged_total counter (flags this node raised) and the hg_flooded_entries
  /// gauge (open flags in the cluster, as of this node's last run), which it registers in
  /// `metrics`. New flags are logged. Errors: api::metrics::add_family's.
  [[nodiscard]] core::result<void> start_floods(
      const std::string& database_url, const hashdb::flood_options& options,
      std::shared_ptr<const hashdb::audit_keyring> audit_keys, std::chrono::seconds interval,
      api::metrics& metrics);
  /// A task owned elsewhere, shown in /metrics.
  void watch(const core::periodic_task& task);

  /// Registers the two metric families above, over every task started or watched (also those
  /// added later). Errors: api::metrics::add_family's (a family registered twice...).
  [[nodiscard]] core::result<void> export_metrics(api::metrics& metrics) const;

 private:
  core::periodic_task& start(std::string name, std::chrono::milliseconds interval,
                             core::periodic_task::first_run first,
                             core::periodic_task::function function);

  std::vector<std::unique_ptr<core::periodic_task>> owned_;
  mutable std::mutex mutex_;  // guards all_: /metrics reads it from the server's threads
  std::vector<const core::periodic_task*> all_;
};

}  // namespace hashguard::app
