#include "serve_review.hpp"

#include "serve_tasks.hpp"

#include "hashguard/handlers/ui.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/export.hpp"

#include <filesystem>
#include <iostream>

namespace hashguard::app {

void declare_review_config(core::config& cfg) {
  hashdb::declare_config(cfg);
  hashdb::declare_evidence_config(cfg);
  hashdb::declare_report_config(cfg);
  handlers::declare_ui_config(cfg);
  declare_upkeep_config(cfg);
}

std::optional<review_upkeep> start_review_upkeep(
    const core::config& cfg, const std::string& database_url,
    std::shared_ptr<const hashdb::audit_keyring> audit_keys) {
  review_upkeep out;
  auto evidence = hashdb::read_evidence_config(cfg);
  if (!evidence) {
    std::cerr << "hashguard serve: evidence.enabled needs evidence.key (64 hex characters)\n";
    return std::nullopt;
  }
  const auto pending = cfg.get_int("evidence.pending_bytes");
  const auto pending_s = cfg.get_int("evidence.pending_s");
  const auto retry_ms = cfg.get_int("evidence.retry_ms");
  const auto interval = cfg.get_int("retention.purge_interval_s");
  if (pending < 0 || pending_s < 1 || retry_ms < 10 || interval < 0) {
    std::cerr << "hashguard serve: evidence.pending_bytes >= 0, evidence.pending_s >= 1,"
                 " evidence.retry_ms >= 10 and retention.purge_interval_s >= 0\n";
    return std::nullopt;
  }
  if (*evidence && !database_url.empty()) {
    evidence_keeper::options o;
    o.database_url = database_url;
    o.key = std::move(**evidence);
    o.audit_keys = std::move(audit_keys);
    o.max_pending_bytes = static_cast<std::size_t>(pending);
    o.give_up = std::chrono::seconds(pending_s);
    o.retry = std::chrono::milliseconds(retry_ms);
    o.on_failure = log_task_failure();
    o.policy.ncii = cfg.get_bool("evidence.preserve_ncii");
    o.policy.tvec = cfg.get_bool("evidence.preserve_tvec");
    out.evidence = std::make_unique<evidence_keeper>(std::move(o));
  }
  if (!database_url.empty()) out.purge_interval = std::chrono::seconds(interval);
  return out;
}

bool review_services(const core::config& cfg, const hashdb::settings& settings,
                     handlers::services& out) {
  auto evidence = hashdb::read_evidence_config(cfg);
  if (!evidence) {
    std::cerr << "hashguard serve: evidence.enabled needs evidence.key (64 hex characters)\n";
    return false;
  }
  out.required_confirmations = settings.cases.required_confirmations;
  out.report_hold_days = settings.cases.hold_days;
  out.audit_head_file = settings.audit.head_file;
  out.package = hashdb::package_options_from(cfg);
  out.evidence = std::move(*evidence);
  out.ui_dir = cfg.get_string("http.ui_dir");
  // Exports are generated into unlinked files here before they are sent (case data: 0700).
  out.spill_dir = settings.data_dir / "exports";
  std::error_code ec;
  std::filesystem::create_directories(out.spill_dir, ec);
  std::filesystem::permissions(out.spill_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) {
    std::cerr << "hashguard serve: cannot create " << out.spill_dir << ": " << ec.message() << "\n";
    return false;
  }
  return true;
}

}  // namespace hashguard::app
