// Decoding: image bytes -> scanner::pixels (8-bit grey or RGB, see image.hpp).
//
// Order of work: byte cap -> sniff the magic bytes -> read the size and sample layout from the
// format's header (sniff.hpp) -> samples the decoders cannot reduce to 8 bits (TIFF float,
// signed, over 16 bits: unsupported_format) -> pixel cap -> decode byte budget (pixels x the
// library's bytes per pixel) -> only then allocate and decode. An image over a cap is refused
// before any pixel memory exists.
//
// Per format (the choices that make the pixels equal the PDQ reference's, checked against the
// vectors' decoded_rgb_md5):
//   JPEG  libjpeg-turbo's TurboJPEG API with default settings (accurate integer IDCT, fancy
//         upsampling). Grey JPEGs -> 1 channel. CMYK/YCCK JPEGs are decoded to CMYK (TurboJPEG
//         does not convert CMYK to RGB) and converted as djpeg and ImageMagick do for Adobe
//         (inverted) CMYK: R = C*K/255, G = M*K/255, B = Y*K/255, rounded. Progressive JPEGs
//         with more than 500 scans are refused (TJFLAG_LIMITSCANS). Recoverable damage
//         (truncated entropy data, corrupt segments) decodes as libjpeg decodes it, with the
//         unreadable part filled, and sets `damaged`: a cut-off file is still hashed.
//   PNG   libpng (the low-level API: png_image changes stored values, see decode_png.cpp).
//         Grey (any depth) -> 1 channel; colour and palette -> 3. Alpha (an alpha channel or
//         tRNS) is dropped: the RGB stored under transparent pixels is kept, never blended
//         with a background. gAMA, cHRM, iCCP and sRGB chunks do not change the samples.
//         16-bit samples become floor(v / 257), as ImageMagick 6 reduces them. Data that ends
//         or breaks after some rows keeps those rows (the rest black) and sets `damaged`.
//   GIF   giflib, frame by frame. Every frame is composited on the logical screen as the GIF
//         disposal methods say (none/leave, restore to background, restore to previous) and
//         output as a full RGB canvas. The canvas starts as the background colour (the global
//         colour table's background entry, black without one); transparent pixels leave the
//         canvas as it was. The animation stops after max_frames frames, or before the frames'
//         total pixels (or the frames' own areas, which are decoded also off the canvas) would
//         exceed max_total_pixels, or before the frames' buffers together
//         (3 bytes per pixel, plus a saved canvas for "restore to previous") would exceed
//         max_decode_bytes.
//   WebP, BMP, TIFF  the pixels OpenCV 4.6's imdecode(IMREAD_UNCHANGED) gave, which the
//         scanner used for them until its own decoders replaced it (a parity test compares
//         them over generated variants). WebP: libwebp, alpha dropped (never premultiplied);
//         animated WebP is unsupported_format. BMP: decode_bmp.cpp's reader (1/4/8-bit
//         palettes, RLE4/RLE8, 16-bit 5-5-5/5-6-5, 24, 32 with or without bitfields, bottom-up
//         and top-down); a palette whose entries are all grey, and every OS/2 core-header BMP,
//         gives grey. TIFF: libtiff over the bytes in memory, first directory: 1- and 8-bit
//         samples and other colour spaces through libtiff's RGBA reader (grey photometrics to
//         grey by OpenCV's integer luma), 10-16-bit grey and RGB(A) read as stored, then
//         floor(v / 257); 2- and 4-bit samples are refused as OpenCV refused them. TIFF
//         strips and tiles are checked before libtiff sees the file
//         (decode_tiff_precheck.cpp): no more than the image's size needs, each inside the
//         data, none overlapping another, and every deflate strip a whole stream that
//         inflates to no more than its strip holds; a strip that fails to decode refuses the
//         image; otherwise corrupt. TIFF's Orientation tag is applied as OpenCV applied it
//         (a transposing orientation of a non-square image is corrupt).
// CPU budget (budget.hpp): decode(bytes, out, budget) checks it before and after each library
// call and inside our own loops (GIF frames and rows, PNG rows, TIFF strip prechecks and their
// inflating, each TIFF strip or tile); a spent budget ends the decode with its errc
// (scan_budget_exceeded or scan_cancelled) and no frames. EXIF orientation is never applied (the
// reference does not; dihedral hashes cover rotation); only TIFF's own Orientation tag is, as
// above.
//
// Errors (errc): empty, truncated, unsupported_format, too_large, too_many_pixels, corrupt,
// out_of_memory, and with a budget scan_budget_exceeded and scan_cancelled. No exception or longjmp
// leaves the decoder; library errors become codes.
//
// Thread-safety: a decoder is not thread-safe (it keeps library handles and scratch buffers
// for reuse); use one per thread. The free function decode() makes a temporary one. A
// moved-from decoder may only be assigned to or destroyed.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/scanner/budget.hpp"
#include "hashguard/scanner/errc.hpp"
#include "hashguard/scanner/image.hpp"
#include "hashguard/scanner/sniff.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace hashguard::scanner {

