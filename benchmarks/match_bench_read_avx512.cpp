// The read-bandwidth loop of match_bench for CPUs with AVX-512 (built with -mavx512f; used only
// when the CPU has it): 64-byte loads, four independent accumulators, the same load width as
// the AVX-512 kernel, so the measured ceiling is not lower than what the scan can reach.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace match_bench {

std::uint64_t read_all_avx512(const std::uint64_t* p, std::size_t words) {
  __m512i a0 = _mm512_setzero_si512();
  __m512i a1 = _mm512_setzero_si512();
  __m512i a2 = _mm512_setzero_si512();
  __m512i a3 = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 32 <= words; i += 32) {
    a0 = _mm512_xor_si512(a0, _mm512_loadu_si512(p + i));
    a1 = _mm512_xor_si512(a1, _mm512_loadu_si512(p + i + 8));
    a2 = _mm512_xor_si512(a2, _mm512_loadu_si512(p + i + 16));
    a3 = _mm512_xor_si512(a3, _mm512_loadu_si512(p + i + 24));
  }
  const __m512i a = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
  std::uint64_t r = static_cast<std::uint64_t>(_mm512_reduce_or_epi64(a));
  for (; i < words; ++i) r ^= p[i];
  return r;
}

}  // namespace match_bench
