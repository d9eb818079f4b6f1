// The in-flight body budget (http.body_budget_bytes): bytes of request bodies held in memory
// across all connections, against one total, so that 1,024 connections x 32 MiB cannot pin
// 32 GiB. A request reserves its Content-Length before the first byte of its body is read (a
// chunked one grows its reservation as its body's buffer grows) and gives it back when the
// request is finished: answered, or its connection closed. A request that cannot reserve is
// answered 503 overloaded with Retry-After (session.cpp), before its body is read or, for a
// chunked body, as soon as it outgrows what is left. Private to the transport.
//
// Thread-safety: a body_budget is shared by every I/O thread (one atomic counter); a
// body_reservation belongs to one session.
#pragma once

#include <atomic>
#include <cstdint>

namespace hashguard::api::detail {

class body_budget {
 public:
  explicit body_budget(std::uint64_t total) noexcept : total_(total) {}

  /// Takes `bytes`; false, taking nothing, when fewer are left.
  [[nodiscard]] bool try_take(std::uint64_t bytes) noexcept {
    std::uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > total_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void give_back(std::uint64_t bytes) noexcept {
    used_.fetch_sub(bytes, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t in_use() const noexcept {
    return used_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }

 private:
  std::uint64_t total_;
  std::atomic<std::uint64_t> used_{0};
};

/// One request's share of the budget; everything it holds goes back when it is destroyed.
class body_reservation {
 public:
  explicit body_reservation(body_budget* budget) noexcept : budget_(budget) {}
  ~body_reservation() { release(); }
  body_reservation(const body_reservation&) = delete;
  body_reservation& operator=(const body_reservation&) = delete;

  /// Holds at least `bytes` in all; false (still holding what it held) when the budget cannot
  /// give the difference. Always true without a budget.
  [[nodiscard]] bool hold(std::uint64_t bytes) noexcept {
    if (budget_ == nullptr || bytes <= held_) return true;
    if (!budget_->try_take(bytes - held_)) return false;
    held_ = bytes;
    return true;
  }
  void release() noexcept {
    if (budget_ != nullptr && held_ > 0) budget_->give_back(held_);
    held_ = 0;
  }
  [[nodiscard]] std::uint64_t held() const noexcept { return held_; }

 private:
  body_budget* budget_;
  std::uint64_t held_{0};
};

}  // namespace hashguard::api::detail
