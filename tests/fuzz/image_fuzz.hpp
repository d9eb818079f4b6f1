// The body every image target shares: sniff, read_header, the decoder's checks, then the whole
// scan pipeline (digests, decode, PDQ with its dihedral hashes and quality, pHash, every GIF
// frame) on what decodes.
//
// Invariants checked beyond "no sanitizer report":
//  - a successful scan agrees with read_header (format, width, height) and with the caps
//    (pixels, and pixels x bytes per pixel);
//  - PDQ quality is 0..100 and an animation never yields more frames than max_frames;
//  - scanning is a function of the bytes alone: a scanner that has already scanned earlier
//    inputs (reused, possibly larger buffers, as the service's per-thread scanners are) gives
//    the same hashes as a fresh one. Pixels a decoder forgets to write would otherwise carry
//    the previous image into this one's hash.
#pragma once

#include "fuzz_limits.hpp"
#include "fuzz_support.hpp"
#include "hashguard/scanner/scan.hpp"
#include "hashguard/scanner/sniff.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace hg_fuzz {

inline int fuzz_image(const std::uint8_t* data, std::size_t size,
                      hashguard::scanner::image_format want) {
  namespace sc = hashguard::scanner;
  const std::span<const std::uint8_t> bytes(data, size);
  const auto format = sc::sniff(bytes);
  // Other formats have their own target: -1 keeps them out of this target's corpus.
  if (!format || *format != want) return -1;
  const auto header = sc::read_header(bytes);

  sc::scan_options options;
  options.limits = fuzz_limits();
  static sc::image_scanner reused(options);
  const auto first = reused.scan(bytes);
  if (!first) return 0;

  HG_FUZZ_CHECK(header.has_value());
  HG_FUZZ_CHECK(first->format == want);
  HG_FUZZ_CHECK(first->width == header->width && first->height == header->height);
  HG_FUZZ_CHECK(header->pixel_count() <= options.limits.max_pixels);
  HG_FUZZ_CHECK(header->largest_frame_pixels * header->bytes_per_pixel <=
                options.limits.max_decode_bytes);
  HG_FUZZ_CHECK(first->pdq.quality >= 0 && first->pdq.quality <= 100);
  HG_FUZZ_CHECK(first->pdq.hash == first->pdq.dihedral[0]);
  HG_FUZZ_CHECK(first->frames.size() <= options.limits.max_frames);

  sc::image_scanner fresh(options);
  const auto again = fresh.scan(bytes);
  HG_FUZZ_CHECK(again.has_value());
  HG_FUZZ_CHECK(again->pdq.dihedral == first->pdq.dihedral);
  HG_FUZZ_CHECK(again->pdq.quality == first->pdq.quality);
  HG_FUZZ_CHECK(again->phash == first->phash);
  HG_FUZZ_CHECK(again->digest == first->digest);
  HG_FUZZ_CHECK(again->frames.size() == first->frames.size());
  for (std::size_t i = 0; i < first->frames.size(); ++i) {
    HG_FUZZ_CHECK(again->frames[i].pdq.hash == first->frames[i].pdq.hash);
  }
  return 0;
}

}  // namespace hg_fuzz
