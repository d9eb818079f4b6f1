#include "hashguard/core/periodic_task.hpp"

#include <boost/system/errc.hpp>

namespace hashguard::core {

periodic_task::periodic_task(options o, function f)
    : options_(std::move(o)), function_(std::move(f)) {}

periodic_task::~periodic_task() {
  stop();
}

result<void> periodic_task::start() {
  {
    const std::lock_guard lock(mutex_);
    if (started_ || stopping_) {
      return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
    }
    started_ = true;
  }
  result<void> first;
  if (options_.first == first_run::synchronous) first = run_once();
  // Held while the thread is created, so that a concurrent stop() joins the thread it made.
  const std::lock_guard thread_lock(thread_mutex_);
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return first;
  }
  thread_ = std::thread([this] { loop(); });
  return first;
}

void periodic_task::poke() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return;
    poked_ = true;
  }
  wake_.notify_all();
}

void periodic_task::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  const std::lock_guard thread_lock(thread_mutex_);
  if (thread_.joinable()) thread_.join();
}

bool periodic_task::stop_requested() const {
  const std::lock_guard lock(mutex_);
  return stopping_;
}

task_status periodic_task::status() const {
  const std::lock_guard lock(mutex_);
  return status_;
}

result<void> periodic_task::run_once() {
  auto outcome = function_();
  const auto now = std::chrono::system_clock::now();
  {
    const std::lock_guard lock(mutex_);
    ++status_.runs;
    if (outcome) {
      ++status_.successes;
      status_.consecutive_failures = 0;
      status_.last_success = now;
    } else {
      ++status_.failures;
      ++status_.consecutive_failures;
      status_.last_error = outcome.error();
      status_.last_error_message = error_message(outcome.error());
      status_.last_failure = now;
    }
  }
  if (!outcome && options_.on_failure) options_.on_failure(options_.name, outcome.error());
  return outcome;
}

void periodic_task::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || poked_; });
    if (stopping_) return;
    // Cleared before the run: a poke that arrives during the run makes one more run after it.
    poked_ = false;
    lock.unlock();
    (void)run_once();
    lock.lock();
  }
}

}  // namespace hashguard::core
