#include "hashguard/api/work_pool.hpp"

namespace hashguard::api {
namespace {
thread_local const work_pool* current_pool = nullptr;
}  // namespace

bool work_pool::runs_on_this_thread() const noexcept {
  return current_pool == this;
}

const std::atomic<bool>* work_pool::current_cancel_flag() noexcept {
  return current_pool != nullptr ? &current_pool->cancelled_ : nullptr;
}

work_pool::work_pool(std::string name, unsigned threads, std::size_t queue_capacity)
    : name_(std::move(name)),
      thread_count_(threads == 0 ? 1 : threads),
      capacity_(queue_capacity == 0 ? 1 : queue_capacity) {
  threads_.reserve(thread_count_);
  for (unsigned i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { work(); });
}

work_pool::~work_pool() {
  shutdown();
}

bool work_pool::try_post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void work_pool::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  std::vector<std::thread> joining;
  {
    std::lock_guard lock(mu_);
    joining.swap(threads_);
  }
  for (auto& t : joining) {
    if (t.joinable()) t.join();
  }
}

std::size_t work_pool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t work_pool::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

void work_pool::work() {
  current_pool = this;
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    try {
      job();
    } catch (...) {  // NOLINT(bugprone-empty-catch): documented; owners catch their own
    }
    std::lock_guard lock(mu_);
    --running_;
  }
}

}  // namespace hashguard::api
