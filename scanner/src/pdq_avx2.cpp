// PDQ downsampling, streaming layout, AVX2. Built with -mavx2 -ffp-contract=off and nothing
// else: no FMA, so every lane does exactly the reference's float32 operations in its order.
//
// This file uses intrinsics and file-local functions only: an inline function from a shared
// header compiled here with AVX2 could become the copy the linker keeps for every caller, and
// crash a CPU without AVX2. It runs only after the caller checked the CPU (pdq.cpp).
//
// Layout. Rows are processed 16 at a time, as two strips of 8. The row passes run with one lane
// per row: a strip is transposed so that column c of its 8 rows is one vector, and the running
// sum walks the columns, each lane carrying its own row's sum with the reference's operations
// (two strips at once, to hide the latency of that chain). The column passes run with one lane
// per column on row-major rows. 8x8 transposes move between the two.
#include "pdq_kernels.hpp"

#include <immintrin.h>

namespace hashguard::scanner::pdq_detail {

namespace {

constexpr int lanes = 8;

struct box_phases {
  int p1;
  int p2;
  int p3;
  int p4;
};

box_phases phases_of(int length, int window) {
  const int half = (window + 2) / 2;
  return {half - 1, window - half + 1, length - window, half - 1};
}

// Forced inline: a call would pass the 8 vectors through memory.
[[gnu::always_inline]] inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3,
                                              __m256& r4, __m256& r5, __m256& r6, __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1);
  const __m256 t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3);
  const __m256 t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5);
  const __m256 t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7);
  const __m256 t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// rows[k][c] (8 row pointers) -> t[c * 8 + k], columns [0, cols).
void rows_to_lanes(float* const* rows, int cols, float* t) {
  int c = 0;
  for (; c + lanes <= cols; c += lanes) {
    __m256 r0 = _mm256_loadu_ps(rows[0] + c);
    __m256 r1 = _mm256_loadu_ps(rows[1] + c);
    __m256 r2 = _mm256_loadu_ps(rows[2] + c);
    __m256 r3 = _mm256_loadu_ps(rows[3] + c);
    __m256 r4 = _mm256_loadu_ps(rows[4] + c);
    __m256 r5 = _mm256_loadu_ps(rows[5] + c);
    __m256 r6 = _mm256_loadu_ps(rows[6] + c);
    __m256 r7 = _mm256_loadu_ps(rows[7] + c);
    transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
    float* o = t + static_cast<std::ptrdiff_t>(c) * lanes;
    _mm256_storeu_ps(o + 0 * lanes, r0);
    _mm256_storeu_ps(o + 1 * lanes, r1);
    _mm256_storeu_ps(o + 2 * lanes, r2);
    _mm256_storeu_ps(o + 3 * lanes, r3);
    _mm256_storeu_ps(o + 4 * lanes, r4);
    _mm256_storeu_ps(o + 5 * lanes, r5);
    _mm256_storeu_ps(o + 6 * lanes, r6);
    _mm256_storeu_ps(o + 7 * lanes, r7);
  }
  for (; c < cols; ++c) {
    for (int k = 0; k < lanes; ++k) t[c * lanes + k] = rows[k][c];
  }
}

// Collects a strip's outputs column by column (one vector of 8 rows each) and writes them to
// row-major rows 8 columns at a time through a transpose, for the first `count` rows.
struct row_writer {
  row_writer(float* const* target_rows, int target_count)
      : rows(target_rows), count(target_count) {}

  float* const* rows;
  int count;
  int column = 0;  // first column of the staged block
  int staged = 0;
  __m256 stage[lanes]{};

  void put(__m256 v) {
    stage[staged++] = v;
    if (staged == lanes) flush_block();
  }

  void flush_block() {
    __m256 r0 = stage[0];
    __m256 r1 = stage[1];
    __m256 r2 = stage[2];
    __m256 r3 = stage[3];
    __m256 r4 = stage[4];
    __m256 r5 = stage[5];
    __m256 r6 = stage[6];
    __m256 r7 = stage[7];
    transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
    const __m256 out[lanes] = {r0, r1, r2, r3, r4, r5, r6, r7};
    for (int k = 0; k < count; ++k) _mm256_storeu_ps(rows[k] + column, out[k]);
    column += lanes;
    staged = 0;
  }

