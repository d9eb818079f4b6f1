// The one `hashguard serve` of a data directory (issue 15). DATA_DIR/serve.lock carries an
// exclusive flock(2) for as long as the serve that took it runs, and that serve's pid as text.
// A second serve on the same directory refuses to start, naming the pid: two nodes must not
// share a spool, and a serve started while the previous one drains must not attach to the
// embedded PostgreSQL which the old one then stops. Other commands (lists, keys, db...) never
// take it: they attach to the embedded server as before.
//
// The descriptor is closed on exec (PostgreSQL and the tools never inherit the lock), and the
// kernel drops the lock when the process dies, however it dies: no stale lock to clean up.
// Not thread-safe; movable; the lock is held until the object is destroyed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hashguard::app {

class serve_lock {
 public:
  /// Why acquire() failed.
  struct refusal {
    long owner_pid{0};  ///< the serve that holds the lock (0: unknown, or no lock was taken)
    std::string why;    ///< the message to print
  };
  /// Creates the data directory when missing, takes the lock and writes this process's pid.
  [[nodiscard]] static std::optional<serve_lock> acquire(const std::filesystem::path& data_dir,
                                                         refusal& refused);

  serve_lock(serve_lock&& other) noexcept;
  serve_lock& operator=(serve_lock&& other) noexcept;
  serve_lock(const serve_lock&) = delete;
  serve_lock& operator=(const serve_lock&) = delete;
  ~serve_lock();

 private:
  explicit serve_lock(int fd) noexcept : fd_(fd) {}
  int fd_{-1};
};

}  // namespace hashguard::app
