#include "serve_exchanges.hpp"

#include "serve_tasks.hpp"

#include "hashguard/exchanges/sync.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>

namespace hashguard::app {

struct serve_exchanges::running {
  exchanges::exchange_config config;
  std::unique_ptr<exchanges::source> src;
  std::optional<hashdb::connection> conn;
  std::unique_ptr<exchanges::sync_driver> driver;
  std::unique_ptr<core::periodic_task> task;
  std::chrono::system_clock::time_point started{std::chrono::system_clock::now()};
  mutable std::mutex mutex;
  std::optional<std::chrono::system_clock::time_point> last_success;  // under mutex
  std::int64_t entries{};                                             // under mutex
  std::uint64_t failures{};                                           // under mutex
};

namespace {

core::result<void> sync_once(serve_exchanges::running& r, const std::function<void()>& changed) {
  lower_this_threads_priority();  // serve_tasks.hpp: the sync yields the CPU to matching
  auto report = r.driver->run();
  if (!report) {
    const std::lock_guard lock(r.mutex);
    ++r.failures;
    return report.error();
  }
  if (report->added + report->deleted > 0 && changed) changed();
  // Entries as the database holds them, whichever node synced them.
  auto state = hashdb::exchange_store(*r.conn).get(r.config.name);
  const std::lock_guard lock(r.mutex);
  if (state) r.entries = state->entries;
  if (report->lease_busy) return {};
  if (report->error) {
    ++r.failures;
    std::cerr << "hashguard serve: exchange " << r.config.name << " stopped: " << report->reason
              << "\n";
    return report->error;
  }
  if (report->caught_up) r.last_success = std::chrono::system_clock::now();
  return {};
}

}  // namespace

std::unique_ptr<serve_exchanges> serve_exchanges::start(
    std::vector<exchanges::exchange_config> configs, const std::string& database_url,
    const std::string& node, const std::string& data_dir, serve_tasks& tasks,
    std::function<void()> lists_changed, std::string& problem) {
  std::unique_ptr<serve_exchanges> out(new serve_exchanges());
  // The lease belongs to the node and its data directory (which serve locks: one serve per
  // directory), not to the process: a serve killed mid-sync and started again takes its lease
  // back at once instead of waiting out the TTL, and resumes from the stored checkpoint.
  const std::string holder = node + "/" + data_dir;
  for (auto& config : configs) {
    auto r = std::make_unique<running>();
    r->config = std::move(config);
    std::string why;
    auto src = exchanges::make_source(r->config, &why);
    if (!src) {
      problem = "exchange " + r->config.name + ": " + core::error_message(src.error()) +
                (why.empty() ? "" : ": " + why);
      return nullptr;
    }
    r->src = std::move(*src);
    std::string detail;
    auto conn = hashdb::connection::open(database_url, &detail);
    if (!conn) {
      problem = "exchange " + r->config.name + ": " + detail;
      return nullptr;
    }
    r->conn.emplace(std::move(*conn));
    auto registered =
        hashdb::exchange_store(*r->conn).register_exchange(exchanges::spec_of(r->config));
    if (!registered) {
      problem = "exchange " + r->config.name + ": " + core::error_message(registered.error()) +
                " (" + r->conn->last_error() + ")";
      return nullptr;
    }
    r->entries = registered->entries;
    exchanges::sync_options options;
    options.holder = holder;
    r->driver =
        std::make_unique<exchanges::sync_driver>(*r->conn, r->config.name, *r->src, options);
    core::periodic_task::options task_options;
    task_options.name = "exchange." + r->config.name;
    task_options.interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(r->config.interval);
    task_options.on_failure = log_task_failure();
    running* raw = r.get();
    r->task = std::make_unique<core::periodic_task>(
        std::move(task_options), [raw, lists_changed]() { return sync_once(*raw, lists_changed); });
    tasks.watch(*r->task);
    out->running_.push_back(std::move(r));
  }
  for (auto& r : out->running_) {
    (void)r->task->start();
    r->task->poke();  // the first sync now, not one interval after start
  }
  return out;
}

bool serve_exchanges::sync_now(std::string_view name) {
  for (auto& r : running_) {
    if (r->config.name == name) {
      r->task->poke();
      return true;
    }
  }
  return false;
}

serve_exchanges::~serve_exchanges() {
  for (auto& r : running_) r->driver->cancel();
  for (auto& r : running_) r->task->stop();
}

core::result<void> serve_exchanges::export_metrics(api::metrics& metrics) const {
  const auto per_exchange = [this](auto value_of) {
    return [this, value_of]() {
      std::vector<api::metric_sample> samples;
      for (const auto& r : running_) {
        const std::lock_guard lock(r->mutex);
        samples.push_back({{{"exchange", r->config.name}}, value_of(*r)});
      }
      return samples;
    };
  };
  const auto seconds = [](std::chrono::system_clock::duration d) {
    return std::chrono::duration<double>(d).count();
  };
  if (auto r = metrics.add_family(
          "hg_exchange_last_success_timestamp_seconds",
          "Unix time of the exchange's last caught-up sync (0: none yet)", api::metric_kind::gauge,
          per_exchange([seconds](const running& x) {
            return x.last_success ? seconds(x.last_success->time_since_epoch()) : 0.0;
          }));
      !r) {
    return r;
  }
  if (auto r = metrics.add_family(
          "hg_exchange_entries", "entries the exchange holds (matchable or not)",
          api::metric_kind::gauge,
          per_exchange([](const running& x) { return static_cast<double>(x.entries); }));
      !r) {
    return r;
  }
  if (auto r = metrics.add_family(
          "hg_exchange_lag_seconds",
          "seconds since the exchange's last caught-up sync (since start when none)",
          api::metric_kind::gauge, per_exchange([seconds](const running& x) {
            return seconds(std::chrono::system_clock::now() - x.last_success.value_or(x.started));
          }));
      !r) {
    return r;
  }
  return metrics.add_family(
      "hg_exchange_failures_total", "syncs of the exchange that stopped on an error",
      api::metric_kind::counter,
      per_exchange([](const running& x) { return static_cast<double>(x.failures); }));
}

}  // namespace hashguard::app
