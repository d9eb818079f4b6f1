// The scanner's WebP, BMP and TIFF decoders against OpenCV 4.6's imdecode(IMREAD_UNCHANGED),
// which the scanner used for them before (its pixels are what hashes were computed from):
// generated variants of every format (depths, palettes, grey palettes, bitfields, RLE streams
// with every escape, top-down rows, core headers, alpha, TIFF photometrics, depths,
// compressions, strips and tiles, planar layouts, byte orders and orientations), damaged and
// cut copies of them, the committed test images and the fuzz corpora. OpenCV's result is put
// in the scanner's layout as the old decoder did: BGR(A) to RGB, alpha dropped, 16-bit
// samples to floor(v / 257).
//
// Where both decode, the pixels must be identical. Where OpenCV refuses, the scanner must
// refuse too. Where OpenCV decodes and the scanner refuses, the input must be one of the
// documented, deliberate refusals (decode.hpp): a TIFF strip or tile libtiff fails to decode,
// or separate planes of wide samples.
#include "hashguard/scanner/decode.hpp"

#include "../../scanner/src/decode_internal.hpp"  // precheck_tiff: in front of OpenCV too
#include "hg_catch.hpp"
#include "scanner_test_support.hpp"

#include <tiffio.h>
#include <unistd.h>
#include <webp/encode.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

using namespace hashguard::scanner;

