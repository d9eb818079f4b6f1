// AVX-512 VPOPCNTDQ kernel (built with -mavx512f -mavx512cd -mavx512dq -mavx512bw
// -mavx512vpopcntdq -mpopcnt; the only file built with AVX-512 flags).
//
// 256-bit hashes: eight hashes (four registers, two hashes each) are transposed into four
// registers of word planes (word k of hashes 0..7), once per block and shared by every query
// of the batch; a query then costs 4 xor + 4 vpopcntq + 3 adds + 1 compare per 8 hashes. The
// tail (n % 8) goes through the same path with masked loads, so there is no scalar remainder.
#include "hashguard/matcher/kernel_types.hpp"

#include <immintrin.h>

namespace hashguard::matcher {
// A named namespace per ISA file so that a disassembly can tell the files' code apart
// (tests/matcher/test_kernel_isa.cpp); the anonymous one keeps it file-local.
namespace kernels_avx512_vpopcntdq {
namespace {

struct planes {
  __m512i w0, w1, w2, w3;
};

// Transposes four registers of two hashes each (r0 = [h0w0 h0w1 h0w2 h0w3 h1w0 ...], r1 = h2,h3,
// r2 = h4,h5, r3 = h6,h7) into word planes (w0 = word 0 of h0..h7, and so on). Always inlined:
// an out-of-line call would pass the planes through the stack on every block.
[[gnu::always_inline]] inline planes transpose(__m512i r0, __m512i r1, __m512i r2, __m512i r3) {
  const __m512i even = _mm512_setr_epi64(0, 4, 8, 12, 2, 6, 10, 14);
  const __m512i odd = _mm512_setr_epi64(1, 5, 9, 13, 3, 7, 11, 15);
  const __m512i ab02 = _mm512_permutex2var_epi64(r0, even, r1);  // w0 of h0-3, w2 of h0-3
  const __m512i ab13 = _mm512_permutex2var_epi64(r0, odd, r1);   // w1, w3 of h0-3
  const __m512i cd02 = _mm512_permutex2var_epi64(r2, even, r3);  // w0, w2 of h4-7
  const __m512i cd13 = _mm512_permutex2var_epi64(r2, odd, r3);   // w1, w3 of h4-7
  return {_mm512_shuffle_i64x2(ab02, cd02, _MM_SHUFFLE(1, 0, 1, 0)),
          _mm512_shuffle_i64x2(ab13, cd13, _MM_SHUFFLE(1, 0, 1, 0)),
          _mm512_shuffle_i64x2(ab02, cd02, _MM_SHUFFLE(3, 2, 3, 2)),
          _mm512_shuffle_i64x2(ab13, cd13, _MM_SHUFFLE(3, 2, 3, 2))};
}

// Word planes of 8 hashes at p.
[[gnu::always_inline]] inline planes load_planes8(const std::uint64_t* p) {
  return transpose(_mm512_loadu_si512(p), _mm512_loadu_si512(p + 8), _mm512_loadu_si512(p + 16),
                   _mm512_loadu_si512(p + 24));
}

// Word planes of the last `count` (< 8) hashes at p; lanes past `count` are zero.
planes load_planes_tail(const std::uint64_t* p, std::size_t count) {
  __m512i r[4];
  const std::size_t words = 4 * count;
  for (std::size_t j = 0; j < 4; ++j) {
    const std::size_t first = 8 * j;
    if (words >= first + 8) {
      r[j] = _mm512_loadu_si512(p + first);
    } else if (words > first) {
      const auto m = static_cast<__mmask8>((1U << (words - first)) - 1U);
      r[j] = _mm512_maskz_loadu_epi64(m, p + first);
    } else {
      r[j] = _mm512_setzero_si512();
    }
  }
  return transpose(r[0], r[1], r[2], r[3]);
}

[[gnu::always_inline]] inline __m512i broadcast(std::uint64_t w) {
  return _mm512_set1_epi64(static_cast<long long>(w));
}

// A query as four broadcast words.
[[gnu::always_inline]] inline planes query_planes(const std::uint64_t* q) {
  return {broadcast(q[0]), broadcast(q[1]), broadcast(q[2]), broadcast(q[3])};
}

[[gnu::always_inline]] inline __m512i distances8(const planes& p, const planes& q) {
  const __m512i c0 = _mm512_popcnt_epi64(_mm512_xor_si512(p.w0, q.w0));
  const __m512i c1 = _mm512_popcnt_epi64(_mm512_xor_si512(p.w1, q.w1));
  const __m512i c2 = _mm512_popcnt_epi64(_mm512_xor_si512(p.w2, q.w2));
  const __m512i c3 = _mm512_popcnt_epi64(_mm512_xor_si512(p.w3, q.w3));
  return _mm512_add_epi64(_mm512_add_epi64(c0, c1), _mm512_add_epi64(c2, c3));
}

[[gnu::always_inline]] inline __m512i distances8(const planes& p, const std::uint64_t* q) {
  return distances8(p, query_planes(q));
}

__mmask8 valid_lanes(std::size_t count) {
  return count >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1U << count) - 1U);
}

void distances256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                  std::size_t nq, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t count = n - i < 8 ? n - i : 8;
    const planes p =
        count == 8 ? load_planes8(data + 4 * i) : load_planes_tail(data + 4 * i, count);
    const __mmask8 valid = valid_lanes(count);
    for (std::size_t q = 0; q < nq; ++q) {
      _mm512_mask_cvtepi64_storeu_epi16(out + q * n + i, valid, distances8(p, queries + 4 * q));
    }
  }
}

