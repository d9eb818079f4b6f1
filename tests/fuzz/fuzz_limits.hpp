// The decode limits every target that scans images uses.
#pragma once

#include "hashguard/scanner/decode.hpp"

namespace hg_fuzz {

/// The service's caps scaled down so one input stays in the milliseconds: a header over them is
/// refused before any pixel memory exists, exactly as with the production values (scripts/fuzz
/// runs with -malloc_limit_mb far below what a header could ask for, so an allocation that
/// skipped the cap is reported as an out-of-memory crash).
inline hashguard::scanner::decode_limits fuzz_limits() {
  hashguard::scanner::decode_limits l;
  l.max_bytes = 1U << 20U;
  l.max_pixels = 1U << 20U;
  l.max_decode_bytes = 4U << 20U;  // 8-bit RGBA at the pixel cap, as in production
  l.max_frames = 8;
  l.max_total_pixels = 1U << 22U;
  return l;
}

}  // namespace hg_fuzz
