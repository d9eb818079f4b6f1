// hashguard serve: the reviewer UI (/ui/) and the review and compliance routes (api/
// review_handlers.hpp) on the case store.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "hashguard/api/router.hpp"
#include "hashguard/core/config.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "serve_evidence.hpp"

namespace hashguard::app {

/// Declares the keys the review side reads: hashdb's (database.url...), evidence.*, report.*,
/// http.ui_dir, retention.purge_interval_s.
void declare_review_config(core::config& cfg);

/// Adds /ui/ (always) and, when database.url is set, the review routes on that database
/// (migrated first). With no URL they keep answering 501 until the embedded server is wired
/// into serve. Prints and returns false when the configuration or the database is unusable.
[[nodiscard]] bool wire_review(const core::config& cfg, api::route_table& routes,
                               unsigned db_threads, const std::string& database_url);

/// The review side's background work (serve_evidence.hpp): the evidence keeper when
/// evidence.enabled (null otherwise), started, and the purge's interval
/// (retention.purge_interval_s; serve_tasks starts the purge). Prints and returns nullopt when
/// the evidence settings are unusable.
struct review_upkeep {
  std::unique_ptr<evidence_keeper> evidence;
  std::chrono::seconds purge_interval{0};  ///< 0: never (also when there is no database)
};
[[nodiscard]] std::optional<review_upkeep> start_review_upkeep(const core::config& cfg,
                                                               const std::string& database_url);

}  // namespace hashguard::app
