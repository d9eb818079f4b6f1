// The exchange feedback queue (0016_exchange_feedback): what reviewers decided about content an
// exchange's entry matched, waiting to be sent back to that exchange (NCMEC votes, StopNCII
// feedback). Rows are queued by the database itself when a case reaches confirmed or
// false_positive (a trigger, in the decision's transaction: durable before the reviewer sees the
// answer), one per case entry from an exchange whose `feedback` is on; nothing here enqueues.
//
// Sending (the exchanges module's feedback sender) is claim, send, record:
//   - claim() takes up to `limit` due rows of one exchange (pending, next_attempt_at passed) and
//     moves their next_attempt_at one lease ahead in the same statement (FOR UPDATE SKIP
//     LOCKED), so two nodes never send one row at the same time and a node that dies mid-send
//     leaves the row due again when the lease ends;
//   - sent() marks a row sent; failed() records the error and either schedules the next attempt
//     (the caller's backoff) or, when the caller gives up, marks it failed for good.
// What a row carries is the entry's source id, signal and value with the outcome; never the
// scanned content, which the queue never holds.
// Not thread-safe (one per connection).
#pragma once

#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/errc.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct feedback_item {
  std::int64_t id{};
  std::int64_t case_id{};
  std::string exchange;
  std::string source_id;
  std::string signal;
  std::string value;  ///< the entry's value as hex; "" when the entry was deleted since
  bool positive{};    ///< confirmed (true) or dismissed as a false positive (false)
  int attempts{};     ///< attempts before this one
};

class feedback_store {
 public:
  explicit feedback_store(connection& c) noexcept : conn_(c) {}

  /// Claims up to `limit` (1..1000) due rows of `exchange`, oldest first, leasing them for
  /// `lease`. errc::invalid_argument for a bad limit.
  [[nodiscard]] core::result<std::vector<feedback_item>> claim(std::string_view exchange,
                                                               std::size_t limit,
                                                               std::chrono::seconds lease);
  /// The row was accepted by the exchange.
  [[nodiscard]] core::result<void> sent(std::int64_t id);
  /// The attempt failed with `error` (at most 1024 bytes kept; never a credential: the caller
  /// passes the source's own description). `give_up`: the row is failed for good; otherwise it
  /// is due again after `retry_in`.
  [[nodiscard]] core::result<void> failed(std::int64_t id, std::string_view error,
                                          std::chrono::milliseconds retry_in, bool give_up);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
