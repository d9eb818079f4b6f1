// The local spool: an append-only file of match events waiting for the database
// (DESIGN.md section 3 step 4: "past the commit deadline, or while the database is down, a
// local fsync'd spool, drained later in order, never dropped").
//
// File format: the 8-byte magic "HGSPOOL1", then records, each
//   u32 little-endian payload length | u32 little-endian CRC-32 (IEEE) of the payload | payload
// append() returns only after the record reached the disk (fdatasync). A record cut short by
// a crash (never acknowledged) is cut off when the spool is opened; a complete record whose
// checksum fails is reported as errc::spool_corrupt and never replayed silently.
//
// Thread-safe: appends and reads may come from any thread.
#pragma once

#include "hashguard/hashdb/errc.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

class spool {
 public:
  static constexpr std::uint64_t header_size = 8;

  /// Opens (creating it with its magic when missing) and cuts off a torn final record.
  /// errc::io_error when it cannot; errc::spool_corrupt when the magic is wrong.
  [[nodiscard]] static core::result<std::unique_ptr<spool>> open(std::filesystem::path file);
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  /// Appends one record and syncs it to disk.
  [[nodiscard]] core::result<void> append(std::string_view payload);

  struct chunk {
    std::vector<std::string> records;  ///< in append order
    std::uint64_t end{};               ///< offset just past the last record returned
  };
  /// Complete records from `offset` (a record boundary, header_size for the start), at most
  /// `max_records`. errc::spool_corrupt at a record that fails its checksum.
  [[nodiscard]] core::result<chunk> read(std::uint64_t offset, std::size_t max_records) const;

  /// Empties the spool if nothing was appended past `end` (the replayer read everything up to
  /// there). Returns true when it emptied it.
  [[nodiscard]] core::result<bool> truncate_if_end(std::uint64_t end);

  /// Current file size in bytes (header_size when empty).
  [[nodiscard]] std::uint64_t size() const;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  spool(std::filesystem::path path, int fd, std::uint64_t size);
  std::filesystem::path path_;
  int fd_;
  std::uint64_t size_;
  mutable std::mutex mutex_;
};

}  // namespace hashguard::hashdb
