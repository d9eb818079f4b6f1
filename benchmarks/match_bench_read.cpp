// The read-bandwidth loop of match_bench, in its own file built with -mavx2 (used only when
// the CPU has AVX2): 32-byte loads, four independent accumulators, so the loop itself is never
// the limit and the figure is the memory's single-thread sequential read rate.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace match_bench {

std::uint64_t read_all_avx2(const std::uint64_t* p, std::size_t words) {
  __m256i a0 = _mm256_setzero_si256();
  __m256i a1 = _mm256_setzero_si256();
  __m256i a2 = _mm256_setzero_si256();
  __m256i a3 = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 16 <= words; i += 16) {
    a0 = _mm256_xor_si256(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_xor_si256(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_xor_si256(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  const __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  std::uint64_t r = static_cast<std::uint64_t>(_mm256_extract_epi64(a, 0)) ^
                    static_cast<std::uint64_t>(_mm256_extract_epi64(a, 1)) ^
                    static_cast<std::uint64_t>(_mm256_extract_epi64(a, 2)) ^
                    static_cast<std::uint64_t>(_mm256_extract_epi64(a, 3));
  for (; i < words; ++i) r ^= p[i];
  return r;
}

}  // namespace match_bench
