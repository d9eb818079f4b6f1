#include "hashguard/api/log_writer.hpp"

#include <unistd.h>

#include <cerrno>

namespace hashguard::api {
namespace {

void write_all(int fd, const std::string& data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed or full log must not stop the service
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

batched_log_writer::batched_log_writer(options o) : opt_(o) {
  buffer_.reserve(opt_.max_buffered_bytes);
  thread_ = std::thread([this] { run(); });
}

batched_log_writer::~batched_log_writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  flush();
}

void batched_log_writer::append(std::string_view line) {
  std::unique_lock lock(mu_);
  buffer_.append(line);
  buffer_.push_back('\n');
  if (buffer_.size() < opt_.max_buffered_bytes) return;
  // Full: this thread writes. write_mu_ comes first in the lock order, so let go and retake.
  lock.unlock();
  std::lock_guard write_lock(write_mu_);
  lock.lock();
  write_batch(lock);
}

void batched_log_writer::flush() {
  std::lock_guard write_lock(write_mu_);
  std::unique_lock lock(mu_);
  write_batch(lock);
}

// Called with write_mu_ and mu_ held; returns with mu_ held again.
void batched_log_writer::write_batch(std::unique_lock<std::mutex>& buffer_lock) {
  if (buffer_.empty()) return;
  std::string batch;
  batch.reserve(opt_.max_buffered_bytes);
  batch.swap(buffer_);
  buffer_lock.unlock();
  write_all(opt_.fd, batch);
  buffer_lock.lock();
}

void batched_log_writer::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, opt_.flush_interval, [this] { return stopping_; });
    if (stopping_ || buffer_.empty()) continue;
    lock.unlock();
    flush();
    lock.lock();
  }
}

log_sink batched_log_writer::sink() {
  return [this](std::string_view line) { append(line); };
}

}  // namespace hashguard::api
