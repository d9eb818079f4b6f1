// pHash: OpenCV img_hash's PHash, reproduced bit for bit without OpenCV (tested against it).
// 32x32 bilinear resize (INTER_LINEAR_EXACT fixed point) -> grey (BGR2GRAY fixed point) ->
// 32x32 float DCT -> top-left 8x8 with the DC zeroed -> bit = coefficient > mean.
// The 64 bits as core::hash64 with OpenCV's first output byte in the top 8 bits.
//
// Thread-safety: a phash_hasher is not thread-safe; use one per thread. No allocation per call.
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/scanner/image.hpp"

namespace hashguard::scanner {

class phash_hasher {
 public:
  [[nodiscard]] core::hash64 hash(const pixels_view& image);
};

}  // namespace hashguard::scanner
