// TIFF through libtiff, reading the first directory the way OpenCV 4.6's imdecode(
// IMREAD_UNCHANGED) did (the scanner's TIFF decoder until this file replaced it; tests/scanner/
// test_decode_parity.cpp compares the two over generated variants):
//  - 1- and 8-bit samples, and wider samples of any photometric other than grey and RGB
//    (palette, CMYK, YCbCr, ...) or of a sample count other than 1, 3 or 4, go through
//    libtiff's RGBA reader strip by strip or tile by tile (which converts colour spaces and
//    premultiplies unassociated alpha), then to RGB, or for grey photometrics to OpenCV's
//    integer luma; 2- and 4-bit samples are refused, as OpenCV refused them.
//  - 10-, 12-, 14- and 16-bit grey or RGB(A) samples are read as stored (WhiteIsZero is not
//    inverted), 10/12/14 bits scaled to 16 by a shift, a grey photometric with 3 or 4 samples
//    reduced by the luma, then to 8 bits as floor(v / 257).
//  - Orientation: the RGBA reader's own handling plus OpenCV's partial fix for 8-bit output;
//    the full flips and transposes for 16-bit samples. A transposing orientation of a
//    non-square image is refused (OpenCV returned a transposed image, which the scanner
//    refused as not the header's size).
// Stricter than OpenCV, on purpose: a strip or tile that libtiff fails to decode refuses the
// image (OpenCV's RGBA reader went on with whatever the buffer held), every buffer starts
// zeroed, a wide-sample strip or tile that decodes to fewer bytes than its rows need and
// separate planes of wide samples are refused (OpenCV filled the rest from memory it never
// wrote), and a tile buffer larger than the image may not exceed the decode byte budget. libtiff's
// messages go to per-handle handlers that drop them: nothing is printed and no process-wide libtiff
// state is touched.
#include "decode_internal.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace hashguard::scanner::detail {

