// PDQ: luma, the reference CLI's pre-resize, the 64x64 downsample (pdq_blocked.cpp), quality,
// the 16x16 DCT, the median threshold and the 8 dihedral hashes.
//
// Built with -ffp-contract=off (scanner/CMakeLists.txt): every float operation here rounds
// where the reference's rounds, in the same order.
#include "hashguard/scanner/pdq.hpp"

#include "pdq_kernels.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace hashguard::scanner {

namespace {

using pdq_detail::luma_source;
using pdq_detail::sample_grid;

constexpr int min_hashable_dim = 5;
constexpr std::uint32_t reference_cli_dim = 512;

// The 16x64 DCT-II rows the reference uses (rows 1..16 of the 64-point DCT), computed as it
// does: a float scale times a double cosine, the product stored in float.
const std::array<float, 16 * 64>& dct_matrix() {
  static const std::array<float, 16 * 64> matrix = [] {
    constexpr double pi = 3.14159265358979323846;
    const auto scale = static_cast<float>(std::sqrt(2.0 / 64.0));
    std::array<float, 16 * 64> m{};
    for (std::size_t i = 0; i < 16; ++i) {
      for (std::size_t j = 0; j < 64; ++j) {
        const double angle =
            (pi / 2.0 / 64.0) * static_cast<double>(i + 1) * static_cast<double>(2 * j + 1);
        m[i * 64 + j] = static_cast<float>(static_cast<double>(scale) * std::cos(angle));
      }
    }
    return m;
  }();
  return matrix;
}

// B = D A D^T with A 64x64 and D 16x64; sums in the reference's order (k ascending from 0).
void dct_64_to_16(const float* a, float* b) {
  const auto& d = dct_matrix();
  float t[16 * 64];
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 64; ++j) {
      float sum = 0.0F;
      for (int k = 0; k < 64; ++k) sum += d[static_cast<std::size_t>(i * 64 + k)] * a[k * 64 + j];
      t[i * 64 + j] = sum;
    }
  }
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      float sum = 0.0F;
      for (int k = 0; k < 64; ++k) sum += t[i * 64 + k] * d[static_cast<std::size_t>(j * 64 + k)];
      b[i * 16 + j] = sum;
    }
  }
}

// The reference's heuristic: count significant gradients of the 64x64 downsample.
int quality_metric(const float* a) {
  int gradient_sum = 0;
  for (int i = 0; i < 63; ++i) {
    for (int j = 0; j < 64; ++j) {
      const float u = a[i * 64 + j];
      const float v = a[(i + 1) * 64 + j];
      const auto d = static_cast<int>(((u - v) * 100.0F) / 255.0F);
      gradient_sum += std::abs(d);
    }
  }
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 63; ++j) {
      const float u = a[i * 64 + j];
      const float v = a[i * 64 + j + 1];
      const auto d = static_cast<int>(((u - v) * 100.0F) / 255.0F);
      gradient_sum += std::abs(d);
    }
  }
  return std::min(gradient_sum / 90, 100);
}

// The reference takes Torben's median of the 256 values, which (for an even count) is the
// lower median: the 128th smallest. nth_element finds the same value.
float median_of(const float* values) {
  float copy[256];
  std::memcpy(copy, values, sizeof copy);
  std::nth_element(copy, copy + 127, copy + 256);
  return copy[127];
}

core::hash256 bits_of(const float* dct, float* median_out = nullptr) {
  const float median = median_of(dct);
  if (median_out != nullptr) *median_out = median;
  core::hash256 h;
  for (unsigned k = 0; k < 256; ++k) {
    if (dct[k] > median) h.set_bit(k);
  }
  return h;
}

