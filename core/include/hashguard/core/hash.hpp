// Hash value types shared by every module.
//
// hash256 holds a 256-bit PDQ hash. Bit layout (the one place it is written down):
//   PDQ bit k (0..255) belongs to DCT coefficient (row k/16, column k%16) and is
//   bit (k % 64) of words[k / 64].
// Equivalently PDQ's 16-bit word j is bits 16*(j%4)..16*(j%4)+15 of words[j/4], and the
// whole hash is the 256-bit little-endian number words[3]:words[2]:words[1]:words[0].
// The PDQ text form (core/hex.hpp) writes that number big-endian: word 15 first.
//
// hash64 holds a 64-bit pHash (OpenCV img_hash PHash). Byte i of OpenCV's 8-byte output is
// bits 56-8i..63-8i of value, so the big-endian hex text puts OpenCV's first byte first.
//
// Both are plain values: trivially copyable, comparable, no invariants.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstdint>

namespace hashguard::core {

struct hash256 {
  std::array<std::uint64_t, 4> words{};

  /// Bit k (0..255) as described above.
  [[nodiscard]] constexpr bool bit(unsigned k) const noexcept {
    return ((words[k / 64] >> (k % 64)) & 1U) != 0;
  }
  constexpr void set_bit(unsigned k) noexcept { words[k / 64] |= std::uint64_t{1} << (k % 64); }
  /// PDQ's 16-bit word j (0..15).
  [[nodiscard]] constexpr std::uint16_t word16(unsigned j) const noexcept {
    return static_cast<std::uint16_t>(words[j / 4] >> (16 * (j % 4)));
  }
  [[nodiscard]] constexpr bool is_zero() const noexcept {
    return (words[0] | words[1] | words[2] | words[3]) == 0;
  }

  friend constexpr auto operator<=>(const hash256&, const hash256&) = default;
};

struct hash64 {
  std::uint64_t value{};
  friend constexpr auto operator<=>(const hash64&, const hash64&) = default;
};

/// Hamming distance: number of differing bits (0..256).
[[nodiscard]] constexpr int distance(const hash256& a, const hash256& b) noexcept {
  return std::popcount(a.words[0] ^ b.words[0]) + std::popcount(a.words[1] ^ b.words[1]) +
         std::popcount(a.words[2] ^ b.words[2]) + std::popcount(a.words[3] ^ b.words[3]);
}

/// Hamming distance: number of differing bits (0..64).
[[nodiscard]] constexpr int distance(hash64 a, hash64 b) noexcept {
  return std::popcount(a.value ^ b.value);
}

}  // namespace hashguard::core