namespace {

// The bytes libtiff reads, through its client I/O callbacks.
struct memory_source {
  bytes_t bytes;
  std::uint64_t pos{};
};

tmsize_t read_proc(thandle_t handle, void* buffer, tmsize_t n) {
  auto* s = static_cast<memory_source*>(handle);
  if (n <= 0) return 0;
  const std::uint64_t left = s->bytes.size() - s->pos;
  const std::uint64_t take = std::min<std::uint64_t>(static_cast<std::uint64_t>(n), left);
  if (take != 0) std::memcpy(buffer, s->bytes.data() + s->pos, take);
  s->pos += take;
  return static_cast<tmsize_t>(take);
}
tmsize_t write_proc(thandle_t /*handle*/, void* /*buffer*/, tmsize_t /*n*/) {
  return 0;  // opened for reading only
}
toff_t seek_proc(thandle_t handle, toff_t offset, int whence) {
  auto* s = static_cast<memory_source*>(handle);
  const std::uint64_t size = s->bytes.size();
  std::uint64_t to = s->pos;
  switch (whence) {
    case SEEK_SET: to = offset; break;
    case SEEK_CUR: to = s->pos + offset; break;
    case SEEK_END: to = size + offset; break;
    default: break;
  }
  s->pos = std::min(to, size);
  return s->pos;
}
int close_proc(thandle_t /*handle*/) {
  return 0;
}
toff_t size_proc(thandle_t handle) {
  return static_cast<memory_source*>(handle)->bytes.size();
}
int map_proc(thandle_t /*handle*/, void** /*base*/, toff_t* /*size*/) {
  return 0;  // not mapped: libtiff reads through read_proc, as it did under OpenCV
}
void unmap_proc(thandle_t /*handle*/, void* /*base*/, toff_t /*size*/) {}

// libtiff's errors and warnings: dropped (1 = handled, do not pass on to global handlers).
// Failures reach the caller through return values.
int drop_message(TIFF* /*tif*/, void* /*user*/, const char* /*module*/, const char* /*fmt*/,
                 va_list /*ap*/) {
  return 1;
}

struct options_deleter {
  void operator()(TIFFOpenOptions* o) const noexcept { TIFFOpenOptionsFree(o); }
};
struct tiff_deleter {
  void operator()(TIFF* t) const noexcept { TIFFClose(t); }
};

// OpenCV's integer luma (0.299, 0.587, 0.114 at 14 fraction bits, rounded), of R, G, B.
constexpr std::uint32_t weight_r = 4899;
constexpr std::uint32_t weight_g = 9617;
constexpr std::uint32_t weight_b = 16384 - weight_r - weight_g;
std::uint32_t luma(std::uint32_t r, std::uint32_t g, std::uint32_t b) noexcept {
  return (r * weight_r + g * weight_g + b * weight_b + 8192) >> 14;
}

std::uint8_t to_8bit(std::uint32_t v) noexcept {
  return static_cast<std::uint8_t>(v / 257U);  // as ImageMagick 6 and the PNG decoder
}

// The image as OpenCV's header reading classified it.
struct tiff_layout {
  std::uint32_t width{};
  std::uint32_t height{};
  std::uint16_t photometric{};
  std::uint16_t bits{};      // BitsPerSample as stored (1 when absent)
  std::uint16_t samples{};   // SamplesPerPixel
  bool wide{};               // 10-16-bit samples read as stored; otherwise the RGBA reader
  std::uint32_t channels{};  // OpenCV's channel count: 1 grey, 3 or 4 colour (2 refused)
  std::uint16_t orientation{ORIENTATION_TOPLEFT};
  bool tiled{};
  std::uint32_t chunk_width{};   // tile width, or the image width for strips
  std::uint32_t chunk_height{};  // tile length or rows per strip
};

bool is_grey(std::uint16_t photometric) noexcept {
  return photometric == PHOTOMETRIC_MINISWHITE || photometric == PHOTOMETRIC_MINISBLACK;
}

errc read_layout(TIFF* tif, tiff_layout& l) {
  if (TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width) == 0 ||
      TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height) == 0 ||
      TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric) == 0) {
    return errc::corrupt;
  }
  const bool grey = is_grey(l.photometric);
  l.samples = grey ? 1 : 3;
  if (TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &l.bits) == 0) l.bits = 1;  // bi-level default
  TIFFGetField(tif, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
  if (l.samples == 3 && l.photometric == PHOTOMETRIC_LOGLUV) return errc::unsupported_format;
  std::uint16_t class_bits = l.bits;
  if (class_bits > 8 &&
      (l.photometric > PHOTOMETRIC_RGB || (l.samples != 1 && l.samples != 3 && l.samples != 4))) {
    class_bits = 8;
  }
  std::uint16_t sample_format = SAMPLEFORMAT_UINT;
  TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &sample_format);
  if (l.samples < 1 || l.samples > 4) return errc::corrupt;
  const bool integer = sample_format == SAMPLEFORMAT_UINT || sample_format == SAMPLEFORMAT_INT;
  switch (class_bits) {
    case 1:
    case 8:
      if (!integer) return errc::corrupt;
      l.wide = false;
      l.channels = class_bits == 8 && l.photometric == PHOTOMETRIC_PALETTE ? 3
                   : grey                                                  ? 1
                                                                           : l.samples;
      break;
    case 10:
    case 12:
    case 14:
    case 16:
      if (!integer) return errc::corrupt;
      l.wide = true;
      l.channels = grey ? 1 : l.samples;
      break;
    case 32:
    case 64: return errc::unsupported_format;  // float or 32-bit integer samples
    default: return errc::corrupt;             // 2, 4 and other odd depths
  }
  if (sample_format == SAMPLEFORMAT_INT) return errc::unsupported_format;  // signed
  if (l.channels == 2) return errc::corrupt;  // OpenCV read only grey, BGR and BGRA
  TIFFGetField(tif, TIFFTAG_ORIENTATION, &l.orientation);

  l.tiled = TIFFIsTiled(tif) != 0;
  l.chunk_width = l.width;
  l.chunk_height = 0;
  if (l.tiled) {
    if (TIFFGetField(tif, TIFFTAG_TILEWIDTH, &l.chunk_width) == 0 ||
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &l.chunk_height) == 0) {
      return errc::corrupt;
    }
  } else {
    TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &l.chunk_height);
  }
  if (l.chunk_width == 0) l.chunk_width = l.width;
  if (l.chunk_height == 0 || (!l.tiled && l.chunk_height == UINT32_MAX)) {
    l.chunk_height = l.height;
  }
  // OpenCV's limits on one strip or tile.
  constexpr std::uint32_t chunk_side_max = 1U << 24;
  if (l.chunk_width > chunk_side_max || l.chunk_height > chunk_side_max) return errc::corrupt;
  const std::uint64_t chunk_bytes = std::uint64_t{l.chunk_width} * l.chunk_height * l.samples *
                                    std::max<std::uint64_t>(1, l.bits / 8U);
  if (chunk_bytes >= std::uint64_t{1} << 30) return errc::corrupt;
  return {};
}