// The dihedral variants from the original's DCT (the reference's sign/transpose table).
// Mirroring an axis negates that axis's coefficients of odd frequency, which are the even
// 0-based indices since index 0 is frequency 1; a transpose swaps the axes; rotations are a
// transpose plus one mirror.
std::array<core::hash256, 8> dihedral_hashes(const float* a) {
  std::array<core::hash256, 8> out{};
  float b[256];
  auto run = [&](core::dihedral which, bool transpose, auto sign_negative) {
    for (int i = 0; i < 16; ++i) {
      for (int j = 0; j < 16; ++j) {
        const float v = a[i * 16 + j];
        const int dst = transpose ? j * 16 + i : i * 16 + j;
        b[dst] = sign_negative(i, j) ? -v : v;
      }
    }
    out[static_cast<std::size_t>(which)] = bits_of(b);
  };
  out[0] = bits_of(a);
  run(core::dihedral::rot90, true, [](int, int j) { return (j & 1) == 0; });
  run(core::dihedral::rot180, false, [](int i, int j) { return ((i + j) & 1) != 0; });
  run(core::dihedral::rot270, true, [](int i, int) { return (i & 1) == 0; });
  run(core::dihedral::flipx, false, [](int i, int) { return (i & 1) == 0; });
  run(core::dihedral::flipy, false, [](int, int j) { return (j & 1) == 0; });
  run(core::dihedral::flipplus1, true, [](int, int) { return false; });
  run(core::dihedral::flipminus1, true, [](int i, int j) { return ((i + j) & 1) != 0; });
  return out;
}