  void finish() {
    alignas(32) float values[lanes];
    for (int j = 0; j < staged; ++j) {
      _mm256_store_ps(values, stage[j]);
      for (int k = 0; k < count; ++k) rows[k][column + j] = values[k];
    }
    column += staged;
    staged = 0;
  }
};

// The reference's box filter along the columns of two strips held as t[c * 8 + k] (rows 0-7 in
// `in_a`, 8-15 in `in_b`): one lane per row, every output written, to row-major rows through
// the writers. Two independent running sums hide the latency of the add/subtract chain.
void box_lanes_full(const float* in_a, const float* in_b, row_writer& out_a, row_writer& out_b,
                    int length, int window) {
  const box_phases ph = phases_of(length, window);
  __m256 sum_a = _mm256_setzero_ps();
  __m256 sum_b = _mm256_setzero_ps();
  int add = 0;
  int sub = 0;
  int count = 0;
  for (int i = 0; i < ph.p1; ++i, add += lanes) {
    sum_a = _mm256_add_ps(sum_a, _mm256_loadu_ps(in_a + add));
    sum_b = _mm256_add_ps(sum_b, _mm256_loadu_ps(in_b + add));
    ++count;
  }
  for (int i = 0; i < ph.p2; ++i, add += lanes) {
    sum_a = _mm256_add_ps(sum_a, _mm256_loadu_ps(in_a + add));
    sum_b = _mm256_add_ps(sum_b, _mm256_loadu_ps(in_b + add));
    ++count;
    const __m256 divisor = _mm256_set1_ps(static_cast<float>(count));
    out_a.put(_mm256_div_ps(sum_a, divisor));
    out_b.put(_mm256_div_ps(sum_b, divisor));
  }
  const __m256 full = _mm256_set1_ps(static_cast<float>(count));
  for (int i = 0; i < ph.p3; ++i, add += lanes, sub += lanes) {
    sum_a = _mm256_add_ps(sum_a, _mm256_loadu_ps(in_a + add));
    sum_b = _mm256_add_ps(sum_b, _mm256_loadu_ps(in_b + add));
    sum_a = _mm256_sub_ps(sum_a, _mm256_loadu_ps(in_a + sub));
    sum_b = _mm256_sub_ps(sum_b, _mm256_loadu_ps(in_b + sub));
    out_a.put(_mm256_div_ps(sum_a, full));
    out_b.put(_mm256_div_ps(sum_b, full));
  }
  for (int i = 0; i < ph.p4; ++i, sub += lanes) {
    sum_a = _mm256_sub_ps(sum_a, _mm256_loadu_ps(in_a + sub));
    sum_b = _mm256_sub_ps(sum_b, _mm256_loadu_ps(in_b + sub));
    --count;
    const __m256 divisor = _mm256_set1_ps(static_cast<float>(count));
    out_a.put(_mm256_div_ps(sum_a, divisor));
    out_b.put(_mm256_div_ps(sum_b, divisor));
  }
  out_a.finish();
  out_b.finish();
}

