// BMP, decoded to the pixels OpenCV 4.6's imdecode(IMREAD_UNCHANGED) gave (the scanner's BMP
// decoder until this file replaced it; tests/scanner/test_decode_parity.cpp compares the two
// over generated variants). What that means, variant by variant:
//  - headers: BITMAPCOREHEADER (12 bytes) or an info header of at least 36 bytes; other sizes,
//    compression other than none, RLE8, RLE4 or bitfields, and depths outside 1/4/8/16/24/32
//    are corrupt.
//  - output channels: grey (1) when a palette's 2^bits entries are all grey, and for every
//    BITMAPCOREHEADER file whatever its depth (OpenCV's quirk, kept so hashes do not move);
//    RGB (3) otherwise. Grey from colour is OpenCV's integer luma (0.299, 0.587, 0.114 at 14
//    fraction bits, rounded).
//  - 16 bits: 5-5-5 without bitfields; with bitfields only the 5-5-5 and 5-6-5 masks (read
//    just after the info header, whatever its size), each channel shifted to the top of its
//    byte, no bit replication.
//  - 32 bits: alpha ignored; with bitfields and a header of at least 56 bytes each channel is
//    (value & mask) >> (mask's lowest set bit), kept to its low 8 bits, unless a colour mask
//    is zero, in which case (as with a 40-byte header) the bytes are read as B, G, R, A.
//  - RLE8 and RLE4: a cursor over the rows in file order; runs may not cross the row's end;
//    end of line, end of bitmap and delta fill the pixels they skip with palette entry 0;
//    an RLE8 end of line right after a run that ended its row is ignored; RLE4's end of bitmap
//    and its delta's row count are read as OpenCV read them (an end of line; dy ignored), so
//    data after an early RLE4 end of bitmap is still decoded. Every pixel is written.
// Any read past the end of the data refuses the image (truncated), as OpenCV's stream did.
#include "decode_internal.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace hashguard::scanner::detail {

