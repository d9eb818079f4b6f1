#include "hashguard/scanner/budget.hpp"

#include <ctime>

namespace hashguard::scanner {

scan_budget::scan_budget(std::chrono::nanoseconds limit, const std::atomic<bool>* stop) noexcept
    : start_(thread_cpu_time()), limit_(limit), stop_(stop), limited_(true) {}

std::chrono::nanoseconds scan_budget::thread_cpu_time() noexcept {
  timespec ts{};
  // Cannot fail for the calling thread's own clock on Linux; a zero reading would only make
  // the budget look unspent.
  (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

std::chrono::nanoseconds scan_budget::used() const noexcept {
  return thread_cpu_time() - start_;
}

errc scan_budget::check() noexcept {
  if (failure_ != errc{}) return failure_;
  if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) {
    failure_ = errc::scan_cancelled;
  } else if (limited_ && used() >= limit_) {
    failure_ = errc::scan_budget_exceeded;
  }
  return failure_;
}

errc scan_budget::tick(std::uint32_t stride) noexcept {
  if (countdown_ > 0) {
    --countdown_;
    return failure_;
  }
  countdown_ = stride > 0 ? stride - 1 : 0;
  return check();
}

}  // namespace hashguard::scanner