// The same over two strips at once (rows 0-7 in `in_a`, 8-15 in `in_b`: two independent sums
// hide the add latency), dividing only at the wanted (ascending, possibly repeated) output
// indices (`n_wanted` of them); row k's value for wanted index j goes to
// narrow[k * n_wanted + j], for the first `count_rows` rows (1..16).
void box_lanes_select(const float* in_a, const float* in_b, int length, int window,
                      const std::uint32_t* wanted, int n_wanted, float* narrow, int count_rows) {
  const box_phases ph = phases_of(length, window);
  __m256 sum_a = _mm256_setzero_ps();
  __m256 sum_b = _mm256_setzero_ps();
  int add = 0;
  int sub = 0;
  int count = 0;
  int oi = 0;
  int next = 0;
  alignas(32) float values[2 * lanes];
  auto emit = [&] {
    while (next < n_wanted && static_cast<int>(wanted[next]) == oi) {
      const __m256 divisor = _mm256_set1_ps(static_cast<float>(count));
      _mm256_store_ps(values, _mm256_div_ps(sum_a, divisor));
      _mm256_store_ps(values + lanes, _mm256_div_ps(sum_b, divisor));
      for (int k = 0; k < count_rows; ++k) narrow[k * n_wanted + next] = values[k];
      ++next;
    }
    ++oi;
  };
  for (int i = 0; i < ph.p1; ++i, add += lanes) {
    sum_a = _mm256_add_ps(sum_a, _mm256_loadu_ps(in_a + add));
    sum_b = _mm256_add_ps(sum_b, _mm256_loadu_ps(in_b + add));
    ++count;
  }
  for (int i = 0; i < ph.p2; ++i, add += lanes) {
    sum_a = _mm256_add_ps(sum_a, _mm256_loadu_ps(in_a + add));
    sum_b = _mm256_add_ps(sum_b, _mm256_loadu_ps(in_b + add));
    ++count;
    emit();
  }
  for (int i = 0; i < ph.p3; ++i, add += lanes, sub += lanes) {
    sum_a = _mm256_add_ps(sum_a, _mm256_loadu_ps(in_a + add));
    sum_b = _mm256_add_ps(sum_b, _mm256_loadu_ps(in_b + add));
    sum_a = _mm256_sub_ps(sum_a, _mm256_loadu_ps(in_a + sub));
    sum_b = _mm256_sub_ps(sum_b, _mm256_loadu_ps(in_b + sub));
    emit();
  }
  for (int i = 0; i < ph.p4; ++i, sub += lanes) {
    sum_a = _mm256_sub_ps(sum_a, _mm256_loadu_ps(in_a + sub));
    sum_b = _mm256_sub_ps(sum_b, _mm256_loadu_ps(in_b + sub));
    --count;
    emit();
  }
}

// The reference's coefficients (double constants stored in float) and expression order:
// ((R * cr) + (G * cg)) + (B * cb), each operation rounded to float.
constexpr float luma_r = static_cast<float>(0.299);
constexpr float luma_g = static_cast<float>(0.587);
constexpr float luma_b = static_cast<float>(0.114);

float luma_scalar(const std::uint8_t* q) {
  return luma_r * static_cast<float>(q[0]) + luma_g * static_cast<float>(q[1]) +
         luma_b * static_cast<float>(q[2]);
}

// Byte shuffles that widen, per 128-bit lane, the R (G, B) samples of 4 RGB pixels to 32 bits.
__m256i pick(int channel) {
  const auto c = static_cast<char>(channel);
  const char z = -1;
  return _mm256_setr_epi8(c, z, z, z, static_cast<char>(c + 3), z, z, z, static_cast<char>(c + 6),
                          z, z, z, static_cast<char>(c + 9), z, z, z, c, z, z, z,
                          static_cast<char>(c + 3), z, z, z, static_cast<char>(c + 6), z, z, z,
                          static_cast<char>(c + 9), z, z, z);
}

// 8 RGB pixels at q: bytes 0..11 in the low lane, 12..23 in the high lane. Reads 28 bytes.
[[gnu::always_inline]] inline __m256i load_rgb8(const std::uint8_t* q) {
  return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(q + 12),
                             reinterpret_cast<const __m128i*>(q));
}

[[gnu::always_inline]] inline __m256 luma_rgb8(const std::uint8_t* q, __m256i pr, __m256i pg,
                                               __m256i pb) {
  const __m256i v = load_rgb8(q);
  const __m256 r = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, pr));
  const __m256 g = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, pg));
  const __m256 b = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, pb));
  const __m256 rg = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(luma_r), r),
                                  _mm256_mul_ps(_mm256_set1_ps(luma_g), g));
  return _mm256_add_ps(rg, _mm256_mul_ps(_mm256_set1_ps(luma_b), b));
}

