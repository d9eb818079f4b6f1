#include "serve_keys.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/keys.hpp"

#include <algorithm>
#include <optional>

namespace hashguard::app {

key_refresher::key_refresher(api::key_registry& registry, std::vector<api::key_record> config_keys,
                             std::string database_url, std::chrono::milliseconds interval)
    : registry_(registry),
      config_keys_(std::move(config_keys)),
      url_(std::move(database_url)),
      interval_(interval) {
  (void)load();
  thread_ = std::thread([this] { run(); });
}

key_refresher::~key_refresher() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::size_t key_refresher::database_keys() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return database_keys_;
}

bool key_refresher::load() {
  // One connection per load: keys change rarely and the interval is seconds, so holding a
  // connection open between loads would only tie up a server slot.
  auto conn = hashdb::connection::open(url_);
  if (!conn) return false;
  hashdb::key_store store(*conn);
  auto live = store.live_digests();
  if (!live) return false;
  std::vector<api::key_record> records = config_keys_;
  std::size_t loaded = 0;
  for (const auto& [info, hex] : *live) {
    auto bytes = core::parse_hex_bytes(hex, 32);
    if (!bytes) continue;
    api::key_record r;
    std::copy(bytes->begin(), bytes->end(), r.digest.begin());
    r.key_id = api::key_id_of(r.digest);
    r.role = info.role;
    records.push_back(std::move(r));
    ++loaded;
  }
  registry_.replace(std::move(records));
  const std::lock_guard<std::mutex> lock(mutex_);
  database_keys_ = loaded;
  return true;
}

void key_refresher::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    (void)load();
    lock.lock();
  }
}

}  // namespace hashguard::app
