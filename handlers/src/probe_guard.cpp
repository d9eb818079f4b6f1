#include "hashguard/handlers/probe_guard.hpp"

#include "hashguard/matcher/kernel.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace hashguard::handlers {
namespace {

// The kernel the matcher chose at start (its SIMD popcount); scalar if none could run.
const matcher::kernel& hamming_kernel() {
  static const matcher::kernel* k = [] {
    auto chosen = matcher::startup_kernel();
    return chosen ? *chosen : &matcher::detail::scalar_kernel();
  }();
  return *k;
}

}  // namespace

struct probe_guard::key_state {
  std::vector<std::uint64_t> hashes;    // ring * 4 words
  std::vector<clock::time_point> seen;  // when each ring slot was written
  std::size_t filled{0};
  std::size_t next{0};
  std::vector<clock::time_point> near;  // up to `limit` near-duplicate times, a ring
  std::size_t near_next{0};
  std::vector<std::uint16_t> distances;  // scratch: one per ring slot
  clock::time_point last_use{};
  bool suspected{false};  // in an episode: reported already

  /// Writes `pdq` over the oldest ring slot.
  void remember(const core::hash256& pdq, clock::time_point now, std::size_t ring) {
    std::copy(pdq.words.begin(), pdq.words.end(), hashes.data() + next * 4);
    seen[next] = now;
    next = (next + 1) % ring;
    filled = std::min(filled + 1, ring);
  }
};

probe_guard::probe_guard(options o)
    : options_(o), max_keys_per_shard_(std::max<std::size_t>(1, o.max_keys / 16)) {
  options_.ring = std::max<std::size_t>(1, options_.ring);
}

probe_guard::~probe_guard() = default;

probe_guard::shard& probe_guard::shard_of(std::string_view key_id) {
  return shards_[std::hash<std::string_view>{}(key_id) % shards_.size()];
}

probe_guard::decision probe_guard::check(std::string_view key_id, const core::hash256& pdq,
                                         clock::time_point now) {
  if (options_.limit == 0) return {};
  shard& s = shard_of(key_id);
  std::lock_guard lock(s.mu);
  auto it = s.keys.find(std::string(key_id));
  if (it == s.keys.end()) {
    if (s.keys.size() >= max_keys_per_shard_) {
      // Forget the key seen least recently: bounded memory whatever the number of keys.
      auto oldest = std::min_element(
          s.keys.begin(), s.keys.end(),
          [](const auto& a, const auto& b) { return a.second->last_use < b.second->last_use; });
      s.keys.erase(oldest);
    }
    auto state = std::make_unique<key_state>();
    state->hashes.resize(options_.ring * 4);
    state->seen.resize(options_.ring);
    state->distances.resize(options_.ring);
    state->near.reserve(options_.limit);
    it = s.keys.emplace(std::string(key_id), std::move(state)).first;
  }
  key_state& k = *it->second;
  k.last_use = now;
  const auto window_start = now - options_.window;

  // The nearest recent query within the window.
  bool repeat = false;
  bool near = false;
  if (k.filled > 0) {
    hamming_kernel().distances256(k.hashes.data(), k.filled, pdq.words.data(), 1,
                                  k.distances.data());
    for (std::size_t i = 0; i < k.filled; ++i) {
      if (k.seen[i] < window_start) continue;
      if (k.distances[i] == 0) repeat = true;
      if (k.distances[i] > 0 && k.distances[i] <= options_.radius) near = true;
    }
  }
  if (repeat || !near) {
    if (!repeat) {
      k.remember(pdq, now, options_.ring);
    }
    return {};
  }
  // A near-duplicate: allowed while fewer than `limit` were counted in the window.
  const std::size_t counted = static_cast<std::size_t>(
      std::count_if(k.near.begin(), k.near.end(), [&](auto t) { return t >= window_start; }));
  if (counted >= options_.limit) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (!k.suspected) {
      k.suspected = true;
      std::lock_guard slock(suspects_mu_);
      // Bounded while nobody takes them (the audit task is down): the counter still counts.
      if (suspects_.size() < max_pending_suspects) {
        suspects_.push_back({std::string(key_id), counted});
      }
    }
    // The oldest counted one leaves the window first.
    const auto oldest = *std::min_element(k.near.begin(), k.near.end());
    const auto wait = std::chrono::ceil<std::chrono::seconds>(oldest + options_.window - now);
    return {false, std::max(1, static_cast<int>(wait.count()))};
  }
  k.suspected = false;
  if (k.near.size() < options_.limit) {
    k.near.push_back(now);
  } else {
    k.near[k.near_next] = now;
    k.near_next = (k.near_next + 1) % options_.limit;
  }
  k.remember(pdq, now, options_.ring);
  return {};
}

std::vector<probe_guard::suspect> probe_guard::take_new_suspects() {
  std::lock_guard lock(suspects_mu_);
  return std::exchange(suspects_, {});
}

std::size_t probe_guard::tracked_keys() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.keys.size();
  }
  return n;
}

}  // namespace hashguard::handlers