namespace {

using bytes = std::vector<std::uint8_t>;
using named_files = std::vector<std::pair<std::string, bytes>>;

// A seeded 32-bit generator (std::mt19937's result_type is wider than its values).
struct rng32 {
  std::mt19937 engine;
  std::uint32_t operator()() { return static_cast<std::uint32_t>(engine()); }
};

struct reference_image {
  std::uint32_t width{}, height{}, channels{};
  std::vector<std::uint8_t> data;
};

// What the scanner's old decoder (OpenCV) produced, in the scanner's layout; nothing when
// OpenCV refused the input.
std::optional<reference_image> opencv_decode(const bytes& in) {
  // The old decoder checked a TIFF's strips before OpenCV saw it (the same check still runs).
  const auto header = read_header(in);
  if (header && header->format == image_format::tiff &&
      detail::precheck_tiff(in, *header) != errc{}) {
    return std::nullopt;
  }
  try {
    const cv::Mat encoded(1, static_cast<int>(in.size()), CV_8UC1,
                          const_cast<std::uint8_t*>(in.data()));
    const cv::Mat mat = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
    if (mat.empty() || mat.dims != 2 || mat.channels() > 4) return std::nullopt;
    if (mat.depth() != CV_8U && mat.depth() != CV_16U) return std::nullopt;
    // The old decoder refused a result of another size than the header's (a transposed TIFF).
    if (!header || static_cast<std::uint32_t>(mat.cols) != header->width ||
        static_cast<std::uint32_t>(mat.rows) != header->height) {
      return std::nullopt;
    }
    reference_image out;
    out.width = static_cast<std::uint32_t>(mat.cols);
    out.height = static_cast<std::uint32_t>(mat.rows);
    out.channels = mat.channels() <= 2 ? 1 : 3;
    const int in_channels = mat.channels();
    for (int y = 0; y < mat.rows; ++y) {
      for (int x = 0; x < mat.cols; ++x) {
        const auto sample = [&](int c) -> std::uint8_t {
          if (mat.depth() == CV_8U) return mat.ptr<std::uint8_t>(y)[x * in_channels + c];
          return static_cast<std::uint8_t>(mat.ptr<std::uint16_t>(y)[x * in_channels + c] / 257);
        };
        if (out.channels == 1) {
          out.data.push_back(sample(0));
        } else {
          out.data.insert(out.data.end(), {sample(2), sample(1), sample(0)});
        }
      }
    }
    return out;
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
}

// OpenCV prints its decoders' exceptions to std::cerr; refused variants are expected here.
class quiet_stderr {
 public:
  quiet_stderr() {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    std::FILE* null = std::fopen("/dev/null", "w");
    if (null != nullptr) {
      dup2(fileno(null), 2);
      std::fclose(null);
    }
  }
  ~quiet_stderr() {
    dup2(saved_, 2);
    close(saved_);
  }
  quiet_stderr(const quiet_stderr&) = delete;
  quiet_stderr& operator=(const quiet_stderr&) = delete;

 private:
  int saved_ = dup(2);
};

struct tally {
  std::size_t both = 0, neither = 0, deliberate = 0;
};

using refusal_check = bool (*)(const bytes&);

// `deliberate`: whether the scanner's refusal of an input OpenCV decoded is a documented one.
void compare(const std::string& name, const bytes& in, tally& t,
             refusal_check deliberate = nullptr) {
  INFO(name);
  std::optional<reference_image> expected;
  {
    const quiet_stderr quiet;
    expected = opencv_decode(in);
  }
  decode_limits limits;
  limits.max_bytes = std::max<std::size_t>(limits.max_bytes, in.size());
  const auto got = decode(in, limits);
  if (!expected) {
    CHECK_FALSE(got.has_value());
    ++t.neither;
    return;
  }
  if (!got) {
    INFO("OpenCV decoded it; the scanner said " << hashguard::core::error_name(got.error()));
    REQUIRE(deliberate != nullptr);
    CHECK(deliberate(in));
    ++t.deliberate;
    return;
  }
  REQUIRE(got->frames.size() == 1);
  const pixels& p = got->frames.front();
  CHECK(p.width == expected->width);
  CHECK(p.height == expected->height);
  CHECK(p.channels == expected->channels);
  CHECK((p.data == expected->data));
  ++t.both;
}

void put16(bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v & 0xFFFF);
  put16(b, at + 2, v >> 16);
}

bytes random_bytes(rng32& rng, std::size_t n) {
  bytes out(n);
  for (auto& v : out) v = static_cast<std::uint8_t>(rng());
  return out;
}

// ---------------------------------------------------------------------------------------------
// BMP

struct bmp_spec {
  std::int32_t width = 5;
  std::int32_t height = 3;  // negative: top-down
  std::uint32_t bits = 24;
  std::uint32_t compression = 0;
  std::uint32_t header_size = 40;  // 12 = core header
  std::uint32_t colours_used = 0;
  std::vector<std::array<std::uint8_t, 3>> palette;  // B, G, R
  std::array<std::uint32_t, 4> masks{};              // R, G, B, A
  bool masks_after_header = false;                   // 16-bit bitfields
  bytes pixel_data;                                  // rows or an RLE stream, as stored
};

bytes build_bmp(const bmp_spec& s) {
  bytes b(14 + s.header_size, 0);
  b[0] = 'B';
  b[1] = 'M';
  put32(b, 14, s.header_size);
  if (s.header_size == 12) {
    put16(b, 18, static_cast<std::uint32_t>(s.width));
    put16(b, 20, static_cast<std::uint32_t>(s.height));
    put16(b, 22, 1);
    put16(b, 24, s.bits);
  } else {
    put32(b, 18, static_cast<std::uint32_t>(s.width));
    put32(b, 22, static_cast<std::uint32_t>(s.height));
    put16(b, 26, 1);
    put16(b, 28, s.bits);
    put32(b, 30, s.compression);
    put32(b, 46, s.colours_used);
    if (s.header_size >= 56 && !s.masks_after_header) {
      for (std::size_t i = 0; i < 4; ++i) put32(b, 54 + 4 * i, s.masks[i]);
    }
  }
  if (s.masks_after_header) {
    for (std::size_t i = 0; i < 3; ++i) {
      const std::size_t at = b.size();
      b.resize(at + 4);
      put32(b, at, s.masks[i]);
    }
  }
  for (const auto& entry : s.palette) {
    b.insert(b.end(), entry.begin(), entry.end());
    if (s.header_size != 12) b.push_back(0);
  }
  put32(b, 10, static_cast<std::uint32_t>(b.size()));
  b.insert(b.end(), s.pixel_data.begin(), s.pixel_data.end());
  put32(b, 2, static_cast<std::uint32_t>(b.size()));
  return b;
}

std::vector<std::array<std::uint8_t, 3>> random_palette(rng32& rng, std::size_t n, bool grey) {
  std::vector<std::array<std::uint8_t, 3>> p(n);
  for (auto& e : p) {
    const auto v = static_cast<std::uint8_t>(rng());
    e = grey ? std::array<std::uint8_t, 3>{v, v, v}
             : std::array<std::uint8_t, 3>{v, static_cast<std::uint8_t>(rng()),
                                           static_cast<std::uint8_t>(rng())};
  }
  return p;
}

std::size_t bmp_rows_bytes(std::int32_t width, std::int32_t height, std::uint32_t bits) {
  return (static_cast<std::size_t>(width) * bits + 31) / 32 * 4 *
         static_cast<std::size_t>(std::abs(height));
}

// A random RLE stream: runs, literals, end of line, delta, early end of bitmap, mostly valid,
// sometimes not (a run past the row's end).
bytes random_rle(rng32& rng, std::int32_t width, std::int32_t height, bool four) {
  bytes s;
  const auto w = static_cast<std::uint32_t>(width);
  const std::uint32_t ops = rng() % 40 + 1;
  for (std::uint32_t i = 0; i < ops; ++i) {
    switch (rng() % 6) {
      case 0:
      case 1: {  // run
        const auto n = static_cast<std::uint8_t>(1 + rng() % (w + (rng() % 8 == 0 ? 3 : 0)));
        s.insert(s.end(), {n, static_cast<std::uint8_t>(rng())});
        break;
      }
      case 2: {  // literal
        const std::uint32_t n = 3 + rng() % w;
        s.insert(s.end(), {0, static_cast<std::uint8_t>(n)});
        const std::size_t data = four ? ((((n + 1) >> 1) + 1) & ~1U) : ((n + 1) & ~1U);
        const bytes values = random_bytes(rng, data);
        s.insert(s.end(), values.begin(), values.end());
        break;
      }
      case 3: s.insert(s.end(), {0, 0}); break;  // end of line
      case 4:                                    // delta
        s.insert(s.end(), {0, 2, static_cast<std::uint8_t>(rng() % (w + 1)),
                           static_cast<std::uint8_t>(rng() % 2)});
        break;
      default:
        if (rng() % 4 == 0) s.insert(s.end(), {0, 1});  // an early end of bitmap
        break;
    }
  }
  for (std::int32_t y = 0; y < height; ++y) s.insert(s.end(), {0, 0});
  s.insert(s.end(), {0, 1});
  return s;
}

void add_palette_bmps(named_files& out, rng32& rng, std::int32_t width, std::int32_t height,
                      const std::string& size) {
  for (std::uint32_t bits : {1U, 4U, 8U}) {
    for (bool grey : {false, true}) {
      for (std::uint32_t used : {0U, 2U}) {
        bmp_spec s;
        s.width = width;
        s.height = height;
        s.bits = bits;
        s.colours_used = used;
        s.palette = random_palette(rng, used == 0 ? (1U << bits) : used, grey);
        s.pixel_data = random_bytes(rng, bmp_rows_bytes(width, height, bits));
        out.emplace_back("palette " + std::to_string(bits) + (grey ? " grey " : " ") +
                             std::to_string(used) + " " + size,
                         build_bmp(s));
      }
    }
    bmp_spec core;  // OS/2 core header
    core.header_size = 12;
    core.width = width;
    core.height = std::abs(height);
    core.bits = bits;
    core.palette = random_palette(rng, 1U << bits, false);
    core.pixel_data = random_bytes(rng, bmp_rows_bytes(width, height, bits));
    out.emplace_back("core palette " + std::to_string(bits) + " " + size, build_bmp(core));
  }
}

// A bitfields BMP: 16-bit masks after a 40-byte header, 32-bit masks inside the header.
bytes bitfields_bmp(rng32& rng, std::int32_t width, std::int32_t height, std::uint32_t bits,
                    std::uint32_t header, const std::array<std::uint32_t, 4>& masks) {
  bmp_spec s;
  s.width = width;
  s.height = height;
  s.bits = bits;
  s.compression = 3;
  s.header_size = header;
  s.masks = masks;
  s.masks_after_header = bits == 16;
  s.pixel_data = random_bytes(rng, bmp_rows_bytes(width, height, bits));
  return build_bmp(s);
}

void add_direct_bmps(named_files& out, rng32& rng, std::int32_t width, std::int32_t height,
                     const std::string& size) {
  for (std::uint32_t bits : {16U, 24U, 32U}) {
    bmp_spec s;
    s.width = width;
    s.height = height;
    s.bits = bits;
    s.pixel_data = random_bytes(rng, bmp_rows_bytes(width, height, bits));
    out.emplace_back("direct " + std::to_string(bits) + " " + size, build_bmp(s));
    if (bits != 16) {
      bmp_spec core = s;
      core.header_size = 12;
      core.height = std::abs(height);
      out.emplace_back("core direct " + std::to_string(bits) + " " + size, build_bmp(core));
    }
  }
  // 16-bit bitfields: 5-5-5, 5-6-5, and masks OpenCV refuses.
  const std::array<std::array<std::uint32_t, 4>, 3> masks16{
      {{0x7c00, 0x3e0, 0x1f, 0}, {0xf800, 0x7e0, 0x1f, 0}, {0xf00, 0xf0, 0xf, 0}}};
  for (const auto& m : masks16) {
    out.emplace_back("bitfields 16 " + size, bitfields_bmp(rng, width, height, 16, 40, m));
  }
  // 32-bit bitfields: masks in a V3/V4/V5 header (usual, odd, swapped, one missing); none
  // are read from a 40-byte header.
  const std::array<std::array<std::uint32_t, 4>, 4> masks32{{{0xFF0000, 0xFF00, 0xFF, 0xFF000000},
                                                             {0x3FF00000, 0xFFC00, 0x3FF, 0},
                                                             {0xFF, 0xFF00, 0xFF0000, 0},
                                                             {0xFF0000, 0, 0xFF, 0}}};
  for (std::uint32_t header : {40U, 56U, 108U, 124U}) {
    for (const auto& m : masks32) {
      out.emplace_back("bitfields 32 header " + std::to_string(header) + " " + size,
                       bitfields_bmp(rng, width, height, 32, header, m));
    }
  }
}

named_files bmp_variants() {
  named_files out;
  rng32 rng{std::mt19937(15)};
  for (std::int32_t width : {1, 3, 7, 8, 9, 17}) {
    for (std::int32_t height : {1, 4, -4}) {
      const std::string size = std::to_string(width) + "x" + std::to_string(height);
      add_palette_bmps(out, rng, width, height, size);
      add_direct_bmps(out, rng, width, height, size);
    }
  }
  for (std::uint32_t i = 0; i < 400; ++i) {
    const bool four = i % 2 == 1;
    bmp_spec s;
    s.width = static_cast<std::int32_t>(1 + rng() % 12);
    s.height = static_cast<std::int32_t>(1 + rng() % 5);
    if (i % 7 == 0) s.height = -s.height;
    s.bits = four ? 4 : 8;
    s.compression = four ? 2 : 1;
    s.palette = random_palette(rng, four ? 16 : 256, i % 5 == 0);
    s.pixel_data = random_rle(rng, s.width, std::abs(s.height), four);
    out.emplace_back(std::string(four ? "rle4 " : "rle8 ") + std::to_string(i), build_bmp(s));
  }
  // Damage: every third variant with one header byte changed, and cut short.
  const std::size_t clean = out.size();
  for (std::size_t i = 0; i < clean; i += 3) {
    bytes b = out[i].second;
    const std::size_t at = 2 + rng() % std::min<std::size_t>(b.size() - 2, 80);
    b[at] = static_cast<std::uint8_t>(rng());
    out.emplace_back(out[i].first + " damaged at " + std::to_string(at), b);
    bytes cut = out[i].second;
    cut.resize(std::max<std::size_t>(20, cut.size() - 1 - rng() % 8));
    out.emplace_back(out[i].first + " cut", cut);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// WebP (encoded by libwebp here)

void take_encoded(named_files& out, const std::string& name, std::size_t n, std::uint8_t* data) {
  if (n != 0) out.emplace_back(name, bytes(data, data + n));
  WebPFree(data);
}

named_files webp_variants() {
  named_files out;
  rng32 rng{std::mt19937(16)};
  const std::array<std::pair<int, int>, 4> sizes{{{1, 1}, {3, 5}, {17, 9}, {64, 48}}};
  for (const auto& [w, h] : sizes) {
    bytes rgba(static_cast<std::size_t>(w * h * 4));
    for (std::size_t i = 0; i < rgba.size(); ++i) {
      rgba[i] = static_cast<std::uint8_t>((i * 37 + rng() % 16) & 0xFF);
    }
    bytes rgb;
    for (std::size_t i = 0; i < rgba.size(); i += 4) {
      rgb.insert(rgb.end(), rgba.begin() + static_cast<std::ptrdiff_t>(i),
                 rgba.begin() + static_cast<std::ptrdiff_t>(i + 3));
    }
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    std::uint8_t* data = nullptr;
    std::size_t n = WebPEncodeRGB(rgb.data(), w, h, w * 3, 75, &data);
    take_encoded(out, "lossy " + size, n, data);
    n = WebPEncodeLosslessRGB(rgb.data(), w, h, w * 3, &data);
    take_encoded(out, "lossless " + size, n, data);
    n = WebPEncodeRGBA(rgba.data(), w, h, w * 4, 75, &data);
    take_encoded(out, "lossy alpha " + size, n, data);
    n = WebPEncodeLosslessRGBA(rgba.data(), w, h, w * 4, &data);
    take_encoded(out, "lossless alpha " + size, n, data);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TIFF (written by libtiff here)

struct tiff_spec {
  std::uint32_t width = 5, height = 3;
  std::uint16_t photometric = PHOTOMETRIC_RGB;
  std::uint16_t bits = 8;
  std::uint16_t samples = 3;
  std::uint16_t extra = 0;  // 0 none, else EXTRASAMPLE_ASSOCALPHA or _UNASSALPHA
  std::uint16_t compression = COMPRESSION_NONE;
  std::uint16_t planar = PLANARCONFIG_CONTIG;
  std::uint32_t rows_per_strip = 0;  // 0 = all
  std::uint32_t tile = 0;            // 0 = strips
  std::uint16_t orientation = ORIENTATION_TOPLEFT;
  bool big_endian = false;

  [[nodiscard]] std::string name() const {
    return "photometric " + std::to_string(photometric) + ", " + std::to_string(samples) + " x " +
           std::to_string(bits) + " bits, compression " + std::to_string(compression) +
           ", planar " + std::to_string(planar) + ", tile " + std::to_string(tile) + ", rows " +
           std::to_string(rows_per_strip) + ", orientation " + std::to_string(orientation) +
           (big_endian ? ", MM " : ", II ") + std::to_string(width) + "x" + std::to_string(height);
  }
};

void write_tiff_fields(TIFF* t, const tiff_spec& s, rng32& rng) {
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s.width);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, s.height);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s.bits);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s.samples);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s.photometric);
  TIFFSetField(t, TIFFTAG_COMPRESSION, s.compression);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, s.planar);
  TIFFSetField(t, TIFFTAG_ORIENTATION, s.orientation);
  if (s.extra != 0) {
    const std::array<std::uint16_t, 1> extra{s.extra};
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, extra.data());
  }
  if (s.photometric == PHOTOMETRIC_PALETTE) {
    const std::size_t n = std::size_t{1} << s.bits;
    std::vector<std::uint16_t> r(n), g(n), b(n);
    for (std::size_t i = 0; i < n; ++i) {
      r[i] = static_cast<std::uint16_t>(rng());
      g[i] = static_cast<std::uint16_t>(rng());
      b[i] = static_cast<std::uint16_t>(rng());
    }
    TIFFSetField(t, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
  }
}

