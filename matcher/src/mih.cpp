#include "hashguard/matcher/mih.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <exception>
#include <numeric>
#include <thread>

namespace hashguard::matcher {
namespace {

constexpr unsigned min_slots = 11;  // 256 / 11 -> slots of at most 24 bits (64 MiB tables)
constexpr unsigned max_slots = 32;  // slots of 8 bits
constexpr std::size_t prefetch_distance = 32;  // items ahead (see search_one)

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

unsigned build_threads_for(std::size_t n, unsigned requested, unsigned slots) {
  unsigned threads = requested;
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
  if (n < 200000) threads = 1;
  return std::max(1U, std::min(threads, slots));
}

}  // namespace

template <class Job>
void mih_index::for_each_slot(unsigned threads, Job job) {
  if (threads <= 1) {
    for (std::size_t s = 0; s < slots_.size(); ++s) job(s, 0U);
    return;
  }
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([this, t, threads, &job, &errors] {
      try {
        for (std::size_t s = t; s < slots_.size(); s += threads) job(s, t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

void mih_index::set_layout(const mih_layout& layout) {
  const auto widths = widths_for(layout.slots);
  max_radius_ = layout.max_radius;
  slots_.resize(layout.slots);
  unsigned start = 0;
  for (unsigned s = 0; s < layout.slots; ++s) {
    slots_[s].start = start;
    slots_[s].width = widths[s];
    start += widths[s];
  }
}

mih_index::mih_index(std::span<const core::hash256> hashes, const kernel& k, mih_options options)
    : linear_(hashes, k) {
  const std::size_t n = linear_.size();
  const mih_layout layout = layout_for(n, options);
  set_layout(layout);
  // Slots are independent: large indices build them on several threads (each with its own
  // sort buffers), small ones on the caller's.
  const unsigned threads = build_threads_for(n, options.build_threads, layout.slots);
  std::vector<std::unique_ptr<sort_buffers>> buffers(threads);
  for_each_slot(threads, [&](std::size_t s, unsigned t) {
    if (!buffers[t]) buffers[t] = std::make_unique<sort_buffers>(n);
    build_slot(slots_[s], *buffers[t]);
  });
}

std::vector<std::span<const std::byte>> mih_index::table_sections() const {
  std::vector<std::span<const std::byte>> out;
  for (const slot& sl : slots_) {
    out.push_back(std::as_bytes(sl.offsets.span()));
    out.push_back(std::as_bytes(sl.ids.span()));
  }
  return out;
}

std::vector<std::size_t> mih_index::table_section_sizes(std::size_t n, std::uint32_t slots) {
  std::vector<std::size_t> out;
  if (slots < min_slots || slots > max_slots) return out;
  for (unsigned w : widths_for(slots)) {
    out.push_back(((std::size_t{1} << w) + 1) * sizeof(std::uint32_t));
    out.push_back(n * sizeof(std::uint32_t));
  }
  return out;
}

bool mih_index::valid_slot(const slot& sl) const noexcept {
  const std::size_t n = size();
  const std::size_t values = std::size_t{1} << sl.width;
  const std::uint32_t* off = sl.offsets.data();
  const std::uint32_t* ids = sl.ids.data();
  if (off[0] != 0 || off[values] != n) return false;
  // One sequential pass over both arrays: offsets never decrease, ids below n and ascending
  // within each bucket.
  for (std::size_t v = 0; v < values; ++v) {
    const std::uint32_t b = off[v];
    const std::uint32_t e = off[v + 1];
    if (e < b || e > n) return false;
    std::uint32_t prev = 0;
    for (std::uint32_t j = b; j < e; ++j) {
      const std::uint32_t id = ids[j];
      if (id >= n || (j > b && id <= prev)) return false;
      prev = id;
    }
  }
  return true;
}

core::result<mih_index> mih_index::adopt(linear_index256 linear, std::uint32_t slots,
                                         std::span<const std::span<const std::byte>> sections,
                                         const std::shared_ptr<const void>& owner,
                                         const mih_options& options) {
  const std::size_t n = linear.size();
  const mih_layout layout = layout_for(n, options);
  if (slots != layout.slots) return errc::bad_image;
  const auto sizes = table_section_sizes(n, slots);
  if (sections.size() != sizes.size()) return errc::bad_image;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sections[i].size() != sizes[i]) return errc::bad_image;
    if (reinterpret_cast<std::uintptr_t>(sections[i].data()) % alignof(std::uint32_t) != 0) {
      return errc::bad_image;
    }
  }
  mih_index index(std::move(linear));
  index.set_layout(layout);
  for (std::size_t s = 0; s < index.slots_.size(); ++s) {
    const auto view = [&](std::span<const std::byte> b) {
      return table_buffer<std::uint32_t>::view(
          reinterpret_cast<const std::uint32_t*>(static_cast<const void*>(b.data())),
          b.size() / sizeof(std::uint32_t), owner);
    };
    index.slots_[s].offsets = view(sections[2 * s]);
    index.slots_[s].ids = view(sections[2 * s + 1]);
  }
  std::vector<char> ok(index.slots_.size(), 0);
  index.for_each_slot(
      build_threads_for(n, options.build_threads, slots),
      [&](std::size_t s, unsigned) { ok[s] = index.valid_slot(index.slots_[s]) ? 1 : 0; });
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) return errc::bad_image;
  return index;
}

mih_index::sort_buffers::sort_buffers(std::size_t n)
    : keys(n), scratch(n), counts(std::size_t{1} << 12) {}

void mih_index::build_slot(slot& sl, sort_buffers& b) const {
  // The CSR table comes from (slot value << 32 | id) keys sorted by an LSD radix sort on the
  // value (12-bit digits, stable, so ids stay ascending within a value): sequential passes
  // instead of one random counter increment per entry into a table of up to 64 MiB.
  const std::size_t n = size();
  const std::uint64_t* words = linear_.words();
  for (std::size_t i = 0; i < n; ++i) {
    b.keys[i] = (std::uint64_t{extract(words + 4 * i, sl.start, sl.width)} << 32) | i;
  }
  for (unsigned shift = 32; shift < 32 + sl.width; shift += 12) {
    std::fill(b.counts.begin(), b.counts.end(), 0);
    for (std::uint64_t key : b.keys) ++b.counts[(key >> shift) & 0xFFF];
    std::size_t running = 0;
    for (std::size_t& c : b.counts) {
      const std::size_t here = c;
      c = running;
      running += here;
    }
    for (std::uint64_t key : b.keys) b.scratch[b.counts[(key >> shift) & 0xFFF]++] = key;
    b.keys.swap(b.scratch);
  }
  const std::size_t values = std::size_t{1} << sl.width;
  sl.offsets = table_buffer<std::uint32_t>(values + 1);
  sl.ids = table_buffer<std::uint32_t>(n);
  std::size_t pos = 0;
  for (std::size_t v = 0; v < values; ++v) {
    while (pos < n && (b.keys[pos] >> 32) < v) ++pos;
    sl.offsets[v] = static_cast<std::uint32_t>(pos);
  }
  sl.offsets[values] = static_cast<std::uint32_t>(n);
  for (std::size_t i = 0; i < n; ++i) sl.ids[i] = static_cast<std::uint32_t>(b.keys[i]);
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
  assert(queries.size() <= 65536);
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
  // Stage 1: every slot value to look up, tagged with its slot.
  std::vector<std::uint64_t> probes;
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (per_slot[s] < 0) continue;
    enumerate_ball(extract(qw, slots_[s].start, slots_[s].width), slots_[s].width, per_slot[s], s,
                   probes);
  }
  stats.probes += probes.size();
  // Stages 2-4 walk the offsets, then the ids, then the hashes: the tables are far larger than
  // the caches, so nearly every step is a cache miss. Each stage prefetches the item
  // `prefetch_distance` ahead of the one it reads, which keeps about that many misses in
  // flight: enough to overlap them, few enough that the CPU's miss buffers do not overflow
  // (measured at 10M: 8 ahead is a third slower, 32 and 96 alike, and as fast as prefetching a
  // whole stage up front).
  constexpr std::size_t ahead = prefetch_distance;
  const auto offsets_of = [this](std::uint64_t p) {
    return slots_[p >> 32].offsets.data() + static_cast<std::uint32_t>(p);
  };
  for (std::size_t i = 0; i < std::min(ahead, probes.size()); ++i) {
    __builtin_prefetch(offsets_of(probes[i]));
  }
  std::vector<std::uint64_t> buckets;  // slot << 32 | first id position, then its end
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (i + ahead < probes.size()) __builtin_prefetch(offsets_of(probes[i + ahead]));
    const std::uint32_t* o = offsets_of(probes[i]);
    const std::uint32_t b = o[0];
    const std::uint32_t e = o[1];
    if (b == e) continue;
    buckets.push_back(((probes[i] >> 32) << 32) | b);
    buckets.push_back(e);
  }
  const auto ids_of = [this](const std::uint64_t* bucket) {
    return slots_[bucket[0] >> 32].ids.data() + static_cast<std::uint32_t>(bucket[0]);
  };
  for (std::size_t i = 0; i < std::min(2 * ahead, buckets.size()); i += 2) {
    __builtin_prefetch(ids_of(&buckets[i]));
  }
  std::vector<std::uint64_t> candidates;  // slot << 32 | entry id
  for (std::size_t i = 0; i < buckets.size(); i += 2) {
    if (i + 2 * ahead < buckets.size()) __builtin_prefetch(ids_of(&buckets[i + 2 * ahead]));
    const std::uint64_t s = buckets[i] >> 32;
    const std::uint32_t* ids = ids_of(&buckets[i]);
    const std::uint32_t count =
        static_cast<std::uint32_t>(buckets[i + 1]) - static_cast<std::uint32_t>(buckets[i]);
    for (std::uint32_t j = 0; j < count; ++j) candidates.push_back((s << 32) | ids[j]);
  }
  stats.candidates += candidates.size();
  if (candidates.empty()) return;
  // Stage 4: gather the candidates' hashes and measure them with the kernel in one call.
  const auto hash_of = [words](std::uint64_t c) {
    return words + 4 * std::size_t{static_cast<std::uint32_t>(c)};
  };
  for (std::size_t i = 0; i < std::min(ahead, candidates.size()); ++i) {
    __builtin_prefetch(hash_of(candidates[i]));
  }
  std::vector<std::uint64_t> gathered(candidates.size() * 4);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i + ahead < candidates.size()) __builtin_prefetch(hash_of(candidates[i + ahead]));
    std::memcpy(gathered.data() + 4 * i, hash_of(candidates[i]), 32);
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