std::size_t emit(__mmask8 hits, __m512i dist, std::size_t base, std::size_t q, kernel_match* out,
                 std::size_t count) {
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, dist);
  unsigned bits = hits;
  while (bits != 0) {
    const unsigned k = static_cast<unsigned>(__builtin_ctz(bits));
    bits &= bits - 1;
    out[count++] = {static_cast<std::uint32_t>(base + k), static_cast<std::uint16_t>(q),
                    static_cast<std::uint16_t>(lanes[k])};
  }
  return count;
}

std::size_t range256(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                     std::size_t nq, std::uint32_t radius, kernel_match* out) {
  const __m512i limit = broadcast(radius);
  std::size_t count = 0;
  std::size_t i = 0;
  if (nq == 1) {
    // The common single query: its planes stay in registers for the whole scan.
    const planes q0 = query_planes(queries);
    for (; i + 8 <= n; i += 8) {
      const __m512i dist = distances8(load_planes8(data + 4 * i), q0);
      const __mmask8 hits = _mm512_cmple_epu64_mask(dist, limit);
      if (hits != 0) count = emit(hits, dist, i, 0, out, count);
    }
  }
  for (; i + 8 <= n; i += 8) {
    const planes p = load_planes8(data + 4 * i);
    for (std::size_t q = 0; q < nq; ++q) {
      const __m512i dist = distances8(p, queries + 4 * q);
      const __mmask8 hits = _mm512_cmple_epu64_mask(dist, limit);
      if (hits != 0) count = emit(hits, dist, i, q, out, count);
    }
  }
  if (i < n) {
    const planes p = load_planes_tail(data + 4 * i, n - i);
    const __mmask8 valid = valid_lanes(n - i);
    for (std::size_t q = 0; q < nq; ++q) {
      const __m512i dist = distances8(p, queries + 4 * q);
      const __mmask8 hits = _mm512_mask_cmple_epu64_mask(valid, dist, limit);
      if (hits != 0) count = emit(hits, dist, i, q, out, count);
    }
  }
  return count;
}

__m512i load8(const std::uint64_t* p, std::size_t count) {
  return count >= 8 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi64(valid_lanes(count), p);
}

void distances64(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                 std::size_t nq, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t count = n - i < 8 ? n - i : 8;
    const __m512i v = load8(data + i, count);
    const __mmask8 valid = valid_lanes(count);
    for (std::size_t q = 0; q < nq; ++q) {
      _mm512_mask_cvtepi64_storeu_epi16(
          out + q * n + i, valid, _mm512_popcnt_epi64(_mm512_xor_si512(v, broadcast(queries[q]))));
    }
  }
}

std::size_t range64(const std::uint64_t* data, std::size_t n, const std::uint64_t* queries,
                    std::size_t nq, std::uint32_t radius, kernel_match* out) {
  const __m512i limit = broadcast(radius);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t rest = n - i < 8 ? n - i : 8;
    const __m512i v = load8(data + i, rest);
    const __mmask8 valid = valid_lanes(rest);
    for (std::size_t q = 0; q < nq; ++q) {
      const __m512i dist = _mm512_popcnt_epi64(_mm512_xor_si512(v, broadcast(queries[q])));
      const __mmask8 hits = _mm512_mask_cmple_epu64_mask(valid, dist, limit);
      if (hits != 0) count = emit(hits, dist, i, q, out, count);
    }
  }
  return count;
}

const kernel table{"avx512_vpopcntdq", feature_popcnt | feature_avx2 | feature_avx512_vpopcntdq,
                   &distances256,      &range256,
                   &distances64,       &range64};

}  // namespace
}  // namespace kernels_avx512_vpopcntdq

namespace detail {
const kernel& avx512_vpopcntdq_kernel() noexcept {
  return kernels_avx512_vpopcntdq::table;
}
}  // namespace detail

}  // namespace hashguard::matcher
