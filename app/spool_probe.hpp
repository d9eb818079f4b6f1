// Whether the event spool can take records now, for /readyz (DESIGN.md section 5: ready =
// snapshot loaded and spool writable). A directory that is writable by its permissions can
// still be full (ENOSPC) or past the process's file-size limit (EFBIG): the probe writes and
// syncs `bytes` into a probe file beside the spool, then removes it. The answer is kept for
// `interval`, so readiness polls cost one small write per interval at most.
//
// Thread-safe: writable() may be called from any thread (one probe runs at a time).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>

namespace hashguard::app {

class spool_probe {
 public:
  spool_probe(std::filesystem::path spool_dir, std::size_t bytes,
              std::chrono::milliseconds interval);
  /// True when the last probe (at most `interval` old) could write and sync its bytes.
  [[nodiscard]] bool writable();

 private:
  bool probe() const;
  std::filesystem::path dir_;
  std::size_t bytes_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point checked_{};
  bool ok_{false};
  bool checked_once_{false};
};

}  // namespace hashguard::app
