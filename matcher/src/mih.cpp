#include "hashguard/matcher/mih.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

namespace hashguard::matcher {
namespace {

constexpr unsigned min_slots = 11;  // 256 / 11 -> slots of at most 24 bits (64 MiB tables)
constexpr unsigned max_slots = 32;  // slots of 8 bits

std::uint32_t extract(const std::uint64_t* w, unsigned start, unsigned width) noexcept {
  const unsigned word = start / 64;
  const unsigned off = start % 64;
  std::uint64_t v = w[word] >> off;
  if (off + width > 64) v |= w[word + 1] << (64 - off);
  return static_cast<std::uint32_t>(v & ((std::uint64_t{1} << width) - 1));
}

std::vector<unsigned> widths_for(unsigned m) {
  std::vector<unsigned> w(m, 256 / m);
  for (unsigned i = 0; i < 256 % m; ++i) ++w[i];
  return w;
}

// Number of b-bit values within distance s of a given value: sum_{i<=s} C(b, i).
double ball(unsigned b, int s) {
  if (s < 0) return 0;
  double total = 0;
  double c = 1;
  for (int i = 0; i <= s && i <= static_cast<int>(b); ++i) {
    total += c;
    c = c * static_cast<double>(static_cast<int>(b) - i) / static_cast<double>(i + 1);
  }
  return total;
}

// Expected cost of searching one slot at radius s: one probe per enumerated value, and each
// candidate (about two cache misses: its id, its hash) counted twice.
double slot_cost(unsigned b, int s, double n) {
  const double probes = ball(b, s);
  return probes + 2.0 * probes * n / std::ldexp(1.0, static_cast<int>(b));
}

// The refined pigeonhole split of `radius` over slots of `widths`: t+1 slots at s, the rest at
// s-1, choosing for s the slots where the extra radius costs least.
void plan_for(const std::vector<unsigned>& widths, double n, int radius, std::vector<int>& out) {
  const int m = static_cast<int>(widths.size());
  const int s = radius / m;
  const int t = radius % m;
  out.assign(widths.size(), s - 1);
  std::vector<std::size_t> order(widths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return slot_cost(widths[a], s, n) - slot_cost(widths[a], s - 1, n) <
           slot_cost(widths[b], s, n) - slot_cost(widths[b], s - 1, n);
  });
  for (int i = 0; i <= t; ++i) out[order[static_cast<std::size_t>(i)]] = s;
}

double plan_cost(const std::vector<unsigned>& widths, double n, int radius) {
  std::vector<int> per_slot;
  plan_for(widths, n, radius, per_slot);
  double total = 0;
  for (std::size_t i = 0; i < widths.size(); ++i) total += slot_cost(widths[i], per_slot[i], n);
  return total;
}

double table_entries(const std::vector<unsigned>& widths) {
  double total = 0;
  for (unsigned b : widths) total += std::ldexp(1.0, static_cast<int>(b)) + 1;
  return total;
}

unsigned choose_slots(std::size_t n, int design_radius) {
  const double budget_entries = std::max(64.0 * static_cast<double>(n), 1048576.0) / 4.0;
  unsigned best = max_slots;
  double best_cost = -1;
  for (unsigned m = min_slots; m <= max_slots; ++m) {
    const auto widths = widths_for(m);
    if (table_entries(widths) > budget_entries) continue;
    const double c = plan_cost(widths, static_cast<double>(n), design_radius);
    if (best_cost < 0 || c < best_cost) {
      best_cost = c;
      best = m;
    }
  }
  return best;
}

// Appends every `width`-bit value within distance `radius` of v (v itself first).
void enumerate_ball(std::uint32_t v, unsigned width, int radius, std::uint32_t slot,
                    std::vector<std::uint64_t>& out) {
  const auto push = [&](std::uint32_t value) {
    out.push_back((std::uint64_t{slot} << 32) | value);
  };
  push(v);
  unsigned pos[64];
  for (unsigned d = 1; d <= static_cast<unsigned>(radius) && d <= width; ++d) {
    for (unsigned i = 0; i < d; ++i) pos[i] = i;
    while (true) {
      std::uint32_t mask = 0;
      for (unsigned i = 0; i < d; ++i) mask |= std::uint32_t{1} << pos[i];
      push(v ^ mask);
      // Next combination of d positions out of width, in lexicographic order.
      int i = static_cast<int>(d) - 1;
      while (i >= 0 && pos[i] == width - d + static_cast<unsigned>(i)) --i;
      if (i < 0) break;
      ++pos[i];
      for (unsigned j = static_cast<unsigned>(i) + 1; j < d; ++j) pos[j] = pos[j - 1] + 1;
    }
  }
}

}  // namespace