std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Whether every RGB pixel has R == G == B. Runs to the end only for images that are grey (a
// colour JPEG of a black-and-white photo decodes so), so it is word-parallel: 8 pixels are 3
// words; XOR with the bytes one further on is zero at R^G and G^B of a grey pixel (the masks
// keep byte positions 0 and 1 mod 3, little-endian). Checked a block at a time.
bool all_grey(const pixels_view& image) {
  static_assert(std::endian::native == std::endian::little);
  constexpr std::uint64_t m0 = 0xFFFF00FFFF00FFFFULL;
  constexpr std::uint64_t m1 = 0xFF00FFFF00FFFF00ULL;
  constexpr std::uint64_t m2 = 0x00FFFF00FFFF00FFULL;
  const std::uint8_t* p = image.data.data();
  const std::size_t n = std::size_t{image.width} * image.height;
  std::size_t i = 0;
  // Each group of 8 pixels reads one byte past itself, so stop while a pixel remains after it.
  while (i + 8 < n) {
    const std::size_t block_end = std::min(n - 1, i + 4096);
    std::uint64_t diff = 0;
    for (; i + 8 <= block_end; i += 8) {
      const std::uint8_t* q = p + i * 3;
      diff |= ((load64(q) ^ load64(q + 1)) & m0) | ((load64(q + 8) ^ load64(q + 9)) & m1) |
              ((load64(q + 16) ^ load64(q + 17)) & m2);
    }
    if (diff != 0) return false;
  }
  for (; i < n; ++i) {
    const std::uint8_t* q = p + i * 3;
    if (q[0] != q[1] || q[0] != q[2]) return false;
  }
  return true;
}

bool valid(const pixels_view& image) {
  return (image.channels == 1 || image.channels == 3) && image.data.size() >= image.size_bytes();
}

bool inside(const pixels_view& image, const pixel_rect& r) {
  return r.left <= image.width && r.width <= image.width - r.left && r.top <= image.height &&
         r.height <= image.height - r.top;
}

// all_grey over a region, one row at a time (rows of a region are not contiguous).
bool all_grey(const pixels_view& image, const pixel_rect& r) {
  if (r.left == 0 && r.top == 0 && r.width == image.width && r.height == image.height) {
    return all_grey(image);
  }
  for (std::uint32_t y = 0; y < r.height; ++y) {
    const std::size_t offset = (std::size_t{r.top + y} * image.width + r.left) * 3;
    const pixels_view row{r.width, 1, 3, image.data.subspan(offset, std::size_t{r.width} * 3)};
    if (!all_grey(row)) return false;
  }
  return true;
}

// ---- Orientation hashes -------------------------------------------------------------------
//
// The hash of a transformed image runs the reference's tent filter along the transformed axes
// and samples it at the transformed image's decimation indices. The filter is linear and
// separable, so up to float rounding it does not matter which axis goes first (a transpose),
// and one blurred plane of the upright image serves every orientation, sampled at other
// places:
//  - an axis kept as it is is sampled at its decimation indices d_i;
//  - a mirrored axis of length n is sampled at n-1-d_i, shifted for the filter's direction:
//    the reference's box of an even window w reaches w/2 to the right and w/2-1 to the left,
//    so on the mirrored axis each of the two passes sits one pixel further left: sample at
//    n-1-d_i-2 (an odd window is symmetric: no shift). That is exact for every sample at
//    least w/2+1 from the start of the axis, which all are except the last one when w == 2
//    (axes of 129 to 256 pixels): that one is computed from the first two luma columns
//    (rows) blurred along the other axis (edge_samples()).
//  - the reference CLI's 512x512 pre-resize picks other pixels for a mirrored image, so in
//    that mode each combination of mirrored axes gets its own small plane.
// Only the samples differ: the streaming kernels divide at 128 instead of 64 places per row
// and run the last column pass on 128 columns, so the orientations cost 7 DCTs and a few
// percent of the blur. They are not bit-exact by construction (the rounding order differs),
// and need not be: they are never stored or reported. The test compares them with the
// reference kernel's hash of the transformed pixels on every vector image and kernel.

// Marks the mirrored sample that is an edge value, not a position in the plane.
constexpr std::uint8_t special_sample = 0xFF;

struct axis_samples {
  std::uint32_t positions[sample_grid::max_samples];  // ascending
  int count{};
  std::uint8_t upright[64];   // index into positions of upright sample i
  std::uint8_t mirrored[64];  // index into positions of mirrored sample i
};

void plan_axis(std::uint32_t n, axis_samples& a) {
  std::uint32_t up[64];
  pdq_detail::decimation_indices(n, up);
  const int w = pdq_detail::jarosz_window(static_cast<int>(n), 64);
  const std::int64_t shift = (w % 2 == 0) ? 2 : 0;
  std::uint32_t mir[64];
  for (int i = 0; i < 64; ++i) {
    const std::int64_t p = std::int64_t{n} - 1 - up[i] - shift;
    mir[i] = static_cast<std::uint32_t>(std::max<std::int64_t>(p, 0));
  }
  // Upright indices ascend and mirrored ones descend: merge them into one ascending list.
  int u = 0;
  int m = 63;
  a.count = 0;
  while (u < 64 || m >= 0) {
    if (m < 0 || (u < 64 && up[u] <= mir[m])) {
      a.upright[u] = static_cast<std::uint8_t>(a.count);
      a.positions[a.count++] = up[u++];
    } else {
      a.mirrored[m] = static_cast<std::uint8_t>(a.count);
      a.positions[a.count++] = mir[m--];
    }
  }
  // A 2-pixel window: the last mirrored sample is the edge value (edge_samples()).
  if (w == 2) a.mirrored[63] = special_sample;
}

// A mirrored axis's last sample when its window is 2: on that axis the reference's two passes
// give 0.75 * v[0] + 0.25 * v[1] of the values along it (their windows are clipped at the
// edge, so it is no shifted sample of the upright filter).
constexpr float edge_near = 0.75F;
constexpr float edge_far = 0.25F;

// CImg's nearest-neighbour map of the mirrored image (input size n), read back in upright
// order: upright index u shows mirrored index last - u, which reads input n - 1 - map[last - u].
void mirrored_map(const std::vector<std::uint32_t>& map, std::uint32_t n,
                  std::vector<std::uint32_t>& out) {
  out.resize(map.size());
  const std::size_t last = map.size() - 1;
  for (std::size_t u = 0; u < map.size(); ++u) out[u] = n - 1 - map[last - u];
}

// Per core::dihedral (the vocabulary's names): whether the transform transposes, mirrors the
// rows axis (top-bottom) and mirrors the columns axis (left-right) of the upright image A
// (W wide, H high); O is the transformed image.
struct orientation_axes {
  bool transpose;
  bool mirror_rows;
  bool mirror_cols;
};
constexpr std::array<orientation_axes, 8> orientation_table{{
    {false, false, false},  // original
    {true, false, true},    // rot90: O[y][x] = A[x][W-1-y]
    {false, true, true},    // rot180
    {true, true, false},    // rot270: O[y][x] = A[H-1-x][y]
    {false, true, false},   // flipx: top and bottom swap
    {false, false, true},   // flipy: left-right mirror
    {true, false, false},   // flipplus1: O[y][x] = A[x][y]
    {true, true, true},     // flipminus1: O[y][x] = A[H-1-x][W-1-y]
}};

// CImg's nearest-neighbour resize: output index i reads input floor(i * in / out).
void nearest_map(std::uint32_t in, std::uint32_t out_size, std::vector<std::uint32_t>& map) {
  map.resize(out_size);
  for (std::uint32_t i = 0; i < out_size; ++i) {
    map[i] = static_cast<std::uint32_t>(std::uint64_t{i} * in / out_size);
  }
}

pdq_kernel resolve(pdq_kernel k) {
  if (k == pdq_kernel::automatic || !pdq_kernel_supported(k)) return pdq_best_kernel();
  return k;
}

}  // namespace