struct decode_limits {
  /// Inputs longer than this are refused (errc::too_large) without being read.
  std::size_t max_bytes{64U << 20U};
  /// Largest width * height of the image, and of any one GIF frame (errc::too_many_pixels).
  std::uint64_t max_pixels{100'000'000};
  /// Largest pixel buffer a decode may allocate, in bytes: the largest frame's pixels x the
  /// bytes per pixel of the samples the decoding library produces (image_header::
  /// bytes_per_pixel, e.g. 8 for 16-bit RGBA). Over it: errc::too_many_pixels, before any
  /// allocation. The default admits every image under the default pixel cap at 8-bit RGBA
  /// (100,000,000 x 4); a 16-bit RGBA TIFF of 100 MP (800 MB) is refused. An animated GIF
  /// keeps every output frame: the animation ends before its frames together pass it.
  std::uint64_t max_decode_bytes{400'000'000};
  /// GIF: frames decoded at most; later frames are left out (frames_in_file says so).
  std::uint32_t max_frames{32};
  /// GIF: the output frames together hold at most this many pixels, and the frames' own areas
  /// (decoded whether or not they lie on the canvas) add up to at most this many (the first
  /// frame always counts; it is bounded by max_pixels).
  std::uint64_t max_total_pixels{100'000'000};
};

struct decoded_image {
  image_format format{};
  std::uint32_t width{};  ///< every frame has this size
  std::uint32_t height{};
  /// One entry for still images; one per decoded frame, in order, for animated GIFs.
  std::vector<pixels> frames;
  /// Frames the file declares (GIF); frames.size() is smaller when a cap cut the animation.
  std::uint32_t frames_in_file{1};
  /// The decoder recovered from damaged or truncated data (JPEG warnings, a GIF that ends
  /// inside a frame); pixels it could not read are filled as the library fills them.
  bool damaged{};
};

class decoder {
 public:
  explicit decoder(decode_limits limits = {});
  ~decoder();
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;
  decoder(decoder&&) noexcept;
  decoder& operator=(decoder&&) noexcept;

  [[nodiscard]] const decode_limits& limits() const noexcept;

  /// Decodes into `out`, reusing its frame buffers (no allocation when the size repeats).
  /// On error `out` holds no frames.
  [[nodiscard]] core::result<void> decode(std::span<const std::uint8_t> bytes,
                                          decoded_image& out) noexcept;
  /// As above, spending `budget` (checked as the header comment says).
  [[nodiscard]] core::result<void> decode(std::span<const std::uint8_t> bytes, decoded_image& out,
                                          scan_budget& budget) noexcept;
  [[nodiscard]] core::result<decoded_image> decode(std::span<const std::uint8_t> bytes) noexcept;

  /// The byte cap, the header and the pixel cap, without decoding: what decode() checks first.
  [[nodiscard]] core::result<image_header> check(
      std::span<const std::uint8_t> bytes) const noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// One-shot decode with a temporary decoder.
[[nodiscard]] core::result<decoded_image> decode(std::span<const std::uint8_t> bytes,
                                                 const decode_limits& limits = {}) noexcept;

}  // namespace hashguard::scanner
