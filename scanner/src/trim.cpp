// Band detection (trim.hpp). Integer luma, a bounded number of samples per line, and lines
// read only while they still look like a band: a photo without bars costs one line per side.
#include "hashguard/scanner/trim.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

namespace hashguard::scanner {

namespace {

constexpr std::uint32_t max_samples_per_line = 1024;
constexpr std::uint32_t min_band_pixels = 2;
constexpr std::uint32_t min_image_dim = 16;
constexpr std::uint32_t ringing_lines = 8;  // a JPEG block

// Luma of pixel (x, y).
int luma_at(const pixels_view& image, std::uint32_t x, std::uint32_t y) {
  const std::uint8_t* p =
      image.data.data() + (std::size_t{y} * image.width + x) * std::size_t{image.channels};
  if (image.channels == 1) return p[0];
  return (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8;
}

struct line_stats {
  double mean{};
  double activity{};  // mean |difference| of neighbouring pixels
  double smooth{};    // share of neighbouring pixels that differ by at most 1 level
  double same{};      // share of samples exactly equal to the value asked for (-1: none)
};

// Statistics of line `index` of one side: a row (horizontal) or a column, over pairs of
// neighbouring pixels spread evenly along it. Neighbours, not spread samples: a bar (solid,
// gradient or a heavily blurred copy) changes by at most a level from one pixel to the next,
// where sensor noise and texture in the picture do not.
line_stats stats_of(const pixels_view& image, bool row, std::uint32_t index, int value = -1) {
  const std::uint32_t length = row ? image.width : image.height;
  const std::uint32_t pairs = std::min(length - 1, max_samples_per_line);
  long sum = 0;
  long moves = 0;
  long smooth = 0;
  long same = 0;
  for (std::uint32_t k = 0; k < pairs; ++k) {
    const auto at =
        static_cast<std::uint32_t>(std::uint64_t{k} * (length - 2) / std::max(1U, pairs - 1));
    const int a = row ? luma_at(image, at, index) : luma_at(image, index, at);
    const int b = row ? luma_at(image, at + 1, index) : luma_at(image, index, at + 1);
    sum += a;
    moves += std::abs(a - b);
    smooth += std::abs(a - b) <= 1 ? 1 : 0;
    same += a == value ? 1 : 0;
  }
  const auto n = static_cast<double>(pairs);
  return {static_cast<double>(sum) / n, static_cast<double>(moves) / n,
          static_cast<double>(smooth) / n, static_cast<double>(same) / n};
}

// The most common luma value of a line (over the same samples as stats_of) and its share.
std::pair<int, double> mode_of(const pixels_view& image, bool row, std::uint32_t index) {
  const std::uint32_t length = row ? image.width : image.height;
  const std::uint32_t samples = std::min(length, max_samples_per_line);
  std::array<std::uint32_t, 256> histogram{};
  for (std::uint32_t k = 0; k < samples; ++k) {
    const auto at =
        static_cast<std::uint32_t>(std::uint64_t{k} * (length - 1) / std::max(1U, samples - 1));
    ++histogram[static_cast<std::size_t>(row ? luma_at(image, at, index)
                                             : luma_at(image, index, at))];
  }
  const auto most = std::max_element(histogram.begin(), histogram.end());
  return {static_cast<int>(most - histogram.begin()),
          static_cast<double>(*most) / static_cast<double>(samples)};
}

// Lines past the end of a solid run that still belong to the bar: JPEG blocks that straddle
// the bar's edge ring, so the last lines of the bar stop being uniform a few pixels early.
// Up to one block on, a line counts as bar while its mean is nearer the bar's than the
// picture's (the line a block further in), when the two differ clearly (min_edge_jump), or,
// next to a dark or faint picture (a jump of min_ringing_jump), while at least
// min_ringing_share of the line is still exactly the bar's value.
template <class LineIndex>
std::uint32_t ringing_of(const pixels_view& image, bool row, LineIndex line, std::uint32_t n,
                         double bar_mean, int bar_value, const trim_options& o) {
  const std::uint32_t across = row ? image.height : image.width;
  if (n + ringing_lines >= across) return 0;
  const double picture = stats_of(image, row, line(n + ringing_lines)).mean;
  const double jump = std::abs(picture - bar_mean);
  if (jump < o.min_ringing_jump) return 0;
  std::uint32_t extra = 0;
  while (extra < ringing_lines) {
    const line_stats s = stats_of(image, row, line(n + extra), bar_value);
    if (std::abs(s.mean - bar_mean) >= std::abs(s.mean - picture)) break;
    if (jump < o.min_edge_jump && s.same < o.min_ringing_share) break;
    ++extra;
  }
  return extra;
}

// The band width on one side: lines from the edge inward (`line(i)` gives line i's index).
// Three kinds, tried in turn: an exact band (min_exact_share of every line exactly the edge
// line's most common value: a painted bar as a JPEG decodes it; it ends where the picture
// starts even when the picture is a level or two off black), a solid band (every line all but
// identical to the edge line: a painted bar with noise), else a smooth band (a gradient or a
// blurred copy) that must end at an edge. `exact` receives the exact band's width when it was
// set aside for a gradient (the next line uniform a step on): a second candidate.
template <class LineIndex>
std::uint32_t band_of(const pixels_view& image, bool row, std::uint32_t across,
                      const trim_options& o, LineIndex line, std::uint32_t& exact,
                      std::uint32_t& reach) {
  exact = 0;
  reach = 0;
  const auto most = static_cast<std::uint32_t>(o.max_band_fraction * across);
  const auto least = std::max(min_band_pixels,
                              static_cast<std::uint32_t>(std::ceil(o.min_band_fraction * across)));
  const line_stats edge_line = stats_of(image, row, line(0));
  const auto [bar_value, bar_share] = mode_of(image, row, line(0));
  if (bar_share >= o.min_exact_share) {
    std::uint32_t n = 1;
    while (n <= most && stats_of(image, row, line(n), bar_value).same >= o.min_exact_share) ++n;
    if (n >= least && n <= most) {
      const std::uint32_t width = n + ringing_of(image, row, line, n, edge_line.mean, bar_value, o);
      // A gradient bar changes by a level every few lines: the next line is uniform too, at a
      // value a small step on. Then the smooth band below decides, and this is a candidate.
      const auto [next_value, next_share] = mode_of(image, row, line(n));
      const bool steps = next_share >= o.min_exact_share && next_value != bar_value &&
                         std::abs(next_value - bar_value) <= o.max_step;
      if (!steps) return width;
      exact = width;
    }
  }
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
      return n + ringing_of(image, row, line, n, edge_line.mean, bar_value, o);
  }
  std::uint32_t n = 0;
  line_stats last;
  while (n <= most) {
    const line_stats s = n == 0 ? edge_line : stats_of(image, row, line(n));
    const bool flat = s.activity <= o.max_activity && s.smooth >= o.min_smooth_share;
    const bool continues = n == 0 || std::abs(s.mean - last.mean) <= o.max_step;
    if (!flat || !continues) {
      reach = n;
      // The band ends where the picture starts. A line that is flat itself (only the step
      // broke the run) may be a gentle change inside a flat part of the picture: that counts
      // only as a clear edge (min_edge_jump), as a bar next to a flat sky is.
      if (n < least) return 0;
      const bool edge = std::abs(s.mean - last.mean) >= o.min_edge_jump;
      if (flat && !edge) return 0;
      // The lines JPEG ringing roughened at the bar's end, when the picture differs clearly.
      return n + ringing_of(image, row, line, n, last.mean, -1, o);
    }
    last = s;
    ++n;
  }
  reach = n;
  return 0;  // flat beyond the largest band: a flat image, or a flat part of the picture
}

}  // namespace

namespace {

// The content rectangle `t` leaves, when it trims something and leaves enough.
std::optional<trimmed_content> content_of(std::uint32_t w, std::uint32_t h, const trim_sides& t,
                                          const trim_options& o) {
  if (t == trim_sides{} || t.left + t.right >= w || t.top + t.bottom >= h) return std::nullopt;
  const std::uint32_t content_w = w - (t.left + t.right);
  const std::uint32_t content_h = h - (t.top + t.bottom);
  if (content_w < o.min_content_fraction * w || content_h < o.min_content_fraction * h) {
    return std::nullopt;
  }
  return trimmed_content{{t.left, t.top, content_w, content_h}, t};
}

// The sides each band_of found, and the exact bands set aside for a gradient.
struct detected {
  trim_sides sides;
  trim_sides exact;
  trim_sides reach;  // how far each side's smooth run went, band or not
};

std::optional<detected> detect(const pixels_view& image, const trim_options& o) {
  if ((image.channels != 1 && image.channels != 3) || image.data.size() < image.size_bytes() ||
      image.width < min_image_dim || image.height < min_image_dim) {
    return std::nullopt;
  }
  const std::uint32_t w = image.width;
  const std::uint32_t h = image.height;
  detected d;
  trim_sides& t = d.sides;
  trim_sides& e = d.exact;
  trim_sides& r = d.reach;
  t.top = band_of(
      image, true, h, o, [](std::uint32_t i) { return i; }, e.top, r.top);
  t.bottom = band_of(
      image, true, h, o, [h](std::uint32_t i) { return h - 1 - i; }, e.bottom, r.bottom);
  t.left = band_of(
      image, false, w, o, [](std::uint32_t i) { return i; }, e.left, r.left);
  t.right = band_of(
      image, false, w, o, [w](std::uint32_t i) { return w - 1 - i; }, e.right, r.right);
  return d;
}

// Standard picture shapes (width : height) a letterboxed or pillarboxed picture often has.
constexpr std::array<std::pair<std::uint32_t, std::uint32_t>, 9> standard_aspects{
    {{1, 1}, {4, 3}, {3, 2}, {16, 9}, {5, 4}, {3, 4}, {2, 3}, {9, 16}, {4, 5}}};

// Bars (first, second side) for a centred picture of a standard shape filling the other axis:
// of those whose first side is in [least, most], the widest bars (`widest`) or the narrowest.
std::optional<std::pair<std::uint32_t, std::uint32_t>> standard_bars(std::uint32_t across,
                                                                     std::uint32_t along,
                                                                     std::uint32_t most,
                                                                     std::uint32_t least,
                                                                     bool widths, bool widest) {
  std::optional<std::pair<std::uint32_t, std::uint32_t>> best;
  for (const auto& [aw, ah] : standard_aspects) {
    // The picture's size across the bars: along * aw / ah (pillarbox) or along * ah / aw.
    const std::uint64_t num = widths ? std::uint64_t{along} * aw : std::uint64_t{along} * ah;
    const std::uint64_t den = widths ? ah : aw;
    const auto picture = static_cast<std::uint32_t>((num + den / 2) / den);
    if (picture >= across) continue;
    const std::uint32_t first = (across - picture) / 2;
    if (first < least || first > most) continue;
    if (!best || (widest ? first > best->first : first < best->first))
      best = std::pair{first, across - picture - first};
  }
  return best;
}

}  // namespace

std::optional<trimmed_content> find_content(const pixels_view& image, const trim_options& o) {
  const auto d = detect(image, o);
  if (!d) return std::nullopt;
  return content_of(image.width, image.height, d->sides, o);
}

std::vector<trimmed_content> find_candidates(const pixels_view& image, const trim_options& o) {
  std::vector<trimmed_content> out;
  const auto d = detect(image, o);
  if (!d) return out;
  const std::uint32_t w = image.width;
  const std::uint32_t h = image.height;
  const auto add = [&](const trim_sides& t) {
    if (out.size() >= o.max_candidates) return;
    const auto c = content_of(w, h, t, o);
    if (!c) return;
    for (const auto& old : out) {
      if (old.sides == t) return;
    }
    out.push_back(*c);
  };
  const trim_sides& t = d->sides;
  add(t);
  // The exact bands a gradient test set aside.
  if (d->exact != trim_sides{}) {
    trim_sides x = t;
    if (d->exact.top != 0) x.top = d->exact.top;
    if (d->exact.bottom != 0) x.bottom = d->exact.bottom;
    if (d->exact.left != 0) x.left = d->exact.left;
    if (d->exact.right != 0) x.right = d->exact.right;
    add(x);
  }
  // Letterbox and pillarbox bars lie on one axis: a dark or flat edge of the picture on the
  // other axis is no bar. Each axis alone, the one with the wider bars first.
  const bool columns = t.left + t.right >= t.top + t.bottom;
  const trim_sides columns_only{0, 0, t.left, t.right};
  const trim_sides rows_only{t.top, t.bottom, 0, 0};
  add(columns ? columns_only : rows_only);
  add(columns ? rows_only : columns_only);
  // Padding is centred: where the picture's own dark or flat edge made one side's band wider,
  // the narrower side is the bar; where JPEG ringing ended one side's band early, the wider.
  const std::uint32_t tb = std::min(t.top, t.bottom);
  const std::uint32_t lr = std::min(t.left, t.right);
  add({tb, tb, lr, lr});
  const std::uint32_t tb_wide = std::max(t.top, t.bottom);
  const std::uint32_t lr_wide = std::max(t.left, t.right);
  add({tb_wide, tb_wide, lr_wide, lr_wide});
  // A border of one width all round.
  if (tb != 0 && lr != 0) {
    const std::uint32_t all = std::min(tb, lr);
    add({all, all, all, all});
  }
  // A picture of a standard shape centred in the frame, its bars at most as wide as found
  // (a dark edge of the picture only ever widens a band).
  const auto least = [&](std::uint32_t across) {
    return std::max(min_band_pixels,
                    static_cast<std::uint32_t>(std::ceil(o.min_band_fraction * across)));
  };
  // And the narrowest a little wider than found (up to 16 lines: JPEG ringing across a 4:2:0
  // chroma block can end a blurred or smooth band that early).
  const auto standard = [&](std::uint32_t most, std::uint32_t lowest, bool widest) {
    if (columns) {
      if (const auto bars = standard_bars(w, h, most, std::max(lowest, least(w)), true, widest)) {
        add({0, 0, bars->first, bars->second});
      }
    } else if (const auto bars =
                   standard_bars(h, w, most, std::max(lowest, least(h)), false, widest)) {
      add({bars->first, bars->second, 0, 0});
    }
  };
  const std::uint32_t found = columns ? std::max(t.left, t.right) : std::max(t.top, t.bottom);
  standard(found + 1, 0, true);
  standard(found + 2 * ringing_lines, found + 2, false);
  // Blurred bars beside a dark or flat edge of the picture: no band ends at an edge, but both
  // sides of an axis run smooth at least as far as the bars (not counted as bars on their own:
  // a flat sky does too). A picture of a standard shape within both runs, on that axis alone.
  const auto unended = [&](bool cols) {
    const std::uint32_t a = cols ? d->reach.left : d->reach.top;
    const std::uint32_t b = cols ? d->reach.right : d->reach.bottom;
    const bool found_here = cols ? (t.left | t.right) != 0 : (t.top | t.bottom) != 0;
    const std::uint32_t across = cols ? w : h;
    if (found_here || std::min(a, b) < least(across)) return;
    if (const auto bars =
            standard_bars(across, cols ? h : w, std::min(a, b) + 1, least(across), cols, true)) {
      add(cols ? trim_sides{0, 0, bars->first, bars->second}
               : trim_sides{bars->first, bars->second, 0, 0});
    }
  };
  unended(true);
  unended(false);
  return out;
}

}  // namespace hashguard::scanner