// Luma of one row. The unmapped RGB and grey cases are vectorised; the rest (nearest-neighbour
// maps of the reference CLI mode, at most 512 wide) use the portable row function.
void luma_row(const luma_source& s, std::uint32_t y, float* out) {
  if (s.x_map != nullptr || s.y_map != nullptr) {
    s.row(y, out);
    return;
  }
  const int cols = static_cast<int>(s.cols);
  const std::uint8_t* p = s.pixels + std::size_t{y} * s.pixel_width * s.channels;
  int x = 0;
  if (s.channels == 1) {
    for (; x + lanes <= cols; x += lanes) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + x));
      _mm256_storeu_ps(out + x, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
    }
    for (; x < cols; ++x) out[x] = p[x];
    return;
  }
  const __m256i pr = pick(0);
  // The vector loops read 4 bytes past their 8 pixels, so they stop two pixels early.
  if (s.grey) {
    for (; x + lanes + 2 <= cols; x += lanes) {
      const __m256i v = load_rgb8(p + static_cast<std::ptrdiff_t>(x) * 3);
      _mm256_storeu_ps(out + x, _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, pr)));
    }
    for (; x < cols; ++x) out[x] = p[static_cast<std::ptrdiff_t>(x) * 3];
    return;
  }
  const __m256i pg = pick(1);
  const __m256i pb = pick(2);
  for (; x + lanes + 2 <= cols; x += lanes) {
    _mm256_storeu_ps(out + x, luma_rgb8(p + static_cast<std::ptrdiff_t>(x) * 3, pr, pg, pb));
  }
  for (; x < cols; ++x) out[x] = luma_scalar(p + static_cast<std::ptrdiff_t>(x) * 3);
}

// RGB luma of rows y0..y0+7 (rows past the image repeat the last one) straight into the lanes
// layout t[c * 8 + k]: 8 rows x 8 pixels, then an in-register transpose.
void luma_rgb_lanes(const luma_source& s, int y0, float* t) {
  const int rows = static_cast<int>(s.rows);
  const int cols = static_cast<int>(s.cols);
  const std::uint8_t* row[8];
  for (int k = 0; k < 8; ++k) {
    const int y = y0 + k < rows ? y0 + k : rows - 1;
    row[k] = s.pixels + static_cast<std::size_t>(y) * s.pixel_width * 3;
  }
  const __m256i pr = pick(0);
  const __m256i pg = pick(1);
  const __m256i pb = pick(2);
  int x = 0;
  for (; x + lanes + 2 <= cols; x += lanes) {
    const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(x) * 3;
    // Eight rows stream from memory at once; asking for them a few lines ahead keeps the
    // arithmetic from waiting (about 1 ms of 12 on a 12 MP image here).
    for (int k = 0; k < 8; ++k) {
      _mm_prefetch(reinterpret_cast<const char*>(row[k] + offset + 384), _MM_HINT_T0);
    }
    __m256 r0 = luma_rgb8(row[0] + offset, pr, pg, pb);
    __m256 r1 = luma_rgb8(row[1] + offset, pr, pg, pb);
    __m256 r2 = luma_rgb8(row[2] + offset, pr, pg, pb);
    __m256 r3 = luma_rgb8(row[3] + offset, pr, pg, pb);
    __m256 r4 = luma_rgb8(row[4] + offset, pr, pg, pb);
    __m256 r5 = luma_rgb8(row[5] + offset, pr, pg, pb);
    __m256 r6 = luma_rgb8(row[6] + offset, pr, pg, pb);
    __m256 r7 = luma_rgb8(row[7] + offset, pr, pg, pb);
    transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
    float* o = t + static_cast<std::ptrdiff_t>(x) * lanes;
    _mm256_storeu_ps(o + 0 * lanes, r0);
    _mm256_storeu_ps(o + 1 * lanes, r1);
    _mm256_storeu_ps(o + 2 * lanes, r2);
    _mm256_storeu_ps(o + 3 * lanes, r3);
    _mm256_storeu_ps(o + 4 * lanes, r4);
    _mm256_storeu_ps(o + 5 * lanes, r5);
    _mm256_storeu_ps(o + 6 * lanes, r6);
    _mm256_storeu_ps(o + 7 * lanes, r7);
  }
  for (; x < cols; ++x) {
    for (int k = 0; k < 8; ++k) {
      t[x * lanes + k] = luma_scalar(row[k] + static_cast<std::ptrdiff_t>(x) * 3);
    }
  }
}

