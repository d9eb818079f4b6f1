// Drives one CyberTipline filing job (hashdb::report_job_store) step by step against NCMEC's
// ISPWS: submit -> for each file upload, fileinfo -> finish, from the job's stored position.
// Every step's outcome is stored with its receipt before the next step starts, so a runner that
// dies at any point leaves the job at its last completed step, and the next runner (on any node,
// once the lease has run out) continues from there.
//
// Outcomes of a step (the job's new position):
//  - success: the next step (the reportId is stored with submit's receipt, before any upload);
//    finish answering 0 or 5102 (already finished: an earlier finish whose answer was lost)
//    makes the job `finished` and records the report (hashdb), so a case never gets two.
//  - 4100 (validation failure): never retried: the job fails (an open report is retracted
//    first).
//  - 4200 (this fake's and our reading of "unknown or expired report") during upload, fileinfo
//    or finish: the report is gone, the job restarts from submit.
//  - anything else (no answer, a timeout, HTTP 503, responseCode 1000 or another code): a failed
//    attempt of the same step; the step is tried again after retry_delay, up to max_attempts
//    tries, then the job fails (an open report is retracted first, so none is left open).
//  - an open report past its deadline (hashdb::open_report_deadline after submit) is retracted
//    and the job restarts from submit.
// Retract answers: 0 or 4200 (already gone) count as retracted; other failures are retried up to
// max_attempts more times, then the job fails with the report left to NCMEC's expiry (said in its
// last_error).
//
// Thread-safety: one runner per thread (it uses one database connection and one ISPWS client).
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/hashdb/report_jobs.hpp"
#include "hashguard/reporting/ispws_client.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hashguard::reporting {

/// What a job sends: the <report> document, the files' bytes, and each file's <fileDetails>
/// once its reportId and fileId are known.
struct report_content {
  struct file {
    std::string name;
    std::string bytes;
    /// When set, the bytes are fetched by this at the upload step only (and dropped after
    /// it), instead of `bytes`: decrypted evidence lives in memory just for its upload.
    std::function<core::result<std::string>()> load;
  };
  std::string report_xml;
  std::vector<file> files;
  std::function<std::string(std::size_t index, const std::string& report_id,
                            const std::string& file_id)>
      file_details;
};

/// Builds the content of a job's case (called at each step that needs it; never stored).
using content_source = std::function<core::result<report_content>(const hashdb::report_job&)>;

struct runner_options {
  std::string owner{"runner"};  ///< this runner's lease owner name (node and thread)
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  int max_attempts{3};                                              ///< tries of one step
  std::chrono::milliseconds retry_delay{std::chrono::seconds(30)};  ///< before a retry
  std::string actor{"system:report_job"};                           ///< audit actor of the finish
  /// Tests: stop (as a crash would: no release) after this many stored steps.
  std::optional<int> stop_after_steps;
};

class job_runner {
 public:
  /// Borrows all three; they must outlive the runner.
  job_runner(hashdb::report_job_store& jobs, ispws_client& client, content_source content,
             runner_options options);

  /// Claims the next runnable job and drives it until it is finished or failed, a step failed
  /// (it waits retry_delay; the lease is given back), or stop_after_steps. Returns the job as
  /// stored afterwards, nullopt when none was runnable; a database error as is.
  [[nodiscard]] core::result<std::optional<hashdb::report_job>> run_one();

 private:
  struct step_result;
  [[nodiscard]] step_result do_step(const hashdb::report_job& j, const report_content& c,
                                    const std::optional<std::string>& withdraw);

  hashdb::report_job_store& jobs_;
  ispws_client& client_;
  content_source content_;
  runner_options options_;
};

}  // namespace hashguard::reporting