namespace {

struct bgr {
  std::uint8_t b{}, g{}, r{};
};

// OpenCV's integer luma: weights 0.299, 0.587, 0.114 scaled by 2^14, rounded.
constexpr std::uint32_t weight_r = 4899;
constexpr std::uint32_t weight_g = 9617;
constexpr std::uint32_t weight_b = 16384 - weight_r - weight_g;

std::uint8_t luma(std::uint32_t b, std::uint32_t g, std::uint32_t r) noexcept {
  return static_cast<std::uint8_t>((b * weight_b + g * weight_g + r * weight_r + 8192) >> 14);
}

enum class compression : std::uint32_t { none = 0, rle8 = 1, rle4 = 2, bitfields = 3 };

struct bmp_layout {
  std::int64_t width{};
  std::int64_t height{};  // rows; bottom_up says where row 0 of the file goes
  bool bottom_up{};
  std::uint32_t bits{};  // 15 for 5-5-5 sixteen-bit pixels
  compression scheme{};
  std::uint64_t data_offset{};
  bool colour{};
  std::array<bgr, 256> palette{};                      // unused entries stay black
  std::array<std::uint32_t, 4> masks{};                // R, G, B, A (32-bit bitfields)
  std::array<std::int32_t, 4> shifts{-1, -1, -1, -1};  // -1: mask absent
};

// Bounds-checked little-endian reads of the file.
struct reader {
  bytes_t b;
  [[nodiscard]] bool fits(std::uint64_t at, std::uint64_t n) const noexcept {
    return at <= b.size() && n <= b.size() - at;
  }
  [[nodiscard]] std::uint32_t u16(std::uint64_t at) const noexcept {
    return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8;
  }
  [[nodiscard]] std::uint32_t u32(std::uint64_t at) const noexcept {
    return u16(at) | u16(at + 2) << 16;
  }
};

bool all_grey(const std::array<bgr, 256>& palette, std::uint32_t bits) noexcept {
  const std::size_t entries = std::size_t{1} << bits;
  for (std::size_t i = 0; i < entries; ++i) {
    if (palette[i].b != palette[i].g || palette[i].b != palette[i].r) return false;
  }
  return true;
}

errc read_info_header(const reader& r, std::uint32_t size, bmp_layout& l) {
  if (!r.fits(14, 36)) return errc::truncated;
  l.width = static_cast<std::int32_t>(r.u32(18));
  l.height = static_cast<std::int32_t>(r.u32(22));
  l.bits = r.u16(28);
  const auto scheme = static_cast<std::int32_t>(r.u32(30));
  if (scheme < 0 || scheme > 3) return errc::corrupt;
  l.scheme = static_cast<compression>(scheme);
  const auto colours_used = static_cast<std::int32_t>(r.u32(46));
  if (l.bits == 32 && l.scheme == compression::bitfields && size >= 56) {
    if (!r.fits(54, 16)) return errc::truncated;
    for (std::size_t i = 0; i < 4; ++i) {
      const std::uint32_t mask = r.u32(54 + 4 * i);
      l.masks[i] = mask;
      if (mask != 0) l.shifts[i] = __builtin_ctz(mask);
    }
  }
  const bool plain = l.scheme == compression::none;
  const bool supported =
      ((l.bits == 1 || l.bits == 4 || l.bits == 8 || l.bits == 24 || l.bits == 32) && plain) ||
      ((l.bits == 16 || l.bits == 32) && (plain || l.scheme == compression::bitfields)) ||
      (l.bits == 4 && l.scheme == compression::rle4) ||
      (l.bits == 8 && l.scheme == compression::rle8);
  if (l.width <= 0 || l.height == 0 || !supported) return errc::corrupt;
  const std::uint64_t after_header = 14 + std::uint64_t{size};
  l.colour = true;
  if (l.bits <= 8) {
    if (colours_used < 0 || colours_used > 256) return errc::corrupt;
    const std::uint64_t entries =
        colours_used == 0 ? std::uint64_t{1} << l.bits : static_cast<std::uint64_t>(colours_used);
    if (!r.fits(after_header, entries * 4)) return errc::truncated;
    for (std::uint64_t i = 0; i < entries; ++i) {
      const std::uint64_t at = after_header + 4 * i;
      l.palette[i] = {r.b[at], r.b[at + 1], r.b[at + 2]};
    }
    l.colour = !all_grey(l.palette, l.bits);
  } else if (l.bits == 16 && l.scheme == compression::bitfields) {
    if (!r.fits(after_header, 12)) return errc::truncated;
    const std::uint32_t red = r.u32(after_header);
    const std::uint32_t green = r.u32(after_header + 4);
    const std::uint32_t blue = r.u32(after_header + 8);
    if (blue == 0x1f && green == 0x3e0 && red == 0x7c00) {
      l.bits = 15;
    } else if (!(blue == 0x1f && green == 0x7e0 && red == 0xf800)) {
      return errc::corrupt;
    }
  } else if (l.bits == 16) {
    l.bits = 15;
  }
  return {};
}

errc read_core_header(const reader& r, bmp_layout& l) {
  if (!r.fits(14, 12)) return errc::truncated;
  l.width = r.u16(18);
  l.height = r.u16(20);
  l.bits = r.u16(24);
  l.scheme = compression::none;
  const bool supported = l.bits == 1 || l.bits == 4 || l.bits == 8 || l.bits == 24 || l.bits == 32;
  if (l.width == 0 || l.height == 0 || !supported) return errc::corrupt;
  if (l.bits <= 8) {
    const std::uint64_t entries = std::uint64_t{1} << l.bits;
    if (!r.fits(26, entries * 3)) return errc::truncated;
    for (std::uint64_t i = 0; i < entries; ++i) {
      l.palette[i] = {r.b[26 + 3 * i], r.b[27 + 3 * i], r.b[28 + 3 * i]};
    }
  }
  l.colour = false;  // OpenCV 4.6 reads every core-header BMP as grey
  return {};
}

errc read_layout(const reader& r, bmp_layout& l) {
  if (!r.fits(0, 18)) return errc::truncated;
  const std::uint32_t offset = r.u32(10);
  const std::uint32_t size = r.u32(14);
  if (size == 0 || size > 0x7FFFFFFF || offset > 0x7FFFFFFF) return errc::corrupt;
  l.data_offset = offset;
  errc e{};
  if (size >= 36) {
    e = read_info_header(r, size, l);
  } else if (size == 12) {
    e = read_core_header(r, l);
  } else {
    return errc::corrupt;
  }
  if (e != errc{}) return e;
  l.bottom_up = l.height > 0;
  l.height = l.height < 0 ? -l.height : l.height;
  return {};
}

// Where decoded pixels go: file row y lands on image row y (top-down) or height-1-y.
class canvas {
 public:
  canvas(pixels& frame, const bmp_layout& l)
      : data_(frame.data.data()),
        width_(static_cast<std::size_t>(l.width)),
        height_(static_cast<std::size_t>(l.height)),
        channels_(frame.channels),
        bottom_up_(l.bottom_up) {}

  [[nodiscard]] std::uint8_t* row(std::size_t y) const noexcept {
    const std::size_t image_row = bottom_up_ ? height_ - 1 - y : y;
    return data_ + image_row * width_ * channels_;
  }
  [[nodiscard]] std::size_t channels() const noexcept { return channels_; }

