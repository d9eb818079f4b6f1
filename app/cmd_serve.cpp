// hashguard serve: the HTTP service. Reads the configuration (embedded defaults < --config
// file < HG_* environment < flags), prints it with secrets redacted, starts the server and
// runs until SIGTERM/SIGINT, then drains and exits 0.
//
// Start-up order: configuration, the database (embedded PostgreSQL in data.dir or
// database.url, migrated), the event recorder (commit deadline + spool), the API keys, the
// snapshot (loaded once, then polled by a snapshot_refresher that swaps on a catalog version
// change), the suppression set (loaded once, then polled from the decisions feed), then the
// routes (handlers::register_routes: every route of the design table, or serve refuses to
// start) and the server.
#include "commands.hpp"
#include "db_common.hpp"
#include "serve_keys.hpp"
#include "serve_review.hpp"
#include "spool_probe.hpp"

#include "hashguard/api/auth.hpp"
#include "hashguard/api/log_writer.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/server.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/core/config.hpp"
#include "hashguard/handlers/db_pool.hpp"
#include "hashguard/handlers/routes.hpp"
#include "hashguard/handlers/services.hpp"
#include "hashguard/hashdb/recorder.hpp"
#include "hashguard/hashdb/settings.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"
#include "hashguard/hashdb/suppressions.hpp"
#include "hashguard/matcher/snapshot.hpp"
#include "hashguard/scanner/scan.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>

extern char** environ;  // NOLINT: POSIX

namespace hashguard::app {
namespace {

// Every connection is a descriptor, and the database connections, the spool and the snapshot
// cache take more. Raise the soft limit up to the hard one so that the connection cap, not
// EMFILE, is what bounds connections (a server out of descriptors cannot even accept the
// connection that would evict an idle one), and say so when even the hard limit is too low.
void raise_descriptor_limit(unsigned max_connections) {
  constexpr rlim_t reserve = 256;  // database pools, spool, cache, listening socket, stdio
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + reserve;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < wanted) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    std::cerr << "hashguard serve: warning: the descriptor limit (" << lim.rlim_cur
              << ") is below http.max_connections + " << reserve << " (" << wanted
              << "); raise `ulimit -n` or lower http.max_connections\n";
  }
}

