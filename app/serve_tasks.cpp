#include "serve_tasks.hpp"

#include "serve_evidence.hpp"
#include "serve_keys.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/audit_config.hpp"
#include "hashguard/hashdb/database.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <optional>
#include <utility>

namespace hashguard::app {

using first_run = core::periodic_task::first_run;

core::periodic_task::failure_hook log_task_failure() {
  return [](std::string_view task, const core::error_code& error) {
    std::cerr << "hashguard serve: task " << task << " failed: " << core::error_message(error)
              << "\n";
  };
}

void lower_this_threads_priority() noexcept {
  // Linux: a thread id names the thread alone to setpriority (PRIO_PROCESS).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
}

serve_tasks::~serve_tasks() {
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) (*it)->stop();
}

core::periodic_task& serve_tasks::start(std::string name, std::chrono::milliseconds interval,
                                        first_run first, core::periodic_task::function function) {
  core::periodic_task::options options;
  options.name = std::move(name);
  options.interval = interval;
  options.first = first;
  options.on_failure = log_task_failure();
  auto& task = *owned_.emplace_back(
      std::make_unique<core::periodic_task>(std::move(options), std::move(function)));
  watch(task);
  (void)task.start();  // a failed first run is logged by the hook and retried
  return task;
}

void serve_tasks::watch(const core::periodic_task& task) {
  const std::lock_guard lock(mutex_);
  all_.push_back(&task);
}

core::result<void> serve_tasks::export_metrics(api::metrics& metrics) const {
  // One sample per task: the tasks are copied out under the lock, their status read outside it.
  const auto per_task = [this](auto value_of) {
    return [this, value_of]() {
      std::vector<const core::periodic_task*> tasks;
      {
        const std::lock_guard lock(mutex_);
        tasks = all_;
      }
      std::vector<api::metric_sample> samples;
      samples.reserve(tasks.size());
      for (const auto* task : tasks) {
        samples.push_back({{{"task", task->name()}}, value_of(task->status())});
      }
      return samples;
    };
  };
  if (auto added = metrics.add_family(
          "hg_task_last_success_timestamp_seconds",
          "Unix time of the task's last successful run (0: none yet)", api::metric_kind::gauge,
          per_task([](const core::task_status& s) {
            if (!s.last_success) return 0.0;
            return std::chrono::duration<double>(s.last_success->time_since_epoch()).count();
          }));
      !added) {
    return added;
  }
  return metrics.add_family(
      "hg_task_failures_total", "failed runs of the task", api::metric_kind::counter,
      per_task([](const core::task_status& s) { return static_cast<double>(s.failures); }));
}

core::periodic_task& serve_tasks::start_probe_audit(
    const std::string& database_url, handlers::probe_guard& guard, std::string node,
    std::shared_ptr<const hashdb::audit_keyring> audit_keys) {
  // Off the request path: the I/O thread that refused the query only queued the suspect.
  auto pending = std::make_shared<std::vector<handlers::probe_guard::suspect>>();
  const auto& o = guard.settings();
  const std::string limits = ",\"limit\":" + std::to_string(o.limit) +
                             ",\"radius\":" + std::to_string(o.radius) +
                             ",\"window_s\":" + std::to_string(o.window.count()) + "}";
  return start("probe_audit", std::chrono::milliseconds(1000), first_run::after_interval,
               [&guard, pending, limits, url = database_url, keys = std::move(audit_keys),
                actor = "serve:" + std::move(node)]() -> core::result<void> {
                 for (auto& s : guard.take_new_suspects()) pending->push_back(std::move(s));
                 if (pending->empty()) return {};
                 auto conn = hashdb::connection::open(url);
                 if (!conn) return conn.error();
                 conn->use_audit_keys(keys);
                 hashdb::audit_log audit(*conn);
                 while (!pending->empty()) {
                   const auto& s = pending->front();
                   auto row =
                       audit.append(actor, "key.probe_suspected", "key:" + s.key_id,
                                    "{\"near_queries\":" + std::to_string(s.near_queries) + limits);
                   if (!row) return row.error();
                   pending->erase(pending->begin());
                 }
                 return {};
               });
}

