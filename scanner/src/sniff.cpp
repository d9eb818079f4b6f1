#include "hashguard/scanner/sniff.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace hashguard::scanner {

namespace {

using bytes_t = std::span<const std::uint8_t>;

// Bounds-checked little/big-endian reads: every header field goes through these, so a
// header that claims data past the end reads as "absent" instead of out of bounds.
struct reader {
  bytes_t b;

  [[nodiscard]] bool has(std::size_t pos, std::size_t n) const noexcept {
    return pos <= b.size() && n <= b.size() - pos;
  }
  [[nodiscard]] std::uint32_t u16le(std::size_t p) const noexcept {
    return static_cast<std::uint32_t>(b[p]) | static_cast<std::uint32_t>(b[p + 1]) << 8;
  }
  [[nodiscard]] std::uint32_t u16be(std::size_t p) const noexcept {
    return static_cast<std::uint32_t>(b[p]) << 8 | static_cast<std::uint32_t>(b[p + 1]);
  }
  [[nodiscard]] std::uint32_t u24le(std::size_t p) const noexcept {
    return u16le(p) | static_cast<std::uint32_t>(b[p + 2]) << 16;
  }
  [[nodiscard]] std::uint32_t u32le(std::size_t p) const noexcept {
    return u16le(p) | u16le(p + 2) << 16;
  }
  [[nodiscard]] std::uint32_t u32be(std::size_t p) const noexcept {
    return u16be(p) << 16 | u16be(p + 2);
  }
};

struct magic {
  image_format format;
  std::string_view text;  // '?' matches any byte
};

constexpr std::array<magic, 10> magics{{
    {image_format::jpeg, "\xFF\xD8\xFF"},
    {image_format::png, "\x89PNG\r\n\x1A\n"},
    {image_format::gif, "GIF87a"},
    {image_format::gif, "GIF89a"},
    {image_format::webp, "RIFF????WEBP"},
    {image_format::bmp, "BM"},
    {image_format::tiff, std::string_view("II*\0", 4)},
    {image_format::tiff, std::string_view("MM\0*", 4)},
    // BigTIFF: named tiff here; read_header reports it as unsupported.
    {image_format::tiff, std::string_view("II+\0", 4)},
    {image_format::tiff, std::string_view("MM\0+", 4)},
}};

// Compares the first min(size, magic) bytes.
bool matches_prefix(bytes_t bytes, std::string_view m) noexcept {
  const std::size_t n = std::min(bytes.size(), m.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (m[i] != '?' && static_cast<std::uint8_t>(m[i]) != bytes[i]) return false;
  }
  return true;
}

constexpr bool is_sof(std::uint8_t marker) noexcept {
  // SOF0-3, 5-7, 9-11, 13-15; C4 (DHT), C8 (JPG) and CC (DAC) are not frame headers.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

core::result<image_header> jpeg_header(const reader& r) noexcept {
  std::size_t pos = 2;  // after SOI
  for (;;) {
    // libjpeg skips stray bytes before a marker (with a warning); so do we, to agree with it
    // on which SOF counts.
    while (r.has(pos, 1) && r.b[pos] != 0xFF) ++pos;
    while (r.has(pos, 1) && r.b[pos] == 0xFF) ++pos;
    if (!r.has(pos, 1)) return errc::truncated;
    const std::uint8_t marker = r.b[pos++];
    if (marker == 0x00) continue;                                        // stuffed byte
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // RSTn, TEM
    if (marker == 0xD8 || marker == 0xD9 || marker == 0xDA) return errc::corrupt;
    if (!r.has(pos, 2)) return errc::truncated;
    const std::uint32_t length = r.u16be(pos);
    if (length < 2) return errc::corrupt;
    if (is_sof(marker)) {
      if (length < 8) return errc::corrupt;
      if (!r.has(pos, 8)) return errc::truncated;
      image_header h;
      h.format = image_format::jpeg;
      h.height = r.u16be(pos + 3);
      h.width = r.u16be(pos + 5);
      const std::uint32_t components = r.b[pos + 7];  // TurboJPEG: grey, RGB or CMYK out
      // CMYK is decoded into a scratch buffer (4) and converted into the RGB frame (3): both
      // are held at once.
      h.bytes_per_pixel = components == 1 ? 1 : components == 4 ? 7 : 3;
      // Height 0 announces a DNL marker, which libjpeg-turbo does not support.
      if (h.width == 0 || h.height == 0) return errc::corrupt;
      return h;
    }
    pos += length;
  }
}

core::result<image_header> png_header(const reader& r) noexcept {
  if (!r.has(8, 16)) return errc::truncated;
  if (r.u32be(8) != 13 || !matches_prefix(r.b.subspan(12), "IHDR")) return errc::corrupt;
  image_header h;
  h.format = image_format::png;
  h.width = r.u32be(16);
  h.height = r.u32be(20);
  constexpr std::uint32_t png_max = 0x7FFFFFFF;
  if (h.width == 0 || h.height == 0 || h.width > png_max || h.height > png_max) {
    return errc::corrupt;
  }
  if (r.has(24, 2)) {  // bit depth, colour type; the decoder strips alpha and expands palettes
    const std::uint32_t depth = r.b[24];
    const std::uint32_t colour = r.b[25];
    h.bytes_per_pixel = ((colour & 2U) != 0 || colour == 3 ? 3U : 1U) * (depth == 16 ? 2U : 1U);
  }
  return h;
}

// Skips a chain of GIF data sub-blocks; false when the data ends first.
bool skip_sub_blocks(const reader& r, std::size_t& pos) noexcept {
  while (r.has(pos, 1)) {
    const std::size_t len = r.b[pos++];
    if (len == 0) return true;
    if (!r.has(pos, len)) return false;
    pos += len;
  }
  return false;
}

core::result<image_header> gif_header(const reader& r) noexcept {
  if (!r.has(0, 13)) return errc::truncated;
  image_header h;
  h.format = image_format::gif;
  h.width = r.u16le(6);
  h.height = r.u16le(8);
  h.frames = 0;
  if (h.width == 0 || h.height == 0) return errc::corrupt;
  h.bytes_per_pixel = 3;  // every frame is an RGB canvas
  const std::uint8_t screen_flags = r.b[10];
  std::size_t pos = 13;
  if ((screen_flags & 0x80) != 0) pos += std::size_t{3} << (1 + (screen_flags & 7));
  // Walk every block (skipping the LZW data) to see each frame's rectangle. A file that ends
  // early still counts the frames it declared: the decoder keeps what it can read.
  for (;;) {
    if (!r.has(pos, 1)) break;
    const std::uint8_t introducer = r.b[pos++];
    if (introducer == 0x3B) break;  // trailer
    if (introducer == 0x21) {       // extension: label, then sub-blocks
      if (!r.has(pos, 1)) break;
      ++pos;
      if (!skip_sub_blocks(r, pos)) break;
    } else if (introducer == 0x2C) {  // image descriptor
      if (!r.has(pos, 9)) break;
      const std::uint32_t fw = r.u16le(pos + 4);
      const std::uint32_t fh = r.u16le(pos + 6);
      const std::uint8_t flags = r.b[pos + 8];
      if (fw == 0 || fh == 0) return errc::corrupt;
      ++h.frames;
      h.largest_frame_pixels = std::max(h.largest_frame_pixels, std::uint64_t{fw} * fh);
      pos += 9;
      if ((flags & 0x80) != 0) pos += std::size_t{3} << (1 + (flags & 7));
      if (!r.has(pos, 1)) break;
      ++pos;  // LZW minimum code size
      if (!skip_sub_blocks(r, pos)) break;
    } else {
      // giflib stops at an unknown record too; frames before it still decode.
      if (h.frames == 0) return errc::corrupt;
      break;
    }
  }
  if (h.frames == 0) return errc::truncated;
  h.largest_frame_pixels = std::max(h.largest_frame_pixels, h.pixel_count());
  return h;
}

core::result<image_header> webp_header(const reader& r) noexcept {
  if (!r.has(12, 8)) return errc::truncated;
  image_header h;
  h.format = image_format::webp;
  const bytes_t fourcc = r.b.subspan(12, 4);
  constexpr std::size_t payload = 20;
  if (matches_prefix(fourcc, "VP8 ")) {
    if (!r.has(payload, 10)) return errc::truncated;
    // Frame tag bit 0 is 0 for a key frame; a still WebP is one key frame.
    if ((r.b[payload] & 1) != 0) return errc::corrupt;
    if (r.b[payload + 3] != 0x9D || r.b[payload + 4] != 0x01 || r.b[payload + 5] != 0x2A) {
      return errc::corrupt;
    }
    h.width = r.u16le(payload + 6) & 0x3FFF;
    h.height = r.u16le(payload + 8) & 0x3FFF;
  } else if (matches_prefix(fourcc, "VP8L")) {
    if (!r.has(payload, 5)) return errc::truncated;
    if (r.b[payload] != 0x2F) return errc::corrupt;
    const std::uint32_t bits = r.u32le(payload + 1);
    h.width = (bits & 0x3FFF) + 1;
    h.height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (matches_prefix(fourcc, "VP8X")) {
    if (!r.has(payload, 10)) return errc::truncated;
    h.animated = (r.b[payload] & 0x02) != 0;
    h.width = r.u24le(payload + 4) + 1;
    h.height = r.u24le(payload + 7) + 1;
  } else {
    return errc::corrupt;
  }
  if (h.width == 0 || h.height == 0) return errc::corrupt;
  // libwebp decodes to RGB, or RGBA where the stream may carry alpha (lossless and extended).
  h.bytes_per_pixel = matches_prefix(fourcc, "VP8 ") ? 3 : 4;
  return h;
}

core::result<image_header> bmp_header(const reader& r) noexcept {
  if (!r.has(14, 4)) return errc::truncated;
  const std::uint32_t info_size = r.u32le(14);
  image_header h;
  h.format = image_format::bmp;
  if (info_size == 12) {  // BITMAPCOREHEADER: unsigned 16-bit sizes
    if (!r.has(18, 4)) return errc::truncated;
    h.width = r.u16le(18);
    h.height = r.u16le(20);
    if (r.has(24, 2) && r.u16le(24) == 32) h.bytes_per_pixel = 4;
  } else if (info_size >= 16) {  // OS/2 2.x and BITMAPINFOHEADER and later: signed 32-bit
    if (!r.has(18, 8)) return errc::truncated;
    const auto width = static_cast<std::int32_t>(r.u32le(18));
    const auto height = static_cast<std::int32_t>(r.u32le(22));
    if (width <= 0 || height == 0 || height == INT32_MIN) return errc::corrupt;
    h.width = static_cast<std::uint32_t>(width);
    // Negative height: rows stored top-down; the size is the absolute value.
    h.height = static_cast<std::uint32_t>(height < 0 ? -height : height);
    // Budgeted as RGB for every depth (palettes expanded), 4 bytes for 32 bits.
    if (r.has(28, 2) && r.u16le(28) == 32) h.bytes_per_pixel = 4;
  } else {
    return errc::corrupt;
  }
  if (h.width == 0 || h.height == 0) return errc::corrupt;
  return h;
}

core::result<image_header> tiff_header(const reader& r) noexcept {
  if (!r.has(0, 8)) return errc::truncated;
  const bool little = r.b[0] == 'I';
  auto u16 = [&](std::size_t p) { return little ? r.u16le(p) : r.u16be(p); };
  auto u32 = [&](std::size_t p) { return little ? r.u32le(p) : r.u32be(p); };
  if (u16(2) == 43) return errc::unsupported_format;  // BigTIFF
  if (u16(2) != 42) return errc::corrupt;
  const std::size_t ifd = u32(4);
  if (!r.has(ifd, 2)) return errc::truncated;
  const std::size_t entries = u16(ifd);
  // The largest of a SHORT or LONG field's values (one per sample for BitsPerSample and
  // SampleFormat), or nothing for another type or values outside the data.
  auto largest = [&](std::size_t e) -> std::optional<std::uint32_t> {
    const std::uint32_t type = u16(e + 2);
    const std::size_t count = u32(e + 4);
    const std::size_t width = type == 3 ? 2 : 4;
    if ((type != 3 && type != 4) || count == 0) return std::nullopt;
    const std::size_t at = count * width <= 4 ? e + 8 : u32(e + 8);
    if (!r.has(at, width * count)) return std::nullopt;
    std::uint32_t most = 0;
    for (std::size_t i = 0; i < count; ++i) {
      most = std::max(most, width == 2 ? u16(at + 2 * i) : u32(at + 4 * i));
    }
    return most;
  };
  std::optional<std::uint32_t> width;
  std::optional<std::uint32_t> height;
  std::uint32_t bits = 1;  // the TIFF defaults
  std::uint32_t samples = 1;
  std::uint32_t sample_format = 1;
  std::uint32_t photometric = 1;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    if (!r.has(e, 12)) return errc::truncated;
    const std::uint32_t tag = u16(e);
    // BitsPerSample, SampleFormat, SamplesPerPixel, PhotometricInterpretation.
    if (tag == 258 || tag == 339 || tag == 277 || tag == 262) {
      const auto v = largest(e);
      if (!v) return errc::corrupt;
      (tag == 258 ? bits : tag == 339 ? sample_format : tag == 277 ? samples : photometric) = *v;
      continue;
    }
    if (tag != 256 && tag != 257) continue;
    const std::uint32_t type = u16(e + 2);
    if (u32(e + 4) != 1) return errc::corrupt;
    std::uint32_t value = 0;
    if (type == 3) {  // SHORT, left-justified in the value field
      value = u16(e + 8);
    } else if (type == 4) {  // LONG
      value = u32(e + 8);
    } else {
      return errc::corrupt;
    }
    (tag == 256 ? width : height) = value;
  }
  if (!width || !height || *width == 0 || *height == 0) return errc::corrupt;
  image_header h;
  h.format = image_format::tiff;
  h.width = *width;
  h.height = *height;
  // SampleFormat 1 is unsigned integer (4, "undefined", is read as unsigned too); 2 is signed
  // and 3 floating point, which the decoder cannot reduce to 8 bits.
  h.bits_per_sample = bits;
  h.samples_per_pixel = samples;
  h.unsupported_samples = bits > 16 || sample_format == 2 || sample_format == 3;
  // WhiteIsZero, BlackIsZero and RGB at 8 or 16 bits are read as stored; the rest through
  // libtiff's RGBA reader.
  const bool as_stored = photometric <= 2 && (bits == 8 || bits == 16);
  const std::uint64_t stored = std::uint64_t{std::max<std::uint32_t>(samples, 1)} * (bits / 8);
  h.bytes_per_pixel = as_stored ? static_cast<std::uint32_t>(std::min<std::uint64_t>(
                                      stored, std::numeric_limits<std::uint32_t>::max()))
                                : 4;
  return h;
}

}  // namespace

core::result<image_format> sniff(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.empty()) return errc::empty;
  bool prefix_of_magic = false;
  for (const magic& m : magics) {
    if (!matches_prefix(bytes, m.text)) continue;
    if (bytes.size() >= m.text.size()) return m.format;
    prefix_of_magic = true;
  }
  return prefix_of_magic ? errc::truncated : errc::unsupported_format;
}

core::result<image_header> read_header(std::span<const std::uint8_t> bytes) noexcept {
  const auto format = sniff(bytes);
  if (!format) return format.error();
  const reader r{bytes};
  core::result<image_header> h = errc::unsupported_format;
  switch (*format) {
    case image_format::jpeg: h = jpeg_header(r); break;
    case image_format::png: h = png_header(r); break;
    case image_format::gif: h = gif_header(r); break;
    case image_format::webp: h = webp_header(r); break;
    case image_format::bmp: h = bmp_header(r); break;
    case image_format::tiff: h = tiff_header(r); break;
  }
  if (h && h->format != image_format::gif) h->largest_frame_pixels = h->pixel_count();
  return h;
}

}  // namespace hashguard::scanner
