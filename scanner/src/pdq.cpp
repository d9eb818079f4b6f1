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
  std::vector<float> plane1;  // reference kernel: the full luma plane and its pass buffer
  std::vector<float> plane2;
  pdq_detail::stream_scratch stream;
  std::vector<float> avx2_buffer;
  std::vector<std::uint32_t> x_map;
  std::vector<std::uint32_t> y_map;
  std::array<float, 64 * 64> down{};
  std::array<float, 256> dct{};

  pdq_result run(const pixels_view& image, pdq_mode mode, pdq_kernel which, pdq_stages* stages);
  void run_avx2(const luma_source& source, float* out);
};

void pdq_hasher::scratch::run_avx2(const luma_source& source, float* out) {
  const auto rows = static_cast<int>(source.rows);
  const auto cols = static_cast<int>(source.cols);
  const std::size_t ucols = source.cols;
  pdq_detail::stream_layout layout;
  layout.window_along_rows = pdq_detail::jarosz_window(cols, 64);
  layout.window_along_cols = pdq_detail::jarosz_window(rows, 64);
  layout.ring_rows = layout.window_along_cols + 16;
  std::uint32_t xs[64];
  std::uint32_t ys[64];
  pdq_detail::decimation_indices(source.cols, xs);
  pdq_detail::decimation_indices(source.rows, ys);
  layout.xs = xs;
  layout.ys = ys;
  const std::size_t block = 32 * ucols;
  const std::size_t strip = 16 * ucols;
  const std::size_t ring = static_cast<std::size_t>(layout.ring_rows) * ucols;
  const std::size_t narrow = std::size_t{source.rows} * 64;
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

pdq_result pdq_hasher::scratch::run(const pixels_view& image, pdq_mode mode, pdq_kernel which,
                                    pdq_stages* stages) {
  pdq_result result;
  if (!valid(image)) return result;

  luma_source source;
  source.pixels = image.data.data();
  source.pixel_width = image.width;
  source.channels = image.channels;
  // The reference's decoder reports an RGB file whose pixels are all grey as a grey image, and
  // the grey path takes the value itself rather than the float RGB sum. Decided on the decoded
  // image, before any pre-resize, as the reference's decoder does. Video frames never take it.
  source.grey = image.channels == 1 || (mode != pdq_mode::video_frame && all_grey(image));
  source.rows = image.height;
  source.cols = image.width;
  if (mode == pdq_mode::reference_512 &&
      (image.width > reference_cli_dim || image.height > reference_cli_dim)) {
    nearest_map(image.width, reference_cli_dim, x_map);
    nearest_map(image.height, reference_cli_dim, y_map);
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
  if (rows == 64 && cols == 64) {
    // The reference skips the filter when the image already is 64x64 (video frames that were
    // downsampled upstream).
    for (std::uint32_t y = 0; y < 64; ++y) source.row(y, down_data + std::size_t{y} * 64);
    if (stages != nullptr) {
      stages->luma_row0.assign(down_data, down_data + 32);
      stages->blurred_row0.clear();
      stages->window_along_rows = 0;
      stages->window_along_cols = 0;
    }
  } else if (which == pdq_kernel::reference) {
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
    pdq_detail::downsample_reference(plane1.data(), plane2.data(), rows, cols, down_data);
    if (stages != nullptr) stages->blurred_row0.assign(plane1.data(), plane1.data() + first);
  } else if (which == pdq_kernel::avx2) {
    run_avx2(source, down_data);
  } else {
    stream.reserve(source.rows, source.cols, pdq_detail::jarosz_window(rows, 64));
    pdq_detail::downsample_blocked(source, stream, down_data);
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
  return scratch_->run(image, mode, scratch_->kernel, nullptr);
}

pdq_result pdq_hasher::hash_with_stages(const pixels_view& image, pdq_mode mode,
                                        pdq_stages& stages) {
  if (scratch_ == nullptr) *this = pdq_hasher();  // moved-from: usable again
  stages = pdq_stages{};
  return scratch_->run(image, mode, pdq_kernel::reference, &stages);
}

pdq_kernel pdq_hasher::kernel() const noexcept {
  return scratch_ != nullptr ? scratch_->kernel : pdq_best_kernel();
}

}  // namespace hashguard::scanner
