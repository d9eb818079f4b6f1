// The plain-data interface between the matcher and its per-ISA Hamming kernels.
//
// This header is the only one the kernel source files include (besides <immintrin.h>): it
// declares no inline function and no template, so nothing in it can be compiled once with
// AVX-512 flags and then kept by the linker for every caller (DESIGN.md section 4).
//
// Layout: a 256-bit hash is 4 consecutive 64-bit words, exactly core::hash256::words; an array
// of n hashes is 4n words with no padding. A 64-bit hash is one word (core::hash64::value).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hashguard::matcher {

/// Most queries one kernel call compares per pass over the data (the 8 dihedral variants of
/// one image, or queries from several requests).
inline constexpr std::size_t max_batch = 8;

/// One result of a range kernel: entry `index` (relative to the data pointer passed in) lies
/// within the radius of query `query` (0..nq-1), at Hamming distance `distance`.
struct kernel_match {
  std::uint32_t index;
  std::uint16_t query;
  std::uint16_t distance;
};

/// CPU features a kernel needs (bit flags).
inline constexpr std::uint32_t feature_popcnt = 1U;
inline constexpr std::uint32_t feature_avx2 = 2U;
inline constexpr std::uint32_t feature_avx512_vpopcntdq = 4U;  ///< with avx512f and avx512bw

/// A set of Hamming kernels compiled for one ISA. Every function is pure, thread-safe and
/// allocation-free. Arguments: `data` holds `n` hashes (n < 2^32), `queries` holds `nq` hashes
/// with 1 <= nq <= max_batch.
struct kernel {
  const char* name;        ///< the HG_FORCE_KERNEL name (DESIGN.md section 9)
  std::uint32_t features;  ///< feature_* bits the CPU must have
  /// out[q * n + i] = distance(queries[q], data[i]) for 256-bit hashes.
  void (*distances256)(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                       std::size_t nq, std::uint16_t* out);
  /// Writes one kernel_match per (entry, query) pair at distance <= radius, in no particular
  /// order, into out (capacity n * nq); returns how many it wrote.
  std::size_t (*range256)(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                          std::size_t nq, std::uint32_t radius, kernel_match* out);
  /// The same two for 64-bit hashes.
  void (*distances64)(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                      std::size_t nq, std::uint16_t* out);
  std::size_t (*range64)(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                         std::size_t nq, std::uint32_t radius, kernel_match* out);
};

namespace detail {
// One per ISA source file (kernel_<isa>.cpp); each returns a table of its file-local code.
const kernel& scalar_kernel() noexcept;
const kernel& popcnt_kernel() noexcept;
const kernel& avx2_kernel() noexcept;
const kernel& avx512_vpopcntdq_kernel() noexcept;
}  // namespace detail

}  // namespace hashguard::matcher