// Output rows are written through this: 1 (grey) or 3 (RGB) channels.
struct canvas {
  pixels& frame;
  [[nodiscard]] std::uint8_t* at(std::uint32_t row, std::uint32_t col) const noexcept {
    return frame.data.data() + (std::size_t{row} * frame.width + col) * frame.channels;
  }
};

errc read_rgba(TIFF* tif, const tiff_layout& l, std::uint64_t budget, scan_budget& cpu,
               const canvas& out) {
  char message[1024] = {};
  if (TIFFRGBAImageOK(tif, message) == 0) return errc::corrupt;
  // Strips: libtiff writes at most the image's rows of one strip; tiles: a whole tile.
  const std::uint64_t rows = l.tiled ? l.chunk_height : std::min(l.chunk_height, l.height);
  const std::uint64_t words = rows * l.chunk_width;
  if (words * 4 > budget && words > std::uint64_t{l.width} * l.height) {
    return errc::too_many_pixels;  // a tile far larger than the image and the budget
  }
  std::vector<std::uint32_t> raster(words);
  const bool flip_rows =
      l.orientation == ORIENTATION_BOTRIGHT || l.orientation == ORIENTATION_RIGHTBOT ||
      l.orientation == ORIENTATION_BOTLEFT || l.orientation == ORIENTATION_LEFTBOT;
  for (std::uint32_t y = 0; y < l.height; y += l.chunk_height) {
    const std::uint32_t chunk_rows = std::min(l.chunk_height, l.height - y);
    const std::uint32_t image_y = flip_rows ? l.height - y - chunk_rows : y;
    for (std::uint32_t x = 0; x < l.width; x += l.chunk_width) {
      const std::uint32_t chunk_cols = std::min(l.chunk_width, l.width - x);
      // One strip or tile per check: libtiff's decode of one cannot be interrupted.
      if (const errc spent = cpu.check(); spent != errc{}) return spent;
      const std::uint32_t* first = raster.data();
      if (l.tiled) {
        if (TIFFReadRGBATileExt(tif, x, y, raster.data(), 1) == 0) return errc::corrupt;
        // A tile cut by the image's bottom edge is filled from the bottom of the buffer.
        first += std::size_t{l.chunk_height - chunk_rows} * l.chunk_width;
      } else {
        if (TIFFReadRGBAStripExt(tif, y, raster.data(), 1) == 0) return errc::corrupt;
      }
      // The raster's rows run bottom-up; its pixels are R, G, B, A from the low byte.
      for (std::uint32_t i = 0; i < chunk_rows; ++i) {
        const std::uint32_t* src = first + std::size_t{i} * l.chunk_width;
        std::uint8_t* dst = out.at(image_y + chunk_rows - i - 1, x);
        for (std::uint32_t c = 0; c < chunk_cols; ++c) {
          const std::uint32_t r = TIFFGetR(src[c]);
          const std::uint32_t g = TIFFGetG(src[c]);
          const std::uint32_t b = TIFFGetB(src[c]);
          if (out.frame.channels == 1) {
            *dst++ = static_cast<std::uint8_t>(luma(r, g, b));
          } else {
            *dst++ = static_cast<std::uint8_t>(r);
            *dst++ = static_cast<std::uint8_t>(g);
            *dst++ = static_cast<std::uint8_t>(b);
          }
        }
      }
    }
  }
  return {};
}

