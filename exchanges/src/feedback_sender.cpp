#include "hashguard/exchanges/feedback_sender.hpp"

#include "hashguard/hashdb/feedback_store.hpp"

#include <algorithm>
#include <random>
#include <string>

namespace hashguard::exchanges {

std::chrono::milliseconds feedback_backoff(const feedback_options& o, int attempts,
                                           double unit) noexcept {
  const auto cap = std::max<std::int64_t>(o.max_delay.count(), 1);
  std::int64_t d = std::max<std::int64_t>(o.base_delay.count(), 1);
  for (int i = 1; i < attempts && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  // Jitter: nodes that failed together do not retry together.
  const double share = 0.5 + 0.5 * std::clamp(unit, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(d) * share));
}

core::result<feedback_report> send_due_feedback(hashdb::connection& c, std::string_view exchange,
                                                source& src, const feedback_options& o) {
  hashdb::feedback_store store(c);
  auto due = store.claim(exchange, o.batch, o.lease);
  if (!due) return due.error();
  feedback_report report;
  std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const auto& item : *due) {
    feedback f;
    f.source_id = item.source_id;
    f.signal = item.signal;
    f.value = item.value;
    f.positive = item.positive;
    auto sent = src.send_feedback(f);
    if (sent) {
      if (auto r = store.sent(item.id); !r) return r.error();
      ++report.sent;
      continue;
    }
    std::string why = core::error_message(sent.error());
    if (const auto detail = src.last_error_detail(); !detail.empty()) why += ": " + detail;
    const int attempts = item.attempts + 1;
    const bool give_up = attempts >= o.max_attempts || sent.error() == errc::unsupported;
    if (auto r = store.failed(item.id, why, feedback_backoff(o, attempts, unit(rng)), give_up);
        !r) {
      return r.error();
    }
    ++(give_up ? report.failed : report.retrying);
  }
  return report;
}

}  // namespace hashguard::exchanges