bool write_tiff_data(TIFF* t, const tiff_spec& s, rng32& rng) {
  const std::uint16_t planes = s.planar == PLANARCONFIG_SEPARATE ? s.samples : 1;
  if (s.tile != 0) {
    TIFFSetField(t, TIFFTAG_TILEWIDTH, s.tile);
    TIFFSetField(t, TIFFTAG_TILELENGTH, s.tile);
    const auto size = static_cast<std::size_t>(TIFFTileSize(t));
    for (std::uint16_t p = 0; p < planes; ++p) {
      for (std::uint32_t y = 0; y < s.height; y += s.tile) {
        for (std::uint32_t x = 0; x < s.width; x += s.tile) {
          bytes data = random_bytes(rng, size);
          if (TIFFWriteTile(t, data.data(), x, y, 0, p) < 0) return false;
        }
      }
    }
    return true;
  }
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip == 0 ? s.height : s.rows_per_strip);
  const auto size = static_cast<std::size_t>(TIFFScanlineSize(t));
  for (std::uint16_t p = 0; p < planes; ++p) {
    for (std::uint32_t y = 0; y < s.height; ++y) {
      bytes row = random_bytes(rng, size);
      if (TIFFWriteScanline(t, row.data(), y, p) < 0) return false;
    }
  }
  return true;
}

