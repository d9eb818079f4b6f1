// The in-memory suppression set: content a reviewer dismissed as a false positive with
// suppression, which POST /v1/scan and POST /v1/match answer `no_match` (DESIGN.md section 3).
// Scanning consults it without touching PostgreSQL.
//
// Source: the decisions feed (decision_feed.hpp, migration 5), the same rows GET /v1/decisions
// serves. A `dismissed` item adds its content, a `confirmed` item removes it (a case confirmed
// after its content was suppressed elsewhere: confirmed content must block again), and so does
// a `reopened` item (a dismissal reopened for review: its suppression ends), applied in
// feed order so that the latest item for a content wins, as the feed's contract says. So every
// node that polls the feed converges on the same set within one poll interval, whichever node
// (or CLI) took the decision.
//
// Keys are the content's SHA-256 (32 bytes). The database keys suppressions by
// coalesce(sha256, pdq, phash, md5, sha1); every event a scan records carries its SHA-256, so
// for scanned content the two agree. Feed items without a SHA-256 (content known only by
// another hash) are skipped: nothing scanned can be looked up by them.
//
// Types:
//   suppression_set        immutable once built: a sorted vector of keys (binary search) and
//                          the feed cursor it reflects. Safe to share between threads.
//   suppression_holder     publishes sets: load() copies the current pointer and publish()
//                          swaps it, each under a lock held only for that pointer operation
//                          (the snapshot_holder pattern and its reason: a mutex, not
//                          std::atomic<std::shared_ptr>, so that every tool sees the edge).
//                          Any number of readers; publishers must be serialised by the caller
//                          (in serve: one periodic task).
//   refresh_suppressions   reads the feed from the published set's cursor up to its end and
//                          publishes the result (one swap, only when something changed). One
//                          call is one poll: serve runs it as a periodic task (app/
//                          serve_tasks.cpp), once before it listens, then every interval; while
//                          the database is unreachable the last published set stays in force
//                          (empty if it never loaded).
#pragma once

#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/decision_feed.hpp"
#include "hashguard/hashdb/errc.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hashguard::hashdb {

/// The SHA-256 of a content's bytes.
using content_key = std::array<std::uint8_t, 32>;

class suppression_set {
 public:
  /// Empty, at the feed's beginning (cursor "").
  suppression_set() = default;

  /// True when `key` is suppressed. O(log n), no allocation.
  [[nodiscard]] bool contains(const content_key& key) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
  [[nodiscard]] bool empty() const noexcept { return keys_.empty(); }
  /// The feed cursor after the last item this set reflects ("" for none).
  [[nodiscard]] const std::string& cursor() const noexcept { return cursor_; }

  /// This set with `items` applied in order (dismissed adds, confirmed and reopened remove; an item
  /// whose sha256 is not 64 hex digits is skipped), at cursor `next`. O(n + m log m) for n keys and
  /// m items; this set is unchanged.
  [[nodiscard]] suppression_set apply(std::span<const content_decision> items,
                                      std::string next) const;

 private:
  std::vector<content_key> keys_;  // sorted, unique
  std::string cursor_;
};

class suppression_holder {
 public:
  suppression_holder() : current_(std::make_shared<const suppression_set>()) {}

  /// The current set (never null; empty before the first load).
  [[nodiscard]] std::shared_ptr<const suppression_set> load() const noexcept {
    const std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  /// Makes `next` current (null is ignored); returns the one it replaced.
  std::shared_ptr<const suppression_set> publish(std::shared_ptr<const suppression_set> next) {
    if (!next) return nullptr;
    const std::lock_guard<std::mutex> lock(mutex_);
    current_.swap(next);
    return next;
  }
  /// Shorthand: load()->contains(key).
  [[nodiscard]] bool contains(const content_key& key) const noexcept {
    return load()->contains(key);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const suppression_set> current_;
};

/// Reads the feed after the holder's cursor to its end (pages of up to 1000) and publishes the
/// set with those items applied; returns how many items were read (0: nothing published).
/// Errors: as decision_feed::since (errc::unavailable, errc::query_failed); the holder is then
/// unchanged, even when some pages had been read (the next call reads them again).
[[nodiscard]] core::result<std::size_t> refresh_suppressions(connection& conn,
                                                             suppression_holder& holder);

/// The same on a connection a poller keeps between polls: opens `conn` from `database_url` first
/// when it is empty (a database that was down at the last try); an open one is reused
/// (guarded() reconnects it after a break). Errors: connection::open's, then as above.
[[nodiscard]] core::result<std::size_t> refresh_suppressions(std::optional<connection>& conn,
                                                             const std::string& database_url,
                                                             suppression_holder& holder);

}  // namespace hashguard::hashdb
