// Child processes for the tests and benchmarks that run the real `hashguard serve` (tests/api,
// tests/system, benchmarks/load_fixture): spawn with pipes, learn serve's port from its
// "listening on" line, keep everything it writes (or send stderr to a file, for long runs),
// signal it (SIGTERM, SIGINT, SIGKILL), limit its file sizes, reap it.
//
// The environment a child gets is the parent's without any HG_* variable, plus the `extra_env`
// a test passes ("NAME=value"): what configures serve is what the test says, never what the
// shell running the tests happens to export.
//
// Failures to start throw std::runtime_error (Catch reports them as the test's failure).
// Not thread-safe: one test thread drives a serve_process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
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

/// Starts args[0] with args (see above for its environment). With `err_file`, the child's
/// stderr goes to that file (created or truncated) and `err` is -1.
child_process spawn_process(const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env = {},
                            const std::string& err_file = {});
/// Reads fd until `needle` shows up, EOF, or the timeout passes; returns what it read.
std::string read_until(int fd, std::string_view needle, std::chrono::milliseconds timeout);
/// Reads fd to EOF.
std::string read_all(int fd);
/// A whole file's bytes (throws when it cannot be read).
std::string file_bytes(const std::string& path);

/// The hashguard binary the tests run (this build's).
std::string hashguard_bin();
/// {hashguard_bin(), "serve", "--http-port=0", flags...}.
std::vector<std::string> serve_command(const std::vector<std::string>& flags);

/// One `hashguard serve` child listening on 127.0.0.1 (give it --http-port=0: serve_command
/// does). The constructor waits for its "listening on" line (on stdout) and learns the port.
/// A thread keeps reading its stdout and stderr (the configuration, one JSON line per request)
/// into memory, so a chatty server never stalls on a full pipe, and a file-size limit set on
/// the child cannot cut its log. The destructor kills (SIGKILL) a server still running.
class serve_process {
 public:
  /// `argv`: the whole command line (serve_command(flags), or a test's own). `err_file`: send
  /// stderr there instead of memory (a benchmark's millions of request-log lines); err_text()
  /// is then empty. `start_timeout`: how long the "listening on" line may take (a snapshot of
  /// millions of hashes loads first).
  explicit serve_process(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {},
                         const std::string& err_file = {},
                         std::chrono::seconds start_timeout = std::chrono::seconds(120));
  ~serve_process();
  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  struct exit_status {
    bool exited{false};  ///< exited normally (not by a signal)
    int code{-1};        ///< its exit code when it did
    int signal{0};       ///< the signal that ended it otherwise
  };
  /// True while the process runs (reaps it when it has ended).
  [[nodiscard]] bool alive();
  /// Sends `sig` without waiting (nothing once it is reaped).
  void signal(int sig) const;
  /// Waits for the process to end (at most `timeout`, then SIGKILL) and for its pipes to close.
  exit_status wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  /// signal(sig), then wait().
  exit_status stop(int sig, std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  /// Sets the running process's soft RLIMIT_FSIZE (prlimit(2)); nullopt lifts it to the hard
  /// limit. Past it, a write that would grow a file fails with EFBIG (a full disk, as far as
  /// the process can tell). False when prlimit fails.
  [[nodiscard]] bool limit_file_size(std::optional<std::uint64_t> bytes) const;

  /// Everything the process wrote to stderr so far: all that is in the pipe when this is
  /// called is included, so whatever it wrote before something the test observed is there.
  [[nodiscard]] std::string err_text() const;
  /// Likewise for its stdout.
  [[nodiscard]] std::string out_text() const;

 private:
  // Reads what fd `which` (0 stdout, 1 stderr) has now into its buffer; mu_ held.
  void pump_locked(int which) const;
  void drain();   // the reader thread
  void finish();  // joins the reader, closes the pipes

  pid_t pid_{-1};
  std::uint16_t port_{0};
  bool reaped_{false};
  int wait_status_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  int fd_[2]{-1, -1};
  mutable bool eof_[2]{false, false};
  mutable std::string text_[2];
  std::thread reader_;
};

}  // namespace hg_test