mih_index::mih_index(std::span<const core::hash256> hashes, const kernel& k, mih_options options)
    : linear_(hashes, k) {
  const std::size_t n = linear_.size();
  const mih_layout layout = layout_for(n, options);
  const unsigned m = layout.slots;
  const auto widths = widths_for(m);
  max_radius_ = layout.max_radius;
  slots_.resize(m);
  unsigned start = 0;
  const std::uint64_t* words = linear_.words();
  // Each slot's CSR table comes from (slot value << 32 | id) keys sorted by an LSD radix sort
  // on the value (12-bit digits, stable, so ids stay ascending within a value): sequential
  // passes instead of one random counter increment per entry into a table of up to 64 MiB.
  std::vector<std::uint64_t> keys(n);
  std::vector<std::uint64_t> scratch(n);
  std::vector<std::size_t> counts(std::size_t{1} << 12);
  for (unsigned s = 0; s < m; ++s) {
    slot& sl = slots_[s];
    sl.start = start;
    sl.width = widths[s];
    start += widths[s];
    for (std::size_t i = 0; i < n; ++i) {
      keys[i] = (std::uint64_t{extract(words + 4 * i, sl.start, sl.width)} << 32) | i;
    }
    for (unsigned shift = 32; shift < 32 + sl.width; shift += 12) {
      std::fill(counts.begin(), counts.end(), 0);
      for (std::uint64_t key : keys) ++counts[(key >> shift) & 0xFFF];
      std::size_t running = 0;
      for (std::size_t& c : counts) {
        const std::size_t here = c;
        c = running;
        running += here;
      }
      for (std::uint64_t key : keys) scratch[counts[(key >> shift) & 0xFFF]++] = key;
      keys.swap(scratch);
    }
    const std::size_t values = std::size_t{1} << sl.width;
    sl.offsets = table_buffer<std::uint32_t>(values + 1);
    sl.ids = table_buffer<std::uint32_t>(n);
    std::size_t pos = 0;
    for (std::size_t v = 0; v < values; ++v) {
      while (pos < n && (keys[pos] >> 32) < v) ++pos;
      sl.offsets[v] = static_cast<std::uint32_t>(pos);
    }
    sl.offsets[values] = static_cast<std::uint32_t>(n);
    for (std::size_t i = 0; i < n; ++i) sl.ids[i] = static_cast<std::uint32_t>(keys[i]);
  }
}

mih_layout mih_index::layout_for(std::size_t n, const mih_options& options) {
  mih_layout layout;
  unsigned m = options.slots;
  if (m == 0) m = choose_slots(n, std::max(options.design_radius, 0));
  m = std::clamp(m, min_slots, max_slots);
  layout.slots = m;
  const auto widths = widths_for(m);
  layout.table_bytes = (static_cast<std::size_t>(table_entries(widths)) + std::size_t{m} * n) *
                       sizeof(std::uint32_t);
  // Serve through the tables while they are expected to beat a scan (with a floor so small
  // indices still use them up to a useful radius).
  const double limit = std::max(static_cast<double>(n) / 2.0, 65536.0);
  layout.max_radius = -1;
  for (int r = 0; r < 256; ++r) {
    if (plan_cost(widths, static_cast<double>(n), r) > limit) break;
    layout.max_radius = r;
  }
  return layout;
}

std::size_t mih_index::table_bytes() const noexcept {
  std::size_t total = 0;
  for (const slot& s : slots_) {
    total += (s.offsets.size() + s.ids.size()) * sizeof(std::uint32_t);
  }
  return total;
}

void mih_index::plan(int radius, std::vector<int>& per_slot) const {
  std::vector<unsigned> widths(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) widths[i] = slots_[i].width;
  plan_for(widths, static_cast<double>(size()), radius, per_slot);
}

