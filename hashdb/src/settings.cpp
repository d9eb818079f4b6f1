#include "hashguard/hashdb/settings.hpp"

#include "hashguard/hashdb/holds.hpp"

namespace hashguard::hashdb {

void declare_config(core::config& c) {
  using core::config_type;
  c.declare("database.url", config_type::secret, "",
            "PostgreSQL URL; empty starts the embedded server in data.dir");
  c.declare("data.dir", config_type::string, "hashguard-data",
            "data directory: embedded PostgreSQL cluster, event spool");
  c.declare("database.pg_bin", config_type::string, "/usr/lib/postgresql/15/bin",
            "PostgreSQL 15 binaries (initdb, pg_ctl) for the embedded server");
  c.declare("database.run_as", config_type::string, "postgres",
            "system user that runs the embedded server when hashguard runs as root");
  c.declare("database.commit_deadline_ms", config_type::integer, "200",
            "wait this long for a match event's commit before spooling it locally");
  c.declare("database.record_lanes", config_type::integer, "8",
            "connections committing match events in parallel (a zone always uses the same one)");
  c.declare("database.spool", config_type::string, "",
            "event spool file; empty = DATA_DIR/spool/events.spool");
  c.declare("events.dedupe_window_s", config_type::integer, "3600",
            "the same (zone, X-Request-Id, content SHA-256) within this window is one event");
  c.declare("cases.required_confirmations", config_type::integer, "2",
            "distinct reviewers who must agree before a new case is decided (2 = two-person"
            " rule; 1 lets one reviewer decide alone)");
  c.declare("retention.preserve_days", config_type::integer, "365",
            "keep a reported case this long after its first CyberTipline report");
  c.declare("retention.false_positive_days", config_type::integer, "30",
            "keep a false-positive case's details this long after dismissal");
  c.declare("reporting.hold_days", config_type::integer, "365",
            "a finished production CyberTipline report holds the case's evidence and events this"
            " many days from its finish (365 or more: the REPORT Act's year, never shorter)");
  declare_audit_config(c);
}

core::result<settings> read_settings(const core::config& c) {
  settings s;
  s.database_url = c.get_string("database.url");
  s.data_dir = c.get_string("data.dir");
  s.server.data_dir = s.data_dir;
  s.server.bin_dir = c.get_string("database.pg_bin");
  s.server.run_as = c.get_string("database.run_as");
  const auto deadline = c.get_int("database.commit_deadline_ms");
  const auto window = c.get_int("events.dedupe_window_s");
  const auto confirmations = c.get_int("cases.required_confirmations");
  const auto preserve = c.get_int("retention.preserve_days");
  const auto fp = c.get_int("retention.false_positive_days");
  const auto lanes = c.get_int("database.record_lanes");
  const auto hold = c.get_int("reporting.hold_days");
  if (deadline < 1 || deadline > 60'000 || window < 0 || window > 30 * 86'400 ||
      confirmations < 1 || confirmations > 2 || preserve < 1 || preserve > 36'500 || fp < 0 ||
      fp > 36'500 || lanes < 1 || lanes > 64 || hold < min_report_hold_days || hold > 36'500) {
    return errc::invalid_argument;
  }
  s.cases.dedupe_window_s = static_cast<int>(window);
  s.cases.required_confirmations = static_cast<int>(confirmations);
  s.cases.preserve_days = static_cast<int>(preserve);
  s.cases.false_positive_days = static_cast<int>(fp);
  s.cases.hold_days = static_cast<int>(hold);
  s.recorder.commit_deadline = std::chrono::milliseconds(deadline);
  s.recorder.lanes = static_cast<std::size_t>(lanes);
  const std::string spool = c.get_string("database.spool");
  s.recorder.spool_path =
      spool.empty() ? s.data_dir / "spool" / "events.spool" : std::filesystem::path(spool);
  s.recorder.cases = s.cases;
  auto audit = read_audit_settings(c, s.data_dir);
  if (!audit) return audit.error();
  s.audit = std::move(*audit);
  return s;
}

}  // namespace hashguard::hashdb
