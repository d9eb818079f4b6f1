// POPCNT kernel (built with -mpopcnt only): one popcnt per 64-bit word. Each entry is loaded
// once and compared with every query of the batch while its words sit in registers.
// __builtin_popcountll rather than std::popcount: a builtin is no template, so no copy of it
// can be shared with another kernel file (DESIGN.md section 4).
#include "hashguard/matcher/kernel_types.hpp"

namespace hashguard::matcher {
// A named namespace per ISA file so that a disassembly can tell the files' code apart
// (tests/matcher/test_kernel_isa.cpp); the anonymous one keeps it file-local.
namespace kernels_popcnt {
namespace {

std::uint32_t dist256(const std::uint64_t* a, const std::uint64_t* b) {
  return static_cast<std::uint32_t>(
      __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
      __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]));
}

void distances256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                  std::size_t nq, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      out[q * n + i] = static_cast<std::uint16_t>(dist256(data + 4 * i, queries + 4 * q));
    }
  }
}

std::size_t range256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                     std::size_t nq, std::uint32_t radius, kernel_match* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t* e = data + 4 * i;
    for (std::size_t q = 0; q < nq; ++q) {
      const std::uint32_t d = dist256(e, queries + 4 * q);
      if (d <= radius) {
        out[count++] = {static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(q),
                        static_cast<std::uint16_t>(d)};
      }
    }
  }
  return count;
}

void distances64(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                 std::size_t nq, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      out[q * n + i] = static_cast<std::uint16_t>(__builtin_popcountll(data[i] ^ queries[q]));
    }
  }
}

std::size_t range64(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                    std::size_t nq, std::uint32_t radius, kernel_match* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      const auto d = static_cast<std::uint32_t>(__builtin_popcountll(data[i] ^ queries[q]));
      if (d <= radius) {
        out[count++] = {static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(q),
                        static_cast<std::uint16_t>(d)};
      }
    }
  }
  return count;
}

const kernel table{"popcnt", feature_popcnt, &distances256, &range256, &distances64, &range64};

}  // namespace
}  // namespace kernels_popcnt

namespace detail {
const kernel& popcnt_kernel() noexcept {
  return kernels_popcnt::table;
}
}  // namespace detail

}  // namespace hashguard::matcher
