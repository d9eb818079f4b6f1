// PDQ perceptual hash, bit-exact with Meta's reference core (pdq/cpp) on the same pixels.
//
// Pipeline (the reference's): luma (RGB -> 0.299R + 0.587G + 0.114B in float32; grey, and RGB
// whose pixels are all grey, -> the grey value) -> Jarosz tent filter (two box passes per
// axis) -> 64x64 decimation -> 16x16 DCT -> median threshold; quality from the gradient sum.
// All 8 dihedral hashes come from the one DCT.
//
// Modes: fullres (default; the core on the full decoded image, as HMA and python-threatexchange
// hash) and reference_512 (the reference CLI: images wider or taller than 512 are first resized
// to exactly 512x512 by nearest neighbour, CImg resize(512,512) semantics) and video_frame
// (fullres, but RGB always through the float luma sum, never the grey shortcut: vPDQ's frames
// are swscale's RGB24, which the reference hashes with fillFloatLumaFromRGB whatever the
// colours; see vpdq.hpp).
//
// Kernels: every kernel gives the same bits (each keeps the reference's float32 operation order
// per pixel); they differ in speed and memory. `reference` runs the reference's own memory
// layout (two full-size float planes, 8 bytes per pixel; strided column pass; for checking);
// `blocked` streams rows through the filter and runs the column passes across whole rows;
// `avx2` is the streaming layout with AVX2 row passes (8 rows per vector) and column passes (8
// columns per vector), chosen at run time only where the CPU supports it. The streaming kernels
// keep at most (vertical window + 65) rows of floats plus 64 floats per image row. `automatic`
// picks the fastest supported: avx2, else blocked. Measured on a 12 MP RGB image, one thread
// (thread CPU time, shared 2-core EPYC under load): reference ~790 ms, blocked ~75-110 ms, avx2
// ~10-12 ms.
//
// Orientation hashes (for matching only; never stored or reported): the hash of the image
// rotated or mirrored at the pixel level, one per core::dihedral, as the reference would hash
// the transformed pixels. The 7 dihedral hashes above are the reference's shortcut (sign
// changes of the one DCT), which differ from the transformed pixels' hash by 4 to 40 bits on
// photos, because the 64x64 sample grid is not symmetric under a mirror; the orientation hashes
// come from the same blurred plane sampled where each transformed image would be sampled
// (pdq.cpp says why that is the same up to float rounding). Contract: within 2 bits of the
// reference's hash of the transformed pixels; measured 0 bits on every vector image of both
// CSVs, every kernel, both modes (the float rounding order differs, so a bit can flip where a
// DCT coefficient sits on the median). Cost: the streaming kernels keep 128 instead of 64
// samples per axis and 7 more DCTs run (reference_512 mode: 3 more 512x512 blurs). Bit-exact
// orientations would need their own blur passes in each direction and order: 7 more hashes.
//
// Regions: a hash of a rectangle of the image is the hash of that rectangle as if it were the
// decoded image (trimming, scanner/trim.hpp).
//
// Thread-safety: a pdq_hasher is not thread-safe; use one per thread. It owns its scratch
// buffers, grown on demand and kept, so hashing allocates nothing once it has seen an image of
// the size at hand.
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/scanner/image.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace hashguard::scanner {

enum class pdq_mode : std::uint8_t { fullres, reference_512, video_frame };

enum class pdq_kernel : std::uint8_t { automatic, reference, blocked, avx2 };

/// "automatic", "reference", "blocked", "avx2".
[[nodiscard]] std::string_view to_string(pdq_kernel kernel) noexcept;
/// Whether this CPU can run the kernel (automatic, reference and blocked always can).
[[nodiscard]] bool pdq_kernel_supported(pdq_kernel kernel) noexcept;
/// The kernel `automatic` resolves to on this CPU.
[[nodiscard]] pdq_kernel pdq_best_kernel() noexcept;

struct pdq_result {
  core::hash256 hash;  ///< the original orientation (same as dihedral[0])
  int quality{};       ///< 0..100; below core::pdq_min_quality the bits carry no signal
  /// Indexed by core::dihedral: original, rot90, rot180, rot270, flipx, flipy, flipplus1,
  /// flipminus1.
  std::array<core::hash256, 8> dihedral{};
};

/// Indexed by core::dihedral; [0] is the ordinary (reference) hash.
using orientation_hashes = std::array<core::hash256, 8>;

/// A rectangle of an image, in pixels.
struct pixel_rect {
  std::uint32_t left{};
  std::uint32_t top{};
  std::uint32_t width{};
  std::uint32_t height{};
  friend constexpr bool operator==(const pixel_rect&, const pixel_rect&) = default;
};

/// Intermediate values of one hash, for checking against the reference's stage dumps.
struct pdq_stages {
  std::uint32_t rows{};  ///< luma plane size, after any reference_512 pre-resize
  std::uint32_t cols{};
  int window_along_rows{};       ///< box window of the horizontal passes (0 for the 64x64 shortcut)
  int window_along_cols{};       ///< box window of the vertical passes
  std::vector<float> luma_row0;  ///< first min(32, cols) luma values of row 0
  std::vector<float> blurred_row0;           ///< the same after the tent filter (empty for 64x64)
  std::array<float, 64 * 64> downsampled{};  ///< row-major
  std::array<float, 16 * 16> dct{};          ///< row-major
  float median{};
};

class pdq_hasher {
 public:
  /// An unsupported kernel falls back to `blocked`.
  explicit pdq_hasher(pdq_kernel kernel = pdq_kernel::automatic);
  ~pdq_hasher();
  pdq_hasher(const pdq_hasher&) = delete;
  pdq_hasher& operator=(const pdq_hasher&) = delete;
  pdq_hasher(pdq_hasher&&) noexcept;
  pdq_hasher& operator=(pdq_hasher&&) noexcept;

  /// Hashes the pixels. Images smaller than 5x5 give the all-zero hash with quality 0, as the
  /// reference does. Never fails: a view that is not valid (channels other than 1 or 3, or
  /// fewer bytes than width * height * channels) also gives the all-zero hash, quality 0.
  [[nodiscard]] pdq_result hash(const pixels_view& image, pdq_mode mode = pdq_mode::fullres);

  /// As hash(), also filling `orientations` (all zero when the result is).
  [[nodiscard]] pdq_result hash(const pixels_view& image, pdq_mode mode,
                                orientation_hashes& orientations);

  /// As hash(), on `region` of the image as if it were the decoded image (the all-grey test
  /// and the reference_512 pre-resize see the region only); fills `orientations` when it is
  /// not null. A region not inside the image gives the all-zero hash, quality 0.
  [[nodiscard]] pdq_result hash(const pixels_view& image, const pixel_rect& region, pdq_mode mode,
                                orientation_hashes* orientations);

  /// As hash(), through the reference kernel, also recording the intermediate stages.
  /// Allocates; for tests and diagnostics, not the hot path.
  [[nodiscard]] pdq_result hash_with_stages(const pixels_view& image, pdq_mode mode,
                                            pdq_stages& stages);

  /// The kernel this hasher runs (never `automatic`).
  [[nodiscard]] pdq_kernel kernel() const noexcept;

 private:
  struct scratch;
  scratch* scratch_;
};

}  // namespace hashguard::scanner