void mih_index::range(std::span<const core::hash256> queries, int radius,
                      std::vector<range_match>& out, search_stats* stats) const {
  search_stats local;
  search_stats& st = stats != nullptr ? *stats : local;
  st = {};
  if (radius > max_radius_) {
    st.path = search_path::linear_fallback;
    linear_.range(queries, radius, out);
    return;
  }
  st.path = search_path::mih;
  if (radius < 0 || size() == 0) return;
  std::vector<int> per_slot;
  plan(radius, per_slot);
  const std::size_t first_out = out.size();
  for (std::size_t q = 0; q < queries.size(); ++q) {
    search_one(queries[q], static_cast<std::uint16_t>(q), radius, per_slot, out, st);
  }
  sort_matches(out, first_out);
}

void mih_index::search_one(const core::hash256& q, std::uint16_t query_index, int radius,
                           const std::vector<int>& per_slot, std::vector<range_match>& out,
                           search_stats& stats) const {
  const std::uint64_t* qw = q.words.data();
  const std::uint64_t* words = linear_.words();
  // Stage 1: every slot value to look up, tagged with its slot; prefetch the offsets.
  std::vector<std::uint64_t> probes;
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (per_slot[s] < 0) continue;
    enumerate_ball(extract(qw, slots_[s].start, slots_[s].width), slots_[s].width, per_slot[s], s,
                   probes);
  }
  stats.probes += probes.size();
  for (std::uint64_t p : probes) {
    __builtin_prefetch(slots_[p >> 32].offsets.data() + static_cast<std::uint32_t>(p));
  }
  // Stage 2: non-empty buckets; prefetch their ids. Stage 3: candidates; prefetch their hashes.
  // Splitting the lookups into stages lets the loads of one stage overlap in memory instead of
  // waiting for each other (the tables are far larger than the caches).
  std::vector<std::uint64_t> buckets;  // slot << 32 | first id position, then its end
  for (std::uint64_t p : probes) {
    const slot& sl = slots_[p >> 32];
    const auto v = static_cast<std::uint32_t>(p);
    const std::uint32_t b = sl.offsets[v];
    const std::uint32_t e = sl.offsets[v + 1];
    if (b == e) continue;
    __builtin_prefetch(sl.ids.data() + b);
    buckets.push_back(((p >> 32) << 32) | b);
    buckets.push_back(e);
  }
  std::vector<std::uint64_t> candidates;  // slot << 32 | entry id
  for (std::size_t i = 0; i < buckets.size(); i += 2) {
    const std::uint64_t s = buckets[i] >> 32;
    const slot& sl = slots_[s];
    for (auto j = static_cast<std::uint32_t>(buckets[i]); j < buckets[i + 1]; ++j) {
      const std::uint32_t id = sl.ids[j];
      __builtin_prefetch(words + 4 * std::size_t{id});
      candidates.push_back((s << 32) | id);
    }
  }
  stats.candidates += candidates.size();
  if (candidates.empty()) return;
  // Stage 4: gather the candidates' hashes and measure them with the kernel in one call.
  std::vector<std::uint64_t> gathered(candidates.size() * 4);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto id = static_cast<std::uint32_t>(candidates[i]);
    std::memcpy(gathered.data() + 4 * i, words + 4 * std::size_t{id}, 32);
  }
  std::vector<std::uint16_t> dist(candidates.size());
  linear_.kernel_used().distances256(gathered.data(), candidates.size(), qw, 1, dist.data());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (dist[i] > radius) continue;
    // Report only from the first slot that can find this entry: an earlier slot within its
    // radius has already reported it.
    const auto s = static_cast<std::uint32_t>(candidates[i] >> 32);
    const std::uint64_t* h = gathered.data() + 4 * i;
    bool earlier = false;
    for (std::uint32_t e = 0; e < s && !earlier; ++e) {
      if (per_slot[e] < 0) continue;
      const slot& sl = slots_[e];
      const int d = std::popcount(extract(qw, sl.start, sl.width) ^ extract(h, sl.start, sl.width));
      earlier = d <= per_slot[e];
    }
    if (!earlier) {
      out.push_back({static_cast<std::uint32_t>(candidates[i]), query_index, dist[i]});
    }
  }
}

}  // namespace hashguard::matcher