// Sample i of a row of `bits`-bit samples packed most significant bit first.
std::uint32_t packed_sample(const std::uint8_t* row, std::size_t row_bytes, std::size_t i,
                            std::uint32_t bits) noexcept {
  std::uint32_t v = 0;
  std::size_t bit = i * bits;
  for (std::uint32_t k = 0; k < bits; ++k, ++bit) {
    const std::size_t byte = bit / 8;
    const std::uint32_t b =
        byte < row_bytes ? (std::uint32_t{row[byte]} >> (7 - bit % 8)) & 1U : 0U;
    v = v << 1 | b;
  }
  return v;
}

errc read_wide(TIFF* tif, const tiff_layout& l, std::uint64_t budget, scan_budget& cpu,
               const canvas& out) {
  std::uint16_t planar = PLANARCONFIG_CONTIG;
  TIFFGetField(tif, TIFFTAG_PLANARCONFIG, &planar);
  if (planar == PLANARCONFIG_SEPARATE && l.samples > 1) return errc::corrupt;
  const std::uint64_t row_bytes = (std::uint64_t{l.samples} * l.chunk_width * l.bits + 7) / 8;
  const std::uint64_t rows = l.tiled ? l.chunk_height : std::min(l.chunk_height, l.height);
  const std::uint64_t size = rows * row_bytes;
  const std::uint64_t image_bytes =
      std::uint64_t{l.height} * ((std::uint64_t{l.samples} * l.width * l.bits + 7) / 8);
  if (size > budget && size > image_bytes) return errc::too_many_pixels;
  std::vector<std::uint8_t> chunk(size);
  const std::uint32_t shift = 16 - l.bits;  // 10/12/14 bits scaled up to 16, as OpenCV did
  const bool grey = out.frame.channels == 1;
  std::uint32_t index = 0;
  for (std::uint32_t y = 0; y < l.height; y += l.chunk_height) {
    const std::uint32_t chunk_rows = std::min(l.chunk_height, l.height - y);
    for (std::uint32_t x = 0; x < l.width; x += l.chunk_width, ++index) {
      const std::uint32_t chunk_cols = std::min(l.chunk_width, l.width - x);
      if (const errc spent = cpu.check(); spent != errc{}) return spent;
      const tmsize_t got =
          l.tiled ? TIFFReadEncodedTile(tif, index, chunk.data(), static_cast<tmsize_t>(size))
                  : TIFFReadEncodedStrip(tif, index, chunk.data(), static_cast<tmsize_t>(size));
      // Fewer bytes than the rows in use need (the sample count OpenCV assumed for a file
      // without SamplesPerPixel is not libtiff's): refused, never read from unwritten memory.
      if (got < 0 || static_cast<std::uint64_t>(got) < chunk_rows * row_bytes) {
        return errc::corrupt;
      }
      for (std::uint32_t i = 0; i < chunk_rows; ++i) {
        const std::uint8_t* row = chunk.data() + i * row_bytes;
        const auto sample = [&](std::size_t s) -> std::uint32_t {
          if (l.bits == 16) {
            std::uint16_t v = 0;
            std::memcpy(&v, row + 2 * s, 2);  // libtiff gives host byte order
            return v;
          }
          return packed_sample(row, row_bytes, s, l.bits);
        };
        std::uint8_t* dst = out.at(y + i, x);
        for (std::uint32_t c = 0; c < chunk_cols; ++c) {
          const std::size_t first = std::size_t{c} * l.samples;
          if (grey) {
            const std::uint32_t v = l.samples == 1
                                        ? sample(first)
                                        : luma(sample(first), sample(first + 1), sample(first + 2));
            *dst++ = to_8bit(std::min<std::uint32_t>(v << shift, 0xFFFF));
          } else {
            for (std::size_t k = 0; k < 3; ++k) {
              *dst++ = to_8bit(std::min<std::uint32_t>(sample(first + k) << shift, 0xFFFF));
            }
          }
        }
      }
    }
  }
  return {};
}

