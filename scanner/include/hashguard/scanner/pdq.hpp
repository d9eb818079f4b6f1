// PDQ perceptual hash, bit-exact with Meta's reference core (pdq/cpp) on the same pixels.
//
// Pipeline (the reference's): luma (RGB -> 0.299R + 0.587G + 0.114B in float32; grey, and RGB
// whose pixels are all grey, -> the grey value) -> Jarosz tent filter (two box passes per
// axis) -> 64x64 decimation -> 16x16 DCT -> median threshold; quality from the gradient sum.
// All 8 dihedral hashes come from the one DCT.
//
// Modes: fullres (default; the core on the full decoded image, as HMA and python-threatexchange
// hash) and reference_512 (the reference CLI: images wider or taller than 512 are first resized
// to exactly 512x512 by nearest neighbour).
//
// Thread-safety: a pdq_hasher is not thread-safe; use one per thread. It owns its scratch
// buffers, grown on demand and kept, so hashing allocates nothing once it has seen an image of
// the size at hand.
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/scanner/image.hpp"

#include <array>

namespace hashguard::scanner {

enum class pdq_mode : std::uint8_t { fullres, reference_512 };

struct pdq_result {
  core::hash256 hash;  ///< the original orientation (same as dihedral[0])
  int quality{};       ///< 0..100; below core::pdq_min_quality the bits carry no signal
  /// Indexed by core::dihedral: original, rot90, rot180, rot270, flipx, flipy, flipplus1,
  /// flipminus1.
  std::array<core::hash256, 8> dihedral{};
};

class pdq_hasher {
 public:
  pdq_hasher();
  ~pdq_hasher();
  pdq_hasher(const pdq_hasher&) = delete;
  pdq_hasher& operator=(const pdq_hasher&) = delete;
  pdq_hasher(pdq_hasher&&) noexcept;
  pdq_hasher& operator=(pdq_hasher&&) noexcept;

  /// Hashes the pixels. Images smaller than 5x5 give the all-zero hash with quality 0, as the
  /// reference does. Never fails for a valid view.
  [[nodiscard]] pdq_result hash(const pixels_view& image, pdq_mode mode = pdq_mode::fullres);

 private:
  struct scratch;
  scratch* scratch_;
};

}  // namespace hashguard::scanner
