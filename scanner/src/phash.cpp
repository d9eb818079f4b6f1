// pHash as OpenCV 4.6 img_hash PHash computes it, reproduced operation for operation:
//   cv::resize(32x32, INTER_LINEAR_EXACT)  -> 8.8 fixed-point bilinear (resize_bitExact)
//   cv::cvtColor(BGR2GRAY)                 -> 15-bit fixed-point weights, rounded
//   convertTo(CV_32F), cv::dct             -> rows then columns, each a 32-point DCT computed
//                                             through a 16-point complex FFT (radix 4 x 4)
//   top-left 8x8, [0][0] = 0, cv::mean     -> double sum, scaled by 1/64, stored as float
//   compare(CMP_GT), 8 bits per byte       -> byte j = row j, bit k = column k
// Every float/double operation keeps OpenCV's order and rounding, so the file is built with
// -ffp-contract=off (scanner/CMakeLists.txt).
#include "hashguard/scanner/phash.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace hashguard::scanner {

namespace {

constexpr int side = 32;

// ---------------------------------------------------------------------------------------------
// Resize to 32x32, INTER_LINEAR_EXACT. Coefficients are 8.8 fixed point (OpenCV's
// ufixedpoint16); the horizontal pass keeps 8 fraction bits, the vertical pass 16, rounded to
// nearest at the end.

struct axis_map {
  std::array<int, side> offset{};
  std::array<std::uint32_t, side> c0{};  // weight of `offset`, /256
  std::array<std::uint32_t, side> c1{};  // weight of `offset + 1`, /256
  int min_index = 0;                     // outputs below take input 0
  int max_index = side;                  // outputs from here take input size-1
};

axis_map linear_exact_map(int size) {
  axis_map m;
  // OpenCV passes inv_scale = dst/src and takes its reciprocal in (correctly rounded) double.
  const double inv_scale = static_cast<double>(side) / size;
  const double scale = 1.0 / inv_scale;
  for (int d = 0; d < side; ++d) {
    const double f = scale * (d + 0.5) - 0.5;
    const auto i = static_cast<int>(std::floor(f));
    if (i >= 0 && size > 1) {
      if (i < size - 1) {
        m.offset[static_cast<std::size_t>(d)] = i;
        // softdouble -> ufixedpoint16: round to nearest (ties to even) of the value * 256.
        const double frac = f - i;
        const auto c1 = static_cast<std::uint32_t>(std::nearbyint(frac * 256.0));
        m.c1[static_cast<std::size_t>(d)] = c1;
        m.c0[static_cast<std::size_t>(d)] = 256U - c1;
      } else {
        m.offset[static_cast<std::size_t>(d)] = size - 1;
        m.max_index = std::min(m.max_index, d);
      }
    } else {
      m.min_index = std::max(m.min_index, d + 1);
    }
  }
  return m;
}

// One source row through the horizontal pass: 32 * channels values, 8 fraction bits.
void horizontal(const std::uint8_t* row, int width, std::uint32_t channels, const axis_map& mx,
                std::uint32_t* out) {
  const std::size_t cn = channels;
  for (int d = 0; d < side; ++d) {
    const auto ud = static_cast<std::size_t>(d);
    std::uint32_t* o = out + ud * cn;
    if (d < mx.min_index) {
      for (std::size_t c = 0; c < cn; ++c) o[c] = std::uint32_t{row[c]} << 8;
    } else if (d < mx.max_index) {
      const std::uint8_t* p = row + static_cast<std::size_t>(mx.offset[ud]) * cn;
      for (std::size_t c = 0; c < cn; ++c) {
        // The second tap is skipped when its weight is 0 (it may lie past the row's end).
        std::uint32_t v = mx.c0[ud] * p[c];
        if (mx.c1[ud] != 0) v += mx.c1[ud] * p[c + cn];
        o[c] = v;
      }
    } else {
      const std::uint8_t* p = row + static_cast<std::size_t>(width - 1) * cn;
      for (std::size_t c = 0; c < cn; ++c) o[c] = std::uint32_t{p[c]} << 8;
    }
  }
}

void resize_linear_exact(const pixels_view& image, std::uint8_t* out) {
  const auto width = static_cast<int>(image.width);
  const auto height = static_cast<int>(image.height);
  const std::size_t cn = image.channels;
  const std::size_t row_bytes = std::size_t{image.width} * cn;
  const axis_map mx = linear_exact_map(width);
  const axis_map my = linear_exact_map(height);
  const std::uint8_t* src = image.data.data();
  std::uint32_t h0[side * 3];
  std::uint32_t h1[side * 3];
  const std::size_t n = side * cn;
  for (int d = 0; d < side; ++d) {
    const auto ud = static_cast<std::size_t>(d);
    std::uint8_t* o = out + ud * n;
    if (d < my.min_index || d >= my.max_index) {
      const int sy = d < my.min_index ? 0 : height - 1;
      horizontal(src + static_cast<std::size_t>(sy) * row_bytes, width, image.channels, mx, h0);
      for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<std::uint8_t>((h0[i] + 128U) >> 8);
      continue;
    }
    const auto sy = static_cast<std::size_t>(my.offset[ud]);
    horizontal(src + sy * row_bytes, width, image.channels, mx, h0);
    horizontal(src + (sy + 1) * row_bytes, width, image.channels, mx, h1);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t v = h0[i] * my.c0[ud] + h1[i] * my.c1[ud];
      const std::uint32_t r = (v + 32768U) >> 16;
      o[i] = static_cast<std::uint8_t>(r > 255U ? 255U : r);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// cv::dct on 32x32 float: a 32-point DCT on every row, then on every column. Each 32-point DCT
// reorders the input (evens ascending, odds descending), takes the real FFT of that through a
// 16-point complex FFT plus OpenCV's split step, and rotates by the DCT twiddles.

struct cfloat {
  float re;
  float im;
};

// OpenCV's DFTTab entries: (cos, sin) of 2*pi/2^m, as OpenCV spells the decimal constants.
constexpr double dft_tab_5_cos = 0.98078528040323043;
constexpr double dft_tab_5_sin = 0.19509032201612825;
constexpr double dft_tab_7_cos = 0.99879545620517241;
constexpr double dft_tab_7_sin = 0.04906767432741802;

struct dct_tables {
  std::array<cfloat, 32> dft_wave{};  // exp(-2*pi*i*k/32), by repeated double multiplication
  std::array<cfloat, 17> dct_wave{};  // 0.25 * exp(-pi*i*k/64), likewise
  std::array<int, 32> bit_reverse{};  // 5-bit reversal (OpenCV's itab for n = 32)
};

const dct_tables& tables() {
  static const dct_tables t = [] {
    dct_tables out;
    {
      double w_re = dft_tab_5_cos;
      double w_im = -dft_tab_5_sin;
      const double w1_re = w_re;
      const double w1_im = w_im;
      out.dft_wave[0] = {1.0F, 0.0F};
      out.dft_wave[16] = {-1.0F, 0.0F};
      for (int i = 1; i < 16; ++i) {
        out.dft_wave[static_cast<std::size_t>(i)] = {static_cast<float>(w_re),
                                                     static_cast<float>(w_im)};
        out.dft_wave[static_cast<std::size_t>(32 - i)] = {static_cast<float>(w_re),
                                                          static_cast<float>(-w_im)};
        const double t_re = w_re * w1_re - w_im * w1_im;
        w_im = w_re * w1_im + w_im * w1_re;
        w_re = t_re;
      }
    }
    {
      const double w1_re = dft_tab_7_cos;
      const double w1_im = -dft_tab_7_sin;
      double w_re = 0.25;  // 2 * DctScale[5] (= 1/8)
      double w_im = 0.0;
      for (std::size_t i = 0; i <= 16; ++i) {
        out.dct_wave[i] = {static_cast<float>(w_re), static_cast<float>(w_im)};
        const double t_re = w_re * w1_re - w_im * w1_im;
        w_im = w_re * w1_im + w_im * w1_re;
        w_re = t_re;
      }
    }
    for (int i = 0; i < 32; ++i) {
      int r = 0;
      for (int b = 0; b < 5; ++b) r |= ((i >> b) & 1) << (4 - b);
      out.bit_reverse[static_cast<std::size_t>(i)] = r;
    }
    return out;
  }();
  return t;
}

// OpenCV's in-place input permutation for a single power-of-two factor, n = 16, its itab being
// the 32-point table read with step 2.
void permute_16(cfloat* v, const dct_tables& t) {
  constexpr int n2 = 8;
  cfloat* vh = v + n2;
  for (int i = 0, k = 0; i < n2; i += 2, k += 4) {
    const int j = t.bit_reverse[static_cast<std::size_t>(k)];
    std::swap(v[i + 1], vh[j]);
    if (j > i) {
      std::swap(v[i], v[j]);
      std::swap(vh[i + 1], vh[j + 1]);
    }
  }
}

// OpenCV's scalar radix-4 pass of its mixed-radix FFT; `dw0` is the twiddle stride into the
// 32-entry table after the pass's division.
void radix4_pass(cfloat* dst, int nx, int dw0, const cfloat* wave) {
  const int n = nx * 4;
  for (int i = 0; i < 16; i += n) {
    cfloat* v0 = dst + i;
    cfloat* v1 = v0 + nx * 2;
    float r0 = v1[0].re;
    float i0 = v1[0].im;
    float r4 = v1[nx].re;
    float i4 = v1[nx].im;
    float r1 = r0 + r4;
    float i1 = i0 + i4;
    float r3 = i0 - i4;
    float i3 = r4 - r0;
    float r2 = v0[0].re;
    float i2 = v0[0].im;
    r4 = v0[nx].re;
    i4 = v0[nx].im;
    r0 = r2 + r4;
    i0 = i2 + i4;
    r2 -= r4;
    i2 -= i4;
    v0[0] = {r0 + r1, i0 + i1};
    v1[0] = {r0 - r1, i0 - i1};
    v0[nx] = {r2 + r3, i2 + i3};
    v1[nx] = {r2 - r3, i2 - i3};

    for (int j = 1, dw = dw0; j < nx; ++j, dw += dw0) {
      v0 = dst + i + j;
      v1 = v0 + nx * 2;
      const cfloat w1 = wave[dw];
      const cfloat w2 = wave[dw * 2];
      const cfloat w3 = wave[dw * 3];
      r2 = v0[nx].re * w2.re - v0[nx].im * w2.im;
      i2 = v0[nx].re * w2.im + v0[nx].im * w2.re;
      r0 = v1[0].re * w1.im + v1[0].im * w1.re;
      i0 = v1[0].re * w1.re - v1[0].im * w1.im;
      r3 = v1[nx].re * w3.im + v1[nx].im * w3.re;
      i3 = v1[nx].re * w3.re - v1[nx].im * w3.im;

      r1 = i0 + i3;
      i1 = r0 + r3;
      r3 = r0 - r3;
      i3 = i3 - i0;
      r4 = v0[0].re;
      i4 = v0[0].im;

      r0 = r4 + r2;
      i0 = i4 + i2;
      r2 = r4 - r2;
      i2 = i4 - i2;

      v0[0] = {r0 + r1, i0 + i1};
      v1[0] = {r0 - r1, i0 - i1};
      v0[nx] = {r2 + r3, i2 + i3};
      v1[nx] = {r2 - r3, i2 - i3};
    }
  }
}

// Real FFT of 32 values in place, OpenCV's packed layout: re0, re1, im1, ..., re15, im15, re16.
void real_fft_32(float* d, const dct_tables& t) {
  auto* c = reinterpret_cast<cfloat*>(d);
  permute_16(c, t);
  radix4_pass(c, 1, 8, t.dft_wave.data());
  radix4_pass(c, 4, 2, t.dft_wave.data());

  constexpr int n = 32;
  constexpr int n2 = 16;
  constexpr float scale = 1.0F;
  constexpr float scale2 = scale * 0.5F;
  float tt = d[0] - d[1];
  d[0] = (d[0] + d[1]) * scale;
  d[1] = tt * scale;
  const float t0 = d[n2];
  tt = d[n - 1];
  d[n - 1] = d[1];
  int j = 2;
  for (const cfloat* w = t.dft_wave.data() + 1; j < n2; j += 2, ++w) {
    float h2_re = scale2 * (d[j + 1] + tt);
    float h2_im = scale2 * (d[n - j] - d[j]);
    const float h1_re = scale2 * (d[j] + d[n - j]);
    const float h1_im = scale2 * (d[j + 1] - tt);
    tt = h2_re * w->re - h2_im * w->im;
    h2_im = h2_re * w->im + h2_im * w->re;
    h2_re = tt;
    tt = d[n - j - 1];
    d[j - 1] = h1_re + h2_re;
    d[n - j - 1] = h1_re - h2_re;
    d[j] = h1_im + h2_im;
    d[n - j] = h2_im - h1_im;
  }
  d[n2 - 1] = t0 * scale;
  d[n2] = -tt * scale;
}

void dct_32(const float* src, std::size_t src_step, float* dst, std::size_t dst_step,
            const dct_tables& t) {
  alignas(16) float buf[32];
  for (std::size_t j = 0; j < 16; ++j) {
    buf[j] = src[2 * j * src_step];
    buf[31 - j] = src[(2 * j + 1) * src_step];
  }
  real_fft_32(buf, t);
  constexpr auto sin_45 = static_cast<float>(0.70710678118654752440084436210485);
  const cfloat* w = t.dct_wave.data();
  dst[0] = buf[0] * w[0].re * sin_45;
  for (std::size_t j = 1; j < 16; ++j) {
    const float t0 = w[j].re * buf[j * 2 - 1] - w[j].im * buf[j * 2];
    const float t1 = -w[j].im * buf[j * 2 - 1] - w[j].re * buf[j * 2];
    dst[j * dst_step] = t0;
    dst[(32 - j) * dst_step] = t1;
  }
  dst[16 * dst_step] = buf[31] * w[16].re;
}

}  // namespace

core::hash64 phash_hasher::hash(const pixels_view& image) {
  if ((image.channels != 1 && image.channels != 3) || image.width == 0 || image.height == 0 ||
      image.data.size() < image.size_bytes()) {
    return {};
  }
  std::uint8_t resized[side * side * 3];
  resize_linear_exact(image, resized);

  float pixels[side * side];
  if (image.channels == 3) {
    // BGR2GRAY on OpenCV's BGR order of our RGB pixels: 0.299 R + 0.587 G + 0.114 B in 15-bit
    // fixed point (9798, 19235, 3735: OpenCV 4's 8-bit gray weights), rounded.
    for (std::size_t i = 0; i < side * side; ++i) {
      const std::uint32_t r = resized[i * 3];
      const std::uint32_t g = resized[i * 3 + 1];
      const std::uint32_t b = resized[i * 3 + 2];
      pixels[i] = static_cast<float>((b * 3735U + g * 19235U + r * 9798U + 16384U) >> 15);
    }
  } else {
    for (std::size_t i = 0; i < side * side; ++i) pixels[i] = resized[i];
  }

  const dct_tables& t = tables();
  float rows[side * side];
  for (std::size_t y = 0; y < side; ++y) dct_32(pixels + y * side, 1, rows + y * side, 1, t);
  float coeffs[side * side];
  for (std::size_t x = 0; x < side; ++x) dct_32(rows + x, side, coeffs + x, side, t);

  float top_left[64];
  for (std::size_t y = 0; y < 8; ++y) {
    for (std::size_t x = 0; x < 8; ++x) top_left[y * 8 + x] = coeffs[y * side + x];
  }
  top_left[0] = 0.0F;

  // cv::mean: a double sum in the order of OpenCV's 8-float-wide kernel (two 4-lane double
  // accumulators for the low and high halves of each 8 floats, then lane by lane), times 1/64.
  double low[4] = {0, 0, 0, 0};
  double high[4] = {0, 0, 0, 0};
  for (std::size_t x = 0; x < 64; x += 8) {
    for (std::size_t l = 0; l < 4; ++l) {
      low[l] += static_cast<double>(top_left[x + l]);
      high[l] += static_cast<double>(top_left[x + 4 + l]);
    }
  }
  double sum = 0.0;
  for (std::size_t l = 0; l < 4; ++l) sum += low[l] + high[l];
  const auto mean = static_cast<float>(sum * (1.0 / 64));

  core::hash64 h;
  for (std::size_t i = 0; i < 64; ++i) {
    if (top_left[i] > mean) {
      const std::size_t byte = i / 8;
      const std::size_t bit = i % 8;
      h.value |= std::uint64_t{1} << (56 - 8 * byte + bit);
    }
  }
  return h;
}

}  // namespace hashguard::scanner
