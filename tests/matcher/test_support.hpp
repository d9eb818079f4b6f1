// Helpers shared by the matcher tests: random and near-duplicate hashes.
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/matcher/kernel.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace hg_test {

inline hashguard::core::hash256 random256(std::mt19937_64& rng) {
  return {{rng(), rng(), rng(), rng()}};
}

/// `h` with exactly `flips` distinct bits flipped.
inline hashguard::core::hash256 flip256(hashguard::core::hash256 h, int flips,
                                        std::mt19937_64& rng) {
  std::vector<unsigned> bits(256);
  for (unsigned i = 0; i < 256; ++i) bits[i] = i;
  std::shuffle(bits.begin(), bits.end(), rng);
  for (int i = 0; i < flips; ++i) {
    const unsigned k = bits[static_cast<std::size_t>(i)];
    h.words[k / 64] ^= std::uint64_t{1} << (k % 64);
  }
  return h;
}

inline std::uint64_t flip64(std::uint64_t v, int flips, std::mt19937_64& rng) {
  std::vector<unsigned> bits(64);
  for (unsigned i = 0; i < 64; ++i) bits[i] = i;
  std::shuffle(bits.begin(), bits.end(), rng);
  for (int i = 0; i < flips; ++i) v ^= std::uint64_t{1} << bits[static_cast<std::size_t>(i)];
  return v;
}

/// Every kernel this CPU can run (never empty: scalar runs everywhere).
inline std::vector<const hashguard::matcher::kernel*> runnable_kernels() {
  std::vector<const hashguard::matcher::kernel*> out;
  for (const auto* k : hashguard::matcher::kernels()) {
    if (hashguard::matcher::can_run(*k, hashguard::matcher::cpu_features())) out.push_back(k);
  }
  return out;
}

inline const hashguard::matcher::kernel& scalar() {
  return **hashguard::matcher::find_kernel("scalar");
}

}  // namespace hg_test
