// Internal to the scanner module: the PDQ downsampling kernels (tent filter + 64x64 decimation)
// and the pieces they share with pdq.cpp. Every kernel reproduces the reference's float32
// arithmetic per pixel in the reference's order; they differ in memory layout only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hashguard::scanner::pdq_detail {

/// The reference's window: a full 1/64 block split over two passes, rounded up.
[[nodiscard]] constexpr int jarosz_window(int old_dimension, int new_dimension) noexcept {
  return (old_dimension + 2 * new_dimension - 1) / (2 * new_dimension);
}

/// Where the reference's decimation samples: the input index nearest each output centre.
/// Fills 64 indices into a dimension of `size`.
void decimation_indices(std::uint32_t size, std::uint32_t out[64]) noexcept;

/// Where a downsample keeps values of the blurred plane: `nx` ascending columns and `ny`
/// ascending rows (repeats allowed; at most max_samples each). The output is ny x nx,
/// row-major. The reference hash keeps the 64 decimation indices per axis; the orientation
/// hashes add the 64 sample positions of the mirrored axis (pdq_orient.cpp).
struct sample_grid {
  static constexpr int max_samples = 128;
  const std::uint32_t* xs{};
  int nx{64};
  const std::uint32_t* ys{};
  int ny{64};
};

/// Supplies float luma one row at a time: either from 8-bit pixels (optionally through a
/// nearest-neighbour index map, for the reference CLI's 512x512 pre-resize) or from a plane.
struct luma_source {
  const std::uint8_t* pixels{};  ///< rows packed, `channels` bytes per pixel
  std::uint32_t pixel_width{};
  std::uint32_t channels{};      ///< 1 or 3
  bool grey{};                   ///< take channel 0 as the luma (grey, or RGB all grey)
  const std::uint32_t* x_map{};  ///< when set: luma column x reads pixel column x_map[x]
  const std::uint32_t* y_map{};  ///< when set: luma row y reads pixel row y_map[y]
  std::uint32_t rows{};          ///< luma size
  std::uint32_t cols{};

  void row(std::uint32_t y, float* out) const noexcept;
};

/// Scratch of the streaming kernels, grown on demand and kept by the hasher.
struct stream_scratch {
  std::vector<float> ring;     ///< (window_along_cols + 1) rows of the first row pass
  std::vector<float> col_sum;  ///< running sums of the column pass, one per column
  std::vector<float> row_in;   ///< one luma row
  std::vector<float> row_out;  ///< one column-pass output row
  std::vector<float> narrow;   ///< rows x nx: second row pass at the kept columns
  std::vector<float> narrow_out;

  void reserve(std::uint32_t rows, std::uint32_t cols, int window_along_cols, int nx);
};

/// The reference's box filter along one vector (stride in floats), in its exact order.
void box_1d_reference(const float* in, float* out, int length, int stride, int window) noexcept;

/// Reference layout: blurs the full plane `buffer1` in place (with `buffer2` as scratch),
/// exactly as the reference's jaroszFilterFloat, then keeps the grid's samples in out.
void downsample_reference(float* buffer1, float* buffer2, int rows, int cols,
                          const sample_grid& grid, float* out) noexcept;

/// Streaming layout, portable code: same values as downsample_reference.
void downsample_blocked(const luma_source& source, stream_scratch& scratch, const sample_grid& grid,
                        float* out) noexcept;

/// Buffers and parameters of the AVX2 kernel, as plain pointers: pdq_avx2.cpp is built with
/// AVX2 flags and must not instantiate inline library code (std::vector members and the like)
/// that the linker could then pick for callers on any CPU.
struct stream_layout {
  int window_along_rows{};
  int window_along_cols{};
  int ring_rows{};   ///< window_along_cols + 16
  sample_grid grid;  ///< the kept columns and rows
  float* block{};    ///< 32 * cols
  float* strip{};    ///< 32 * cols
  float* ring{};     ///< ring_rows * cols
  float* col_sum{};  ///< cols
  float* narrow{};   ///< rows * grid.nx
};

/// Streaming layout, AVX2 (pdq_avx2.cpp; call only when cpu_has_avx2()). Same values.
void downsample_avx2(const luma_source& source, const stream_layout& layout, float* out) noexcept;

/// AVX2 present and enabled by the OS.
[[nodiscard]] bool cpu_has_avx2() noexcept;

}  // namespace hashguard::scanner::pdq_detail
