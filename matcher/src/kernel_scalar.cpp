// Portable kernel: no instruction beyond x86-64's baseline (built with the default flags).
// The population count is the SWAR sum, written here rather than taken from <bit>: a
// std::popcount instantiated in another kernel file with -mpopcnt could be the copy the linker
// keeps (DESIGN.md section 4).
#include "hashguard/matcher/kernel_types.hpp"

namespace hashguard::matcher {
// A named namespace per ISA file so that a disassembly can tell the files' code apart
// (tests/matcher/test_kernel_isa.cpp); the anonymous one keeps it file-local.
namespace kernels_scalar {
namespace {

[[gnu::always_inline]] inline std::uint32_t pop64(std::uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<std::uint32_t>((x * 0x0101010101010101ULL) >> 56);
}

[[gnu::always_inline]] inline std::uint32_t dist256(const std::uint64_t* a,
                                                    const std::uint64_t* b) {
  return pop64(a[0] ^ b[0]) + pop64(a[1] ^ b[1]) + pop64(a[2] ^ b[2]) + pop64(a[3] ^ b[3]);
}

void distances256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                  std::size_t nq, std::uint16_t* out) {
  for (std::size_t q = 0; q < nq; ++q) {
    for (std::size_t i = 0; i < n; ++i) {
      out[q * n + i] = static_cast<std::uint16_t>(dist256(data + 4 * i, queries + 4 * q));
    }
  }
}

std::size_t range256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                     std::size_t nq, std::uint32_t radius, kernel_match* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      const std::uint32_t d = dist256(data + 4 * i, queries + 4 * q);
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
  for (std::size_t q = 0; q < nq; ++q) {
    for (std::size_t i = 0; i < n; ++i) {
      out[q * n + i] = static_cast<std::uint16_t>(pop64(data[i] ^ queries[q]));
    }
  }
}

std::size_t range64(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                    std::size_t nq, std::uint32_t radius, kernel_match* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      const std::uint32_t d = pop64(data[i] ^ queries[q]);
      if (d <= radius) {
        out[count++] = {static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(q),
                        static_cast<std::uint16_t>(d)};
      }
    }
  }
  return count;
}

const kernel table{"scalar", 0, &distances256, &range256, &distances64, &range64};

}  // namespace
}  // namespace kernels_scalar

namespace detail {
const kernel& scalar_kernel() noexcept {
  return kernels_scalar::table;
}
}  // namespace detail

}  // namespace hashguard::matcher
