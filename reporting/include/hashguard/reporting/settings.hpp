// The reporting.* settings: which NCMEC service filings go to, with which credentials, and the
// production interlock.
//
//   reporting.environment          test (default) or production
//   reporting.base_url             the ISPWS base URL; empty: NCMEC's for the environment
//   reporting.test.username / .password, reporting.production.username / .password
//                                  separate credentials per environment (secrets: each has its
//                                  *_file companion, the way to give them in production)
//   reporting.esp_id               the organisation's ESP id at NCMEC
//   reporting.production_interlock must repeat reporting.esp_id for production to be accepted:
//                                  a second, deliberate setting, so no copied config file or
//                                  stray flag switches a deployment to real reports
//   reporting.max_attempts         tries of one step before a job fails (default 3, 1..20)
//   reporting.auto_file            queue a job when a case is confirmed (default off)
//   reporting.retry_delay_s        wait before a failed step is tried again (default 60)
//   reporting.allow_no_files       a case without preserved evidence may be filed without
//                                  files (default false: 422 no_evidence)
//   reporting.lease_s              how long a runner holds a job between stored steps (default
//                                  120): after a crash, another runner (or the restarted serve)
//                                  resumes the job once it has run out
//   reporting.interval_ms          how often serve's report task looks for runnable jobs
//                                  (default 1000)
//   reporting.hash_sharing_signatory (hashdb/export.hpp: read with the package options)
//
// Credentials: only through their *_file settings or the environment (HG_REPORTING_...); a
// credential given as a flag or in the config file is refused (command lines and config files
// are shown, copied and committed).
//
// Errors: core::errc::config_bad_value with the reason in `problem` (an unknown environment,
// production without the interlock or without its credentials, max_attempts out of range).
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/reporting/ispws_client.hpp"

#include <chrono>
#include <string>

namespace hashguard::reporting {

struct reporting_settings {
  environment env{environment::test};
  std::string base_url;           ///< resolved: default_base_url(env) unless configured
  ispws_credentials credentials;  ///< the environment's own
  std::string esp_id;
  int max_attempts{3};
  bool auto_file{false};
  std::chrono::seconds retry_delay{60};
  bool allow_no_files{false};
  std::chrono::seconds lease{120};
  std::chrono::milliseconds interval{1000};
};

void declare_reporting_config(core::config& cfg);
/// Reads and checks the settings (after resolve_secret_files()).
[[nodiscard]] core::result<reporting_settings> reporting_settings_from(const core::config& cfg,
                                                                       std::string* problem);

}  // namespace hashguard::reporting
