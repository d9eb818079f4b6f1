// hashguard db start|migrate|status: the database itself.
#include "commands.hpp"
#include "db_common.hpp"

#include "hashguard/hashdb/lists.hpp"
#include "hashguard/hashdb/migrations.hpp"
#include "hashguard/hashdb/spool.hpp"

#include <csignal>
#include <filesystem>
#include <iostream>

namespace hashguard::app {
namespace {

constexpr const char* usage =
    "usage: hashguard db start|migrate|status [--database-url URL] [--data-dir DIR]\n"
    "  start    start the embedded PostgreSQL in DATA_DIR (initdb on first run), apply the\n"
    "           migrations, print its URL and keep it running until SIGINT/SIGTERM;\n"
    "           with a database URL: apply the migrations and exit\n"
    "  migrate  apply the pending migrations and exit\n"
    "  status   reachability, schema version, lists and cases, spool backlog\n";

int wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

int db_start(const core::config& config) {
  // Block the signals first so a Ctrl-C during start-up still stops the server cleanly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto db = db_session::open(config);
  if (!db) return exit_failure;
  auto version = hashdb::schema_version(db->conn());
  if (!db->embedded()) {
    std::cout << "database " << hashdb::redact_url(db->url()) << " is at schema version "
              << (version ? *version : -1)
              << "; no embedded server to start (a URL is configured)\n";
    return exit_ok;
  }
  hashdb::embedded_server* server = db->server();
  std::cout << "embedded PostgreSQL " << (server->initialized() ? "initialised and " : "")
            << (server->owns() ? "started" : "already running") << " in "
            << db->settings().data_dir.string() << "\n"
            << "url: " << db->url() << "\n"
            << "schema version: " << (version ? *version : -1) << "\n";
  if (!server->owns()) {
    std::cout << "another process owns it; leaving it running\n";
    return exit_ok;
  }
  std::cout << "running; stop with Ctrl-C or SIGTERM" << std::endl;
  const int sig = wait_for_signal();
  std::cout << "signal " << sig << ": stopping PostgreSQL" << std::endl;
  bool left_running = false;
  if (auto r = server->stop(&left_running); !r) {
    print_error("db start", "stop", r.error());
    return exit_failure;
  }
  if (left_running) {
    std::cout << "other processes are attached to it (a serve?): it keeps running" << std::endl;
  }
  return exit_ok;
}

int db_migrate(const core::config& config) {
  auto db = db_session::open(config, false);
  if (!db) return exit_failure;
  auto r = hashdb::migrate(db->conn());
  if (!r) {
    print_error("db migrate", "migrate", r.error(), db->conn().last_error());
    return exit_failure;
  }
  std::cout << "schema version " << r->from_version << " -> " << r->to_version;
  if (r->applied.empty()) {
    std::cout << " (up to date)\n";
  } else {
    std::cout << " (applied";
    for (int v : r->applied) std::cout << ' ' << v;
    std::cout << ")\n";
    db->audit("db.migrate", "schema", "{\"to\":" + std::to_string(r->to_version) + "}");
  }
  return exit_ok;
}

int db_status(const core::config& config) {
  auto settings = hashdb::read_settings(config);
  if (!settings) {
    print_error("db status", "configuration", settings.error());
    return exit_failure;
  }
  if (settings->database_url.empty()) {
    std::cout << "embedded server in " << settings->data_dir.string() << ": "
              << (hashdb::embedded_server_running(settings->server) ? "running" : "stopped")
              << "\n";
  }
  std::error_code ec;
  const auto spool_size = std::filesystem::file_size(settings->recorder.spool_path, ec);
  std::cout << "spool " << settings->recorder.spool_path.string() << ": "
            << (ec ? 0
                   : spool_size - std::min<std::uintmax_t>(spool_size, hashdb::spool::header_size))
            << " bytes waiting\n";
  auto db = db_session::open(config, false);
  if (!db) return exit_failure;
  std::cout << "database " << hashdb::redact_url(db->url()) << ": reachable\n";
  auto version = hashdb::schema_version(db->conn());
  if (!version) {
    print_error("db status", "schema version", version.error(), db->conn().last_error());
    return exit_failure;
  }
  std::cout << "schema version " << *version << " of " << hashdb::migrations().size() << "\n";
  if (*version > 0) {
    hashdb::list_store lists(db->conn());
    auto all = lists.list();
    auto catalog = lists.catalog_version();
    if (all && catalog) {
      std::int64_t entries = 0;
      for (const auto& l : *all) entries += l.entries;
      std::cout << "lists: " << all->size() << " live, " << entries << " entries, catalog version "
                << *catalog << "\n";
    }
  }
  return exit_ok;
}

}  // namespace

int run_db(const std::vector<std::string>& args) {
  core::config config;
  auto rest = load_config(config, args);
  if (!rest) return exit_usage;
  if (rest->empty() || (*rest)[0] == "--help" || (*rest)[0] == "-h") {
    std::cout << usage;
    return rest->empty() ? exit_usage : exit_ok;
  }
  const std::string verb = (*rest)[0];
  if (rest->size() > 1) {
    std::cerr << "hashguard db " << verb << ": unexpected argument '" << (*rest)[1] << "'\n"
              << usage;
    return exit_usage;
  }
  if (verb == "start") return db_start(config);
  if (verb == "migrate") return db_migrate(config);
  if (verb == "status") return db_status(config);
  std::cerr << "hashguard db: unknown verb '" << verb << "'\n" << usage;
  return exit_usage;
}

}  // namespace hashguard::app
