// Border, letterbox and pillarbox detection: where the picture sits inside a padded frame.
//
// A copy of a known image padded with bars (a border, a letterbox to 16:9, a pillarbox to 4:3)
// hashes far from the original: the bars move the picture inside the 64x64 grid. find_content
// finds uniform or near-uniform bands on each side, so the scanner can also hash the content
// alone (pdq_hasher::hash with a region) and match with it. It never replaces the hash of the
// whole image: a trim that took away real content can add a candidate, never lose one.
//
// Three kinds of band, tried in turn on each side. An exact band (a painted bar as a JPEG
// decodes it) is a run of lines from the edge in each of which at least min_exact_share of the
// samples are exactly the edge line's most common luma value: it ends where the picture
// starts even when the picture is a level or two off the bar's colour (a night sky beside a
// black bar), unless the next line is uniform a small step on (a gradient: then the kinds
// below decide, and the exact band becomes a candidate). A solid band is a run of lines each of
// which has a mean absolute neighbour difference of at most max_solid_activity and a mean
// within max_solid_drift of the edge line's (a painted bar with noise). Both take up to 8 more
// lines (a JPEG block) whose mean is still nearer the bar's than the picture's (the line a
// block further in), when the two differ by min_edge_jump, or by min_ringing_jump with at
// least min_ringing_share of the line still exactly the bar's value: JPEG ringing makes a
// bar's last lines noisy. Otherwise a smooth band is a run of lines (rows from the top or
// bottom, columns from the left or right), starting at the edge, each of which is
//   - flat along itself: the mean absolute luma difference of neighbouring pixels along the
//     line is at most trim_options::max_activity and at least min_smooth_share of them differ
//     by at most 1 level (solid colour, a low-variance gradient, a heavily blurred copy of the
//     picture; sensor noise and texture fail it), and
//   - close to the line before it: their mean luma differs by at most max_step (a gradient
//     across the band is fine, a jump to a different region is the band's end).
// It counts when it is at least min_band_fraction of that dimension (and 2 pixels) and at
// most max_band_fraction; what is left must be at least min_content_fraction of each dimension,
// and the first line after the band must not be flat itself unless its mean jumps by at least
// min_edge_jump (else the band may have run into a flat part of the picture: not trimmed); it
// takes the ringing lines as above when the picture differs by min_edge_jump. Luma is
// the integer (77 R + 150 G + 29 B) / 256, sampled at most 1024 times per line, so detection reads
// at most 1024 samples per line it inspects.
//
// Where pixels cannot tell a bar from a dark or flat edge of the picture (a black sky, a white
// product background), find_candidates adds the likely layouts of the same bars (centred, on
// one axis, of a standard picture shape): the scanner hashes and matches each (at most
// max_candidates).
//
// Thread-safety: pure functions. Errors: none (nullopt or empty = nothing to trim).
#pragma once

#include "hashguard/scanner/image.hpp"
#include "hashguard/scanner/pdq.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace hashguard::scanner {

struct trim_options {
  double min_exact_share{0.85};      ///< an exact band's lines: share exactly the bar's value
  double min_ringing_jump{3.0};      ///< luma levels, bar to picture, for ringing lines
  double min_ringing_share{0.5};     ///< ... exactly the bar's value, when under min_edge_jump
  double max_activity{2.5};          ///< luma levels (0..255), along a band line
  double min_smooth_share{0.9};      ///< of neighbouring pixel pairs within 1 level
  double max_solid_activity{0.5};    ///< a solid band's lines: luma levels along them
  double max_solid_drift{1.5};       ///< a solid band's lines: mean luma off the edge line
  double max_step{2.5};              ///< luma levels between neighbouring band lines
  double min_edge_jump{12.0};        ///< luma levels: a band ending in a flat line needs this
  double min_band_fraction{0.01};    ///< of the dimension across the band
  double max_band_fraction{0.35};    ///< one side's band at most
  double min_content_fraction{0.4};  ///< of each dimension, left after trimming
  std::uint32_t max_candidates{8};   ///< find_candidates: content rectangles at most
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

/// Up to options.max_candidates distinct content rectangles to hash and match, the first
/// find_content's when it finds one. Where the pixels cannot tell a bar from a dark
/// or flat edge of the picture, the others are the likely layouts of the same bars, in order:
/// the exact bands a gradient test set aside; each axis alone, the wider bars' first (letterbox
/// and pillarbox bars lie on one axis); each opposite pair at the narrower of the two (padding
/// is centred; a dark edge of the picture only ever widens a band), then at the wider (JPEG
/// ringing can end a band up to a block early); one width all round (the narrowest); and a
/// picture of a standard shape (1:1, 4:3, 3:2, 16:9, 5:4 and their portrait forms) centred
/// across the wider bars' axis: the widest such bars at most the found ones, then the
/// narrowest up to 16 pixels (a JPEG chroma block) wider. On an axis with no band whose two sides
/// both run smooth (blurred bars beside a dark edge of the picture: the run never ends at an edge),
/// a standard shape within both runs is a candidate too, so there can be candidates where
/// find_content finds nothing.
[[nodiscard]] std::vector<trimmed_content> find_candidates(const pixels_view& image,
                                                           const trim_options& options = {});

}  // namespace hashguard::scanner
