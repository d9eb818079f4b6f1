// Band detection (trim.hpp). Integer luma, a bounded number of samples per line, and lines
// read only while they still look like a band: a photo without bars costs one line per side.
#include "hashguard/scanner/trim.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace hashguard::scanner {

namespace {

constexpr std::uint32_t max_samples_per_line = 1024;
constexpr std::uint32_t min_band_pixels = 2;
constexpr std::uint32_t min_image_dim = 16;
constexpr std::uint32_t ringing_lines = 8;  // a JPEG block

struct line_stats {
  double mean{};
  double activity{};  // mean |difference| of neighbouring pixels
  double smooth{};    // share of neighbouring pixels that differ by at most 1 level
};

// Luma of pixel (x, y).
int luma_at(const pixels_view& image, std::uint32_t x, std::uint32_t y) {
  const std::uint8_t* p =
      image.data.data() + (std::size_t{y} * image.width + x) * std::size_t{image.channels};
  if (image.channels == 1) return p[0];
  return (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8;
}

// Statistics of line `index` of one side: a row (horizontal) or a column, over pairs of
// neighbouring pixels spread evenly along it. Neighbours, not spread samples: a bar (solid,
// gradient or a heavily blurred copy) changes by at most a level from one pixel to the next,
// where sensor noise and texture in the picture do not.
line_stats stats_of(const pixels_view& image, bool row, std::uint32_t index) {
  const std::uint32_t length = row ? image.width : image.height;
  const std::uint32_t pairs = std::min(length - 1, max_samples_per_line);
  long sum = 0;
  long moves = 0;
  long smooth = 0;
  for (std::uint32_t k = 0; k < pairs; ++k) {
    const auto at =
        static_cast<std::uint32_t>(std::uint64_t{k} * (length - 2) / std::max(1U, pairs - 1));
    const int a = row ? luma_at(image, at, index) : luma_at(image, index, at);
    const int b = row ? luma_at(image, at + 1, index) : luma_at(image, index, at + 1);
    sum += a;
    moves += std::abs(a - b);
    smooth += std::abs(a - b) <= 1 ? 1 : 0;
  }
  const auto n = static_cast<double>(pairs);
  return {static_cast<double>(sum) / n, static_cast<double>(moves) / n,
          static_cast<double>(smooth) / n};
}

// Lines past the end of a solid run that still belong to the bar: JPEG blocks that straddle
// the bar's edge ring, so the last lines of the bar stop being uniform a few pixels early.
// Up to one block on, a line counts as bar while its mean is nearer the bar's than the
// picture's (the line a block further in), when the two differ clearly (min_edge_jump).
template <class LineIndex>
std::uint32_t ringing_of(const pixels_view& image, bool row, LineIndex line, std::uint32_t n,
                         const line_stats& bar, const trim_options& o) {
  const std::uint32_t across = row ? image.height : image.width;
  if (n + ringing_lines >= across) return 0;
  const double picture = stats_of(image, row, line(n + ringing_lines)).mean;
  if (std::abs(picture - bar.mean) < o.min_edge_jump) return 0;
  std::uint32_t extra = 0;
  while (extra < ringing_lines) {
    const double m = stats_of(image, row, line(n + extra)).mean;
    if (std::abs(m - bar.mean) >= std::abs(m - picture)) break;
    ++extra;
  }
  return extra;
}

// The band width on one side: lines from the edge inward (`line(i)` gives line i's index).
// Two kinds: a solid band (every line all but identical to the edge line: a painted bar,
// which may border a dark or flat picture and still ends where the picture's own noise
// starts), else a smooth band (a gradient or a blurred copy) that must end at an edge.
template <class LineIndex>
std::uint32_t band_of(const pixels_view& image, bool row, std::uint32_t across,
                      const trim_options& o, LineIndex line) {
  const auto most = static_cast<std::uint32_t>(o.max_band_fraction * across);
  const auto least = std::max(min_band_pixels,
                              static_cast<std::uint32_t>(std::ceil(o.min_band_fraction * across)));
  const line_stats edge_line = stats_of(image, row, line(0));
  const auto solid_line = [&](const line_stats& s) {
    return s.activity <= o.max_solid_activity &&
           std::abs(s.mean - edge_line.mean) <= o.max_solid_drift;
  };
  if (solid_line(edge_line)) {
    std::uint32_t n = 1;
    line_stats previous = edge_line;
    line_stats next;
    while (n <= most && solid_line(next = stats_of(image, row, line(n)))) {
      previous = next;
      ++n;
    }
    // A run broken only by its slow drift (the next line as uniform, its mean a small step on)
    // is a gradient: the smooth band below decides where it ends. Broken by noise or texture,
    // it ends here, also when the picture there is dark or flat.
    const bool drifts =
        next.activity <= o.max_solid_activity && std::abs(next.mean - previous.mean) <= o.max_step;
    if (n >= least && n <= most && !drifts)
      return n + ringing_of(image, row, line, n, edge_line, o);
  }
  std::uint32_t n = 0;
  line_stats last;
  while (n <= most) {
    const line_stats s = n == 0 ? edge_line : stats_of(image, row, line(n));
    const bool flat = s.activity <= o.max_activity && s.smooth >= o.min_smooth_share;
    const bool continues = n == 0 || std::abs(s.mean - last.mean) <= o.max_step;
    if (!flat || !continues) {
      // The band ends where the picture starts. A line that is flat itself (only the step
      // broke the run) may be a gentle change inside a flat part of the picture: that counts
      // only as a clear edge (min_edge_jump), as a bar next to a flat sky is.
      if (n < least) return 0;
      const bool edge = std::abs(s.mean - last.mean) >= o.min_edge_jump;
      return flat && !edge ? 0 : n;
    }
    last = s;
    ++n;
  }
  return 0;  // flat beyond the largest band: a flat image, or a flat part of the picture
}

}  // namespace

std::optional<trimmed_content> find_content(const pixels_view& image, const trim_options& o) {
  if ((image.channels != 1 && image.channels != 3) || image.data.size() < image.size_bytes() ||
      image.width < min_image_dim || image.height < min_image_dim) {
    return std::nullopt;
  }
  const std::uint32_t w = image.width;
  const std::uint32_t h = image.height;
  trim_sides t;
  t.top = band_of(image, true, h, o, [](std::uint32_t i) { return i; });
  t.bottom = band_of(image, true, h, o, [h](std::uint32_t i) { return h - 1 - i; });
  t.left = band_of(image, false, w, o, [](std::uint32_t i) { return i; });
  t.right = band_of(image, false, w, o, [w](std::uint32_t i) { return w - 1 - i; });
  if (t == trim_sides{}) return std::nullopt;
  const std::uint32_t content_w = w - std::min(w, t.left + t.right);
  const std::uint32_t content_h = h - std::min(h, t.top + t.bottom);
  if (content_w < o.min_content_fraction * w || content_h < o.min_content_fraction * h) {
    return std::nullopt;
  }
  return trimmed_content{{t.left, t.top, content_w, content_h}, t};
}

}  // namespace hashguard::scanner
