#include "hashguard/handlers/db_pool.hpp"

#include "hashguard/api/errors.hpp"

#include <utility>

namespace hashguard::handlers {

db_pool::db_pool(std::string url, std::size_t size, std::chrono::milliseconds wait,
                 std::shared_ptr<const hashdb::audit_keyring> audit_keys)
    : url_(std::move(url)),
      size_(size == 0 ? 1 : size),
      wait_(wait),
      audit_keys_(std::move(audit_keys)) {}

db_pool::lease::lease(db_pool* pool, std::unique_ptr<hashdb::connection> conn) noexcept
    : pool_(pool), conn_(std::move(conn)) {}

db_pool::lease::lease(lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}

db_pool::lease::~lease() {
  if (pool_ != nullptr && conn_) pool_->give_back(std::move(conn_));
}

core::result<db_pool::lease> db_pool::take() {
  {
    std::unique_lock lock(mu_);
    const bool available =
        returned_.wait_for(lock, wait_, [this] { return !idle_.empty() || open_ < size_; });
    if (!available) {
      return core::error_code(api::errc::overloaded);
    }
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return lease(this, std::move(c));
    }
    ++open_;  // reserve the slot; opening happens outside the lock
  }
  auto c = hashdb::connection::open(url_);
  if (!c) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
    return c.error();
  }
  c->use_audit_keys(audit_keys_);
  return lease(this, std::make_unique<hashdb::connection>(std::move(*c)));
}

std::size_t db_pool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

void db_pool::give_back(std::unique_ptr<hashdb::connection> conn) noexcept {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

}  // namespace hashguard::handlers
