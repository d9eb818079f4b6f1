// hashguard serve: the HTTP service. Reads the configuration (embedded defaults < --config
// file < HG_* environment < flags), prints it with secrets redacted, starts the server and
// runs until SIGTERM/SIGINT, then drains and exits 0.
//
// Start-up order: configuration, the database (embedded PostgreSQL in data.dir or
// database.url, migrated), the event recorder (commit deadline + spool), the API keys, the
// snapshot (loaded once, then polled by a periodic task that swaps on a catalog version
// change), the suppression set (loaded once, then polled from the decisions feed), then the
// routes (handlers::register_routes: every route of the design table, or serve refuses to
// start) and the server. The periodic tasks are serve_tasks.hpp's.
#include "commands.hpp"
#include "db_common.hpp"
#include "serve_config.hpp"
#include "serve_exchanges.hpp"
#include "serve_feedback.hpp"
#include "serve_lock.hpp"
#include "serve_metrics.hpp"
#include "serve_reporting.hpp"
#include "serve_review.hpp"
#include "serve_tasks.hpp"
#include "spool_probe.hpp"

#include "hashguard/api/auth.hpp"
#include "hashguard/api/log_writer.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/server.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/core/config.hpp"
#include "hashguard/exchanges/config.hpp"
#include "hashguard/handlers/db_pool.hpp"
#include "hashguard/handlers/routes.hpp"
#include "hashguard/handlers/services.hpp"
#include "hashguard/hashdb/recorder.hpp"
#include "hashguard/hashdb/settings.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"
#include "hashguard/hashdb/suppressions.hpp"
#include "hashguard/matcher/snapshot.hpp"
#include "hashguard/scanner/scan.hpp"
#include "hashguard/scanner/video_worker.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <optional>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>

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

