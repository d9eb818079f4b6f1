// Sending reviewers' outcomes back to an exchange (issue 18, README "Exchanges: feedback"): the
// rows hashdb::feedback_store holds for one exchange go out through its source's
// send_feedback() (NCMEC: a vote on the fingerprint; StopNCII: Blocked / NotBlocked on the hash),
// one at a time, each outcome recorded before the next: sent, or failed with the source's error
// and retried after a capped exponential backoff with jitter, until max_attempts (then failed
// for good, shown on the case). What goes out is the entry's source id, signal and value and
// whether the match was confirmed: never the scanned content (the queue never holds it).
//
// serve runs send_due_feedback() from a core::periodic_task per exchange whose `feedback` is on,
// with a source of its own (the sync's source is its sync's alone). Several nodes may run it:
// claims are leased, so one row is sent by one node at a time.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/hashdb/database.hpp"

#include <chrono>
#include <cstddef>
#include <string_view>

namespace hashguard::exchanges {

struct feedback_options {
  std::size_t batch{50};                           ///< rows claimed per call
  std::chrono::seconds lease{300};                 ///< a claimed row is due again after this
  std::chrono::milliseconds base_delay{30'000};    ///< the first retry's backoff, before jitter
  std::chrono::milliseconds max_delay{3'600'000};  ///< cap of one backoff
  int max_attempts{12};                            ///< then the row is failed for good
};

struct feedback_report {
  std::size_t sent{};
  std::size_t retrying{};  ///< failed this time, due again later
  std::size_t failed{};    ///< failed for good (max_attempts)
};

/// The backoff before attempt `attempts` + 1 (attempts >= 1 made so far): base * 2^(attempts-1)
/// capped at max_delay, then a uniform jitter in [half, all] of it (`unit` in [0, 1)).
[[nodiscard]] std::chrono::milliseconds feedback_backoff(const feedback_options& o, int attempts,
                                                         double unit) noexcept;

/// Sends the due feedback of `exchange` through `src`. Errors: the database's (nothing more is
/// claimed); a source failure is recorded on its row, not returned. A run with failures still
/// returns its report (report.retrying / failed).
[[nodiscard]] core::result<feedback_report> send_due_feedback(hashdb::connection& c,
                                                              std::string_view exchange,
                                                              source& src,
                                                              const feedback_options& o = {});

}  // namespace hashguard::exchanges