// In-place mirror images and the transpose of a square image.
void mirror_columns(pixels& p) {
  const std::size_t c = p.channels;
  for (std::uint32_t y = 0; y < p.height; ++y) {
    std::uint8_t* row = p.data.data() + std::size_t{y} * p.width * c;
    for (std::uint32_t a = 0, b = p.width - 1; a < b; ++a, --b) {
      std::swap_ranges(row + a * c, row + a * c + c, row + b * c);
    }
  }
}
void mirror_rows(pixels& p) {
  const std::size_t stride = std::size_t{p.width} * p.channels;
  for (std::uint32_t a = 0, b = p.height - 1; a < b; ++a, --b) {
    std::swap_ranges(p.data.begin() + static_cast<std::ptrdiff_t>(a * stride),
                     p.data.begin() + static_cast<std::ptrdiff_t>((a + 1) * stride),
                     p.data.begin() + static_cast<std::ptrdiff_t>(b * stride));
  }
}
void transpose_square(pixels& p) {
  const std::size_t c = p.channels;
  const std::size_t n = p.width;
  for (std::size_t y = 0; y < n; ++y) {
    for (std::size_t x = y + 1; x < n; ++x) {
      std::swap_ranges(p.data.data() + (y * n + x) * c, p.data.data() + (y * n + x) * c + c,
                       p.data.data() + (x * n + y) * c);
    }
  }
}

// OpenCV's orientation fix-up after reading: partial for the RGBA reader's output (which has
// already mirrored what libtiff's reader mirrors), full for wide samples.
errc orient(pixels& p, std::uint16_t orientation, bool wide) {
  const bool transposes = orientation >= ORIENTATION_LEFTTOP && orientation <= ORIENTATION_LEFTBOT;
  if (transposes && p.width != p.height) return errc::corrupt;
  if (!wide) {
    if (orientation == ORIENTATION_RIGHTTOP || orientation == ORIENTATION_LEFTBOT) {
      mirror_columns(p);
      mirror_rows(p);
    }
    if (transposes) transpose_square(p);
    return {};
  }
  if (transposes) transpose_square(p);
  switch (orientation) {
    case ORIENTATION_TOPRIGHT:
    case ORIENTATION_RIGHTTOP: mirror_columns(p); break;
    case ORIENTATION_BOTRIGHT:
    case ORIENTATION_RIGHTBOT:
      mirror_columns(p);
      mirror_rows(p);
      break;
    case ORIENTATION_BOTLEFT:
    case ORIENTATION_LEFTBOT: mirror_rows(p); break;
    default: break;
  }
  return {};
}

}  // namespace

core::result<void> decode_tiff(bytes_t bytes, const image_header& header,
                               const decode_limits& limits, scan_budget& budget,
                               decoded_image& out) {
  if (const errc e = precheck_tiff(bytes, header, budget); e != errc{}) return e;
  const std::unique_ptr<TIFFOpenOptions, options_deleter> options(TIFFOpenOptionsAlloc());
  if (!options) return errc::out_of_memory;
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), drop_message, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), drop_message, nullptr);
  // No single libtiff allocation beyond the decode byte budget plus the input cap (a strip's
  // raw bytes, its decoded bytes, tag arrays).
  const std::uint64_t largest_allocation =
      std::min<std::uint64_t>(limits.max_decode_bytes, INT64_MAX / 2) +
      std::min<std::uint64_t>(limits.max_bytes, INT64_MAX / 2);
  TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), static_cast<tmsize_t>(largest_allocation));
  memory_source source{bytes, 0};
  const std::unique_ptr<TIFF, tiff_deleter> tif(
      TIFFClientOpenExt("", "r", &source, read_proc, write_proc, seek_proc, close_proc, size_proc,
                        map_proc, unmap_proc, options.get()));
  if (!tif) return errc::corrupt;
  tiff_layout l;
  if (const errc e = read_layout(tif.get(), l); e != errc{}) return e;
  if (l.width != header.width || l.height != header.height) return errc::corrupt;
  out.frames.resize(1);
  pixels& frame = out.frames.front();
  shape(frame, l.width, l.height, l.channels == 1 ? 1 : 3);
  std::fill(frame.data.begin(), frame.data.end(), std::uint8_t{0});
  const canvas c{frame};
  const errc e = l.wide ? read_wide(tif.get(), l, limits.max_decode_bytes, budget, c)
                        : read_rgba(tif.get(), l, limits.max_decode_bytes, budget, c);
  if (e != errc{}) return e;
  if (const errc o = orient(frame, l.orientation, l.wide); o != errc{}) return o;
  return {};
}

}  // namespace hashguard::scanner::detail