// `--help` prints every declared setting for people; `--help=markdown` prints the same
// declarations as a markdown table, from which scripts/gen-config-doc writes
// docs/configuration.md (and a test checks that page against it), so the page cannot drift
// from the settings the binary accepts.
void print_usage(const core::config& cfg, bool markdown) {
  if (markdown) {
    const auto cell = [](std::string_view text) {  // a '|' would end the table cell
      std::string out;
      for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
      return out;
    };
    const auto type_name = [](core::config_type t) {
      switch (t) {
        case core::config_type::integer: return "integer";
        case core::config_type::boolean: return "boolean";
        case core::config_type::secret: return "secret";
        case core::config_type::string: break;
      }
      return "string";
    };
    std::cout << "| setting | type | default | environment | description |\n"
                 "|---|---|---|---|---|\n";
    for (const auto& e : cfg.entries()) {
      std::string env = "HG_" + core::normalize_config_key(e.key);
      for (char& c : env) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      std::string default_cell = "(empty)";
      if (e.type == core::config_type::secret) {
        default_cell = "`<secret>`";
      } else if (!e.value.empty()) {
        default_cell = "`" + cell(e.value) + "`";
      }
      std::cout << "| `" << e.key << "` | " << type_name(e.type) << " | " << default_cell << " | `"
                << env << "` | " << cell(e.help) << " |\n";
    }
    return;
  }
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
  // A file-size limit (RLIMIT_FSIZE) must surface as a failed spool append (EFBIG: the scan
  // answers 503, /readyz turns unready), not kill the service with SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);
  core::config cfg;
  api::declare_config(cfg);
  declare_review_config(cfg);
  hashdb::declare_config(cfg);
  scanner::declare_config(cfg);
  cfg.declare("snapshot.poll_ms", core::config_type::integer, "2000",
              "how often the catalog version is polled for list changes (ms)");
  cfg.declare("suppressions.poll_ms", core::config_type::integer, "2000",
              "how often the decisions feed is polled for suppressed content (ms)");
  cfg.declare("snapshot.cache", core::config_type::string, "",
              "snapshot cache file; empty = DATA_DIR/snapshot.cache");
  cfg.declare("auth.refresh_ms", core::config_type::integer, "5000",
              "how often API keys are reloaded from the database (ms)");
  cfg.declare("node.name", core::config_type::string, "",
              "this node's name in match events; empty = the host name");
  cfg.declare("match.dihedral", core::config_type::boolean, "true",
              "search the 7 rotated/mirrored PDQ variants of scanned images too (false: the "
              "original orientation only, whatever the lists' dihedral setting)");

  std::vector<std::string> rest;
  std::string config_file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h" || args[i] == "--help=markdown") {
      print_usage(cfg, args[i] == "--help=markdown");
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
  raise_descriptor_limit(options->max_connections);

  auto scan_options = scanner::scan_options_from(cfg);
  if (!scan_options) {
    std::cerr << "hashguard serve: invalid setting: " << scan_options.error().message() << "\n";
    return exit_usage;
  }
  const auto poll_ms = cfg.get_int("snapshot.poll_ms");
  const auto suppressions_poll_ms = cfg.get_int("suppressions.poll_ms");
  if (poll_ms < 10 || cfg.get_int("auth.refresh_ms") < 10 || suppressions_poll_ms < 10) {
    std::cerr << "hashguard serve: snapshot.poll_ms, suppressions.poll_ms and auth.refresh_ms "
                 "must be at least 10\n";
    return exit_usage;
  }

  // The database: a failure here is fatal at start (migrations must run once); later outages
  // are the recorder's and the loader's business (spool, cached snapshot).
  auto db = db_session::open(cfg);
  if (!db) return exit_failure;
  std::cerr << "hashguard serve: database " << redact_url(db->url())
            << (db->embedded() ? " (embedded)" : "") << "\n";

  auto rec_options = db->settings().recorder;
  rec_options.database_url = db->url();
  auto recorder = hashdb::event_recorder::start(rec_options);
  if (!recorder) {
    print_error("serve", "event recorder (spool " + rec_options.spool_path.string() + ")",
                recorder.error());
    return exit_failure;
  }

  api::key_registry keys;
  key_refresher key_loader(keys, std::move(*config_keys), db->url(),
                           std::chrono::milliseconds(cfg.get_int("auth.refresh_ms")));
  std::cerr << "hashguard serve: " << keys.size() << " API keys (" << key_loader.database_keys()
            << " from the database)\n";
  api::rate_limiter limiter(options->rate_limit_per_s, options->rate_limit_burst);
  api::metrics stats;
  api::work_pool scan_pool("scan", options->scan_threads, options->scan_queue);
  api::work_pool db_pool("db", options->db_threads, options->db_queue);
  stats.add_gauge("hg_scan_queue_depth", "scan jobs waiting",
                  [&scan_pool] { return static_cast<double>(scan_pool.queued()); });
  stats.add_gauge("hg_db_queue_depth", "database jobs waiting",
                  [&db_pool] { return static_cast<double>(db_pool.queued()); });

  // The snapshot: one synchronous load so the node is ready as soon as it listens (when the
  // database or the cache allows), then the refresher polls for list changes.
  matcher::snapshot_holder holder;
  hashdb::snapshot_load_options load_options;
  load_options.database_url = db->url();
  const std::string cache = cfg.get_string("snapshot.cache");
  load_options.cache_file =
      cache.empty() ? db->settings().data_dir / "snapshot.cache" : std::filesystem::path(cache);
  {
    hashdb::snapshot_loader loader(load_options);
    hashdb::snapshot_load_report report;
    auto first = loader.refresh(holder, &report);
    if (first) {
      std::cerr << "hashguard serve: snapshot version " << report.catalog_version << ": "
                << report.lists << " lists, " << report.entries << " entries from "
                << hashdb::to_string(report.source) << "\n";
    } else {
      print_error("serve", "snapshot (will retry)", first.error());
    }
  }
  hashdb::snapshot_refresher refresher(load_options, holder, std::chrono::milliseconds(poll_ms));
  // Suppressed content (answers no_match): loaded with the snapshot, then polled from the
  // decisions feed, so another node's decision arrives within one suppressions.poll_ms.
  hashdb::suppression_holder suppressions;
  hashdb::suppression_refresher suppression_loader(db->url(), suppressions,
                                                   std::chrono::milliseconds(suppressions_poll_ms));
  if (auto e = suppression_loader.last_error()) {
    std::cerr << "hashguard serve: suppressions (will retry): " << e.message() << "\n";
  } else {
    std::cerr << "hashguard serve: " << suppressions.load()->size() << " suppressed contents\n";
  }
  std::atomic<std::uint64_t> suppressed_answers{0};
  stats.add_gauge("hg_suppressed_contents", "contents in this node's suppression set",
                  [&suppressions] { return static_cast<double>(suppressions.load()->size()); });
  stats.add_gauge("hg_suppressed_answers_total",
                  "scan and match answers turned into no_match by a suppression",
                  [&suppressed_answers] {
                    return static_cast<double>(suppressed_answers.load(std::memory_order_relaxed));
                  });

  stats.add_gauge("hg_snapshot_version", "catalog version of the published snapshot", [&holder] {
    auto s = holder.load();
    return s ? static_cast<double>(s->version()) : -1.0;
  });
  for (auto sig : {core::signal::pdq, core::signal::phash, core::signal::md5, core::signal::sha1,
                   core::signal::sha256}) {
    stats.add_gauge("hg_snapshot_entries_" + std::string(core::to_string(sig)),
                    "entries of this signal in the published snapshot", [&holder, sig] {
                      auto s = holder.load();
                      return s ? static_cast<double>(s->size(sig)) : 0.0;
                    });
  }
  stats.add_gauge("hg_spool_bytes", "bytes waiting in the event spool",
                  [&recorder] { return static_cast<double>((*recorder)->stats().spool_bytes); });
  stats.add_gauge("hg_database_up", "1 when the recorder reaches PostgreSQL",
                  [&recorder] { return (*recorder)->stats().database_up ? 1.0 : 0.0; });

  // Readiness: snapshot loaded and spool writable; a database outage does not make the node
  // unready (the spool takes the events, the cached snapshot keeps matching). Writable means
  // it can take records now: a full disk is caught by the probe, not only the permissions.
  spool_probe spool_check(rec_options.spool_path.parent_path(), 16 * 1024,
                          std::chrono::milliseconds(1000));

  std::string node = cfg.get_string("node.name");
  if (node.empty()) {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) == 0) node = host.data();
  }
  auto upkeep = start_review_upkeep(cfg, db->url(), db->settings().cases);
  if (!upkeep) return exit_usage;
  if (auto* keeper = upkeep->evidence.get()) {
    stats.add_gauge("hg_evidence_pending_bytes", "matched content waiting to be preserved",
                    [keeper] { return static_cast<double>(keeper->pending_bytes()); });
    stats.add_gauge("hg_evidence_lost_total", "matched content not preserved (budget, errors)",
                    [keeper] {
                      const auto c = keeper->stats();
                      return static_cast<double>(c.dropped + c.failed);
                    });
  }

  // Every database route shares one bounded pool: one connection per database-pool thread.
  handlers::db_pool db_connections(db->url(), options->db_threads);
  handlers::services deps;
  deps.snapshot = &holder;
  deps.recorder = recorder->get();
  deps.scan = *scan_options;
  deps.node = node;
  deps.dihedral = cfg.get_bool("match.dihedral");
  if (auto* keeper = upkeep->evidence.get()) {
    deps.preserve = [keeper](std::string event_id, std::string bytes, std::string media_type) {
      return keeper->submit(std::move(event_id), std::move(bytes), std::move(media_type));
    };
  }
  deps.suppressions = &suppressions;
  deps.suppressed_answers = &suppressed_answers;
  deps.db = &db_connections;
  deps.lists_changed = [&refresher] { refresher.poke(); };
  if (!review_services(cfg, db->settings(), deps)) return exit_usage;
  deps.stats = &stats;
  deps.ready = [&holder, &spool_check] {
    if (!holder.load()) return handlers::readiness{false, "snapshot not loaded"};
    if (!spool_check.writable()) return handlers::readiness{false, "spool not writable"};
    return handlers::readiness{true, ""};
  };
  deps.retry_after_s = options->retry_after_s;

  api::route_table routes;
  std::string unrouted;
  if (auto wired = handlers::register_routes(routes, deps, &unrouted); !wired) {
    std::cerr << "hashguard serve: " << wired.error().message() << ": " << unrouted << "\n";
    return exit_failure;
  }

  // The request log, batched: a write(2) per flush interval rather than per request.
  std::optional<api::batched_log_writer> request_log;
  if (options->log_requests) request_log.emplace(api::batched_log_writer::options{});

  api::services svc;
  svc.routes = &routes;
  svc.keys = &keys;
  svc.limiter = &limiter;
  svc.stats = &stats;
  svc.scan_pool = &scan_pool;
  svc.db_pool = &db_pool;
  svc.log = request_log ? request_log->sink() : api::log_sink{};

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
