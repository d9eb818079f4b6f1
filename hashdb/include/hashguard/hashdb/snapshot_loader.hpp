// Loading the hash lists into a matcher snapshot (DESIGN.md sections 4, 6, 7).
//
// load() puts every enabled, unretired list and its live entries into one immutable
// matcher::snapshot whose version is the catalog version (the largest list version). Sources:
//   - the on-disk snapshot cache, when its catalog version equals the database's;
//   - PostgreSQL otherwise (COPY of hashes), after which the cache is rewritten atomically
//     (temporary file, fsync, rename).
// Cache file (little-endian): magic "HGSNAP01", u32 format version (1), u32 zero, u64 catalog
// version, u64 list count, u64 entry count, the lists (id, signal, action, dihedral,
// threshold, version, name), the entries (list id, entry id, value bytes by signal), and a
// 64-bit checksum of everything before it. Every field is validated on load (magic, format
// version, counts against the file size, enum values, name lengths, list ids, checksum); a
// corrupt or stale cache is rebuilt from the database, never trusted. While the database is
// unreachable, a valid cache is used as it is when `trust_cache_when_offline` (the node keeps
// serving; the report says so).
//
// refresh() polls the catalog version and, when it changed, loads and publishes a new
// snapshot with one swap; snapshot_refresher does that on its own thread.
//
// Not thread-safe (one loader per loader thread); snapshot_refresher is.
#pragma once

#include "hashguard/hashdb/errc.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace hashguard::hashdb {

struct snapshot_load_options {
  std::string database_url;
  std::filesystem::path cache_file;  ///< empty: no disk cache
  bool trust_cache_when_offline{true};
  matcher::snapshot_options matcher;  ///< kernel, MIH options (version is set by the loader)
};

enum class snapshot_source : std::uint8_t { database, cache, cache_offline };
[[nodiscard]] std::string_view to_string(snapshot_source s) noexcept;

struct snapshot_load_report {
  snapshot_source source{snapshot_source::database};
  std::int64_t catalog_version{};
  std::size_t lists{};
  std::size_t entries{};
  std::chrono::nanoseconds read_time{};   ///< reading the database or the cache
  std::chrono::nanoseconds build_time{};  ///< matcher build
  /// Why the cache was not used: "", "missing", "stale", or the validation failure.
  std::string cache_problem;
  bool cache_written{false};
};

class snapshot_loader {
 public:
  explicit snapshot_loader(snapshot_load_options options) : options_(std::move(options)) {}

  /// Loads a snapshot as described above. errc::unavailable when the database is down and no
  /// usable cache exists; matcher errors (bad entries) pass through.
  [[nodiscard]] core::result<std::shared_ptr<const matcher::snapshot>> load(
      snapshot_load_report* report = nullptr);

  /// Publishes a new snapshot into `holder` when the catalog version differs from the
  /// published one (or nothing is published yet). Returns true when it swapped.
  [[nodiscard]] core::result<bool> refresh(matcher::snapshot_holder& holder,
                                           snapshot_load_report* report = nullptr);

  /// The catalog version in the database.
  [[nodiscard]] core::result<std::int64_t> catalog_version();

 private:
  snapshot_load_options options_;
};

/// Polls every `interval` on its own thread and refreshes `holder` (which must outlive it).
/// The last error and the number of swaps are readable from any thread.
class snapshot_refresher {
 public:
  snapshot_refresher(snapshot_load_options options, matcher::snapshot_holder& holder,
                     std::chrono::milliseconds interval);
  ~snapshot_refresher();
  snapshot_refresher(const snapshot_refresher&) = delete;
  snapshot_refresher& operator=(const snapshot_refresher&) = delete;

  [[nodiscard]] std::uint64_t swaps() const noexcept { return swaps_; }
  [[nodiscard]] core::error_code last_error() const;
  /// Wakes the poller now (e.g. after an admin changed a list through this node).
  void poke();

 private:
  void run();
  snapshot_loader loader_;
  matcher::snapshot_holder& holder_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_{false};
  bool poked_{false};
  core::error_code last_error_;
  std::atomic<std::uint64_t> swaps_{0};
  std::thread thread_;
};

}  // namespace hashguard::hashdb
