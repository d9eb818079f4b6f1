#include "serve_review.hpp"

#include "hashguard/api/review_handlers.hpp"
#include "hashguard/api/static_files.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/migrations.hpp"
#include "hashguard/hashdb/settings.hpp"

#include <iostream>

namespace hashguard::app {

void declare_review_config(core::config& cfg) {
  hashdb::declare_config(cfg);
  hashdb::declare_evidence_config(cfg);
  api::declare_review_config(cfg);
  api::declare_ui_config(cfg);
}

bool wire_review(const core::config& cfg, api::route_table& routes, unsigned db_threads,
                 const std::string& database_url) {
  api::add_ui_routes(routes, cfg.get_string("http.ui_dir"));
  auto settings = hashdb::read_settings(cfg);
  if (!settings) {
    std::cerr << "hashguard serve: invalid database setting: " << settings.error().message()
              << "\n";
    return false;
  }
  // serve has opened (and migrated) the database already: embedded or database.url.
  if (!database_url.empty()) settings->database_url = database_url;
  if (settings->database_url.empty()) return true;
  auto evidence = hashdb::read_evidence_config(cfg);
  if (!evidence) {
    std::cerr << "hashguard serve: evidence.enabled needs evidence.key (64 hex characters)\n";
    return false;
  }
  std::string why;
  auto conn = hashdb::connection::open(settings->database_url, &why);
  if (!conn) {
    std::cerr << "hashguard serve: cannot connect to the database: " << why << "\n";
    return false;
  }
  if (auto m = hashdb::migrate(*conn); !m) {
    std::cerr << "hashguard serve: migrating the database failed: " << conn->last_error() << "\n";
    return false;
  }
  api::review_deps deps;
  deps.database_url = settings->database_url;
  deps.required_confirmations = settings->cases.required_confirmations;
  deps.package = api::package_options_from(cfg);
  deps.evidence = std::move(*evidence);
  deps.connections = db_threads == 0 ? 1 : db_threads;
  api::add_review_routes(routes, std::move(deps));
  return true;
}

}  // namespace hashguard::app
