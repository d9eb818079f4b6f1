// The SSE4.2 paths of core/checksum.hpp. Only this file is built with -msse4.2, and it holds
// nothing but intrinsics and its own code (DESIGN.md section 4: no inline code shared across
// ISA files).
#include "hashguard/core/checksum.hpp"

#include <nmmintrin.h>

#include <cstring>

namespace hashguard::core::detail {

std::uint32_t crc32c_update_sse42(std::uint32_t crc, const std::byte* p, std::size_t n) noexcept {
  std::uint64_t c = crc;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, 8);
    c = _mm_crc32_u64(c, w);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; i < n; ++i) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(p[i]));
  return c32;
}

void crc32c_lanes_sse42(const std::byte* p, std::size_t words, std::uint32_t lanes[3]) noexcept {
  // Three independent chains: the crc32 instruction's latency is three times its throughput.
  std::uint64_t a = lanes[0];
  std::uint64_t b = lanes[1];
  std::uint64_t c = lanes[2];
  std::size_t i = 0;
  for (; i + 3 <= words; i += 3) {
    std::uint64_t w[3];
    std::memcpy(w, p + 8 * i, 24);
    a = _mm_crc32_u64(a, w[0]);
    b = _mm_crc32_u64(b, w[1]);
    c = _mm_crc32_u64(c, w[2]);
  }
  if (i < words) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + 8 * i, 8);
    a = _mm_crc32_u64(a, w);
    ++i;
  }
  if (i < words) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + 8 * i, 8);
    b = _mm_crc32_u64(b, w);
  }
  lanes[0] = static_cast<std::uint32_t>(a);
  lanes[1] = static_cast<std::uint32_t>(b);
  lanes[2] = static_cast<std::uint32_t>(c);
}

}  // namespace hashguard::core::detail
