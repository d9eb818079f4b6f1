// Linear (brute-force) Hamming index: the faiss IndexBinaryFlat of hashguard.
//
// Storage is one contiguous, 64-byte aligned (2 MiB aligned, transparent-huge-page advised,
// when large) array of 64-bit words: 4 per 256-bit PDQ hash (core::hash256's layout), 1 per
// 64-bit pHash. A search streams it once per batch of up to max_batch queries, calling the
// kernel once per block of entries (never per pair), so the scan runs at memory bandwidth.
//
// Thread-safety: immutable after construction; any number of threads may search at once.
// Entry indices are positions in the hashes given to the constructor (0-based, < 2^32).
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/matcher/kernel_types.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace hashguard::matcher {

/// One range-search result: entry `index` lies within the radius of query `query` (its
/// position in the caller's query span) at `distance`.
using range_match = kernel_match;

/// Sorts matches[first..] by (query, index): the canonical order every index returns.
void sort_matches(std::vector<range_match>& matches, std::size_t first = 0);

/// One k-nearest result.
struct neighbor {
  std::uint32_t index{};
  int distance{};
  friend constexpr bool operator==(const neighbor&, const neighbor&) = default;
};

namespace detail {
/// Aligned allocation for large tables: 2 MiB alignment and MADV_HUGEPAGE from 2 MiB up (a
/// scan or a random probe then misses the TLB far less), 64 bytes below. Throws bad_alloc.
[[nodiscard]] void* allocate_table(std::size_t bytes);
void free_table(void* p) noexcept;
}  // namespace detail

/// An aligned array of trivially copyable T: either owned (allocated uninitialised, see
/// detail::allocate_table) or a read-only view of memory that `owner` keeps alive (a table of a
/// snapshot image, e.g. a read-only file mapping: see snapshot_file.hpp). Move-only. Writing
/// through data() or operator[] is only allowed on an owned buffer (a view's memory may be mapped
/// read-only).
template <class T>
class table_buffer {
 public:
  table_buffer() = default;
  explicit table_buffer(std::size_t count)
      : data_(count == 0 ? nullptr : static_cast<T*>(detail::allocate_table(count * sizeof(T)))),
        size_(count) {
    if (data_ != nullptr) keep_ = std::shared_ptr<const void>(data_, owned_deleter{});
  }
  /// A view of `count` T at `data` (aligned for T), valid while `owner` lives.
  [[nodiscard]] static table_buffer view(const T* data, std::size_t count,
                                         std::shared_ptr<const void> owner) {
    table_buffer b;
    b.data_ = const_cast<T*>(data);  // never written: see the class comment
    b.size_ = count;
    b.keep_ = std::move(owner);
    return b;
  }
  table_buffer(table_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        keep_(std::move(o.keep_)) {}
  table_buffer& operator=(table_buffer&& o) noexcept {
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    keep_ = std::move(o.keep_);
    return *this;
  }
  table_buffer(const table_buffer&) = delete;
  table_buffer& operator=(const table_buffer&) = delete;
  ~table_buffer() = default;

  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return size_ * sizeof(T); }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_, size_}; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  struct owned_deleter {
    void operator()(const void* p) const noexcept { detail::free_table(const_cast<void*>(p)); }
  };
  T* data_{nullptr};
  std::size_t size_{};
  std::shared_ptr<const void> keep_;  ///< the allocation itself, or the view's owner
};

template <class Hash>
class linear_index {
 public:
  static constexpr std::size_t words_per_hash = sizeof(Hash) / sizeof(std::uint64_t);

  /// Copies `hashes` into the index's storage; `k` is the kernel every search uses.
  linear_index(std::span<const Hash> hashes, const kernel& k);
  /// Adopts `storage` (words_per_hash words per hash, e.g. a view of a snapshot image) as it
  /// is. Precondition: storage.size() is a multiple of words_per_hash.
  linear_index(table_buffer<std::uint64_t> storage, const kernel& k);

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] const kernel& kernel_used() const noexcept { return *kernel_; }
  /// The storage: size() * words_per_hash words.
  [[nodiscard]] const std::uint64_t* words() const noexcept { return store_.data(); }
  [[nodiscard]] std::size_t storage_bytes() const noexcept { return size_ * sizeof(Hash); }
  [[nodiscard]] Hash at(std::size_t index) const noexcept;

  /// Appends to `out` every (query, entry) pair at distance <= radius, sorted by (query,
  /// index). Queries are compared in batches of max_batch per pass over the data. A negative
  /// radius matches nothing. Precondition: at most 65536 queries per call (range_match::query
  /// is 16 bits).
  void range(std::span<const Hash> queries, int radius, std::vector<range_match>& out) const;

  /// The k nearest entries to q, by ascending distance then index (all entries if k >= size()).
  [[nodiscard]] std::vector<neighbor> nearest(const Hash& q, std::size_t k) const;

 private:
  table_buffer<std::uint64_t> store_;
  std::size_t size_{};
  const kernel* kernel_;
};

using linear_index256 = linear_index<core::hash256>;
using linear_index64 = linear_index<core::hash64>;

extern template class linear_index<core::hash256>;
extern template class linear_index<core::hash64>;

}  // namespace hashguard::matcher
