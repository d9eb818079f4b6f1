// The local spool: an append-only file of match events waiting for the database
// (DESIGN.md section 3 step 4: "past the commit deadline, or while the database is down, a
// local fsync'd spool, drained later in order, never dropped").
//
// File format: the 8-byte magic "HGSPOOL1", then records, each
//   u32 little-endian payload length | u32 little-endian CRC-32 (IEEE) of the payload | payload
//
// The promise: a record append() acknowledged is read back exactly once (until the reader
// empties the spool with truncate_if_end), whatever fails around it.
//   - append() writes the frame at the tracked end and returns only after fdatasync. When the
//     write or the sync fails, the frame is cut off again (ftruncate back to the tracked end,
//     synced) and the caller hears errc::io_error: no unacknowledged bytes stay between
//     acknowledged records. If even that cut fails, the file's state is unknown: the spool marks
//     itself unwritable (writable() false; every later append() is errc::io_error at once,
//     reads still work) until the process opens it again.
//   - open() checks every record's length and CRC. Bad bytes with no valid record after them
//     are a torn tail (a crash mid-append, never acknowledged) and are cut off. Bad bytes with
//     valid records after them (corruption in the middle) are moved to the quarantine file and
//     the valid records all kept: the file is rewritten without them (temporary file, fsync,
//     rename, directory fsync), so a crash leaves either the old or the new file.
//   - read() that meets a record failing its checksum (the disk changed a record after open)
//     copies the bad bytes to the quarantine file and goes on with the next valid record, in
//     the same call; the records before and after the bad one are returned. The live file is
//     never renamed, so appends running meanwhile are unaffected.
//   Finding "the next valid record" after bad bytes: first the bad frame's own length when it is
//   sane and leads to a valid frame (or exactly to the end); otherwise a byte-by-byte scan for
//   the first offset holding a frame whose length fits and whose CRC matches. A JSON payload
//   cannot fake one: a length below 64 MiB has a zero top byte, and JSON text holds no NUL.
//
// Side files, beside the spool, all created 0600 and synced (directory too, on creation):
//   <spool>.corrupt   bad bytes set aside by open() and read(), appended as found;
//   <spool>.rejected  records the database refused for good (reject()), one per line.
// A spool directory that open() creates is made 0700 (the files hold zones, URLs and content
// hashes); an existing directory keeps the mode its operator gave it.
//
// Every write, sync, truncate, rename and directory sync goes through spool_file_ops (the real
// system calls by default), so tests can make any of them fail.
//
// Thread-safe: appends, reads, rejects and truncation may come from any thread.
#pragma once

#include "hashguard/hashdb/errc.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

/// The file operations the spool's durability depends on, with the system calls' contracts
/// (-1 and errno on failure). Defaults call the system.
struct spool_file_ops {
  std::function<ssize_t(int fd, const void* data, std::size_t n, off_t offset)> pwrite;
  std::function<int(int fd)> fdatasync;
  std::function<int(int fd, off_t length)> ftruncate;
  std::function<int(const std::filesystem::path& from, const std::filesystem::path& to)> rename;
  /// Makes a directory's entries (a created or renamed file) durable.
  std::function<int(const std::filesystem::path& dir)> fsync_dir;

  /// The real system calls.
  static spool_file_ops system();
};

struct spool_options {
  spool_file_ops ops = spool_file_ops::system();
};

class spool {
 public:
  static constexpr std::uint64_t header_size = 8;

  /// Opens (creating it with its magic when missing), cuts off a torn tail and quarantines bad
  /// bytes between valid records (see above). errc::io_error when it cannot;
  /// errc::spool_corrupt when the magic is wrong.
  [[nodiscard]] static core::result<std::unique_ptr<spool>> open(std::filesystem::path file,
                                                                 spool_options options = {});
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  /// Appends one record and syncs it to disk. errc::io_error when it did not (nothing of it
  /// stays in the file), errc::invalid_argument for a payload over 64 MiB.
  [[nodiscard]] core::result<void> append(std::string_view payload);

  struct chunk {
    std::vector<std::string> records;  ///< in append order
    std::uint64_t end{};               ///< offset just past the last record (or bad bytes) read
  };
  /// Complete records from `offset` (a record boundary, header_size for the start), at most
  /// `max_records`; bad records on the way are quarantined and skipped. errc::io_error when
  /// the file cannot be read or the bad bytes cannot be set aside (nothing is skipped then).
  [[nodiscard]] core::result<chunk> read(std::uint64_t offset, std::size_t max_records);

  /// Empties the spool if nothing was appended past `end` (the replayer read everything up to
  /// there). Returns true when it emptied it (a failed sync after the cut still counts: at worst
  /// a crash replays records again, which the database takes idempotently).
  [[nodiscard]] core::result<bool> truncate_if_end(std::uint64_t end);

  /// Appends `record` and a newline to <spool>.rejected and syncs it.
  [[nodiscard]] core::result<void> reject(std::string_view record);

  /// Current file size in bytes (header_size when empty).
  [[nodiscard]] std::uint64_t size() const;
  /// False once an append failed and could not be cut off again (see above).
  [[nodiscard]] bool writable() const;
  /// Bytes moved to <spool>.corrupt by this object (at open and since).
  [[nodiscard]] std::uint64_t quarantined_bytes() const;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  spool(std::filesystem::path path, spool_options options, int fd, std::uint64_t size);
  // Appends `bytes` to the side file `<spool><suffix>` (0600), synced. Caller holds mutex_.
  core::result<void> append_side(const char* suffix, std::string_view bytes);
  std::filesystem::path path_;
  spool_options options_;
  int fd_;
  std::uint64_t size_;
  bool writable_{true};
  std::uint64_t quarantined_{0};
  mutable std::mutex mutex_;
};

}  // namespace hashguard::hashdb
