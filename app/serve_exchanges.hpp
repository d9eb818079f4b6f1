// hashguard serve's exchanges: every exchange of the exchanges file (exchanges/config.hpp)
// registered at start (its row and fed lists), then synced by a periodic task of its own,
// "exchange.NAME", at the exchange's interval (the first sync right after start), on a thread at
// low priority (nice 19, lower_this_threads_priority) so matching keeps the CPU. The exchange's
// lease makes exactly one node of a cluster sync it at a time; the others' runs are no-ops. The
// lease holder is the node's name and data directory, so a restarted serve (after a crash) takes
// its own lease back at once. A batch that changed entries pokes the snapshot task
// (`lists_changed`) so this node rebuilds at once; others see the new catalog version at their next
// poll.
//
// /metrics, per exchange (label exchange):
//   hg_exchange_last_success_timestamp_seconds  gauge, Unix time of the last caught-up batch
//   hg_exchange_entries                         gauge, entries held (matchable or not)
//   hg_exchange_lag_seconds                     gauge, seconds since the last caught-up batch
//                                               (since start when none)
//   hg_exchange_failures_total                  counter, batches that stopped on an error
//
// Lifetime: the destructor cancels every sync in progress, then stops the tasks. Declare it
// after the metrics registry (it must outlive renders) and let it go before the database.
#pragma once

#include "hashguard/api/metrics.hpp"
#include "hashguard/core/config.hpp"
#include "hashguard/exchanges/registry.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::app {

class serve_tasks;

class serve_exchanges {
 public:
  /// Registers and starts every exchange. Returns nullptr with `problem` set when one cannot
  /// be made (bad settings) or registered (the database refused).
  [[nodiscard]] static std::unique_ptr<serve_exchanges> start(
      std::vector<exchanges::exchange_config> configs, const std::string& database_url,
      const std::string& node, const std::string& data_dir, serve_tasks& tasks,
      std::function<void()> lists_changed, std::string& problem);
  ~serve_exchanges();
  serve_exchanges(const serve_exchanges&) = delete;
  serve_exchanges& operator=(const serve_exchanges&) = delete;

  [[nodiscard]] core::result<void> export_metrics(api::metrics& metrics) const;

  /// Whether this node runs no exchange.
  [[nodiscard]] bool empty() const noexcept { return running_.empty(); }
  /// Starts a sync of exchange `name` now (its task runs at once; a sync in progress is not
  /// interrupted, and the lease still decides which node applies pages). False when this node
  /// does not run it. Thread-safe.
  [[nodiscard]] bool sync_now(std::string_view name);

  struct running;

 private:
  serve_exchanges() = default;
  std::vector<std::unique_ptr<running>> running_;
};

}  // namespace hashguard::app