// Column pass state: one running sum per column, fed rows in order.
struct column_state {
  float* sums;
  int cols;
  box_phases ph;
  int ri = 0;
  int li = 0;
  int count = 0;
  int oi = 0;
};

// sums += add (and -= sub when given); out = sums / count when out is given. Per column the
// order is the reference's: add first, then subtract, then divide.
void column_update(float* sums, const float* add, const float* sub, float* out, int count,
                   int cols) {
  const __m256 divisor = _mm256_set1_ps(static_cast<float>(count));
  const auto fdiv = static_cast<float>(count);
  int j = 0;
  for (; j + lanes <= cols; j += lanes) {
    __m256 s = _mm256_loadu_ps(sums + j);
    if (add != nullptr) s = _mm256_add_ps(s, _mm256_loadu_ps(add + j));
    if (sub != nullptr) s = _mm256_sub_ps(s, _mm256_loadu_ps(sub + j));
    _mm256_storeu_ps(sums + j, s);
    if (out != nullptr) _mm256_storeu_ps(out + j, _mm256_div_ps(s, divisor));
  }
  for (; j < cols; ++j) {
    float s = sums[j];
    if (add != nullptr) s += add[j];
    if (sub != nullptr) s -= sub[j];
    sums[j] = s;
    if (out != nullptr) out[j] = s / fdiv;
  }
}

}  // namespace

