// The probe detector of the ingest routes. Even an answer without distances is an oracle: a
// verdict at a list's threshold boundary tells one bit per query, so a client that sends a
// hash, then that hash with one bit flipped, 256 times, learns a listed PDQ hash. Such probing
// needs many queries close to each other; a cache layer's traffic needs few.
//
// Per key, the guard remembers the PDQ hashes of the key's last `ring` queries (one window, an
// hour by default) and counts a query as a near-duplicate when it lies within `radius` bits of
// one of them but is no exact repeat: a cache resending the same image learns nothing new and
// is not probing, so distance 0 neither counts nor refuses. Past `limit` near-duplicates in the
// window, a near-duplicate query is refused (429 probe_suspected, Retry-After until the oldest
// counted one leaves the window); the key's other queries go on. The first refusal of each
// episode is reported once (take_new_suspects) for the audit log.
//
// Limits (say them where the guarantees are listed): probing slower than `limit` per window,
// probing spread over several keys, or interleaving `ring` unrelated queries between probes
// is not caught here; the per-key rate limit bounds the last, the audit trail shows the keys.
// A cache layer that scans many near-duplicate images (resized copies) in a row can reach the
// limit: raise match.probe_limit for it, or give it match_details plus a trusted key.
//
// Memory is bounded: `ring` hashes and up to `limit` timestamps per key, at most `max_keys`
// keys (the least recently seen is forgotten first). Cost per query: one Hamming pass over
// `ring` hashes with the matcher's startup kernel, under one of 16 shard locks.
// Thread-safety: every member may be called from any thread.
#pragma once

#include "hashguard/core/hash.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hashguard::handlers {

class probe_guard {
 public:
  using clock = std::chrono::steady_clock;
  struct options {
    std::uint32_t radius{32};  ///< a near-duplicate differs in 1..radius bits
    std::size_t limit{64};     ///< near-duplicates allowed per window; 0 turns the guard off
    std::chrono::seconds window{3600};
    std::size_t ring{64};  ///< recent queries remembered per key (at least 1)
    std::size_t max_keys{4096};
  };
  struct decision {
    bool allowed{true};
    int retry_after_s{0};  ///< when refused: seconds until a near-duplicate is allowed again
  };
  /// A key whose near-duplicates were refused, once per episode (for the audit log).
  struct suspect {
    std::string key_id;
    std::size_t near_queries{};  ///< near-duplicates counted in the window when it tripped
  };

  explicit probe_guard(options o);
  ~probe_guard();
  probe_guard(const probe_guard&) = delete;
  probe_guard& operator=(const probe_guard&) = delete;

  /// Records `pdq` as `key_id`'s query and says whether it may be answered.
  [[nodiscard]] decision check(std::string_view key_id, const core::hash256& pdq,
                               clock::time_point now = clock::now());
  /// The keys that tripped since the last call, each once per episode (an episode ends when
  /// the key's near-duplicates fall back under the limit).
  [[nodiscard]] std::vector<suspect> take_new_suspects();
  /// Refused queries since start (hg_probe_suspected_total).
  [[nodiscard]] std::uint64_t refused() const noexcept {
    return refused_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t tracked_keys() const;
  [[nodiscard]] const options& settings() const noexcept { return options_; }

 private:
  struct key_state;
  struct shard {
    std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<key_state>> keys;
  };
  shard& shard_of(std::string_view key_id);
  static constexpr std::size_t max_pending_suspects = 1024;

  options options_;
  std::size_t max_keys_per_shard_;
  mutable std::array<shard, 16> shards_;  // mutable: tracked_keys() locks them
  std::atomic<std::uint64_t> refused_{0};
  std::mutex suspects_mu_;
  std::vector<suspect> suspects_;
};

}  // namespace hashguard::handlers
