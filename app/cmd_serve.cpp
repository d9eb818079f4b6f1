// hashguard serve: the HTTP service. Reads the configuration (embedded defaults < --config
// file < HG_* environment < flags), prints it with secrets redacted, starts the server and
// runs until SIGTERM/SIGINT, then drains and exits 0.
//
// What is wired today: the api's infrastructure (limits, auth, metrics, the route table of
// DESIGN.md section 5). Routes whose modules have not landed (scan, match, lists, cases...)
// answer 501 not_implemented; the scanner, matcher and hashdb handlers replace them here.
#include "commands.hpp"
#include "serve_review.hpp"

#include "hashguard/api/auth.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/routes.hpp"
#include "hashguard/api/server.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/core/config.hpp"

#include <unistd.h>

#include <iostream>

extern char** environ;  // NOLINT: POSIX

namespace hashguard::app {
namespace {

void print_usage(const core::config& cfg) {
  std::cout << "usage: hashguard serve [--config FILE] [--KEY=VALUE...]\n\n"
               "Starts the HTTP service. Settings (flag, HG_* variable, default):\n";
  for (const auto& e : cfg.entries()) {
    std::cout << "  --" << e.key << "  " << e.help
              << "  (default: " << (e.type == core::config_type::secret ? "<secret>" : e.value)
              << ")\n";
  }
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  core::config cfg;
  api::declare_config(cfg);
  declare_review_config(cfg);

  std::vector<std::string> rest;
  std::string config_file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      print_usage(cfg);
      return exit_ok;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_file = args[++i];
    } else if (args[i].starts_with("--config=")) {
      config_file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (!config_file.empty()) {
    if (auto r = cfg.load_file(config_file); !r) {
      std::cerr << "hashguard serve: config file " << config_file << ": " << r.error().message()
                << "\n";
      return exit_usage;
    }
  }
  if (auto r = cfg.load_environment(environ); !r) {
    std::cerr << "hashguard serve: environment: " << r.error().message() << "\n";
    return exit_usage;
  }
  auto leftover = cfg.apply_flags(rest);
  if (!leftover) {
    std::cerr << "hashguard serve: " << leftover.error().message()
              << " (run `hashguard serve --help` for the settings)\n";
    return exit_usage;
  }
  if (!leftover->empty()) {
    std::cerr << "hashguard serve: unexpected argument '" << leftover->front() << "'\n";
    return exit_usage;
  }
  auto options = api::options_from(cfg);
  if (!options) {
    std::cerr << "hashguard serve: invalid setting: " << options.error().message() << "\n";
    return exit_usage;
  }
  auto config_keys = api::keys_from(cfg);
  if (!config_keys) {
    std::cerr << "hashguard serve: auth.keys: expected role:key,role:key\n";
    return exit_usage;
  }

  std::cerr << "hashguard serve: configuration\n" << cfg.describe();

  api::key_registry keys;
  keys.replace(std::move(*config_keys));
  if (keys.size() == 0) {
    std::cerr << "hashguard serve: no API keys configured (set auth.bootstrap_key): only the "
                 "public routes will answer\n";
  }
  api::rate_limiter limiter(options->rate_limit_per_s, options->rate_limit_burst);
  api::metrics stats;
  api::work_pool scan_pool("scan", options->scan_threads, options->scan_queue);
  api::work_pool db_pool("db", options->db_threads, options->db_queue);
  stats.add_gauge("hg_scan_queue_depth", "scan jobs waiting",
                  [&scan_pool] { return static_cast<double>(scan_pool.queued()); });
  stats.add_gauge("hg_db_queue_depth", "database jobs waiting",
                  [&db_pool] { return static_cast<double>(db_pool.queued()); });

  api::route_table routes;
  api::add_design_routes(routes);
  // Readiness: snapshot loaded and spool writable. Neither exists until the matcher and
  // hashdb are wired in; until then a started server is ready.
  api::add_builtin_routes(routes, {&stats,
                                   [] {
                                     return api::readiness{true, ""};
                                   },
                                   options->retry_after_s});

  if (!wire_review(cfg, routes, options->db_threads)) return exit_usage;

  api::services svc;
  svc.routes = &routes;
  svc.keys = &keys;
  svc.limiter = &limiter;
  svc.stats = &stats;
  svc.scan_pool = &scan_pool;
  svc.db_pool = &db_pool;
  if (!options->log_requests) svc.log = nullptr;

  api::server srv(*options, svc);
  srv.handle_signals();
  if (auto started = srv.start(); !started) {
    std::cerr << "hashguard serve: cannot listen on " << options->address << ":" << options->port
              << ": " << started.error().message() << "\n";
    return exit_failure;
  }
  std::cout << "hashguard serve: listening on " << (options->tls() ? "https" : "http") << "://"
            << options->address << ":" << srv.port() << std::endl;
  const bool drained = srv.wait();
  std::cerr << "hashguard serve: stopped" << (drained ? "" : " (some connections were cut)")
            << "\n";
  return exit_ok;
}

}  // namespace hashguard::app