void downsample_avx2(const luma_source& source, const stream_layout& layout, float* out) noexcept {
  const int rows = static_cast<int>(source.rows);
  const int cols = static_cast<int>(source.cols);
  const auto ucols = static_cast<std::size_t>(cols);
  const int window_along_rows = layout.window_along_rows;
  const int ring_rows = layout.ring_rows;
  const std::uint32_t* xs = layout.grid.xs;
  const std::uint32_t* ys = layout.grid.ys;
  const int nx = layout.grid.nx;
  const int ny = layout.grid.ny;
  const auto unx = static_cast<std::size_t>(nx);

  float* luma_block = layout.block;             // 16 rows x cols, row-major
  float* c1_block = layout.block + 16 * ucols;  // 16 column-pass output rows
  float* strip_a = layout.strip;                // cols x 8, one vector per column: rows 0-7
  float* strip_b = layout.strip + 8 * ucols;    // rows 8-15
  float* ring = layout.ring;
  float* narrow = layout.narrow;
  const bool rgb_fast =
      source.channels == 3 && !source.grey && source.x_map == nullptr && source.y_map == nullptr;

  auto ring_row = [&](int r) { return ring + static_cast<std::size_t>(r % ring_rows) * ucols; };

  // Column pass 1 emits row o into c1_block; every 16 rows (and at the end) row pass 2 runs on
  // them and keeps the decimated columns.
  int c1_first = 0;
  auto flush_c1 = [&](int count_rows) {
    float* block_rows[16];
    for (int k = 0; k < 16; ++k) block_rows[k] = c1_block + static_cast<std::size_t>(k) * ucols;
    rows_to_lanes(block_rows, cols, strip_a);
    rows_to_lanes(block_rows + 8, cols, strip_b);
    box_lanes_select(strip_a, strip_b, cols, window_along_rows, xs, nx,
                     narrow + static_cast<std::size_t>(c1_first) * unx, count_rows);
    c1_first += count_rows;
  };
  column_state c1{layout.col_sum, cols, phases_of(rows, layout.window_along_cols)};
  for (int j = 0; j < cols; ++j) c1.sums[j] = 0.0F;
  auto c1_emit_target = [&]() {
    return c1_block + static_cast<std::size_t>(c1.oi - c1_first) * ucols;
  };
  auto c1_after_emit = [&]() {
    ++c1.oi;
    if (c1.oi - c1_first == 16) flush_c1(16);
  };
  auto c1_feed = [&](int r) {
    const float* add = ring_row(r);
    if (c1.ri < c1.ph.p1) {
      ++c1.count;
      column_update(c1.sums, add, nullptr, nullptr, c1.count, cols);
    } else if (c1.ri < c1.ph.p1 + c1.ph.p2) {
      ++c1.count;
      column_update(c1.sums, add, nullptr, c1_emit_target(), c1.count, cols);
      c1_after_emit();
    } else {
      column_update(c1.sums, add, ring_row(c1.li), c1_emit_target(), c1.count, cols);
      ++c1.li;
      c1_after_emit();
    }
    ++c1.ri;
  };

  for (int s0 = 0; s0 < rows; s0 += 16) {
    const int n = rows - s0 < 16 ? rows - s0 : 16;
    if (rgb_fast) {
      luma_rgb_lanes(source, s0, strip_a);
      luma_rgb_lanes(source, s0 + 8, strip_b);
    } else {
      float* block_rows[16];
      for (int k = 0; k < 16; ++k) {
        block_rows[k] = luma_block + static_cast<std::size_t>(k) * ucols;
        // Rows past the end repeat the last one; their results are never used.
        const int y = s0 + k < rows ? s0 + k : rows - 1;
        luma_row(source, static_cast<std::uint32_t>(y), block_rows[k]);
      }
      rows_to_lanes(block_rows, cols, strip_a);
      rows_to_lanes(block_rows + 8, cols, strip_b);
    }
    float* ring_rows_out[16];
    for (int k = 0; k < n; ++k) ring_rows_out[k] = ring_row(s0 + k);
    row_writer out_a{ring_rows_out, n < 8 ? n : 8};
    row_writer out_b{ring_rows_out + 8, n > 8 ? n - 8 : 0};
    box_lanes_full(strip_a, strip_b, out_a, out_b, cols, window_along_rows);
    for (int k = 0; k < n; ++k) c1_feed(s0 + k);
  }
  for (int i = 0; i < c1.ph.p4; ++i) {
    --c1.count;
    column_update(c1.sums, nullptr, ring_row(c1.li), c1_emit_target(), c1.count, cols);
    ++c1.li;
    c1_after_emit();
  }
  if (c1.oi > c1_first) {
    const int left = c1.oi - c1_first;
    for (int k = left; k < 16; ++k) {
      float* row = c1_block + static_cast<std::size_t>(k) * ucols;
      for (int j = 0; j < cols; ++j) row[j] = 0.0F;
    }
    flush_c1(left);
  }

  // Column pass 2 on the kept columns, keeping the kept rows.
  float sums[sample_grid::max_samples];
  for (int j = 0; j < nx; ++j) sums[j] = 0.0F;
  const box_phases ph = phases_of(rows, layout.window_along_cols);
  int count = 0;
  int oi = 0;
  int next = 0;
  int ri = 0;
  int li = 0;
  auto emit = [&] {
    while (next < ny && static_cast<int>(ys[next]) == oi) {
      column_update(sums, nullptr, nullptr, out + next * nx, count, nx);
      ++next;
    }
    ++oi;
  };
  for (int i = 0; i < ph.p1; ++i, ++ri) {
    ++count;
    column_update(sums, narrow + static_cast<std::size_t>(ri) * unx, nullptr, nullptr, count, nx);
  }
  for (int i = 0; i < ph.p2; ++i, ++ri) {
    ++count;
    column_update(sums, narrow + static_cast<std::size_t>(ri) * unx, nullptr, nullptr, count, nx);
    emit();
  }
  for (int i = 0; i < ph.p3; ++i, ++ri, ++li) {
    column_update(sums, narrow + static_cast<std::size_t>(ri) * unx,
                  narrow + static_cast<std::size_t>(li) * unx, nullptr, count, nx);
    emit();
  }
  for (int i = 0; i < ph.p4; ++i, ++li) {
    --count;
    column_update(sums, nullptr, narrow + static_cast<std::size_t>(li) * unx, nullptr, count, nx);
    emit();
  }
}

}  // namespace hashguard::scanner::pdq_detail
