// A fixed set of worker threads fed by a bounded queue: the scan pool (decode, hash, match) and
// the database pool. The queue bound is the server's backpressure: when try_post() refuses a
// job, the server answers 503 with Retry-After instead of queueing without limit.
//
// Thread-safety: every member may be called from any thread. Jobs run in FIFO order on some
// worker; a job that throws is a bug: the exception is swallowed (the job's owner must catch
// and answer; the server's wrappers do).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hashguard::api {

class work_pool {
 public:
  /// threads >= 1 (0 is taken as 1); queue_capacity = jobs that may wait (>= 1).
  work_pool(std::string name, unsigned threads, std::size_t queue_capacity);
  ~work_pool();  // shutdown()
  work_pool(const work_pool&) = delete;
  work_pool& operator=(const work_pool&) = delete;

  /// Queues a job; false when the queue is full or the pool is shut down.
  [[nodiscard]] bool try_post(std::function<void()> job);
  /// Stops accepting jobs, runs the ones already queued, joins the threads. Idempotent.
  void shutdown();

  [[nodiscard]] std::size_t queued() const;   ///< jobs waiting (not running)
  [[nodiscard]] std::size_t running() const;  ///< jobs running now
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] unsigned threads() const noexcept { return thread_count_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  void work();
  std::string name_;
  unsigned thread_count_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_{0};
  bool stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace hashguard::api
