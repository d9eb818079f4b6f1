// AVX2 kernel (built with -mavx2 -mpopcnt). AVX2 has no vector popcount: bytes are counted
// with two 16-entry table lookups (vpshufb on each nibble) and summed per 64-bit word with
// vpsadbw. Helpers are always inlined (file-local: internal linkage, so never shared). One
// 256-bit hash fills one register; four hashes are reduced together so the last
// step yields their four distances in one register. The tail (n % 4) uses popcnt.
#include "hashguard/matcher/kernel_types.hpp"

#include <immintrin.h>

namespace hashguard::matcher {
// A named namespace per ISA file so that a disassembly can tell the files' code apart
// (tests/matcher/test_kernel_isa.cpp); the anonymous one keeps it file-local.
namespace kernels_avx2 {
namespace {

[[gnu::always_inline]] inline std::uint32_t tail_dist256(const std::uint64_t* a,
                                                         const std::uint64_t* b) {
  return static_cast<std::uint32_t>(
      __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
      __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]));
}

struct byte_counter {
  __m256i lookup;
  __m256i low_mask;
};

[[gnu::always_inline]] inline byte_counter make_counter() {
  return {_mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                           1, 2, 2, 3, 2, 3, 3, 4),
          _mm256_set1_epi8(0x0F)};
}

// Population count of each 64-bit lane.
[[gnu::always_inline]] inline __m256i popcount_lanes(const byte_counter& c, __m256i x) {
  const __m256i lo = _mm256_and_si256(x, c.low_mask);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), c.low_mask);
  const __m256i bytes =
      _mm256_add_epi8(_mm256_shuffle_epi8(c.lookup, lo), _mm256_shuffle_epi8(c.lookup, hi));
  return _mm256_sad_epu8(bytes, _mm256_setzero_si256());
}

// Distances of the four hashes a, b, c, d (one per register) to q, as 4 x 64-bit lanes in
// order a, b, c, d.
[[gnu::always_inline]] inline __m256i distances4(const byte_counter& c, __m256i q, __m256i a,
                                                 __m256i b, __m256i cc, __m256i d) {
  const __m256i pa = popcount_lanes(c, _mm256_xor_si256(a, q));
  const __m256i pb = popcount_lanes(c, _mm256_xor_si256(b, q));
  const __m256i pc = popcount_lanes(c, _mm256_xor_si256(cc, q));
  const __m256i pd = popcount_lanes(c, _mm256_xor_si256(d, q));
  // [a01 b01 | a23 b23] and [c01 d01 | c23 d23], then the 128-bit halves added.
  const __m256i ab = _mm256_add_epi64(_mm256_unpacklo_epi64(pa, pb), _mm256_unpackhi_epi64(pa, pb));
  const __m256i cd = _mm256_add_epi64(_mm256_unpacklo_epi64(pc, pd), _mm256_unpackhi_epi64(pc, pd));
  return _mm256_add_epi64(_mm256_permute2x128_si256(ab, cd, 0x20),
                          _mm256_permute2x128_si256(ab, cd, 0x31));
}

[[gnu::always_inline]] inline __m256i load(const std::uint64_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

void distances256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                  std::size_t nq, std::uint16_t* out) {
  const byte_counter c = make_counter();
  __m256i qv[8];
  for (std::size_t q = 0; q < nq; ++q) qv[q] = load(queries + 4 * q);
  std::size_t i = 0;
  alignas(32) std::uint64_t lanes[4];
  for (; i + 4 <= n; i += 4) {
    const __m256i a = load(data + 4 * i);
    const __m256i b = load(data + 4 * i + 4);
    const __m256i cc = load(data + 4 * i + 8);
    const __m256i d = load(data + 4 * i + 12);
    for (std::size_t q = 0; q < nq; ++q) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), distances4(c, qv[q], a, b, cc, d));
      for (std::size_t k = 0; k < 4; ++k) out[q * n + i + k] = static_cast<std::uint16_t>(lanes[k]);
    }
  }
  for (; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      out[q * n + i] = static_cast<std::uint16_t>(tail_dist256(data + 4 * i, queries + 4 * q));
    }
  }
}

