// A request-log sink that batches lines in memory and writes them from its own thread, so a
// request costs a memcpy under a mutex rather than a write(2) system call (about a tenth of
// what serving a small request costs otherwise). The price: a crash loses at most the last
// flush interval of log lines. The request log is for operators; match events are recorded
// by hashdb, never through it.
//
// Order: lines reach the descriptor in the order append() accepted them. When the buffer
// reaches max_buffered_bytes, the appending thread writes the batch itself (the writer never
// drops a line and never grows without bound; a slow disk slows requests instead).
//
// Thread-safety: append() and flush() from any thread. The descriptor is not owned.
#pragma once

#include "hashguard/api/server.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace hashguard::api {

class batched_log_writer {
 public:
  struct options {
    int fd{2};                                             ///< stderr by default
    std::chrono::milliseconds flush_interval{100};         ///< the most a line waits
    std::size_t max_buffered_bytes{std::size_t{1} << 20};  ///< then the appender writes
  };
  explicit batched_log_writer(options o);
  /// Stops the flushing thread and writes what is buffered.
  ~batched_log_writer();
  batched_log_writer(const batched_log_writer&) = delete;
  batched_log_writer& operator=(const batched_log_writer&) = delete;

  /// Buffers the line and a newline.
  void append(std::string_view line);
  /// Writes what is buffered now, from the calling thread.
  void flush();
  /// A log_sink that appends here; the writer must outlive its users.
  [[nodiscard]] log_sink sink();

 private:
  void run();
  void write_batch(std::unique_lock<std::mutex>& buffer_lock);

  options opt_;
  std::mutex write_mu_;  // taken before mu_: one batch on the descriptor at a time, in order
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  bool stopping_{false};
  std::thread thread_;
};

}  // namespace hashguard::api
