// Loading the hash lists into a matcher snapshot (DESIGN.md sections 4, 6, 7).
//
// load() puts every enabled, unretired list and its live entries into one immutable
// matcher::snapshot whose version is the catalog version (the largest list version). Sources:
//   - the on-disk snapshot cache, when its catalog version equals the database's;
//   - PostgreSQL otherwise (COPY of hashes), after which the cache is rewritten atomically
//     (temporary file, fsync, rename).
// Cache file (little-endian), written from the built snapshot so that a load is a validated
// read, not a rebuild: a 56-byte header (magic "HGSNAP02", u32 format version 2, u32 section
// count, i64 catalog version, u64 file size, u64 zero, u64 checksum of the section table, u64
// checksum of the header's first 48 bytes), the section table (per section: u64 offset, u64
// size, u64 checksum), then the sections, each at a multiple of 4096: the matcher's image
// (matcher/snapshot_file.hpp: a descriptor with the lists and counts, then the PDQ hashes, entry
// positions and ids, the MIH tables, pHash, digests). Checksums are core::checksum64 (CRC-32C
// lanes, a few GB/s per core; sections are checked in parallel). Loading maps the file
// read-only and the snapshot's tables live in that mapping (no copy, no allocation); every
// field is validated: magic, format version, header checksum, file size, section count and
// placement (aligned, in order, inside the file, zero padding, no trailing bytes), the table's and
// every section's checksum, then everything matcher::snapshot_from_image checks (lists, counts,
// sizes, entry positions, MIH table structure, the MIH layout the current options give). A
// stale cache (another catalog version: the header alone tells, before any checksum) or a
// corrupt one is rebuilt from the database, never trusted. The file is written to a temporary
// name and renamed (no fsync: a torn file fails its checksums and is rebuilt). While the
// database is unreachable, a valid cache is used as it is when `trust_cache_when_offline` (the
// node keeps serving; the report says so). Mapped pages are clean page-cache pages: under memory
// pressure the kernel may drop and re-read them rather than fail.
//
// refresh() polls the catalog version and, when it changed, loads and publishes a new
// snapshot with one swap. One call is one poll: serve runs it as a periodic task (app/
// serve_tasks.cpp), once before it listens, then every interval and after each list change.
//
// Not thread-safe (one loader per thread).
#pragma once

#include "hashguard/hashdb/errc.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

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
  /// Reading the database, or mapping the cache and checking its checksums.
  std::chrono::nanoseconds read_time{};
  /// The matcher's build, or its validation of the cache's image.
  std::chrono::nanoseconds build_time{};
  std::chrono::nanoseconds cache_write_time{};  ///< writing the cache after a database load
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

}  // namespace hashguard::hashdb
