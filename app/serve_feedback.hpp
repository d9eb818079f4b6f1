// hashguard serve's exchange feedback: for every exchange whose `feedback` is on and whose
// source takes feedback (NCMEC votes, StopNCII feedback), a periodic task "exchange.NAME.feedback"
// every exchanges.feedback_interval_s that sends the outcomes queued for it
// (exchanges::send_due_feedback), with a source and a database connection of its own. An
// exchange with feedback on whose source cannot take it (a kind without feedback, StopNCII
// without its feedback key) is refused at start, so `feedback = on` never silently does nothing.
// Lifetime: the destructor stops the tasks (a send in progress finishes first).
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/core/periodic_task.hpp"
#include "hashguard/exchanges/registry.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace hashguard::app {

class serve_tasks;

class serve_feedback {
 public:
  /// Starts a task per feedback exchange of `configs` (none: an empty object). nullptr with
  /// `problem` set when one cannot be made.
  [[nodiscard]] static std::unique_ptr<serve_feedback> start(
      const std::vector<exchanges::exchange_config>& configs, const std::string& database_url,
      std::chrono::seconds interval, serve_tasks& tasks, std::string& problem);
  ~serve_feedback();
  serve_feedback(const serve_feedback&) = delete;
  serve_feedback& operator=(const serve_feedback&) = delete;

  struct sender;

 private:
  serve_feedback() = default;
  std::vector<std::unique_ptr<sender>> senders_;
};

}  // namespace hashguard::app
