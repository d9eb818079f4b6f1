// Still WebP through libwebp's simple decoding API, as OpenCV 4.6 called it (the scanner's
// WebP decoder until this file replaced it): the stream's features are read from its first 32
// bytes (a shorter file is refused); a stream that may carry alpha is decoded to RGBA and the
// alpha dropped (libwebp does not premultiply these modes), any other to RGB.
#include "decode_internal.hpp"

#include <webp/decode.h>

#include <cstdint>

namespace hashguard::scanner::detail {

namespace {

std::uint32_t u32le(bytes_t b, std::size_t p) noexcept {
  return std::uint32_t{b[p]} | std::uint32_t{b[p + 1]} << 8 | std::uint32_t{b[p + 2]} << 16 |
         std::uint32_t{b[p + 3]} << 24;
}
bool fits(bytes_t b, std::uint64_t offset, std::uint64_t length) noexcept {
  return offset <= b.size() && length <= b.size() - offset;
}

// The RIFF size covers everything after the first 8 bytes, and the first chunk must be
// complete: a file cut short is `truncated`, not `corrupt`.
errc precheck(bytes_t b) noexcept {
  if (!fits(b, 0, 20)) return errc::truncated;
  if (!fits(b, 0, std::uint64_t{u32le(b, 4)} + 8)) return errc::truncated;
  if (!fits(b, 20, u32le(b, 16))) return errc::truncated;
  return {};
}

// OpenCV recognised a WebP by the features of its first 32 bytes.
constexpr std::size_t feature_bytes = 32;

}  // namespace

core::result<void> decode_webp(bytes_t bytes, const image_header& header, decoded_image& out) {
  if (header.animated) return errc::unsupported_format;
  if (const errc e = precheck(bytes); e != errc{}) return e;
  if (bytes.size() < feature_bytes) return errc::corrupt;
  WebPBitstreamFeatures features{};
  if (WebPGetFeatures(bytes.data(), feature_bytes, &features) != VP8_STATUS_OK) {
    return errc::corrupt;
  }
  if (features.has_animation != 0) return errc::unsupported_format;
  if (static_cast<std::uint32_t>(features.width) != header.width ||
      static_cast<std::uint32_t>(features.height) != header.height) {
    return errc::corrupt;
  }
  const std::uint32_t decoded_channels = features.has_alpha != 0 ? 4 : 3;
  out.frames.resize(1);
  pixels& frame = out.frames.front();
  shape(frame, header.width, header.height, decoded_channels);
  const auto stride = static_cast<int>(header.width * decoded_channels);
  std::uint8_t* const into = frame.data.data();
  const std::uint8_t* decoded =
      decoded_channels == 4
          ? WebPDecodeRGBAInto(bytes.data(), bytes.size(), into, frame.data.size(), stride)
          : WebPDecodeRGBInto(bytes.data(), bytes.size(), into, frame.data.size(), stride);
  if (decoded != into) return errc::corrupt;
  if (decoded_channels == 4) {
    drop_channels(frame.data, std::size_t{header.width} * header.height, 4, 3);
    frame.channels = 3;
  }
  return {};
}

}  // namespace hashguard::scanner::detail
