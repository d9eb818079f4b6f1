// Border, letterbox and pillarbox detection: where the picture sits inside a padded frame.
//
// A copy of a known image padded with bars (a border, a letterbox to 16:9, a pillarbox to 4:3)
// hashes far from the original: the bars move the picture inside the 64x64 grid. find_content
// finds uniform or near-uniform bands on each side, so the scanner can also hash the content
// alone (pdq_hasher::hash with a region) and match with it. It never replaces the hash of the
// whole image: a trim that took away real content can add a candidate, never lose one.
//
// A solid band is a run of lines from the edge each of which has a mean absolute neighbour
// difference of at most max_solid_activity and a mean within max_solid_drift of the edge
// line's (a painted bar: it ends where the picture's own noise starts, even when the picture is
// dark or flat there), plus up to 8 lines (a JPEG block) whose mean is still nearer the bar's
// than the picture's: JPEG ringing makes a bar's last lines noisy. Otherwise a smooth band is a run
// of lines (rows from the top or bottom, columns from the left or right), starting at the edge,
// each of which is
//   - flat along itself: the mean absolute luma difference of neighbouring pixels along the
//     line is at most trim_options::max_activity and at least min_smooth_share of them differ
//     by at most 1 level (solid colour, a low-variance gradient, a heavily blurred copy of the
//     picture; sensor noise and texture fail it), and
//   - close to the line before it: their mean luma differs by at most max_step (a gradient
//     across the band is fine, a jump to a different region is the band's end).
// It counts when it is at least min_band_fraction of that dimension (and 2 pixels) and at
// most max_band_fraction; what is left must be at least min_content_fraction of each dimension,
// and the first line after the band must not be flat itself unless its mean jumps by at least
// min_edge_jump (else the band may have run into a flat part of the picture: not trimmed). Luma is
// the integer (77 R + 150 G + 29 B) / 256, sampled at most 1024 times per line, so detection reads
// at most 1024 samples per line it inspects.
//
// Thread-safety: pure functions. Errors: none (nullopt = nothing to trim).
#pragma once

#include "hashguard/scanner/image.hpp"
#include "hashguard/scanner/pdq.hpp"

#include <cstdint>
#include <optional>

namespace hashguard::scanner {

struct trim_options {
  double max_activity{2.5};          ///< luma levels (0..255), along a band line
  double min_smooth_share{0.9};      ///< of neighbouring pixel pairs within 1 level
  double max_solid_activity{0.5};    ///< a solid band's lines: luma levels along them
  double max_solid_drift{1.5};       ///< a solid band's lines: mean luma off the edge line
  double max_step{2.5};              ///< luma levels between neighbouring band lines
  double min_edge_jump{12.0};        ///< luma levels: a band ending in a flat line needs this
  double min_band_fraction{0.01};    ///< of the dimension across the band
  double max_band_fraction{0.35};    ///< one side's band at most
  double min_content_fraction{0.4};  ///< of each dimension, left after trimming
};

/// Pixels trimmed from each side.
struct trim_sides {
  std::uint32_t top{};
  std::uint32_t bottom{};
  std::uint32_t left{};
  std::uint32_t right{};
  friend constexpr bool operator==(const trim_sides&, const trim_sides&) = default;
};

struct trimmed_content {
  pixel_rect content;  ///< the picture inside the bands
  trim_sides sides;
};

/// The content rectangle when at least one side has a band; nullopt otherwise (or for an
/// invalid view: channels other than 1 or 3, too few bytes, under 16x16).
[[nodiscard]] std::optional<trimmed_content> find_content(const pixels_view& image,
                                                          const trim_options& options = {});

}  // namespace hashguard::scanner