std::optional<bytes> build_tiff(const tiff_spec& s, rng32& rng) {
  std::array<char, 32> path{};
  std::strcpy(path.data(), "/tmp/hg_parity_XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) return std::nullopt;
  close(fd);
  TIFFSetWarningHandler(nullptr);  // the writer's complaints about odd variants
  TIFFSetErrorHandler(nullptr);
  TIFF* t = TIFFOpen(path.data(), s.big_endian ? "wb" : "wl");
  bool ok = t != nullptr;
  if (ok) {
    write_tiff_fields(t, s, rng);
    ok = write_tiff_data(t, s, rng);
    TIFFClose(t);
  }
  std::optional<bytes> out;
  if (ok) out = hg_test::read_file(path.data());
  std::remove(path.data());
  return out;
}

named_files tiff_variants() {
  named_files out;
  rng32 rng{std::mt19937(17)};
  struct colour_model {
    std::uint16_t photometric, samples, extra;
  };
  const std::array<colour_model, 10> models{{
      {PHOTOMETRIC_MINISBLACK, 1, 0},
      {PHOTOMETRIC_MINISWHITE, 1, 0},
      {PHOTOMETRIC_MINISBLACK, 2, EXTRASAMPLE_UNASSALPHA},
      {PHOTOMETRIC_MINISBLACK, 3, 0},
      {PHOTOMETRIC_RGB, 3, 0},
      {PHOTOMETRIC_RGB, 4, EXTRASAMPLE_ASSOCALPHA},
      {PHOTOMETRIC_RGB, 4, EXTRASAMPLE_UNASSALPHA},
      {PHOTOMETRIC_RGB, 1, 0},
      {PHOTOMETRIC_PALETTE, 1, 0},
      {PHOTOMETRIC_SEPARATED, 4, 0},
  }};
  const std::array<std::uint16_t, 4> compressions{COMPRESSION_NONE, COMPRESSION_LZW,
                                                  COMPRESSION_ADOBE_DEFLATE, COMPRESSION_PACKBITS};
  const std::array<std::uint16_t, 7> depths{1, 2, 4, 8, 8, 12, 16};
  for (std::uint32_t i = 0; i < 600; ++i) {
    tiff_spec s;
    const colour_model& m = models[rng() % models.size()];
    s.photometric = m.photometric;
    s.samples = m.samples;
    s.extra = m.extra;
    s.bits = depths[rng() % depths.size()];
    if (s.photometric == PHOTOMETRIC_PALETTE && s.bits > 8) s.bits = 8;
    const bool square = rng() % 3 == 0;
    s.width = 1 + rng() % 33;
    s.height = square ? s.width : 1 + rng() % 20;
    s.compression = compressions[rng() % compressions.size()];
    s.planar = rng() % 4 == 0 ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG;
    if (rng() % 3 == 0) {
      s.tile = 16;
    } else {
      s.rows_per_strip = rng() % 2 == 0 ? 0 : 1 + rng() % 7;
    }
    s.orientation = static_cast<std::uint16_t>(rng() % 2 == 0 ? 1 : 1 + rng() % 8);
    s.big_endian = rng() % 2 == 0;
    const auto file = build_tiff(s, rng);
    if (file) out.emplace_back("tiff " + std::to_string(i) + ": " + s.name(), *file);
  }
  return out;
}

// The bytes of one TIFF, for libtiff's client I/O in deliberate_tiff_refusal.
struct tiff_bytes {
  const bytes* b;
  toff_t pos = 0;
};
tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t n) {
  auto* s = static_cast<tiff_bytes*>(h);
  const toff_t take = std::min<toff_t>(static_cast<toff_t>(n), s->b->size() - s->pos);
  std::memcpy(buf, s->b->data() + s->pos, take);
  s->pos += take;
  return static_cast<tmsize_t>(take);
}
tmsize_t tiff_write(thandle_t, void*, tmsize_t) {
  return 0;
}
toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<tiff_bytes*>(h);
  const toff_t to = whence == SEEK_END   ? s->b->size() + off
                    : whence == SEEK_CUR ? s->pos + off
                                         : off;
  s->pos = std::min<toff_t>(to, s->b->size());
  return s->pos;
}
int tiff_close(thandle_t) {
  return 0;
}
toff_t tiff_size(thandle_t h) {
  return static_cast<tiff_bytes*>(h)->b->size();
}
int tiff_map(thandle_t, void**, toff_t*) {
  return 0;
}
void tiff_unmap(thandle_t, void*, toff_t) {}
int tiff_drop(TIFF*, void*, const char*, const char*, va_list) {
  return 1;
}

