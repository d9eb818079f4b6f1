// hashdb's configuration keys (declared on a core::config) and the typed view of them.
//
//   database.url                   secret; empty = the embedded server in data.dir
//                                  (env HG_DATABASE_URL, flag --database-url)
//   data.dir                       hashguard's data directory (embedded PostgreSQL, spool)
//   database.pg_bin                PostgreSQL 15 binaries for the embedded server
//   database.run_as                system user of the embedded server when run as root
//   database.commit_deadline_ms    record_event's commit deadline before the spool takes over
//   database.record_lanes          connections committing match events in parallel
//   database.spool                 spool file; empty = DATA_DIR/spool/events.spool
//   events.dedupe_window_s         same (zone, request id, SHA-256) within this is one event
//   cases.required_confirmations   2 (the two-person rule, the default), or 1
//   retention.preserve_days        preservation after a CyberTipline report
//   retention.false_positive_days  details kept after a false-positive dismissal
//   reporting.hold_days            a finished production report's hold (>= 365, holds.hpp)
//   audit.*                        the audit chain's keys and published head (audit_config.hpp)
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/hashdb/audit_config.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/embedded_postgres.hpp"
#include "hashguard/hashdb/recorder.hpp"

#include <filesystem>
#include <string>

namespace hashguard::hashdb {

void declare_config(core::config& config);

struct settings {
  std::string database_url;
  std::filesystem::path data_dir;
  server_options server;
  recorder_options recorder;  ///< database_url left empty: filled once the server is known
  case_options cases;
  audit_settings audit;
};

/// Reads the keys declare_config declared. errc::invalid_argument for out-of-range values.
[[nodiscard]] core::result<settings> read_settings(const core::config& config);

}  // namespace hashguard::hashdb
