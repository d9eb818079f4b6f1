// A connection's watchdog: one Asio timer that, when the armed deadline passes, cancels the
// pending operation on the connection's socket and records that it timed out. It cancels
// instead of closing (as beast::tcp_stream's timeouts would), so a late request can still get
// its 408. Private to the transport (session.cpp arms it around every read and write).
//
// The watchdog is lazy: arming and disarming only move the deadline; the timer itself is
// re-armed only when the new deadline is earlier than the wait already pending, and a wait
// that expires before the current deadline just waits again. Re-arming an Asio timer for
// every read and write (several times per request) costs a timer-queue update, usually a
// timerfd_settime system call, and a cancelled-wait completion; most requests touch the timer
// not at all.
//
// Thread-safety: none; use it on the connection's strand only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace hashguard::api::detail {

class watchdog {
 public:
  using clock = std::chrono::steady_clock;

  explicit watchdog(const boost::asio::any_io_executor& ex) : timer_(ex) {}
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// The socket whose pending operation an expiry cancels. Call once, before the first arm();
  /// the socket must outlive the watchdog's pending wait (the owner of `self` in arm() holds
  /// both).
  void watch(boost::asio::ip::tcp::socket& socket) noexcept { socket_ = &socket; }

  /// Arms the deadline: at `deadline` the socket's pending operation is cancelled and
  /// timed_out() turns true (the operation then completes with an error). Clears timed_out().
  /// `self` keeps the watchdog (and whatever owns it: an aliasing pointer into the connection)
  /// alive while a wait is pending.
  static void arm(const std::shared_ptr<watchdog>& self, clock::time_point deadline);
  /// Disarms the deadline (the pending wait, if any, finds nothing to do when it expires).
  void disarm() noexcept { deadline_ = clock::time_point::max(); }
  /// True when the last armed deadline passed before disarm().
  [[nodiscard]] bool timed_out() const noexcept { return timed_out_; }
  /// Cancels the pending wait for good (the connection is closing).
  void stop() { timer_.cancel(); }

 private:
  static void start_wait(const std::shared_ptr<watchdog>& self, clock::time_point expiry);
  static void on_expiry(const std::shared_ptr<watchdog>& self, std::uint64_t generation,
                        const boost::system::error_code& ec);

  boost::asio::steady_timer timer_;
  boost::asio::ip::tcp::socket* socket_{nullptr};
  std::uint64_t generation_{0};                           // the pending wait's generation
  bool waiting_{false};                                   // a wait is pending on timer_
  clock::time_point wait_expiry_{};                       // ... and expires then
  clock::time_point deadline_{clock::time_point::max()};  // armed deadline; max: disarmed
  bool timed_out_{false};
};

}  // namespace hashguard::api::detail