core::periodic_task& serve_tasks::start_keys(api::key_registry& registry,
                                             std::vector<api::key_record> config_keys,
                                             const std::string& database_url,
                                             std::chrono::milliseconds interval) {
  auto from_database = std::make_shared<std::atomic<std::size_t>>(0);
  // The config keys work before, and whatever happens to, the first database load: a node
  // that cannot read api_keys at start still answers its bootstrap admin and config keys
  // (the load keeps the registry as it was when it fails).
  registry.replace(config_keys);
  auto& task = start("keys", interval, first_run::synchronous,
                     [&registry, from_database, keys = std::move(config_keys),
                      url = database_url]() -> core::result<void> {
                       auto loaded = load_keys(registry, keys, url);
                       if (!loaded) return loaded.error();
                       from_database->store(*loaded);
                       return {};
                     });
  std::cerr << "hashguard serve: " << registry.size() << " API keys (" << from_database->load()
            << " from the database)\n";
  return task;
}

core::periodic_task& serve_tasks::start_snapshot(hashdb::snapshot_load_options options,
                                                 matcher::snapshot_holder& holder,
                                                 std::chrono::milliseconds interval) {
  // The first run (synchronous, in start) says what the node starts with; later swaps are
  // silent, as before.
  // The first load (before the node listens) uses every core; the rebuilds after it, while
  // the node serves, one thread at low priority.
  hashdb::snapshot_load_options background = options;
  background.matcher.mih.build_threads = 1;
  auto first_loader = std::make_shared<hashdb::snapshot_loader>(std::move(options));
  auto loader = std::make_shared<hashdb::snapshot_loader>(std::move(background));
  auto& task = start("snapshot", interval, first_run::synchronous,
                     [&holder, first_loader, loader, first = true]() mutable -> core::result<void> {
                       hashdb::snapshot_load_report report;
                       if (!first) lower_this_threads_priority();  // the task's own thread
                       auto swapped = (first ? first_loader : loader)->refresh(holder, &report);
                       const bool announce = std::exchange(first, false);
                       if (!swapped) return swapped.error();
                       if (announce) {
                         std::cerr << "hashguard serve: snapshot version " << report.catalog_version
                                   << ": " << report.lists << " lists, " << report.entries
                                   << " entries from " << hashdb::to_string(report.source) << "\n";
                       }
                       return {};
                     });
  return task;
}

core::periodic_task& serve_tasks::start_suppressions(const std::string& database_url,
                                                     hashdb::suppression_holder& holder,
                                                     std::chrono::milliseconds interval) {
  // Kept between polls, on the task's thread only.
  auto conn = std::make_shared<std::optional<hashdb::connection>>();
  auto& task = start("suppressions", interval, first_run::synchronous,
                     [&holder, conn, url = database_url]() -> core::result<void> {
                       auto read = hashdb::refresh_suppressions(*conn, url, holder);
                       if (!read) return read.error();
                       return {};
                     });
  if (task.status().successes > 0) {
    std::cerr << "hashguard serve: " << holder.load()->size() << " suppressed contents\n";
  }
  return task;
}

void serve_tasks::start_purge(const std::string& database_url, const hashdb::case_options& cases,
                              std::shared_ptr<const hashdb::audit_keyring> audit_keys,
                              std::chrono::seconds interval) {
  if (interval.count() <= 0) return;
  (void)start("purge", interval, first_run::after_interval,
              [url = database_url, cases, keys = std::move(audit_keys)]() {
                return purge_expired(url, cases, keys);
              });
}

