// A fixed set of worker threads fed by a bounded queue: the scan pool (decode, hash, match) and
// the database pool. The queue bound is the server's backpressure: when try_post() refuses a
// job, the server answers 503 with Retry-After instead of queueing without limit.
//
// Cancelling: cancel() raises a flag that long jobs may poll (a scan's budget does, through
// current_cancel_flag()), so a server past its drain deadline does not wait for work whose
// answers nobody will read. Queued jobs still run (and see the flag at once).
//
// Thread-safety: every member may be called from any thread. Jobs run in FIFO order on some
// worker; a job that throws is a bug: the exception is swallowed (the job's owner must catch
// and answer; the server's wrappers do).
#pragma once

#include <atomic>
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
  /// Raises the cancel flag (never lowered again). Idempotent.
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  /// The flag cancel() raises; it lives as long as the pool.
  [[nodiscard]] const std::atomic<bool>& cancel_flag() const noexcept { return cancelled_; }
  /// The cancel flag of the pool whose worker thread calls this; nullptr on any other thread.
  [[nodiscard]] static const std::atomic<bool>* current_cancel_flag() noexcept;

  [[nodiscard]] std::size_t queued() const;   ///< jobs waiting (not running)
  [[nodiscard]] std::size_t running() const;  ///< jobs running now
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] unsigned threads() const noexcept { return thread_count_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// True when the calling thread is one of this pool's workers (handlers can assert where
  /// they run; the server's tests check that I/O threads never run pool work).
  [[nodiscard]] bool runs_on_this_thread() const noexcept;

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
  std::atomic<bool> cancelled_{false};
  std::vector<std::thread> threads_;
};

}  // namespace hashguard::api