// The deliberate TIFF refusals (decode_tiff.cpp): separate planes of wide samples, or a strip
// or tile that libtiff fails to decode.
bool deliberate_tiff_refusal(const bytes& in) {
  tiff_bytes src{&in};
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, tiff_drop, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(options, tiff_drop, nullptr);
  TIFF* t = TIFFClientOpenExt("", "r", &src, tiff_read, tiff_write, tiff_seek, tiff_close,
                              tiff_size, tiff_map, tiff_unmap, options);
  TIFFOpenOptionsFree(options);
  if (t == nullptr) return false;
  std::uint16_t planar = PLANARCONFIG_CONTIG;
  std::uint16_t bits = 1;
  std::uint16_t samples = 1;
  TIFFGetField(t, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetField(t, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetField(t, TIFFTAG_SAMPLESPERPIXEL, &samples);
  std::uint16_t photometric = 0;
  std::uint32_t width = 0;
  std::uint32_t rows = 0;
  TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric);
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &width);
  const bool tiled = TIFFIsTiled(t) != 0;
  if (tiled) {
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &width);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &rows);
  } else {
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &rows);
    std::uint32_t per_strip = rows;
    TIFFGetField(t, TIFFTAG_ROWSPERSTRIP, &per_strip);
    rows = std::min(rows, per_strip);
  }
  const tmsize_t size = tiled ? TIFFTileSize(t) : TIFFStripSize(t);
  // Wide samples in a chunk smaller than OpenCV's sample count needs (SamplesPerPixel absent:
  // OpenCV assumed 3 for colour, libtiff 1).
  std::uint16_t assumed_samples = photometric <= PHOTOMETRIC_MINISBLACK ? 1 : 3;
  TIFFGetField(t, TIFFTAG_SAMPLESPERPIXEL, &assumed_samples);
  const bool wide = bits > 8 && photometric <= PHOTOMETRIC_RGB &&
                    (assumed_samples == 1 || assumed_samples == 3 || assumed_samples == 4);
  const std::uint64_t needed =
      std::uint64_t{rows} * ((std::uint64_t{assumed_samples} * width * bits + 7) / 8);
  bool refused = (planar == PLANARCONFIG_SEPARATE && samples > 1 && bits > 8) ||
                 (wide && static_cast<std::uint64_t>(size) < needed);
  const std::uint32_t chunks = tiled ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(std::max<tmsize_t>(size, 1)));
  for (std::uint32_t i = 0; i < chunks && !refused; ++i) {
    refused = (tiled ? TIFFReadEncodedTile(t, i, buffer.data(), size)
                     : TIFFReadEncodedStrip(t, i, buffer.data(), size)) < 0;
  }
  TIFFClose(t);
  return refused;
}

