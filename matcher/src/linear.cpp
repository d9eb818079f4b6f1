#include "hashguard/matcher/linear.hpp"

#include <sys/mman.h>
#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <queue>

namespace hashguard::matcher {
namespace {

// Entries per kernel call: large enough that the call costs nothing, small enough that the
// distance buffer of a k-nearest search stays in L1/L2.
constexpr std::size_t block_entries = 8192;
constexpr std::size_t huge_page = std::size_t{2} << 20;

template <class Hash>
const std::uint64_t* words_of(const Hash& h) noexcept {
  if constexpr (sizeof(Hash) == 32) {
    return h.words.data();
  } else {
    return &h.value;
  }
}

template <class Hash>
void gather_queries(std::span<const Hash> queries, std::size_t first, std::size_t count,
                    std::uint64_t* dst) {
  constexpr std::size_t w = sizeof(Hash) / 8;
  for (std::size_t q = 0; q < count; ++q) {
    std::memcpy(dst + q * w, words_of(queries[first + q]), sizeof(Hash));
  }
}

}  // namespace

void sort_matches(std::vector<range_match>& matches, std::size_t first) {
  std::sort(matches.begin() + static_cast<std::ptrdiff_t>(first), matches.end(),
            [](const range_match& a, const range_match& b) {
              return a.query != b.query ? a.query < b.query : a.index < b.index;
            });
}

namespace detail {

void* allocate_table(std::size_t bytes) {
  const std::size_t align = bytes >= huge_page ? huge_page : 64;
  const std::size_t rounded = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) throw std::bad_alloc();
  if (align == huge_page) (void)madvise(p, rounded, MADV_HUGEPAGE);
  return p;
}

void free_table(void* p) noexcept {
  std::free(p);
}

}  // namespace detail

template <class Hash>
linear_index<Hash>::linear_index(std::span<const Hash> hashes, const kernel& k)
    : store_(hashes.size() * words_per_hash), size_(hashes.size()), kernel_(&k) {
  for (std::size_t i = 0; i < size_; ++i) {
    std::memcpy(store_.data() + i * words_per_hash, words_of(hashes[i]), sizeof(Hash));
  }
}

template <class Hash>
linear_index<Hash>::linear_index(table_buffer<std::uint64_t> storage, const kernel& k)
    : store_(std::move(storage)), size_(store_.size() / words_per_hash), kernel_(&k) {
  assert(store_.size() % words_per_hash == 0);
}

template <class Hash>
Hash linear_index<Hash>::at(std::size_t index) const noexcept {
  Hash h{};
  if constexpr (sizeof(Hash) == 32) {
    std::memcpy(h.words.data(), store_.data() + index * 4, 32);
  } else {
    h.value = store_.data()[index];
  }
  return h;
}

template <class Hash>
void linear_index<Hash>::range(std::span<const Hash> queries, int radius,
                               std::vector<range_match>& out) const {
  assert(queries.size() <= 65536);
  if (radius < 0 || size_ == 0 || queries.empty()) return;
  const auto r = static_cast<std::uint32_t>(radius);
  const std::size_t first_out = out.size();
  const std::size_t block = std::min(block_entries, size_);
  // Default-initialised on purpose: the kernel writes before anything reads.
  std::unique_ptr<kernel_match[]> scratch(new kernel_match[block * max_batch]);
  std::uint64_t qwords[max_batch * 4];
  for (std::size_t q0 = 0; q0 < queries.size(); q0 += max_batch) {
    const std::size_t nq = std::min(max_batch, queries.size() - q0);
    gather_queries(queries, q0, nq, qwords);
    for (std::size_t i = 0; i < size_; i += block) {
      const std::size_t n = std::min(block, size_ - i);
      const std::uint64_t* data = store_.data() + i * words_per_hash;
      const std::size_t found = words_per_hash == 4
                                    ? kernel_->range256(data, n, qwords, nq, r, scratch.get())
                                    : kernel_->range64(data, n, qwords, nq, r, scratch.get());
      for (std::size_t m = 0; m < found; ++m) {
        range_match hit = scratch[m];
        hit.index += static_cast<std::uint32_t>(i);
        hit.query = static_cast<std::uint16_t>(hit.query + q0);
        out.push_back(hit);
      }
    }
  }
  sort_matches(out, first_out);
}

template <class Hash>
std::vector<neighbor> linear_index<Hash>::nearest(const Hash& q, std::size_t k) const {
  std::vector<neighbor> result;
  if (k == 0 || size_ == 0) return result;
  const auto cmp = [](const neighbor& a, const neighbor& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.index < b.index;
  };
  // Max-heap of the best k so far; its top is the worst of them.
  std::priority_queue<neighbor, std::vector<neighbor>, decltype(cmp)> best(cmp);
  const std::size_t block = std::min(block_entries, size_);
  std::vector<std::uint16_t> dist(block);
  for (std::size_t i = 0; i < size_; i += block) {
    const std::size_t n = std::min(block, size_ - i);
    const std::uint64_t* data = store_.data() + i * words_per_hash;
    if (words_per_hash == 4) {
      kernel_->distances256(data, n, words_of(q), 1, dist.data());
    } else {
      kernel_->distances64(data, n, words_of(q), 1, dist.data());
    }
    for (std::size_t j = 0; j < n; ++j) {
      const neighbor cand{static_cast<std::uint32_t>(i + j), dist[j]};
      if (best.size() < k) {
        best.push(cand);
      } else if (cmp(cand, best.top())) {
        best.pop();
        best.push(cand);
      }
    }
  }
  result.resize(best.size());
  for (std::size_t j = result.size(); j-- > 0;) {
    result[j] = best.top();
    best.pop();
  }
  return result;
}

template class linear_index<core::hash256>;
template class linear_index<core::hash64>;

}  // namespace hashguard::matcher