std::size_t range256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                     std::size_t nq, std::uint32_t radius, kernel_match* out) {
  const byte_counter c = make_counter();
  __m256i qv[8];
  for (std::size_t q = 0; q < nq; ++q) qv[q] = load(queries + 4 * q);
  const __m256i limit = _mm256_set1_epi64x(static_cast<long long>(radius));
  std::size_t count = 0;
  std::size_t i = 0;
  alignas(32) std::uint64_t lanes[4];
  for (; i + 4 <= n; i += 4) {
    const __m256i a = load(data + 4 * i);
    const __m256i b = load(data + 4 * i + 4);
    const __m256i cc = load(data + 4 * i + 8);
    const __m256i d = load(data + 4 * i + 12);
    for (std::size_t q = 0; q < nq; ++q) {
      const __m256i dist = distances4(c, qv[q], a, b, cc, d);
      const int above = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(dist, limit)));
      if (above != 0xF) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), dist);
        for (unsigned k = 0; k < 4; ++k) {
          if ((above & (1 << k)) == 0) {
            out[count++] = {static_cast<std::uint32_t>(i + k), static_cast<std::uint16_t>(q),
                            static_cast<std::uint16_t>(lanes[k])};
          }
        }
      }
    }
  }
  for (; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      const std::uint32_t d = tail_dist256(data + 4 * i, queries + 4 * q);
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
  const byte_counter c = make_counter();
  std::size_t i = 0;
  alignas(32) std::uint64_t lanes[4];
  for (; i + 4 <= n; i += 4) {
    const __m256i v = load(data + i);
    for (std::size_t q = 0; q < nq; ++q) {
      const __m256i qv = _mm256_set1_epi64x(static_cast<long long>(queries[q]));
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                         popcount_lanes(c, _mm256_xor_si256(v, qv)));
      for (std::size_t k = 0; k < 4; ++k) out[q * n + i + k] = static_cast<std::uint16_t>(lanes[k]);
    }
  }
  for (; i < n; ++i) {
    for (std::size_t q = 0; q < nq; ++q) {
      out[q * n + i] = static_cast<std::uint16_t>(__builtin_popcountll(data[i] ^ queries[q]));
    }
  }
}

std::size_t range64(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                    std::size_t nq, std::uint32_t radius, kernel_match* out) {
  const byte_counter c = make_counter();
  const __m256i limit = _mm256_set1_epi64x(static_cast<long long>(radius));
  __m256i qv[8];
  for (std::size_t q = 0; q < nq; ++q)
    qv[q] = _mm256_set1_epi64x(static_cast<long long>(queries[q]));
  std::size_t count = 0;
  std::size_t i = 0;
  alignas(32) std::uint64_t lanes[4];
  for (; i + 4 <= n; i += 4) {
    const __m256i v = load(data + i);
    for (std::size_t q = 0; q < nq; ++q) {
      const __m256i dist = popcount_lanes(c, _mm256_xor_si256(v, qv[q]));
      const int above = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(dist, limit)));
      if (above != 0xF) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), dist);
        for (unsigned k = 0; k < 4; ++k) {
          if ((above & (1 << k)) == 0) {
            out[count++] = {static_cast<std::uint32_t>(i + k), static_cast<std::uint16_t>(q),
                            static_cast<std::uint16_t>(lanes[k])};
          }
        }
      }
    }
  }
  for (; i < n; ++i) {
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

const kernel table{"avx2",  feature_popcnt | feature_avx2, &distances256, &range256, &distances64,
                   &range64};

}  // namespace
}  // namespace kernels_avx2

namespace detail {
const kernel& avx2_kernel() noexcept {
  return kernels_avx2::table;
}
}  // namespace detail

}  // namespace hashguard::matcher