named_files files_under(const std::filesystem::path& dir,
                        const std::vector<std::string>& extensions) {
  named_files out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (!extensions.empty() &&
        std::find(extensions.begin(), extensions.end(), ext) == extensions.end()) {
      continue;
    }
    out.emplace_back(entry.path().string(), hg_test::read_file(entry.path()));
  }
  return out;
}

bool is(const bytes& file, image_format format) {
  const auto sniffed = sniff(file);
  return sniffed && *sniffed == format;
}

std::filesystem::path fuzz_corpus(const char* target) {
  return std::filesystem::path(HG_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / target;
}

}  // namespace

TEST_CASE("BMP decodes to OpenCV 4.6's pixels across generated variants") {
  tally t;
  for (const auto& [name, file] : bmp_variants()) compare(name, file, t);
  for (const auto& [name, file] : files_under(hg_test::scanner_data_dir(), {".bmp"})) {
    compare(name, file, t);
  }
  for (const auto& [name, file] : files_under(fuzz_corpus("fuzz_decode_bmp"), {})) {
    if (is(file, image_format::bmp)) compare(name, file, t);
  }
  CHECK(t.both > 500);
  CHECK(t.neither > 50);
  CHECK(t.deliberate == 0);
}

TEST_CASE("WebP decodes to OpenCV 4.6's pixels across generated variants") {
  tally t;
  for (const auto& [name, file] : webp_variants()) compare(name, file, t);
  for (const auto& [name, file] : files_under(hg_test::scanner_data_dir(), {".webp"})) {
    compare(name, file, t);
  }
  for (const auto& [name, file] : files_under(hg_test::vectors_dir(), {".webp"})) {
    compare(name, file, t);
  }
  for (const auto& [name, file] : files_under(fuzz_corpus("fuzz_decode_webp"), {})) {
    if (is(file, image_format::webp)) compare(name, file, t);
  }
  CHECK(t.both >= 16);
  CHECK(t.deliberate == 0);
}

TEST_CASE("TIFF decodes to OpenCV 4.6's pixels across generated variants") {
  tally t;
  for (const auto& [name, file] : tiff_variants()) {
    compare(name, file, t, deliberate_tiff_refusal);
  }
  for (const auto& [name, file] : files_under(hg_test::scanner_data_dir(), {".tiff", ".tif"})) {
    compare(name, file, t, deliberate_tiff_refusal);
  }
  for (const auto& [name, file] : files_under(fuzz_corpus("fuzz_decode_tiff"), {})) {
    if (is(file, image_format::tiff)) compare(name, file, t, deliberate_tiff_refusal);
  }
  CHECK(t.both > 250);
  CHECK(t.neither > 20);
}