 private:
  std::uint8_t* data_;
  std::size_t width_;
  std::size_t height_;
  std::size_t channels_;
  bool bottom_up_;
};

// A palette entry as the output wants it: RGB, or its luma for grey output.
struct ink {
  std::array<std::uint8_t, 3> rgb{};
  std::uint8_t grey{};
};

std::array<ink, 256> inks_of(const std::array<bgr, 256>& palette) {
  std::array<ink, 256> inks{};
  for (std::size_t i = 0; i < palette.size(); ++i) {
    const bgr& p = palette[i];
    inks[i] = {{p.r, p.g, p.b}, luma(p.b, p.g, p.r)};
  }
  return inks;
}

void put(std::uint8_t* out, std::size_t channels, const ink& c) noexcept {
  if (channels == 1) {
    out[0] = c.grey;
  } else {
    out[0] = c.rgb[0];
    out[1] = c.rgb[1];
    out[2] = c.rgb[2];
  }
}

void put_bgr(std::uint8_t* out, std::size_t channels, std::uint32_t b, std::uint32_t g,
             std::uint32_t r) noexcept {
  if (channels == 1) {
    out[0] = luma(b, g, r);
  } else {
    out[0] = static_cast<std::uint8_t>(r);
    out[1] = static_cast<std::uint8_t>(g);
    out[2] = static_cast<std::uint8_t>(b);
  }
}

// Palette index of pixel x in a row of 1, 4 or 8 bits per pixel (first pixel in the high bits).
std::uint32_t index_at(const std::uint8_t* row, std::size_t x, std::uint32_t bits) noexcept {
  switch (bits) {
    case 1: return (std::uint32_t{row[x / 8]} >> (7 - x % 8)) & 1U;
    case 4: return x % 2 == 0 ? std::uint32_t{row[x / 2]} >> 4 : row[x / 2] & 15U;
    default: return row[x];
  }
}

void decode_row(const std::uint8_t* src, std::uint8_t* out, const bmp_layout& l,
                const std::array<ink, 256>& inks, std::size_t channels) noexcept {
  const auto width = static_cast<std::size_t>(l.width);
  const bool masked = l.shifts[0] >= 0 && l.shifts[1] >= 0 && l.shifts[2] >= 0;
  for (std::size_t x = 0; x < width; ++x, out += channels) {
    switch (l.bits) {
      case 1:
      case 4:
      case 8: put(out, channels, inks[index_at(src, x, l.bits)]); break;
      case 15:
      case 16: {
        const std::uint32_t v = std::uint32_t{src[2 * x]} | std::uint32_t{src[2 * x + 1]} << 8;
        const std::uint32_t b = (v << 3) & 0xf8;
        const std::uint32_t g = l.bits == 15 ? (v >> 2) & 0xf8 : (v >> 3) & 0xfc;
        const std::uint32_t r = l.bits == 15 ? (v >> 7) & 0xf8 : (v >> 8) & 0xf8;
        put_bgr(out, channels, b, g, r);
        break;
      }
      case 24: put_bgr(out, channels, src[3 * x], src[3 * x + 1], src[3 * x + 2]); break;
      default: {  // 32
        const std::uint8_t* p = src + 4 * x;
        if (l.scheme == compression::bitfields && masked) {
          const std::uint32_t v = std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                                  std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
          const auto channel = [&](std::size_t i) {
            return ((l.masks[i] & v) >> l.shifts[i]) & 0xFFU;
          };
          put_bgr(out, channels, channel(2), channel(1), channel(0));
        } else {
          put_bgr(out, channels, p[0], p[1], p[2]);
        }
        break;
      }
    }
  }
}

// The RLE cursor: position (x, file row y) and the reads of the code stream.
class rle_decoder {
 public:
  rle_decoder(const reader& r, const bmp_layout& l, const canvas& c,
              const std::array<ink, 256>& inks)
      : r_(r),
        pos_(l.data_offset),
        width_(static_cast<std::uint64_t>(l.width)),
        height_(static_cast<std::uint64_t>(l.height)),
        canvas_(c),
        inks_(inks) {}

  errc rle8() {
    bool run_ended_row = false;
    for (;;) {
      std::uint32_t count = 0;
      std::uint32_t code = 0;
      if (!pair(count, code)) return errc::truncated;
      if (count != 0) {  // a run of one colour
        if (x_ + count > width_) return errc::corrupt;
        const std::uint64_t row_before = y_;
        fill(count, inks_[code]);
        run_ended_row = y_ != row_before;
        if (y_ >= height_) return {};
      } else if (code > 2) {  // literal indices, padded to a whole word
        if (x_ + code > width_) return errc::corrupt;
        const std::uint64_t padded = (code + 1) & ~1U;
        if (!r_.fits(pos_, padded)) return errc::truncated;
        for (std::uint32_t i = 0; i < code; ++i) put_one(inks_[r_.b[pos_ + i]]);
        pos_ += padded;
        run_ended_row = false;
      } else {  // 0 end of line, 1 end of bitmap, 2 delta
        if (code != 0 || !run_ended_row || x_ != 0) {
          std::uint64_t skip = width_ - x_;
          std::uint64_t rows = height_ - y_;
          if (code == 2) {
            if (!r_.fits(pos_, 2)) return errc::truncated;
            skip = r_.b[pos_];
            rows = r_.b[pos_ + 1];
            pos_ += 2;
          }
          if (code != 0) skip += rows * width_;
          fill(skip, inks_[0]);
          if (y_ >= height_) return {};
        }
        run_ended_row = false;
      }
    }
  }

