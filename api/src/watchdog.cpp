#include "watchdog.hpp"

namespace hashguard::api::detail {

void watchdog::on_expiry(const std::shared_ptr<watchdog>& self, std::uint64_t generation,
                         const boost::system::error_code& ec) {
  if (self->generation_ != generation) return;  // superseded by a wait for an earlier expiry
  self->waiting_ = false;
  if (ec || self->deadline_ == clock::time_point::max()) return;  // cancelled, or disarmed
  if (clock::now() < self->deadline_) {
    start_wait(self, self->deadline_);  // the deadline moved on since this wait began
    return;
  }
  self->timed_out_ = true;
  boost::system::error_code ignored;
  if (self->socket_ != nullptr) self->socket_->cancel(ignored);
}

void watchdog::start_wait(const std::shared_ptr<watchdog>& self, clock::time_point expiry) {
  const std::uint64_t generation = ++self->generation_;
  self->waiting_ = true;
  self->wait_expiry_ = expiry;
  self->timer_.expires_at(expiry);  // cancels a pending wait; its completion sees a stale gen
  self->timer_.async_wait(
      [self, generation](const boost::system::error_code& ec) { on_expiry(self, generation, ec); });
}

void watchdog::arm(const std::shared_ptr<watchdog>& self, clock::time_point deadline) {
  self->timed_out_ = false;
  self->deadline_ = deadline;
  if (!self->waiting_ || deadline < self->wait_expiry_) start_wait(self, deadline);
}

}  // namespace hashguard::api::detail
