// A request-log sink that batches lines in memory and writes them from a periodic task of its
// own (core::periodic_task "log_flush"), so a request costs a memcpy under a mutex rather than
// a write(2) system call (about a tenth of what serving a small request costs otherwise). The
// price: a crash loses at most the last flush interval of log lines. The request log is for
// operators; match events are recorded by hashdb, never through it.
//
// When to write: every flush_interval; sooner when the buffer reaches flush_bytes (the
// appender pokes the task); and when it reaches max_buffered_bytes the appending thread writes
// the batch itself (the writer never drops a line and never grows without bound; a slow disk
// slows requests instead). Order: lines reach the descriptor in the order append() accepted
// them.
//
// Errors: a write that fails (closed or full log) does not stop the service, and the lines of
// that batch are lost. When the task wrote the batch its run counts as failed (task().status(),
// options::on_failure); flush() returns the error; the appender's own write reports nothing.
//
// Thread-safety: append() and flush() from any thread. The descriptor is not owned.
#pragma once

#include "hashguard/api/server.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/core/periodic_task.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

namespace hashguard::api {

class batched_log_writer {
 public:
  struct options {
    int fd{2};                                             ///< stderr by default
    std::chrono::milliseconds flush_interval{100};         ///< the most a line waits
    std::size_t flush_bytes{std::size_t{1} << 20};         ///< then the task writes now
    std::size_t max_buffered_bytes{std::size_t{4} << 20};  ///< then the appender writes
    core::periodic_task::failure_hook on_failure;          ///< a failed flush (optional)
  };
  /// Starts the flushing task.
  explicit batched_log_writer(options o);
  /// Stops the flushing task and writes what is buffered.
  ~batched_log_writer();
  batched_log_writer(const batched_log_writer&) = delete;
  batched_log_writer& operator=(const batched_log_writer&) = delete;

  /// Buffers the line and a newline.
  void append(std::string_view line);
  /// Writes what is buffered now, from the calling thread; the write's error, if any.
  core::result<void> flush();
  /// A log_sink that appends here; the writer must outlive its users.
  [[nodiscard]] log_sink sink();
  /// The flushing task, for its status (metrics).
  [[nodiscard]] const core::periodic_task& task() const noexcept { return task_; }

 private:
  core::result<void> write_batch(std::unique_lock<std::mutex>& buffer_lock);

  options opt_;
  std::mutex write_mu_;  // taken before mu_: one batch on the descriptor at a time, in order
  std::mutex mu_;
  std::string buffer_;
  core::periodic_task task_;  // last: stopped before the buffer goes
};

}  // namespace hashguard::api
