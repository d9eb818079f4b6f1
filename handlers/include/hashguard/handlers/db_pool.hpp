// The one connection strategy of every handler that touches PostgreSQL: a bounded pool of
// hashdb::connection, sized by config (http.db_threads: the database work pool's threads, so
// a pool thread never waits for a connection another pool thread holds).
//
// take() lends an idle connection or opens a new one while fewer than `size` exist; at the
// bound it waits up to `wait` for one to come back (api::errc::overloaded after that). A
// connection that failed is reconnected by hashdb on its next use, so a lease never has to
// tell the pool about an outage; one that cannot be opened is hashdb::errc::unavailable (503
// database_unavailable through the status table).
//
// Thread-safety: take() from any thread; a lease is used by one thread and returns its
// connection when destroyed. The pool must outlive its leases.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/hashdb/database.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hashguard::handlers {

class db_pool {
 public:
  /// `audit_keys`: given to every connection the pool opens (the routes that append audit
  /// rows need them; without, those appends fail with hashdb::errc::audit_key_missing).
  db_pool(std::string url, std::size_t size,
          std::chrono::milliseconds wait = std::chrono::milliseconds(5000),
          std::shared_ptr<const hashdb::audit_keyring> audit_keys = nullptr);
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  class lease {
   public:
    lease(lease&& other) noexcept;
    lease& operator=(lease&&) = delete;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease();
    hashdb::connection& operator*() const noexcept { return *conn_; }
    hashdb::connection* operator->() const noexcept { return conn_.get(); }

   private:
    friend class db_pool;
    lease(db_pool* pool, std::unique_ptr<hashdb::connection> conn) noexcept;
    db_pool* pool_;
    std::unique_ptr<hashdb::connection> conn_;
  };

  /// A connection for one request. Errors: hashdb::errc::unavailable (cannot connect),
  /// api::errc::overloaded (every connection busy for longer than `wait`).
  [[nodiscard]] core::result<lease> take();

  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Connections that exist now (lent or idle).
  [[nodiscard]] std::size_t open_connections() const;

 private:
  void give_back(std::unique_ptr<hashdb::connection> conn) noexcept;

  std::string url_;
  std::size_t size_;
  std::chrono::milliseconds wait_;
  std::shared_ptr<const hashdb::audit_keyring> audit_keys_;
  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<hashdb::connection>> idle_;
  std::size_t open_{0};  // lent + idle + being opened
};

}  // namespace hashguard::handlers
