// A function run again and again on a thread of its own: the one shape of hashguard's background
// work (API key reloads, snapshot and suppression polls, the purge, the request log's flush,
// the evidence keeper's retries), so that all of it starts, wakes, stops and reports the same
// way.
//
// Timing (fixed delay, not fixed rate: a slow run never queues runs up behind it):
//   - the next run starts `interval` after the previous one ended, or as soon as the thread is
//     free after poke();
//   - pokes coalesce: any number of pokes before the thread gets to them make one run, and a
//     poke during a run makes exactly one more run right after it;
//   - the first run: first_run::synchronous runs the function on the caller's thread inside
//     start(), before the thread exists (the service then starts with what it loaded, and the
//     caller gets the outcome); first_run::after_interval waits one interval (or a poke).
//
// Outcome: each run returns core::result<void>. status() counts runs, successes and failures
// and keeps the time of the last success (system_clock, for /metrics) and the last failure.
// The last error is the error of the most recent failed run and is KEPT after later successes
// (an operator asking "what went wrong last" still gets the answer); consecutive_failures tells
// whether the task is failing now (0 after a success).
//
// Reporting: this library never prints. options::on_failure, when set, is called on the thread
// that ran the function (start()'s caller for a synchronous first run) after each failed run,
// with the task's name and the error, after status() reflects the run; the app logs there.
//
// Thread-safety: poke(), status(), stop_requested() and stop() may be called from any thread;
// start() once, from one thread. stop() must not be called from inside the function (it joins
// the thread running it). The function must not throw (an exception escaping it terminates, as
// on any thread) and should check stop_requested() if one run can take long. The destructor
// stops.
#pragma once

#include "hashguard/core/error.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace hashguard::core {

struct task_status {
  std::uint64_t runs{};  ///< completed runs, successful or not (the synchronous first included)
  std::uint64_t successes{};
  std::uint64_t failures{};
  std::uint64_t consecutive_failures{};  ///< failed runs since the last success; 0: healthy
  error_code last_error;                 ///< the most recent failure's error (kept, see above)
  std::string last_error_message;        ///< its message; empty when it never failed
  std::optional<std::chrono::system_clock::time_point> last_success;
  std::optional<std::chrono::system_clock::time_point> last_failure;
};

class periodic_task {
 public:
  enum class first_run : std::uint8_t { after_interval, synchronous };
  using function = std::function<result<void>()>;
  using failure_hook = std::function<void(std::string_view task, const error_code& error)>;
  struct options {
    std::string name;  ///< for status, logs and metric labels: "keys", "snapshot"...
    std::chrono::milliseconds interval{1000};  ///< between the end of a run and the next
    first_run first{first_run::after_interval};
    failure_hook on_failure;  ///< optional, see above
  };

  /// Does not start anything: start() does.
  periodic_task(options o, function f);
  /// stop().
  ~periodic_task();
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;

  /// Runs the function once on this thread when options::first is synchronous, then starts the
  /// task's thread. Returns that first run's outcome (success when there was none).
  /// Calling it again, or after stop(), starts nothing and returns
  /// boost::system::errc::operation_not_permitted.
  result<void> start();
  /// Asks for a run as soon as the thread is free (see Timing). Does nothing once stopped.
  void poke();
  /// Wakes the thread, waits for a run in progress to end and joins. Idempotent; before
  /// start() it only prevents the start.
  void stop();
  /// True once stop() was called: a long run may end early.
  [[nodiscard]] bool stop_requested() const;

  [[nodiscard]] task_status status() const;
  [[nodiscard]] const std::string& name() const noexcept { return options_.name; }
  [[nodiscard]] std::chrono::milliseconds interval() const noexcept { return options_.interval; }

 private:
  result<void> run_once();
  void loop();

  const options options_;
  const function function_;
  mutable std::mutex mutex_;  // guards everything below but thread_
  std::condition_variable wake_;
  bool started_{false};
  bool stopping_{false};
  bool poked_{false};
  task_status status_;
  std::mutex thread_mutex_;  // guards thread_: start() and concurrent stop() calls
  std::thread thread_;
};

}  // namespace hashguard::core