std::string_view to_string(pdq_kernel kernel) noexcept {
  switch (kernel) {
    case pdq_kernel::automatic: return "automatic";
    case pdq_kernel::reference: return "reference";
    case pdq_kernel::blocked: return "blocked";
    case pdq_kernel::avx2: return "avx2";
  }
  return "unknown";
}

bool pdq_kernel_supported(pdq_kernel kernel) noexcept {
  switch (kernel) {
    case pdq_kernel::automatic:
    case pdq_kernel::reference:
    case pdq_kernel::blocked: return true;
    case pdq_kernel::avx2: return pdq_detail::cpu_has_avx2();
  }
  return false;
}

pdq_kernel pdq_best_kernel() noexcept {
  return pdq_detail::cpu_has_avx2() ? pdq_kernel::avx2 : pdq_kernel::blocked;
}

namespace pdq_detail {
// Here, not in pdq_avx2.cpp: this must run on any CPU. The explicit init makes the answer right
// even when a hasher is built by a static initializer, before libgcc's own runs. GCC's check
// includes the OS having enabled the YMM state.
bool cpu_has_avx2() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}
}  // namespace pdq_detail

struct pdq_hasher::scratch {
  pdq_kernel kernel{};
  axis_samples x_plan;  // orientation hashes: the sample positions of each axis
  axis_samples y_plan;
  std::vector<float> wide;  // orientation hashes: the blurred plane at every sample position
  std::vector<std::uint32_t> x_map_mirrored;  // reference_512 maps of the mirrored image
  std::vector<std::uint32_t> y_map_mirrored;
  std::vector<float> edge_in;  // edge_samples(): a profile along one axis and its blur
  std::vector<float> edge_out;
  float edge_row[sample_grid::max_samples]{};  // per column position: the rows axis's edge value
  float edge_col[sample_grid::max_samples]{};  // per row position: the columns axis's edge value
  float edge_corner{};
  std::vector<float> plane1;  // reference kernel: the full luma plane and its pass buffer
  std::vector<float> plane2;
  pdq_detail::stream_scratch stream;
  std::vector<float> avx2_buffer;
  std::vector<std::uint32_t> x_map;
  std::vector<std::uint32_t> y_map;
  std::array<float, 64 * 64> down{};
  std::array<float, 256> dct{};

  pdq_result run(const pixels_view& image, const pixel_rect& region, pdq_mode mode,
                 pdq_kernel which, pdq_stages* stages, orientation_hashes* orientations);
  void run_avx2(const luma_source& source, const pdq_detail::sample_grid& grid, float* out);
  void downsample(const luma_source& source, pdq_kernel which, const sample_grid& grid, float* out,
                  pdq_stages* stages);
  void edge_samples(const luma_source& source);
  // Both passes of the reference's box filter along a profile, kept at the plan's positions.
  void blur_profile(std::size_t length, int window, const axis_samples& plan, float* kept);
};

void pdq_hasher::scratch::downsample(const luma_source& source, pdq_kernel which,
                                     const sample_grid& grid, float* out, pdq_stages* stages) {
  const auto rows = static_cast<int>(source.rows);
  const auto cols = static_cast<int>(source.cols);
  if (which == pdq_kernel::reference) {
    const std::size_t n = std::size_t{source.rows} * source.cols;
    if (plane1.size() < n) plane1.resize(n);
    if (plane2.size() < n) plane2.resize(n);
    for (std::uint32_t y = 0; y < source.rows; ++y) {
      source.row(y, plane1.data() + std::size_t{y} * source.cols);
    }
    const auto first = static_cast<std::ptrdiff_t>(std::min(32, cols));
    if (stages != nullptr) {
      stages->luma_row0.assign(plane1.data(), plane1.data() + first);
      stages->window_along_rows = pdq_detail::jarosz_window(cols, 64);
      stages->window_along_cols = pdq_detail::jarosz_window(rows, 64);
    }
    pdq_detail::downsample_reference(plane1.data(), plane2.data(), rows, cols, grid, out);
    if (stages != nullptr) stages->blurred_row0.assign(plane1.data(), plane1.data() + first);
  } else if (which == pdq_kernel::avx2) {
    run_avx2(source, grid, out);
  } else {
    stream.reserve(source.rows, source.cols, pdq_detail::jarosz_window(rows, 64), grid.nx);
    pdq_detail::downsample_blocked(source, stream, grid, out);
  }
}

