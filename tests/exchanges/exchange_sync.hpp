// What the exchange clients' tests share: a source's pages applied the way the sync driver
// applies them (upsert, delete, a restart's sweep), so a test compares a sync with the fake's
// seeded set; and the retry policy that keeps retries in milliseconds.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hg_exchange_test {

using key = std::pair<std::string, std::string>;  // source_id, signal
/// source_id, signal -> value
using state = std::map<key, std::string>;

struct sync_run {
  std::vector<std::string> checkpoints;  ///< after each page, in order
  std::vector<hashguard::exchanges::page> pages;
  std::string last;  ///< the final checkpoint
};

/// Applies one page to `s` (a restart page begins a sweep tracked in `seen`).
inline void apply_page(state& s, const hashguard::exchanges::page& p,
                       std::set<key>* seen = nullptr) {
  for (const auto& e : p.entries) {
    const key k{e.source_id, e.signal};
    if (seen != nullptr) seen->insert(k);
    if (e.deleted) {
      s.erase(k);
    } else {
      s[k] = e.value;
    }
  }
}

/// Fetches from `checkpoint` until a page says no more (at most `max_pages`), applying each.
inline hashguard::core::result<sync_run> sync(hashguard::exchanges::source& src, state& s,
                                              std::string checkpoint, int max_pages = 1000) {
  sync_run run;
  for (int i = 0; i < max_pages; ++i) {
    auto p = src.fetch(checkpoint);
    if (!p) return p.error();
    apply_page(s, *p);
    checkpoint = p->checkpoint;
    run.checkpoints.push_back(checkpoint);
    const bool more = p->more;
    run.pages.push_back(std::move(*p));
    if (!more) break;
  }
  run.last = checkpoint;
  return run;
}

/// Seconds since the epoch now.
inline std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Fetches from "" while another thread cancels after 100 ms; the fetch must fail with
/// errc::cancelled well before the fake's slow answer (set by the caller) would come.
inline bool fetch_is_cancelled_promptly(hashguard::exchanges::source& src) {
  const auto started = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    src.cancel();
  });
  const auto p = src.fetch("");
  canceller.join();
  return !p.has_value() && p.error() == hashguard::exchanges::errc::cancelled &&
         std::chrono::steady_clock::now() - started < std::chrono::milliseconds(2000);
}

/// Retries in milliseconds whatever Retry-After says.
inline hashguard::outbound::retry_policy quick_retries() {
  hashguard::outbound::retry_policy p;
  p.max_attempts = 5;
  p.base_delay = std::chrono::milliseconds(1);
  p.max_delay = std::chrono::milliseconds(5);
  p.max_retry_after = std::chrono::milliseconds(10);
  return p;
}

}  // namespace hg_exchange_test
