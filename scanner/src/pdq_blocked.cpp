// PDQ downsampling: the reference layout and the portable streaming layout.
//
// Built with -ffp-contract=off (scanner/CMakeLists.txt): a fused multiply-add rounds once where
// the reference rounds twice, and the hash bits drift.
//
// Why the streaming layout gives the reference's values: the tent filter is row pass, column
// pass, row pass, column pass, each a running-sum box filter along one axis. Every output value
// depends only on the values along its own row (row pass) or its own column (column pass), and
// each running sum sees the same additions and subtractions in the same order however the
// columns are interleaved. So we may (1) run the first column pass across a whole row at a time
// (one running sum per column) on rows streamed out of the first row pass, holding only the
// window's rows; (2) divide the second row pass only at the 64 columns decimation keeps (its
// running sum still walks every column); (3) run the last column pass on those 64 columns only.
#include "pdq_kernels.hpp"

#include <algorithm>

namespace hashguard::scanner::pdq_detail {

namespace {

// The reference's luma coefficients: double constants stored in float.
constexpr float luma_r = static_cast<float>(0.299);
constexpr float luma_g = static_cast<float>(0.587);
constexpr float luma_b = static_cast<float>(0.114);

struct phases {
  int p1;  // adds before the first output
  int p2;  // outputs with a growing window
  int p3;  // outputs with the full window (add, then subtract)
  int p4;  // outputs with a shrinking window
};

phases box_phases(int length, int window) noexcept {
  const int half = (window + 2) / 2;
  return {half - 1, window - half + 1, length - window, half - 1};
}

// Box filter along a contiguous row, dividing only at the `n_wanted` wanted output indices
// (ascending, possibly repeated); writes one value per wanted index.
void box_row_select(const float* in, int length, int window, const std::uint32_t* wanted,
                    int n_wanted, float* out) noexcept {
  const phases ph = box_phases(length, window);
  int ri = 0;
  int li = 0;
  int oi = 0;
  int next = 0;
  int count = 0;
  float sum = 0.0F;
  auto emit = [&] {
    while (next < n_wanted && static_cast<int>(wanted[next]) == oi) {
      out[next++] = sum / static_cast<float>(count);
    }
    ++oi;
  };
  for (int i = 0; i < ph.p1; ++i) {
    sum += in[ri++];
    ++count;
  }
  for (int i = 0; i < ph.p2; ++i) {
    sum += in[ri++];
    ++count;
    emit();
  }
  for (int i = 0; i < ph.p3; ++i) {
    sum += in[ri++];
    sum -= in[li++];
    emit();
  }
  for (int i = 0; i < ph.p4; ++i) {
    sum -= in[li++];
    --count;
    emit();
  }
}

// Running-sum column pass over `width` columns held as rows; the caller feeds rows in order
// and receives output rows in order through `emit(out_row_index, count)`, after which
// `sums` holds the running sums to divide.
template <class Input, class Emit>
void column_pass(int height, int window, float* sums, std::size_t width, Input&& input_row,
                 Emit&& emit) {
  const phases ph = box_phases(height, window);
  std::fill(sums, sums + width, 0.0F);
  int count = 0;
  int oi = 0;
  int li = 0;
  int ri = 0;
  for (int i = 0; i < ph.p1; ++i, ++ri) {
    const float* add = input_row(ri);
    for (std::size_t j = 0; j < width; ++j) sums[j] += add[j];
    ++count;
  }
  for (int i = 0; i < ph.p2; ++i, ++ri) {
    const float* add = input_row(ri);
    for (std::size_t j = 0; j < width; ++j) sums[j] += add[j];
    ++count;
    emit(oi++, count);
  }
  for (int i = 0; i < ph.p3; ++i, ++ri, ++li) {
    const float* add = input_row(ri);
    const float* sub = input_row(li);
    for (std::size_t j = 0; j < width; ++j) {
      sums[j] += add[j];
      sums[j] -= sub[j];
    }
    emit(oi++, count);
  }
  for (int i = 0; i < ph.p4; ++i, ++li) {
    const float* sub = input_row(li);
    for (std::size_t j = 0; j < width; ++j) sums[j] -= sub[j];
    --count;
    emit(oi++, count);
  }
}

}  // namespace

void decimation_indices(std::uint32_t size, std::uint32_t out[64]) noexcept {
  for (int i = 0; i < 64; ++i) {
    // The reference computes this in double and truncates.
    out[i] = static_cast<std::uint32_t>(((i + 0.5) * size) / 64);
  }
}

void luma_source::row(std::uint32_t y, float* out) const noexcept {
  const std::uint32_t py = y_map != nullptr ? y_map[y] : y;
  const std::uint8_t* p = pixels + std::size_t{py} * pixel_width * channels;
  if (grey) {
    if (x_map != nullptr) {
      for (std::uint32_t x = 0; x < cols; ++x) out[x] = p[std::size_t{x_map[x]} * channels];
    } else if (channels == 1) {
      for (std::uint32_t x = 0; x < cols; ++x) out[x] = p[x];
    } else {
      for (std::uint32_t x = 0; x < cols; ++x) out[x] = p[std::size_t{x} * 3];
    }
    return;
  }
  for (std::uint32_t x = 0; x < cols; ++x) {
    const std::uint8_t* px = p + std::size_t{x_map != nullptr ? x_map[x] : x} * 3;
    // Same expression as the reference: ((R*cr) + (G*cg)) + (B*cb), each rounded to float.
    out[x] = luma_r * static_cast<float>(px[0]) + luma_g * static_cast<float>(px[1]) +
             luma_b * static_cast<float>(px[2]);
  }
}

void stream_scratch::reserve(std::uint32_t rows, std::uint32_t cols, int window_along_cols,
                             int nx) {
  const std::size_t ring_size = std::size_t(window_along_cols + 1) * cols;
  if (ring.size() < ring_size) ring.resize(ring_size);
  if (col_sum.size() < cols) col_sum.resize(cols);
  if (row_in.size() < cols) row_in.resize(cols);
  if (row_out.size() < cols) row_out.resize(cols);
  const auto width = static_cast<std::size_t>(nx);
  if (narrow.size() < std::size_t{rows} * width) narrow.resize(std::size_t{rows} * width);
  if (narrow_out.size() < width) narrow_out.resize(width);
}

void box_1d_reference(const float* in, float* out, int length, int stride, int window) noexcept {
  const phases ph = box_phases(length, window);
  std::ptrdiff_t ri = 0;
  std::ptrdiff_t li = 0;
  std::ptrdiff_t oi = 0;
  int count = 0;
  float sum = 0.0F;
  for (int i = 0; i < ph.p1; ++i) {
    sum += in[ri];
    ++count;
    ri += stride;
  }
  for (int i = 0; i < ph.p2; ++i) {
    sum += in[ri];
    ++count;
    out[oi] = sum / static_cast<float>(count);
    ri += stride;
    oi += stride;
  }
  for (int i = 0; i < ph.p3; ++i) {
    sum += in[ri];
    sum -= in[li];
    out[oi] = sum / static_cast<float>(count);
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (int i = 0; i < ph.p4; ++i) {
    sum -= in[li];
    --count;
    out[oi] = sum / static_cast<float>(count);
    li += stride;
    oi += stride;
  }
}

void downsample_reference(float* buffer1, float* buffer2, int rows, int cols,
                          const sample_grid& grid, float* out) noexcept {
  const int window_along_rows = jarosz_window(cols, 64);
  const int window_along_cols = jarosz_window(rows, 64);
  const auto ucols = static_cast<std::size_t>(cols);
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < rows; ++i) {
      const std::size_t offset = static_cast<std::size_t>(i) * ucols;
      box_1d_reference(buffer1 + offset, buffer2 + offset, cols, 1, window_along_rows);
    }
    for (int j = 0; j < cols; ++j) {
      box_1d_reference(buffer2 + j, buffer1 + j, rows, cols, window_along_cols);
    }
  }
  for (int i = 0; i < grid.ny; ++i) {
    for (int j = 0; j < grid.nx; ++j) {
      out[i * grid.nx + j] = buffer1[std::size_t{grid.ys[i]} * ucols + grid.xs[j]];
    }
  }
}

