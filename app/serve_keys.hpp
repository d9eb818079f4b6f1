// Feeds the server's in-memory key registry from hashdb's key store: the config keys
// (auth.keys, the bootstrap admin key) plus every unrevoked key created with `hashguard keys`,
// reloaded every interval on a thread of its own, so authentication never waits on the
// database and a revoked key stops working within one interval. While the database is down the
// last loaded set stays in force.
#pragma once
#include "hashguard/api/auth.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hashguard::app {

class key_refresher {
 public:
  /// Loads once synchronously (so keys work from the first request), then every `interval`.
  key_refresher(api::key_registry& registry, std::vector<api::key_record> config_keys,
                std::string database_url, std::chrono::milliseconds interval);
  ~key_refresher();
  key_refresher(const key_refresher&) = delete;
  key_refresher& operator=(const key_refresher&) = delete;

  /// Keys loaded from the database at the last successful load.
  [[nodiscard]] std::size_t database_keys() const;

 private:
  bool load();
  void run();

  api::key_registry& registry_;
  std::vector<api::key_record> config_keys_;
  std::string url_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_{false};
  std::size_t database_keys_{0};
  std::thread thread_;
};

}  // namespace hashguard::app
