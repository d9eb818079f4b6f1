// hashguard serve's CyberTipline filing (issue 19): the reporting.* settings, the ISPWS status
// check, and the "report" task that drives the durable filing jobs (reporting::job_runner over
// hashdb::report_job_store) with the case's preserved evidence as content
// (reporting::case_content).
//
//  - At start: the settings are read (a bad one, or production without its interlock or
//    credentials, refuses to start: exit_usage), then GET /status is called once and its outcome
//    logged in one line (environment, base URL, ok or why not; never a credential). A failed
//    check does not stop serve: jobs wait and retry.
//  - The "report" task (core::periodic_task, every reporting.interval_ms, poked when a job is
//    queued through this node): with reporting.auto_file, queues a job for every confirmed csam
//    case that never had one; then runs runnable jobs one after another (each to its end, a
//    failed step's retry wait, or a lease it cannot get); refreshes the job counts of /metrics.
//    The jobs' leases (reporting.lease_s) make exactly one runner of a cluster work on a job; a
//    runner killed mid-job leaves it to whoever claims it once the lease runs out.
//  - check(): GET /status now (POST /v1/reporting/check), on its own HTTP client.
//
// /metrics:
//   hg_report_jobs{state}              gauge: jobs per state (queued, running, finished, failed),
//                                      cluster-wide as of this node's last run
//   hg_report_step_failures_total      counter: filing steps that failed on this node (tried
//                                      again later, or the job failed)
//   hg_reporting_status_ok             gauge: 1 when the last /status check succeeded
//
// Lifetime: the destructor cancels an ISPWS call in progress and stops the task. Declare it
// after the metrics registry and let it go before the database.
#pragma once

#include "hashguard/api/metrics.hpp"
#include "hashguard/core/config.hpp"
#include "hashguard/handlers/services.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/export.hpp"
#include "hashguard/reporting/settings.hpp"

#include <memory>
#include <optional>
#include <string>

namespace hashguard::app {

class serve_tasks;

class serve_reporting {
 public:
  /// Reads the settings (`problem` set and nullptr on a bad one), checks /status once, starts
  /// the task (watched by `tasks` for /metrics).
  [[nodiscard]] static std::unique_ptr<serve_reporting> start(
      const core::config& cfg, hashdb::package_options package,
      std::optional<hashdb::evidence_key> evidence, const std::string& database_url,
      std::shared_ptr<const hashdb::audit_keyring> audit_keys, const std::string& node,
      serve_tasks& tasks, std::string& problem);
  ~serve_reporting();
  serve_reporting(const serve_reporting&) = delete;
  serve_reporting& operator=(const serve_reporting&) = delete;

  /// What the filing routes need (handlers::services::filing).
  [[nodiscard]] handlers::filing_services services();
  [[nodiscard]] handlers::filing_check check();
  [[nodiscard]] core::result<void> export_metrics(api::metrics& metrics) const;

  struct state;

 private:
  serve_reporting() = default;
  std::unique_ptr<state> s_;
};

/// The reporting.* settings (reporting/settings.hpp) in serve's config table.
void declare_serve_reporting_config(core::config& cfg);

}  // namespace hashguard::app