void downsample_blocked(const luma_source& source, stream_scratch& scratch, const sample_grid& grid,
                        float* out) noexcept {
  const int rows = static_cast<int>(source.rows);
  const int cols = static_cast<int>(source.cols);
  const auto ucols = static_cast<std::size_t>(cols);
  const int window_along_rows = jarosz_window(cols, 64);
  const int window_along_cols = jarosz_window(rows, 64);
  const auto ring_rows = static_cast<std::size_t>(window_along_cols + 1);
  const std::uint32_t* xs = grid.xs;
  const std::uint32_t* ys = grid.ys;
  const int nx = grid.nx;
  const auto unx = static_cast<std::size_t>(nx);

  float* ring = scratch.ring.data();
  float* row_in = scratch.row_in.data();
  float* row_out = scratch.row_out.data();
  float* narrow = scratch.narrow.data();
  float* sums = scratch.col_sum.data();

  // Row pass 1 feeds column pass 1 one row at a time through the ring; the ring slot of a row
  // is reused only after column pass 1 has subtracted it.
  int produced = 0;
  auto first_passes_row = [&](int r) -> const float* {
    float* slot = ring + (static_cast<std::size_t>(r) % ring_rows) * ucols;
    if (r == produced) {
      source.row(static_cast<std::uint32_t>(r), row_in);
      box_1d_reference(row_in, slot, cols, 1, window_along_rows);
      ++produced;
    }
    return slot;
  };
  column_pass(rows, window_along_cols, sums, ucols, first_passes_row, [&](int o, int count) {
    const auto divisor = static_cast<float>(count);
    for (std::size_t j = 0; j < ucols; ++j) row_out[j] = sums[j] / divisor;
    box_row_select(row_out, cols, window_along_rows, xs, nx,
                   narrow + static_cast<std::size_t>(o) * unx);
  });

  // Column pass 2 on the kept columns; keep the kept rows.
  float narrow_sums[sample_grid::max_samples];
  int next = 0;
  column_pass(
      rows, window_along_cols, narrow_sums, unx,
      [&](int r) -> const float* { return narrow + static_cast<std::size_t>(r) * unx; },
      [&](int o, int count) {
        const auto divisor = static_cast<float>(count);
        while (next < grid.ny && static_cast<int>(ys[next]) == o) {
          for (int j = 0; j < nx; ++j) out[next * nx + j] = narrow_sums[j] / divisor;
          ++next;
        }
      });
}

}  // namespace hashguard::scanner::pdq_detail
