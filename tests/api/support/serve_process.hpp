// Child processes for the api tests that run the real `hashguard serve`: spawn with pipes,
// read a pipe until a marker, start serve and learn its port, stop it with a signal.
// Failures throw std::runtime_error (Catch reports them as the test's failure).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hg_test {

/// A child with its stdout and stderr on pipes (the fds are the parent's read ends).
struct child_process {
  pid_t pid{-1};
  int out{-1};
  int err{-1};
};

/// Starts args[0] with args, the parent's environment plus `extra_env` ("NAME=value").
child_process spawn_process(const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env = {});
/// Reads fd until `needle` shows up, EOF, or the timeout passes; returns what it read.
std::string read_until(int fd, std::string_view needle, std::chrono::milliseconds timeout);
/// Reads fd to EOF.
std::string read_all(int fd);
/// A whole file's bytes.
std::string file_bytes(const std::string& path);

/// `hashguard serve ARGS...` listening on 127.0.0.1 (pass --http-port=0). The constructor waits
/// for its "listening on" line and learns the port. Its stderr (the configuration and one JSON
/// line per request) is drained by a thread, so a busy test never stalls the server on a full
/// pipe. The destructor kills a server that is still running.
class serve_process {
 public:
  explicit serve_process(const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env = {});
  ~serve_process();
  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return child_.pid; }

  /// Sends `sig` (SIGTERM by default) without waiting.
  void signal(int sig) const;
  struct exit_status {
    bool exited{false};  ///< exited normally (not by a signal)
    int code{-1};        ///< its exit code when it did
  };
  /// Waits for the process to end (at most `timeout`, then SIGKILL) and for its pipes to close.
  exit_status wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  /// signal(sig), then wait().
  exit_status stop(int sig, std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  /// Everything the process wrote to stderr so far (all of it after wait()).
  [[nodiscard]] std::string err_text() const;
  /// Its stdout up to and including the "listening on" line.
  [[nodiscard]] const std::string& out_text() const noexcept { return out_; }

 private:
  child_process child_;
  std::uint16_t port_{0};
  std::string out_;
  mutable std::mutex err_mu_;
  std::string err_;
  std::thread drain_;
  bool reaped_{false};
};

}  // namespace hg_test