void pdq_hasher::scratch::blur_profile(std::size_t length, int window, const axis_samples& plan,
                                       float* kept) {
  const auto n = static_cast<int>(length);
  pdq_detail::box_1d_reference(edge_in.data(), edge_out.data(), n, 1, window);
  pdq_detail::box_1d_reference(edge_out.data(), edge_in.data(), n, 1, window);
  for (int k = 0; k < plan.count; ++k) kept[k] = edge_in[plan.positions[k]];
}

// The edge values of axes whose window is 2 (see plan_axis): the luma of the first two
// columns (rows), combined, then blurred along the other axis like the plane is.
void pdq_hasher::scratch::edge_samples(const luma_source& source) {
  const bool cols_edge = pdq_detail::jarosz_window(static_cast<int>(source.cols), 64) == 2;
  const bool rows_edge = pdq_detail::jarosz_window(static_cast<int>(source.rows), 64) == 2;
  if (!cols_edge && !rows_edge) return;
  const std::size_t longest = std::max(source.rows, source.cols);
  if (edge_in.size() < longest + 2) edge_in.resize(longest + 2);
  if (edge_out.size() < longest + 2) edge_out.resize(longest + 2);
  float first_two[2][2]{};  // [row][col] luma of the top-left corner
  if (cols_edge) {
    luma_source two = source;
    two.cols = 2;
    float pair[2];
    for (std::uint32_t y = 0; y < source.rows; ++y) {
      two.row(y, pair);
      edge_in[y] = edge_near * pair[0] + edge_far * pair[1];
      if (y < 2) {
        first_two[y][0] = pair[0];
        first_two[y][1] = pair[1];
      }
    }
    blur_profile(source.rows, pdq_detail::jarosz_window(static_cast<int>(source.rows), 64), y_plan,
                 edge_col);
  }
  if (rows_edge) {
    // Two full luma rows, then the combination in place.
    source.row(0, edge_out.data());
    source.row(1, edge_in.data());
    for (std::uint32_t x = 0; x < source.cols; ++x) {
      edge_in[x] = edge_near * edge_out[x] + edge_far * edge_in[x];
    }
    blur_profile(source.cols, pdq_detail::jarosz_window(static_cast<int>(source.cols), 64), x_plan,
                 edge_row);
  }
  edge_corner = edge_near * (edge_near * first_two[0][0] + edge_far * first_two[0][1]) +
                edge_far * (edge_near * first_two[1][0] + edge_far * first_two[1][1]);
}

void pdq_hasher::scratch::run_avx2(const luma_source& source, const pdq_detail::sample_grid& grid,
                                   float* out) {
  const auto rows = static_cast<int>(source.rows);
  const auto cols = static_cast<int>(source.cols);
  const std::size_t ucols = source.cols;
  pdq_detail::stream_layout layout;
  layout.window_along_rows = pdq_detail::jarosz_window(cols, 64);
  layout.window_along_cols = pdq_detail::jarosz_window(rows, 64);
  layout.ring_rows = layout.window_along_cols + 16;
  layout.grid = grid;
  const std::size_t block = 32 * ucols;
  const std::size_t strip = 16 * ucols;
  const std::size_t ring = static_cast<std::size_t>(layout.ring_rows) * ucols;
  const std::size_t narrow = std::size_t{source.rows} * static_cast<std::size_t>(grid.nx);
  const std::size_t total = block + strip + ring + ucols + narrow;
  if (avx2_buffer.size() < total) avx2_buffer.resize(total);
  float* p = avx2_buffer.data();
  layout.block = p;
  layout.strip = p + block;
  layout.ring = p + block + strip;
  layout.col_sum = p + block + strip + ring;
  layout.narrow = p + block + strip + ring + ucols;
  pdq_detail::downsample_avx2(source, layout, out);
}

