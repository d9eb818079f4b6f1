// Format sniffing and header-only dimension reading.
//
// sniff() names the format from the magic bytes alone; a Content-Type or file name is never
// consulted. read_header() then reads the image size from the format's own header without
// decoding anything, so the decoder can enforce the pixel cap before it allocates pixel memory:
//   JPEG  the first SOFn marker segment (baseline, extended, progressive, lossless, arithmetic)
//   PNG   IHDR
//   GIF   the logical screen, and every image descriptor (frames may be larger than the
//         screen, and each one is decoded, so each one is checked)
//   WebP  VP8 (lossy key frame), VP8L (lossless) or VP8X (extended: the canvas)
//   BMP   the info header (BITMAPCOREHEADER's 16-bit sizes or the 32-bit ones; a negative
//         height means top-down rows and counts as its absolute value)
//   TIFF  ImageWidth and ImageLength of the first IFD, either byte order (classic TIFF only),
//         and BitsPerSample, SamplesPerPixel, SampleFormat and PhotometricInterpretation for
//         the sample layout (image_header::bytes_per_pixel, unsupported_samples)
//
// Both functions are pure, never allocate, never throw, and read only inside `bytes`.
// Errors: errc::empty (no bytes), errc::truncated (the bytes are a proper prefix of a magic, or
// end inside the header), errc::unsupported_format (no known magic; BigTIFF), errc::corrupt (a
// header that breaks its format's rules, or a zero width or height).
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/scanner/errc.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace hashguard::scanner {

enum class image_format : std::uint8_t { jpeg, png, gif, webp, bmp, tiff };
inline constexpr std::array<std::string_view, 6> image_format_names{"jpeg", "png", "gif",
                                                                    "webp", "bmp", "tiff"};
[[nodiscard]] constexpr std::string_view to_string(image_format f) noexcept {
  return image_format_names[static_cast<std::size_t>(f)];
}

struct image_header {
  image_format format{};
  std::uint32_t width{};   ///< pixels; for GIF the logical screen that frames are drawn on
  std::uint32_t height{};  ///< pixels (absolute value for bottom-up/top-down BMP)
  /// GIF: image descriptors found before the trailer or the end of the data; 1 otherwise.
  std::uint32_t frames{1};
  /// The largest area any one frame declares: width * height, except for GIF, where a frame
  /// may extend beyond the logical screen.
  std::uint64_t largest_frame_pixels{};
  /// WebP only: the VP8X header announces an animation (the decoders read still WebP only).
  bool animated{};
  /// Bytes per pixel of the samples the decoding library produces, before the decoder reduces
  /// them to 8-bit grey or RGB, plus any output buffer held beside them: JPEG 1, 3, or 7 for
  /// CMYK (4 decoded + 3 converted); PNG channels without alpha x 1 or 2
  /// (16-bit); GIF 3; WebP 3 (VP8) or 4 (VP8L, VP8X); BMP 3, or 4 at 32 bits; TIFF samples per
  /// pixel x 1 or 2 (16-bit), and 4 for what libtiff reads as RGBA (palette, YCbCr, CMYK, Lab,
  /// fewer than 8 bits). With largest_frame_pixels it sizes the decode's largest pixel buffer.
  std::uint32_t bytes_per_pixel{3};
  /// TIFF only: signed, floating-point or wider than 16-bit samples (SampleFormat,
  /// BitsPerSample), which the decoders cannot reduce to 8 bits: refused before decoding.
  bool unsupported_samples{};
  /// TIFF only (0 for the other formats): the largest BitsPerSample and the SamplesPerPixel
  /// the first IFD declares (1 and 1 when absent, the TIFF defaults).
  std::uint32_t bits_per_sample{};
  std::uint32_t samples_per_pixel{};

  [[nodiscard]] std::uint64_t pixel_count() const noexcept { return std::uint64_t{width} * height; }
};

/// The format named by the leading magic bytes.
[[nodiscard]] core::result<image_format> sniff(std::span<const std::uint8_t> bytes) noexcept;

/// sniff() plus the dimensions from the format's header (see above).
[[nodiscard]] core::result<image_header> read_header(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace hashguard::scanner
