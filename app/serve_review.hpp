// hashguard serve: the settings of the review side (case store, evidence, the report.xml
// reporter block, the UI directory) and its background work (serve_evidence.hpp).
#pragma once

#include "serve_evidence.hpp"

#include "hashguard/core/config.hpp"
#include "hashguard/handlers/services.hpp"
#include "hashguard/hashdb/settings.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace hashguard::app {

/// Declares the keys the review side reads: hashdb's (database.url...), evidence.*, report.*,
/// http.ui_dir, retention.purge_interval_s and the evidence keeper's budget.
void declare_review_config(core::config& cfg);

/// Fills the review side of `out` (required confirmations, the reporter block, the evidence
/// key, the export spill directory under the data directory, created 0700, the UI directory).
/// Prints and returns false when a setting is unusable.
[[nodiscard]] bool review_services(const core::config& cfg, const hashdb::settings& settings,
                                   handlers::services& out);

/// The review side's background work (serve_evidence.hpp): the evidence keeper when
/// evidence.enabled (null otherwise), started, and the purge's interval
/// (retention.purge_interval_s; serve_tasks starts the purge). Prints and returns nullopt when
/// the evidence settings are unusable.
struct review_upkeep {
  std::unique_ptr<evidence_keeper> evidence;
  std::chrono::seconds purge_interval{0};  ///< 0: never (also when there is no database)
};
[[nodiscard]] std::optional<review_upkeep> start_review_upkeep(
    const core::config& cfg, const std::string& database_url,
    std::shared_ptr<const hashdb::audit_keyring> audit_keys);

}  // namespace hashguard::app