// A metric family registered twice would make every scrape fail: refuse to start instead.
[[nodiscard]] bool registered(const core::result<void>& added) {
  if (!added) print_error("serve", "metrics", added.error());
  return added.has_value();
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  // A file-size limit (RLIMIT_FSIZE) must surface as a failed spool append (EFBIG: the scan
  // answers 503, /readyz turns unready), not kill the service with SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);
  core::config cfg;
  declare_serve_config(cfg);
  if (auto done = load_serve_config(cfg, args)) return *done;
  auto options = api::options_from(cfg);
  if (!options) {
    std::cerr << "hashguard serve: invalid setting: " << options.error().message() << "\n";
    return exit_usage;
  }
  std::string key_problem;
  auto config_keys = api::keys_from(cfg, &key_problem);
  if (!config_keys) {
    std::cerr << "hashguard serve: " << key_problem << "\n";
    return exit_usage;
  }

  std::cerr << "hashguard serve: configuration\n" << cfg.describe();
  raise_descriptor_limit(options->max_connections);

  const auto orientations = orientation_match_from(cfg);
  if (!orientations) {
    std::cerr << "hashguard serve: invalid setting: match.orientations must be exact, dihedral "
                 "or off\n";
    return exit_usage;
  }
  auto scan_options = scanner::scan_options_from(cfg);
  if (!scan_options) {
    std::cerr << "hashguard serve: invalid setting: " << scan_options.error().message() << "\n";
    return exit_usage;
  }
  const auto probe_limit = cfg.get_int("match.probe_limit");
  const auto probe_radius = cfg.get_int("match.probe_radius");
  if (probe_limit < 0 || probe_limit > 100000 || probe_radius < 1 || probe_radius > 128) {
    std::cerr << "hashguard serve: match.probe_limit must be 0..100000 and match.probe_radius "
                 "1..128\n";
    return exit_usage;
  }
  const auto poll_ms = cfg.get_int("snapshot.poll_ms");
  const auto suppressions_poll_ms = cfg.get_int("suppressions.poll_ms");
  hashdb::flood_options flood;
  flood.window = std::chrono::seconds(cfg.get_int("flood.window_s"));
  flood.max_distinct = cfg.get_int("flood.max_distinct");
  flood.baseline_factor = static_cast<double>(cfg.get_int("flood.baseline_factor"));
  flood.min_distinct = cfg.get_int("flood.min_distinct");
  flood.baseline_windows =
      static_cast<int>(std::clamp<std::int64_t>(cfg.get_int("flood.baseline_windows"), 0, 10000));
  const auto flood_interval = cfg.get_int("flood.interval_s");
  if (flood_interval < 0 || flood.window.count() < 1 || flood.max_distinct < 1 ||
      flood.baseline_factor < 1 || flood.min_distinct < 1 || flood.baseline_windows < 1) {
    std::cerr << "hashguard serve: flood.interval_s must be 0 or more, flood.window_s, "
                 "flood.max_distinct, flood.baseline_factor, flood.min_distinct and "
                 "flood.baseline_windows at least 1\n";
    return exit_usage;
  }
  if (poll_ms < 10 || cfg.get_int("auth.refresh_ms") < 10 || suppressions_poll_ms < 10) {
    std::cerr << "hashguard serve: snapshot.poll_ms, suppressions.poll_ms and auth.refresh_ms "
                 "must be at least 10\n";
    return exit_usage;
  }

  // One serve per data directory (serve_lock.hpp), taken before the database and released
  // last (declared first): after the embedded PostgreSQL has been stopped or handed over.
  serve_lock::refusal refused;
  auto owner = serve_lock::acquire(cfg.get_string("data.dir"), refused);
  if (!owner) {
    std::cerr << "hashguard serve: " << refused.why << "\n";
    return exit_failure;
  }

  // The database: a failure here is fatal at start (migrations must run once); later outages
  // are the recorder's and the loader's business (spool, cached snapshot). The embedded server
  // is this serve's to keep running: owned (adopted when found running without an owner),
  // restarted by the postgres task when it dies, stopped at exit unless others are attached.
  auto db = db_session::open(cfg, true, true);
  if (!db) return exit_failure;
  std::cerr << "hashguard serve: database " << hashdb::redact_url(db->url())
            << (db->embedded() ? (db->server()->owns() ? " (embedded, owned by this serve)"
                                                       : " (embedded, attached)")
                               : "")
            << "\n";

  auto rec_options = db->settings().recorder;
  rec_options.database_url = db->url();
  auto recorder = hashdb::event_recorder::start(rec_options);
  if (!recorder) {
    print_error("serve", "event recorder (spool " + rec_options.spool_path.string() + ")",
                recorder.error());
    return exit_failure;
  }

  // What the periodic tasks fill, then the tasks (declared after it: they stop first).
  api::key_registry keys;
  matcher::snapshot_holder holder;
  hashdb::suppression_holder suppressions;
  // The probe detector of the ingest routes (its audit task is started below).
  handlers::probe_guard::options probe_options;
  probe_options.limit = static_cast<std::size_t>(probe_limit);
  probe_options.radius = static_cast<std::uint32_t>(probe_radius);
  handlers::probe_guard probes(probe_options);
  serve_tasks tasks;
  auto& keys_task = tasks.start_keys(keys, std::move(*config_keys), db->url(),
                                     std::chrono::milliseconds(cfg.get_int("auth.refresh_ms")));
  api::rate_limiter limiter(options->rate_limit_per_s, options->rate_limit_burst);
  api::metrics stats;
  api::work_pool scan_pool("scan", options->scan_threads, options->scan_queue);
  api::work_pool db_pool("db", options->db_threads, options->db_queue);
  // Videos wait on their decoder processes here, never on the scan pool's threads.
  api::work_pool video_pool("video", options->video_threads, options->video_queue);

  // The snapshot: one synchronous load so the node is ready as soon as it listens (when the
  // database or the cache allows), then the task polls for list changes.
  hashdb::snapshot_load_options load_options;
  load_options.database_url = db->url();
  const std::string cache = cfg.get_string("snapshot.cache");
  load_options.cache_file =
      cache.empty() ? db->settings().data_dir / "snapshot.cache" : std::filesystem::path(cache);
  auto& snapshot_task =
      tasks.start_snapshot(load_options, holder, std::chrono::milliseconds(poll_ms));
  // Suppressed content (answers no_match): loaded with the snapshot, then polled from the
  // decisions feed, so another node's decision arrives within one suppressions.poll_ms.
  tasks.start_suppressions(db->url(), suppressions,
                           std::chrono::milliseconds(suppressions_poll_ms));
  std::atomic<std::uint64_t> suppressed_answers{0};

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
  auto upkeep = start_review_upkeep(cfg, db->url(), db->audit_keys());
  if (!upkeep) return exit_usage;
  tasks.start_purge(db->url(), db->settings().cases, db->audit_keys(), upkeep->purge_interval);
  tasks.start_probe_audit(db->url(), probes, node, db->audit_keys());
  // The audit head, published outside PostgreSQL (the log and audit.head_file).
  tasks.start_audit_publish(db->url(), db->settings().audit.head_file,
                            db->settings().audit.publish_interval);
  if (auto* server = db->server()) tasks.start_embedded_upkeep(*server, std::chrono::seconds(1));
  if (auto* keeper = upkeep->evidence.get()) tasks.watch(keeper->task());
  // The exchanges this node follows (serve_exchanges.hpp): after the metrics registry, so
  // their syncs are cancelled and stopped before it goes.
  exchanges::config_problem exchange_problem;
  auto exchange_configs =
      exchanges::load_exchanges(cfg, exchanges::system_secrets(), &exchange_problem);
  if (!exchange_configs) {
    std::cerr << "hashguard serve: exchanges.file: "
              << (exchange_problem.line > 0 ? "line " + std::to_string(exchange_problem.line) + ": "
                                            : "")
              << exchange_problem.message << "\n";
    return exit_usage;
  }
  std::string exchange_start_problem;
  // Feedback first: it reads the configurations that serve_exchanges::start takes over.
  const auto feedback_interval = cfg.get_int("exchanges.feedback_interval_s");
  if (feedback_interval < 1) {
    std::cerr << "hashguard serve: exchanges.feedback_interval_s must be at least 1\n";
    return exit_usage;
  }
  auto feedback =
      serve_feedback::start(*exchange_configs, db->url(), std::chrono::seconds(feedback_interval),
                            tasks, exchange_start_problem);
  if (!feedback) {
    std::cerr << "hashguard serve: " << exchange_start_problem << "\n";
    return exit_failure;
  }
  auto followed = serve_exchanges::start(
      std::move(*exchange_configs), db->url(), node, db->settings().data_dir.string(), tasks,
      [&snapshot_task] { snapshot_task.poke(); }, exchange_start_problem);
  if (!followed) {
    std::cerr << "hashguard serve: " << exchange_start_problem << "\n";
    return exit_failure;
  }
  // Every metric family (a name registered twice would make every scrape fail: refuse to start).
  const serve_metric_sources sources{&scan_pool,      &db_pool,
                                     &suppressions,   &suppressed_answers,
                                     recorder->get(), upkeep->evidence.get(),
                                     &probes};
  if (!registered(add_serve_metrics(stats, holder, sources)) ||
      !registered(tasks.start_floods(db->url(), flood, db->audit_keys(),
                                     std::chrono::seconds(flood_interval), stats)) ||
      !registered(tasks.export_metrics(stats)) || !registered(followed->export_metrics(stats))) {
    return exit_failure;
  }

  // Every database route shares one bounded pool: one connection per database-pool thread.
  handlers::db_pool db_connections(db->url(), options->db_threads, std::chrono::milliseconds(5000),
                                   db->audit_keys());
  handlers::services deps;
  deps.snapshot = &holder;
  deps.recorder = recorder->get();
  deps.scan = *scan_options;
  deps.node = node;
  deps.orientations = *orientations;
  deps.trim = cfg.get_bool("match.trim");
  if (auto* keeper = upkeep->evidence.get()) {
    deps.preserve = [keeper](std::string event_id, std::string bytes, std::string media_type) {
      return keeper->submit(std::move(event_id), std::move(bytes), std::move(media_type));
    };
  }
  deps.suppressions = &suppressions;
  deps.suppressed_answers = &suppressed_answers;
  deps.probes = &probes;
  deps.db = &db_connections;
  deps.lists_changed = [&snapshot_task] { snapshot_task.poke(); };
  deps.keys_changed = [&keys_task] { keys_task.poke(); };
  if (!followed->empty()) {
    deps.sync_exchange = [f = followed.get()](std::string_view name) { return f->sync_now(name); };
  }
  if (!review_services(cfg, db->settings(), deps)) return exit_usage;
  // CyberTipline filing (serve_reporting.hpp): the settings, the /status check, the report
  // task; after the metrics registry and the tasks, so it stops first.
  std::string reporting_problem;
  auto filing = serve_reporting::start(cfg, deps.package, deps.evidence, db->url(),
                                       db->audit_keys(), node, tasks, reporting_problem);
  if (!filing) {
    std::cerr << "hashguard serve: invalid setting: " << reporting_problem << "\n";
    return exit_usage;
  }
  if (!registered(filing->export_metrics(stats))) return exit_failure;
  deps.filing = filing->services();
  deps.stats = &stats;
  deps.ready = [&holder, &spool_check, rec = recorder->get()] {
    if (!holder.load()) return handlers::readiness{false, "snapshot not loaded"};
    // The probe covers the disk; the recorder's flag covers a spool file whose failed append
    // could not be undone (it refuses appends until restart).
    if (!spool_check.writable() || !rec->stats().spool_writable) {
      return handlers::readiness{false, "spool not writable"};
    }
    return handlers::readiness{true, ""};
  };
  deps.retry_after_s = options->retry_after_s;
  // The sandboxed video decoder is the hashguard-video-worker installed beside this binary;
  // without it, POST /v1/scan/video answers 501.
  std::optional<scanner::video_worker> video;
  {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto worker = self.parent_path() / "hashguard-video-worker";
    if (!ec && ::access(worker.c_str(), X_OK) == 0) {
      scanner::video_worker_options vo;
      vo.executable = worker.string();
      deps.video = &video.emplace(std::move(vo));
    } else {
      std::cerr << "hashguard serve: no executable " << worker.string()
                << ": POST /v1/scan/video answers 501\n";
    }
  }

  api::route_table routes;
  std::string unrouted;
  if (auto wired = handlers::register_routes(routes, deps, &unrouted); !wired) {
    std::cerr << "hashguard serve: " << wired.error().message() << ": " << unrouted << "\n";
    return exit_failure;
  }

  // The request log, batched: a write(2) per flush interval rather than per request.
  std::optional<api::batched_log_writer> request_log;
  if (options->log_requests) {
    api::batched_log_writer::options log_options;
    log_options.on_failure = log_task_failure();
    tasks.watch(request_log.emplace(std::move(log_options)).task());
  }

  api::services svc;
  svc.routes = &routes;
  svc.keys = &keys;
  svc.limiter = &limiter;
  svc.stats = &stats;
  svc.scan_pool = &scan_pool;
  svc.db_pool = &db_pool;
  svc.video_pool = &video_pool;
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
