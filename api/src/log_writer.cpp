#include "hashguard/api/log_writer.hpp"

#include <unistd.h>

#include <cerrno>

namespace hashguard::api {
namespace {

// The error of the write that failed; a short write that makes no progress counts as one.
core::result<void> write_all(int fd, const std::string& data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::error_code(errno, boost::system::system_category());
    if (n == 0) return core::error_code(EIO, boost::system::system_category());
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

batched_log_writer::batched_log_writer(options o)
    : opt_(std::move(o)),
      task_({"log_flush", opt_.flush_interval, core::periodic_task::first_run::after_interval,
             opt_.on_failure},
            [this] { return flush(); }) {
  buffer_.reserve(opt_.flush_bytes);
  (void)task_.start();  // no synchronous run: cannot fail
}

batched_log_writer::~batched_log_writer() {
  task_.stop();
  (void)flush();
}

void batched_log_writer::append(std::string_view line) {
  std::unique_lock lock(mu_);
  const std::size_t before = buffer_.size();
  buffer_.append(line);
  buffer_.push_back('\n');
  if (buffer_.size() < opt_.max_buffered_bytes) {
    const bool crossed = before < opt_.flush_bytes && buffer_.size() >= opt_.flush_bytes;
    lock.unlock();
    // Once per crossing: the task takes the whole buffer, so the next crossing is a new batch.
    if (crossed) task_.poke();
    return;
  }
  // Full: this thread writes. write_mu_ comes first in the lock order, so let go and retake.
  lock.unlock();
  std::lock_guard write_lock(write_mu_);
  lock.lock();
  (void)write_batch(lock);  // a failed write must not fail the request (header: Errors)
}

core::result<void> batched_log_writer::flush() {
  std::lock_guard write_lock(write_mu_);
  std::unique_lock lock(mu_);
  return write_batch(lock);
}

// Called with write_mu_ and mu_ held; returns with mu_ held again.
core::result<void> batched_log_writer::write_batch(std::unique_lock<std::mutex>& buffer_lock) {
  if (buffer_.empty()) return {};
  std::string batch;
  batch.reserve(opt_.flush_bytes);
  batch.swap(buffer_);
  buffer_lock.unlock();
  auto written = write_all(opt_.fd, batch);
  buffer_lock.lock();
  return written;
}

log_sink batched_log_writer::sink() {
  return [this](std::string_view line) { append(line); };
}

}  // namespace hashguard::api
