// Shared by the per-format decoders (decode_*.cpp); not part of the public interface.
#pragma once

#include "hashguard/scanner/decode.hpp"

#include <span>

namespace hashguard::scanner::detail {

using bytes_t = std::span<const std::uint8_t>;

/// Gives `frame` the shape w x h x channels, reusing its buffer (no allocation when it already
/// holds enough). May throw std::bad_alloc: decoder::decode catches it, and callers resize
/// before they enter a C library, never inside a callback.
void shape(pixels& frame, std::uint32_t width, std::uint32_t height, std::uint32_t channels);

/// Keeps the first `keep` of every `stride` bytes, in place (drops alpha: RGBA -> RGB,
/// grey+alpha -> grey), and shrinks the buffer to match.
void drop_channels(std::vector<std::uint8_t>& data, std::size_t pixel_count, std::size_t stride,
                   std::size_t keep) noexcept;

/// The CMYK and probe scratch buffers, kept between calls, and the TurboJPEG handle of the
/// last image (each image gets a new one).
class jpeg_decoder {
 public:
  jpeg_decoder() = default;
  ~jpeg_decoder();
  jpeg_decoder(const jpeg_decoder&) = delete;
  jpeg_decoder& operator=(const jpeg_decoder&) = delete;

  core::result<void> decode(bytes_t bytes, const image_header& header, decoded_image& out);

 private:
  void* handle_{};  // tjhandle
  std::vector<std::uint8_t> cmyk_;
  std::vector<std::uint8_t> probe_;  // damaged files only: which bytes libjpeg wrote
};

// Decoders of our own loops take the scan's budget and return its errc as soon as a check fails.
core::result<void> decode_png(bytes_t bytes, const image_header& header, scan_budget& budget,
                              decoded_image& out);
core::result<void> decode_gif(bytes_t bytes, const image_header& header,
                              const decode_limits& limits, scan_budget& budget, decoded_image& out);
/// TIFF: the strips or tiles of the first IFD, before any library reads them (see
/// decode_tiff_precheck.cpp). errc::truncated when one lies outside the data; errc::corrupt
/// for more strips than the height needs, tiles far larger than the image, two strips that
/// share bytes, or a deflate strip that is not one whole stream of at most its strip's size.
/// {} when the file is fine or lacks the fields (libtiff then refuses it). May throw
/// std::bad_alloc (one pair of offsets per strip). The budget is checked per strip and inside
/// the inflating; a spent one returns its errc.
errc precheck_tiff(bytes_t bytes, const image_header& header, scan_budget& budget);
/// As above without a budget (tests).
errc precheck_tiff(bytes_t bytes, const image_header& header);

/// WebP (libwebp), BMP (decode_bmp.cpp's own reader) and TIFF (the precheck, then libtiff):
/// the pixels OpenCV 4.6's imdecode gave for these formats (see each file).
core::result<void> decode_webp(bytes_t bytes, const image_header& header, decoded_image& out);
core::result<void> decode_bmp(bytes_t bytes, const image_header& header, decoded_image& out);
/// TIFF checks the budget in its precheck and between libtiff's strip or tile reads.
core::result<void> decode_tiff(bytes_t bytes, const image_header& header,
                               const decode_limits& limits, scan_budget& budget,
                               decoded_image& out);

}  // namespace hashguard::scanner::detail
