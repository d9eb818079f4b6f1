// hashguard serve: the reviewer UI (/ui/) and the review and compliance routes (api/
// review_handlers.hpp) on the case store.
#pragma once

#include <string>

#include "hashguard/api/router.hpp"
#include "hashguard/core/config.hpp"

namespace hashguard::app {

/// Declares the keys the review side reads: hashdb's (database.url...), evidence.*, report.*,
/// http.ui_dir.
void declare_review_config(core::config& cfg);

/// Adds /ui/ (always) and, when database.url is set, the review routes on that database
/// (migrated first). With no URL they keep answering 501 until the embedded server is wired
/// into serve. Prints and returns false when the configuration or the database is unusable.
[[nodiscard]] bool wire_review(const core::config& cfg, api::route_table& routes,
                               unsigned db_threads, const std::string& database_url);

}  // namespace hashguard::app