pdq_result pdq_hasher::scratch::run(const pixels_view& image, const pixel_rect& region,
                                    pdq_mode mode, pdq_kernel which, pdq_stages* stages,
                                    orientation_hashes* orientations) {
  pdq_result result;
  if (orientations != nullptr) orientations->fill(core::hash256{});
  if (!valid(image) || !inside(image, region)) return result;

  luma_source source;
  source.pixels =
      image.data.data() + (std::size_t{region.top} * image.width + region.left) * image.channels;
  source.pixel_width = image.width;
  source.channels = image.channels;
  // The reference's decoder reports an RGB file whose pixels are all grey as a grey image, and
  // the grey path takes the value itself rather than the float RGB sum. Decided on the decoded
  // image (the region, as if it were the image), before any pre-resize, as the reference's
  // decoder does. Video frames never take it.
  source.grey = image.channels == 1 || (mode != pdq_mode::video_frame && all_grey(image, region));
  source.rows = region.height;
  source.cols = region.width;
  if (mode == pdq_mode::reference_512 &&
      (region.width > reference_cli_dim || region.height > reference_cli_dim)) {
    nearest_map(region.width, reference_cli_dim, x_map);
    nearest_map(region.height, reference_cli_dim, y_map);
    source.x_map = x_map.data();
    source.y_map = y_map.data();
    source.rows = reference_cli_dim;
    source.cols = reference_cli_dim;
  }
  const auto rows = static_cast<int>(source.rows);
  const auto cols = static_cast<int>(source.cols);
  if (stages != nullptr) {
    stages->rows = source.rows;
    stages->cols = source.cols;
  }
  if (rows < min_hashable_dim || cols < min_hashable_dim) return result;

  float* down_data = down.data();
  // The samples the downsample keeps: the 64 decimation indices per axis, or with the
  // orientation hashes also the mirrored axes' (then `down` is gathered from `wide`).
  std::uint32_t xs[64];
  std::uint32_t ys[64];
  pdq_detail::sample_grid grid;
  const bool shortcut = rows == 64 && cols == 64;
  const bool oriented = orientations != nullptr && !shortcut;
  // The reference CLI's pre-resize of a mirrored image picks other pixels (nearest neighbour
  // rounds down in the mirrored direction), so there each combination of mirrored axes gets
  // its own 512x512 plane: 4 small blurs.
  const bool resized = source.x_map != nullptr;
  std::size_t plane_values = 0;
  if (oriented) {
    plan_axis(source.cols, x_plan);
    plan_axis(source.rows, y_plan);
    grid = {x_plan.positions, x_plan.count, y_plan.positions, y_plan.count};
    plane_values = static_cast<std::size_t>(grid.nx) * static_cast<std::size_t>(grid.ny);
    wide.resize(plane_values * (resized ? 4 : 1));
  } else {
    pdq_detail::decimation_indices(source.cols, xs);
    pdq_detail::decimation_indices(source.rows, ys);
    grid = {xs, 64, ys, 64};
  }
  if (shortcut) {
    // The reference skips the filter when the image already is 64x64 (video frames that were
    // downsampled upstream).
    for (std::uint32_t y = 0; y < 64; ++y) source.row(y, down_data + std::size_t{y} * 64);
    if (stages != nullptr) {
      stages->luma_row0.assign(down_data, down_data + 32);
      stages->blurred_row0.clear();
      stages->window_along_rows = 0;
      stages->window_along_cols = 0;
    }
  } else if (!oriented) {
    downsample(source, which, grid, down_data, stages);
  } else {
    downsample(source, which, grid, wide.data(), stages);
    if (resized) {
      mirrored_map(x_map, region.width, x_map_mirrored);
      mirrored_map(y_map, region.height, y_map_mirrored);
      for (std::size_t c = 1; c < 4; ++c) {
        luma_source mirrored = source;
        if ((c & 1U) != 0) mirrored.x_map = x_map_mirrored.data();
        if ((c & 2U) != 0) mirrored.y_map = y_map_mirrored.data();
        downsample(mirrored, which, grid, wide.data() + c * plane_values, nullptr);
      }
    } else {
      edge_samples(source);
    }
    for (int i = 0; i < 64; ++i) {
      for (int j = 0; j < 64; ++j) {
        down_data[i * 64 + j] =
            wide[static_cast<std::size_t>(y_plan.upright[i] * grid.nx + x_plan.upright[j])];
      }
    }
  }

  result.quality = quality_metric(down_data);
  dct_64_to_16(down_data, dct.data());
  result.dihedral = dihedral_hashes(dct.data());
  result.hash = result.dihedral[0];
  if (stages != nullptr) {
    stages->downsampled = down;
    stages->dct = dct;
    stages->median = median_of(dct.data());
  }
  if (orientations != nullptr) {
    (*orientations)[0] = result.hash;
    // Per axis, where upright and mirrored sample i are (special_sample: the edge values).
    std::uint8_t identity[64];
    std::uint8_t reversed[64];
    for (int i = 0; i < 64; ++i) {
      identity[i] = static_cast<std::uint8_t>(i);
      reversed[i] = static_cast<std::uint8_t>(63 - i);
    }
    const std::uint8_t* row_sel[2] = {shortcut ? identity : y_plan.upright,
                                      shortcut ? reversed : y_plan.mirrored};
    const std::uint8_t* col_sel[2] = {shortcut ? identity : x_plan.upright,
                                      shortcut ? reversed : x_plan.mirrored};
    const std::size_t stride = shortcut ? 64 : static_cast<std::size_t>(grid.nx);
    float oriented_down[64 * 64];
    float coefficients[256];
    for (std::size_t o = 1; o < 8; ++o) {
      const orientation_axes& t = orientation_table[o];
      const std::uint8_t* rs = row_sel[t.mirror_rows ? 1 : 0];
      const std::uint8_t* cs = col_sel[t.mirror_cols ? 1 : 0];
      const std::size_t plane =
          resized ? (t.mirror_cols ? 1U : 0U) + (t.mirror_rows ? 2U : 0U) : 0U;
      const float* matrix = shortcut ? down_data : wide.data() + plane * plane_values;
      for (int i = 0; i < 64; ++i) {
        for (int j = 0; j < 64; ++j) {
          const std::uint8_t r = t.transpose ? rs[j] : rs[i];
          const std::uint8_t c = t.transpose ? cs[i] : cs[j];
          float v = 0.0F;
          if (r == special_sample && c == special_sample) {
            v = edge_corner;
          } else if (c == special_sample) {
            v = edge_col[r];
          } else if (r == special_sample) {
            v = edge_row[c];
          } else {
            v = matrix[std::size_t{r} * stride + c];
          }
          oriented_down[i * 64 + j] = v;
        }
      }
      dct_64_to_16(oriented_down, coefficients);
      (*orientations)[o] = bits_of(coefficients);
    }
  }
  return result;
}