  errc rle4() {
    for (;;) {
      std::uint32_t count = 0;
      std::uint32_t code = 0;
      if (!pair(count, code)) return errc::truncated;
      if (count != 0) {  // alternating two colours
        if (x_ + count > width_) return errc::corrupt;
        for (std::uint32_t i = 0; i < count; ++i)
          put_one(inks_[i % 2 == 0 ? code >> 4 : code & 15]);
      } else if (code > 2) {  // literal nibbles, padded to a whole word
        if (x_ + code > width_) return errc::corrupt;
        const std::uint64_t padded = (((code + 1) >> 1) + 1) & ~1U;
        if (!r_.fits(pos_, padded)) return errc::truncated;
        for (std::uint32_t i = 0; i < code; ++i) {
          const std::uint32_t byte = r_.b[pos_ + i / 2];
          put_one(inks_[i % 2 == 0 ? byte >> 4 : byte & 15]);
        }
        pos_ += padded;
      } else {  // 0 end of line, 1 end of bitmap (read as end of line), 2 delta (dx only)
        std::uint64_t skip = width_ - x_;
        if (code == 2) {
          if (!r_.fits(pos_, 2)) return errc::truncated;
          skip = r_.b[pos_];
          pos_ += 2;
        }
        fill(skip, inks_[0]);
        if (y_ >= height_) return {};
      }
    }
  }

 private:
  bool pair(std::uint32_t& first, std::uint32_t& second) {
    if (!r_.fits(pos_, 2)) return false;
    first = r_.b[pos_];
    second = r_.b[pos_ + 1];
    pos_ += 2;
    return true;
  }

  void put_one(const ink& c) {
    put(canvas_.row(y_) + x_ * canvas_.channels(), canvas_.channels(), c);
    ++x_;
  }

  // `count` pixels of one colour from the cursor on, continuing on the next rows; reaching a
  // row's end moves to the next row (also when count is 0 and the row is already full).
  void fill(std::uint64_t count, const ink& c) {
    do {
      const std::uint64_t n = std::min(count, width_ - x_);
      for (std::uint64_t i = 0; i < n; ++i) put_one(c);
      count -= n;
      if (x_ >= width_) {
        x_ = 0;
        if (++y_ >= height_) break;
      }
    } while (count > 0);
  }

  const reader& r_;
  std::uint64_t pos_;
  std::uint64_t width_;
  std::uint64_t height_;
  std::uint64_t x_{};
  std::uint64_t y_{};
  const canvas& canvas_;
  const std::array<ink, 256>& inks_;
};

}  // namespace

core::result<void> decode_bmp(bytes_t bytes, const image_header& header, decoded_image& out) {
  const reader r{bytes};
  bmp_layout l;
  if (const errc e = read_layout(r, l); e != errc{}) return e;
  if (static_cast<std::uint64_t>(l.width) != header.width ||
      static_cast<std::uint64_t>(l.height) != header.height) {
    return errc::corrupt;
  }
  const std::uint32_t storage_bits = l.bits == 15 ? 16 : l.bits;
  const std::uint64_t stride = (static_cast<std::uint64_t>(l.width) * storage_bits + 31) / 32 * 4;
  const bool rle = l.scheme == compression::rle4 || l.scheme == compression::rle8;
  if (!rle && !r.fits(l.data_offset, stride * static_cast<std::uint64_t>(l.height))) {
    return errc::truncated;
  }
  out.frames.resize(1);
  pixels& frame = out.frames.front();
  shape(frame, header.width, header.height, l.colour ? 3 : 1);
  const canvas c(frame, l);
  const std::array<ink, 256> inks = inks_of(l.palette);
  if (rle) {
    rle_decoder d(r, l, c, inks);
    const errc e = l.scheme == compression::rle8 ? d.rle8() : d.rle4();
    if (e != errc{}) return e;
    return {};
  }
  for (std::uint64_t y = 0; y < static_cast<std::uint64_t>(l.height); ++y) {
    decode_row(bytes.data() + l.data_offset + y * stride, c.row(y), l, inks, c.channels());
  }
  return {};
}

}  // namespace hashguard::scanner::detail