void serve_tasks::start_audit_publish(const std::string& database_url,
                                      std::filesystem::path head_file,
                                      std::chrono::seconds interval) {
  if (interval.count() <= 0) return;
  // Kept between runs, on the task's thread only. Publishing only a changed head keeps the
  // log to one line per change, not one per interval. `last` starts as the head file holds
  // it, so a log cut back while serve was down is noticed too.
  struct publisher {
    std::optional<hashdb::connection> conn;
    bool read_file{false};
    std::optional<hashdb::audit_head> last;
  };
  auto state = std::make_shared<publisher>();
  (void)start("audit_head", interval, first_run::synchronous,
              [state, url = database_url, file = std::move(head_file)]() -> core::result<void> {
                if (!state->read_file) {
                  auto published = hashdb::read_audit_head(file);
                  if (!published) return published.error();
                  state->last = *published;
                  state->read_file = true;
                }
                if (!state->conn) {
                  auto c = hashdb::connection::open(url);
                  if (!c) return c.error();
                  state->conn.emplace(std::move(*c));
                }
                hashdb::audit_log log(*state->conn);
                auto head = log.head();
                if (!head) return head.error();
                // A head behind the published one means rows were removed (or rewritten):
                // never overwrite the evidence of that; fail (logged) at every run instead.
                const auto& last = state->last;
                if (last && (!*head || (*head)->id < last->id ||
                             ((*head)->id == last->id && (*head)->hash != last->hash))) {
                  return hashdb::errc::audit_head_behind;
                }
                if (!*head || *head == last) return {};
                if (auto written = hashdb::write_audit_head(file, **head); !written) {
                  return written.error();
                }
                std::cerr << "hashguard serve: audit head " << (*head)->id << " " << (*head)->hash
                          << " " << (*head)->at << "\n";
                state->last = *head;
                return {};
              });
}

core::result<void> serve_tasks::start_floods(
    const std::string& database_url, const hashdb::flood_options& options,
    std::shared_ptr<const hashdb::audit_keyring> audit_keys, std::chrono::seconds interval,
    api::metrics& metrics) {
  if (interval.count() <= 0) return {};
  // Written by the task's thread, read by /metrics: atomics, shared with the metric readers.
  struct figures {
    std::atomic<std::uint64_t> flagged{0};
    std::atomic<std::int64_t> open{0};
  };
  auto state = std::make_shared<figures>();
  if (auto r = metrics.add_family(
          "hg_floods_flagged_total", "list entries this node flagged as flooded",
          api::metric_kind::counter,
          [state] {
            return std::vector<api::metric_sample>{
                {{}, static_cast<double>(state->flagged.load(std::memory_order_relaxed))}};
          });
      !r) {
    return r;
  }
  if (auto r = metrics.add_gauge(
          "hg_flooded_entries", "list entries with an open flood flag",
          [state] { return static_cast<double>(state->open.load(std::memory_order_relaxed)); });
      !r) {
    return r;
  }
  (void)start(
      "floods", interval, first_run::after_interval,
      [state, options, url = database_url, keys = std::move(audit_keys)]() -> core::result<void> {
        auto conn = hashdb::connection::open(url);
        if (!conn) return conn.error();
        conn->use_audit_keys(keys);
        hashdb::flood_store floods(*conn);
        auto flagged = floods.evaluate(options);
        if (!flagged) return flagged.error();
        for (const auto& f : *flagged) {
          std::cerr << "hashguard serve: flood: list " << f.list_name << " entry " << f.entry_id
                    << " matched " << f.distinct_contents << " distinct contents in " << f.window_s
                    << " s (" << f.reason << (f.auto_quarantined ? ", quarantined" : "") << ")\n";
        }
        state->flagged.fetch_add(flagged->size(), std::memory_order_relaxed);
        auto open = floods.open_count();
        if (!open) return open.error();
        state->open.store(*open, std::memory_order_relaxed);
        return {};
      });
  return {};
}

void serve_tasks::start_embedded_upkeep(hashdb::embedded_server& server,
                                        std::chrono::milliseconds interval) {
  (void)start("postgres", interval, first_run::after_interval, [&server]() -> core::result<void> {
    std::string why;
    auto done = server.keep_running(&why);
    if (!done) {
      std::cerr << "hashguard serve: embedded PostgreSQL is down and did not restart (retrying): "
                << why << "\n";
      return done.error();
    }
    if (*done == hashdb::embedded_server::upkeep::restarted) {
      std::cerr << "hashguard serve: embedded PostgreSQL had stopped: restarted\n";
    } else if (*done == hashdb::embedded_server::upkeep::adopted) {
      std::cerr << "hashguard serve: embedded PostgreSQL: owned by this serve now (the command "
                   "that started it has ended)\n";
    }
    return {};
  });
}

}  // namespace hashguard::app