pdq_hasher::pdq_hasher(pdq_kernel kernel) : scratch_(new scratch) {
  scratch_->kernel = resolve(kernel);
}

pdq_hasher::~pdq_hasher() {
  delete scratch_;
}

pdq_hasher::pdq_hasher(pdq_hasher&& other) noexcept
    : scratch_(std::exchange(other.scratch_, nullptr)) {}

pdq_hasher& pdq_hasher::operator=(pdq_hasher&& other) noexcept {
  if (this != &other) {
    delete scratch_;
    scratch_ = std::exchange(other.scratch_, nullptr);
  }
  return *this;
}

pdq_result pdq_hasher::hash(const pixels_view& image, pdq_mode mode) {
  if (scratch_ == nullptr) *this = pdq_hasher();  // moved-from: usable again
  return scratch_->run(image, {0, 0, image.width, image.height}, mode, scratch_->kernel, nullptr,
                       nullptr);
}

pdq_result pdq_hasher::hash(const pixels_view& image, pdq_mode mode,
                            orientation_hashes& orientations) {
  if (scratch_ == nullptr) *this = pdq_hasher();
  return scratch_->run(image, {0, 0, image.width, image.height}, mode, scratch_->kernel, nullptr,
                       &orientations);
}

pdq_result pdq_hasher::hash(const pixels_view& image, const pixel_rect& region, pdq_mode mode,
                            orientation_hashes* orientations) {
  if (scratch_ == nullptr) *this = pdq_hasher();
  return scratch_->run(image, region, mode, scratch_->kernel, nullptr, orientations);
}

pdq_result pdq_hasher::hash_with_stages(const pixels_view& image, pdq_mode mode,
                                        pdq_stages& stages) {
  if (scratch_ == nullptr) *this = pdq_hasher();  // moved-from: usable again
  stages = pdq_stages{};
  return scratch_->run(image, {0, 0, image.width, image.height}, mode, pdq_kernel::reference,
                       &stages, nullptr);
}

pdq_kernel pdq_hasher::kernel() const noexcept {
  return scratch_ != nullptr ? scratch_->kernel : pdq_best_kernel();
}

}  // namespace hashguard::scanner
