#include "hashguard/reporting/settings.hpp"

#include "hashguard/core/errc.hpp"

#include <string>

namespace hashguard::reporting {

void declare_reporting_config(core::config& cfg) {
  using core::config_type;
  cfg.declare("reporting.environment", config_type::string, "test",
              "CyberTipline filings go to NCMEC's test or production service");
  cfg.declare("reporting.base_url", config_type::string, "",
              "ISPWS base URL (empty: NCMEC's for the environment)");
  cfg.declare("reporting.test.username", config_type::secret, "", "ISPWS test user name");
  cfg.declare("reporting.test.password", config_type::secret, "", "ISPWS test password");
  cfg.declare("reporting.production.username", config_type::secret, "",
              "ISPWS production user name");
  cfg.declare("reporting.production.password", config_type::secret, "",
              "ISPWS production password");
  cfg.declare("reporting.esp_id", config_type::string, "", "the organisation's ESP id at NCMEC");
  cfg.declare("reporting.production_interlock", config_type::string, "",
              "must repeat reporting.esp_id for reporting.environment=production");
  cfg.declare("reporting.max_attempts", config_type::integer, "3",
              "tries of one filing step before the job fails (1..20)");
  cfg.declare("reporting.auto_file", config_type::boolean, "false",
              "queue a filing job when a case is confirmed");
  cfg.declare("reporting.retry_delay_s", config_type::integer, "60",
              "seconds before a failed filing step is tried again");
  cfg.declare("reporting.allow_no_files", config_type::boolean, "false",
              "a case without preserved evidence may be filed without files");
  cfg.declare("reporting.lease_s", config_type::integer, "120",
              "seconds a filing runner holds a job between stored steps (crash recovery)");
  cfg.declare("reporting.interval_ms", config_type::integer, "1000",
              "how often serve looks for runnable filing jobs");
}

core::result<reporting_settings> reporting_settings_from(const core::config& cfg,
                                                         std::string* problem) {
  auto bad = [problem](std::string why) -> core::result<reporting_settings> {
    if (problem != nullptr) *problem = std::move(why);
    return core::errc::config_bad_value;
  };
  reporting_settings s;
  const auto env = parse_environment(cfg.get_string("reporting.environment"));
  if (!env) return bad("reporting.environment must be test or production");
  s.env = *env;
  const std::string prefix =
      s.env == environment::production ? "reporting.production." : "reporting.test.";
  // Credentials come from a file (*_file) or the environment, never a flag or the config file.
  for (const auto& e : cfg.entries()) {
    if (e.type != core::config_type::secret || !e.key.starts_with("reporting.") ||
        e.value.empty()) {
      continue;
    }
    const bool from_file = !cfg.get_string(core::secret_file_key(e.key)).empty();
    if (!from_file && e.source != core::config_source::environment) {
      return bad(e.key + " must be given through " + core::secret_file_key(e.key) +
                 " or the environment, never as a flag or in the config file");
    }
  }
  s.credentials.username = cfg.get_string(prefix + "username");
  s.credentials.password = cfg.get_string(prefix + "password");
  s.esp_id = cfg.get_string("reporting.esp_id");
  if (s.env == environment::production) {
    if (s.esp_id.empty() || cfg.get_string("reporting.production_interlock") != s.esp_id) {
      return bad(
          "reporting.environment=production needs reporting.esp_id and "
          "reporting.production_interlock naming the same ESP id");
    }
    if (s.credentials.username.empty() || s.credentials.password.empty()) {
      return bad(
          "reporting.environment=production needs reporting.production.username and "
          ".password (or their _file settings)");
    }
  }
  const std::string base = cfg.get_string("reporting.base_url");
  s.base_url = base.empty() ? std::string(default_base_url(s.env)) : base;
  while (s.base_url.ends_with('/')) s.base_url.pop_back();
  const auto attempts = cfg.get_int("reporting.max_attempts");
  if (attempts < 1 || attempts > 20) return bad("reporting.max_attempts must be 1..20");
  s.max_attempts = static_cast<int>(attempts);
  const auto delay = cfg.get_int("reporting.retry_delay_s");
  if (delay < 0 || delay > 86400) return bad("reporting.retry_delay_s must be 0..86400");
  s.retry_delay = std::chrono::seconds(delay);
  s.auto_file = cfg.get_bool("reporting.auto_file");
  s.allow_no_files = cfg.get_bool("reporting.allow_no_files");
  const auto lease = cfg.get_int("reporting.lease_s");
  if (lease < 1 || lease > 86400) return bad("reporting.lease_s must be 1..86400");
  s.lease = std::chrono::seconds(lease);
  const auto interval = cfg.get_int("reporting.interval_ms");
  if (interval < 10 || interval > 3600000) return bad("reporting.interval_ms must be 10..3600000");
  s.interval = std::chrono::milliseconds(interval);
  return s;
}

}  // namespace hashguard::reporting
