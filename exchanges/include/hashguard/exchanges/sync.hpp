// The sync driver: one batch of an exchange's sync (DESIGN.md section 4).
//
// run() takes the exchange's lease (hashdb::exchange_store; another node holding it makes the
// run a no-op that says so), then loops: fetch(checkpoint) from the source, apply the page and
// store its checkpoint in one transaction, until a page says more == false. It stops early,
// at the last stored checkpoint, on the first failure (the source's error after its own
// retries, a page the store refuses as invalid, the database) or on cancel(), and records why.
// It then ends the batch (hashdb::exchange_store::finish_batch: the fed lists' versions move
// once when pages changed something, so every node rebuilds its snapshot once per batch) and
// gives the lease up.
//
// Threads: run() on one thread (a core::periodic_task's); cancel() from any thread (serve's
// shutdown): the fetch in progress fails promptly and no further page is fetched.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/hashdb/database.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace hashguard::exchanges {

struct sync_options {
  std::string holder;  ///< this node's lease holder name (unique per process)
  /// How long the lease lasts without a page; every applied page renews it. A node that dies
  /// holds it at most this long.
  std::chrono::seconds lease_ttl{120};
  /// Stop after this many pages (0: until the source is caught up). The next run resumes.
  std::uint64_t max_pages{0};
};

struct sync_report {
  bool lease_busy{false};  ///< another node holds the lease: nothing was done
  bool caught_up{false};   ///< the last page said more == false
  std::uint64_t pages{};
  std::uint64_t added{};
  std::uint64_t updated{};
  std::uint64_t deleted{};
  std::uint64_t unmatched{};
  std::string checkpoint;  ///< the stored checkpoint at the end
  /// Why the batch stopped early; empty when it did not. The error's stable name first
  /// ("bad_page", "unavailable", "cancelled", ...), then the detail the source or store gave.
  core::error_code error;
  std::string reason;
  std::chrono::nanoseconds elapsed{};
};

class sync_driver {
 public:
  /// Borrows the connection, the source and the options' lifetime-free values.
  sync_driver(hashdb::connection& conn, std::string exchange, source& src, sync_options options);

  /// One batch, as described above. Errors of the batch (a source failure, a bad page) are in
  /// the report; the result is an error only when the store could not be reached to start or
  /// to record the batch (hashdb::errc), or the exchange is not registered.
  [[nodiscard]] core::result<sync_report> run();

  /// Makes a run in progress stop promptly (errc::cancelled in its report), and every later
  /// run stop before its first fetch: for shutdown.
  void cancel() noexcept;

 private:
  hashdb::connection& conn_;
  std::string exchange_;
  source& source_;
  sync_options options_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace hashguard::exchanges
