// JPEG through TurboJPEG. Every TurboJPEG call reports errors by return value (its longjmp
// stays inside libjpeg-turbo), so nothing here unwinds through C frames.
#include "decode_internal.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <cstring>

namespace hashguard::scanner::detail {

namespace {

// djpeg's conversion (libjpeg-turbo cmyk.h), which ImageMagick's agrees with: Adobe CMYK JPEGs
// store inverted inks, so the stored value is already "255 - ink" and RGB is the product with
// the inverted black, rounded: round(c * k / 255). c*k/255 never ends in exactly .5 (255 is
// odd), so the integer form (c*k + 127) / 255 rounds identically.
void cmyk_to_rgb(const std::uint8_t* cmyk, std::uint8_t* rgb, std::size_t pixel_count) noexcept {
  for (std::size_t i = 0; i < pixel_count; ++i) {
    const unsigned k = cmyk[4 * i + 3];
    for (std::size_t c = 0; c < 3; ++c) {
      rgb[3 * i + c] = static_cast<std::uint8_t>((cmyk[4 * i + c] * k + 127U) / 255U);
    }
  }
}

}  // namespace

jpeg_decoder::~jpeg_decoder() {
  if (handle_ != nullptr) tjDestroy(static_cast<tjhandle>(handle_));
}

core::result<void> jpeg_decoder::decode(bytes_t bytes, const image_header& header,
                                        decoded_image& out) {
  // A fresh handle per image: libjpeg keeps the Huffman and quantisation tables of the last
  // image in its decompressor and lets a later image that lacks them use them (abbreviated
  // datastreams), so a reused handle would decode such a file with the previous request's
  // tables instead of refusing it. Creating one costs microseconds.
  if (handle_ != nullptr) tjDestroy(static_cast<tjhandle>(handle_));
  handle_ = tjInitDecompress();
  if (handle_ == nullptr) return errc::out_of_memory;
  auto* const tj = static_cast<tjhandle>(handle_);
  // TurboJPEG takes a non-const buffer in older releases' signatures; it never writes to it.
  const unsigned char* const data = bytes.data();
  const auto size = static_cast<unsigned long>(bytes.size());

  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(tj, data, size, &width, &height, &subsampling, &colorspace) != 0) {
    // A warning (stray bytes before a marker, say) still leaves a readable header, as libjpeg
    // and ImageMagick read it.
    if (tjGetErrorCode(tj) != TJERR_WARNING || width <= 0 || height <= 0) return errc::corrupt;
    out.damaged = true;
  }
  // Our own SOF reading enforced the pixel cap; libjpeg must agree about which frame it is.
  if (static_cast<std::uint32_t>(width) != header.width ||
      static_cast<std::uint32_t>(height) != header.height) {
    return errc::corrupt;
  }

  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const bool grey = colorspace == TJCS_GRAY;
  out.frames.resize(1);
  pixels& frame = out.frames.front();
  shape(frame, header.width, header.height, grey ? 1 : 3);
  const std::size_t pixel_count = std::size_t{header.width} * header.height;

  unsigned char* target = frame.data.data();
  int format = grey ? TJPF_GRAY : TJPF_RGB;
  if (cmyk) {
    cmyk_.resize(pixel_count * 4);
    target = cmyk_.data();
    format = TJPF_CMYK;
  }
  // Flags: none of the speed options (accurate islow IDCT and fancy upsampling are the
  // defaults, and what the reference's pixels come from); only the scan limit, which guards
  // against progressive JPEGs built to burn CPU and never changes a decoded pixel.
  auto decompress = [&](unsigned char* into) {
    return tjDecompress2(tj, data, size, into, width, 0, height, format, TJFLAG_LIMITSCANS);
  };
  if (decompress(target) != 0) {
    if (tjGetErrorCode(tj) != TJERR_WARNING) return errc::corrupt;
    // TurboJPEG reports TJERR_WARNING whenever a warning came first, even when a fatal error
    // then stopped the decode part way, leaving pixels unwritten (which would carry the
    // previous image's pixels from the reused buffer into this hash). Only a damaged file
    // pays for finding out: decode again into buffers filled with 0x00 and 0xFF; a byte
    // libjpeg wrote is equal in both, one it did not write differs and stays black.
    const std::size_t n = pixel_count * static_cast<std::size_t>(tjPixelSize[format]);
    std::memset(target, 0, n);
    probe_.assign(n, 0xFF);
    (void)decompress(target);
    (void)decompress(probe_.data());
    if (std::equal(target, target + n, probe_.data(), [](auto a, auto b) { return a != b; })) {
      return errc::corrupt;  // not one byte decoded
    }
    if (probe_.capacity() > (16U << 20U)) std::vector<std::uint8_t>().swap(probe_);
    out.damaged = true;  // libjpeg filled what it could not read; anything unread is black
  }
  if (cmyk) {
    cmyk_to_rgb(cmyk_.data(), frame.data.data(), pixel_count);
    // CMYK files are rare: keep a small scratch buffer for the next one, not a huge one.
    constexpr std::size_t keep_bytes = 16U << 20U;
    if (cmyk_.capacity() > keep_bytes) std::vector<std::uint8_t>().swap(cmyk_);
  }
  return {};
}

}  // namespace hashguard::scanner::detail
