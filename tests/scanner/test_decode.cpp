#include "hashguard/scanner/decode.hpp"

#include "gif_builder.hpp"
#include "hg_catch.hpp"
#include "png_builder.hpp"
#include "scanner_test_support.hpp"
#include "tiff_builder.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <random>

using namespace hashguard::scanner;
using hg_test::read_file;

namespace {

std::vector<std::uint8_t> data_file(const std::string& name) {
  return read_file(hg_test::scanner_data_dir() / name);
}

void put_u16be(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put_u32be(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put_u16be(b, at, v >> 16);
  put_u16be(b, at + 2, v & 0xFFFF);
}
void put_u16le(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put_u32le(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put_u16le(b, at, v & 0xFFFF);
  put_u16le(b, at + 2, v >> 16);
}

// Offset of the first SOFn marker's segment length field.
std::size_t jpeg_sof_offset(const std::vector<std::uint8_t>& b) {
  std::size_t pos = 2;
  while (pos + 4 < b.size()) {
    const std::uint8_t marker = b[pos + 1];
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      return pos + 2;
    }
    pos += 2 + (std::size_t{b[pos + 2]} << 8 | b[pos + 3]);
  }
  throw std::runtime_error("no SOF");
}

// Sets ImageWidth and ImageLength of the first IFD of a little-endian TIFF.
void patch_tiff_le(std::vector<std::uint8_t>& b, std::uint32_t w, std::uint32_t h) {
  const std::size_t ifd = b[4] | std::size_t{b[5]} << 8 | std::size_t{b[6]} << 16;
  const std::size_t count = b[ifd] | std::size_t{b[ifd + 1]} << 8;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    const std::uint32_t tag = b[e] | std::uint32_t{b[e + 1]} << 8;
    if (tag != 256 && tag != 257) continue;
    put_u16le(b, e + 2, 4);  // LONG
    put_u32le(b, e + 8, tag == 256 ? w : h);
  }
}

// Image rows reversed (for a top-down BMP made from a bottom-up one).
void flip_bmp_rows(std::vector<std::uint8_t>& b, std::size_t width, std::size_t height,
                   std::size_t bytes_per_pixel) {
  const std::size_t offset = b[10] | std::size_t{b[11]} << 8;
  const std::size_t stride = (width * bytes_per_pixel + 3) / 4 * 4;
  for (std::size_t y = 0; y < height / 2; ++y) {
    std::swap_ranges(b.begin() + static_cast<std::ptrdiff_t>(offset + y * stride),
                     b.begin() + static_cast<std::ptrdiff_t>(offset + (y + 1) * stride),
                     b.begin() + static_cast<std::ptrdiff_t>(offset + (height - 1 - y) * stride));
  }
}

GifColorType colour(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return GifColorType{r, g, b};
}

}  // namespace

TEST_CASE("every PDQ vector image decodes to the reference's pixels (decoded_rgb_md5)") {
  const auto dir = hg_test::vectors_dir();
  const auto rows = hg_test::read_csv(dir / "expected" / "fullres-core.csv");
  REQUIRE(rows.size() >= 50);
  decoder d;
  decoded_image image;
  for (const auto& row : rows) {
    INFO(row.at("file"));
    const auto bytes = read_file(dir / row.at("file"));
    REQUIRE(d.decode(bytes, image));
    REQUIRE(image.frames.size() == 1);
    CHECK_FALSE(image.damaged);
    const pixels& p = image.frames.front();
    CHECK(std::to_string(p.width) == row.at("width"));
    CHECK(std::to_string(p.height) == row.at("height"));
    CHECK(p.data.size() == std::size_t{p.width} * p.height * p.channels);
    CHECK(hg_test::rgb_md5(p) == row.at("decoded_rgb_md5"));
  }
}

TEST_CASE("grey vector images decode to one channel, colour ones to three") {
  const auto dir = hg_test::vectors_dir() / "images";
  // (small.jpg and q2821.jpg look grey but store three components; PDQ takes its grey path
  // for them because every pixel is grey, not because the decoder says so.)
  for (const char* grey : {"misc-images/modes/L.png", "misc-images/modes/1.png",
                           "../generated/g08-gray-300x200.png"}) {
    INFO(grey);
    const auto image = decode(read_file(dir / grey));
    REQUIRE(image);
    CHECK(image->frames.front().channels == 1);
  }
  for (const char* rgb : {"misc-images/modes/CMYK.jpg", "misc-images/modes/I.webp",
                          "bridge-mods/aaa-orig.jpg", "misc-images/c.png"}) {
    INFO(rgb);
    const auto image = decode(read_file(dir / rgb));
    REQUIRE(image);
    CHECK(image->frames.front().channels == 3);
  }
}

TEST_CASE("synthetic images of every format decode to ImageMagick's pixels") {
  const auto rows = hg_test::read_csv(hg_test::scanner_data_dir() / "expected.csv");
  REQUIRE(rows.size() >= 25);
  decoder d;
  for (const auto& row : rows) {
    INFO(row.at("file"));
    const auto image = d.decode(data_file(row.at("file")));
    REQUIRE(image);
    REQUIRE(image->frames.size() == 1);
    const pixels& p = image->frames.front();
    CHECK(std::to_string(p.width) == row.at("width"));
    CHECK(std::to_string(p.height) == row.at("height"));
    CHECK(std::to_string(p.channels) == row.at("channels"));
    CHECK(hg_test::rgb_md5(p) == row.at("decoded_rgb_md5"));
  }
}

TEST_CASE("alpha is dropped and the stored colour under it kept") {
  // rgba.png has a fully transparent square at x 4..20, y 28..44 whose stored RGB is red.
  const auto image = decode(data_file("rgba.png"));
  REQUIRE(image);
  const pixels& p = image->frames.front();
  REQUIRE(p.channels == 3);
  const std::size_t at = (std::size_t{36} * p.width + 10) * 3;
  CHECK(p.data[at] == 255);
  CHECK(p.data[at + 1] == 0);
  CHECK(p.data[at + 2] == 0);
  // The vectors' g12 is the same trap: its md5 (checked above) is the unblended red square.
}

TEST_CASE("16-bit samples reduce to 8 bits as ImageMagick does: floor(v / 257)") {
  const std::vector<unsigned> wide{0,    256,  257,   513,   770,   771,
                                   1749, 2211, 65278, 65534, 65535, 32896};
  const std::vector<std::uint8_t> narrow{0, 0, 1, 1, 2, 3, 6, 8, 254, 254, 255, 128};
  SECTION("PNG, grey") {
    const auto png = hg_test::png_builder::build(12, 1, 16, 0, wide);
    const auto image = decode(png);
    REQUIRE(image);
    CHECK(image->frames.front().channels == 1);
    CHECK(image->frames.front().data == narrow);
  }
  SECTION("PNG, RGB with alpha (alpha dropped)") {
    std::vector<unsigned> rgba;
    for (std::size_t i = 0; i < 12; i += 3) {
      rgba.insert(rgba.end(), {wide[i], wide[i + 1], wide[i + 2], 0});
    }
    const auto png = hg_test::png_builder::build(4, 1, 16, 6, rgba);
    const auto image = decode(png);
    REQUIRE(image);
    CHECK(image->frames.front().channels == 3);
    CHECK(image->frames.front().data == narrow);
  }
  SECTION("TIFF, grey, through OpenCV") {
    // An uncompressed 12x1 16-bit BlackIsZero TIFF, little-endian, pixel data at offset 8.
    std::vector<std::uint8_t> tiff{'I', 'I', 42, 0, 0, 0, 0, 0};
    for (unsigned v : wide)
      tiff.insert(tiff.end(), {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)});
    const auto ifd = static_cast<std::uint32_t>(tiff.size());
    put_u32le(tiff, 4, ifd);
    auto entry = [&](std::uint16_t tag, std::uint16_t type, std::uint32_t value) {
      const std::size_t at = tiff.size();
      tiff.resize(at + 12);
      put_u16le(tiff, at, tag);
      put_u16le(tiff, at + 2, type);
      put_u32le(tiff, at + 4, 1);
      if (type == 3) {
        put_u16le(tiff, at + 8, value);
      } else {
        put_u32le(tiff, at + 8, value);
      }
    };
    tiff.insert(tiff.end(), {8, 0});
    entry(256, 3, 12);  // ImageWidth
    entry(257, 3, 1);   // ImageLength
    entry(258, 3, 16);  // BitsPerSample
    entry(259, 3, 1);   // Compression: none
    entry(262, 3, 1);   // PhotometricInterpretation: BlackIsZero
    entry(273, 4, 8);   // StripOffsets
    entry(278, 3, 1);   // RowsPerStrip
    entry(279, 4, 24);  // StripByteCounts
    tiff.insert(tiff.end(), {0, 0, 0, 0});
    const auto image = decode(tiff);
    REQUIRE(image);
    CHECK(image->frames.front().channels == 1);
    CHECK(image->frames.front().data == narrow);
  }
}

TEST_CASE("PNG colour chunks do not change the stored samples") {
  const std::vector<unsigned> samples{0, 10, 100, 128, 200, 255};
  const std::vector<std::uint8_t> expected(samples.begin(), samples.end());
  for (std::uint32_t gamma : {100000U, 45455U, 22000U}) {
    INFO(gamma);
    const auto png =
        hg_test::png_builder::build(6, 1, 8, 0, samples, hg_test::png_builder::gama(gamma));
    const auto image = decode(png);
    REQUIRE(image);
    CHECK(image->frames.front().data == expected);
  }
}

TEST_CASE("low bit depths and palettes expand to 8 bits") {
  SECTION("2-bit grey") {
    const auto png = hg_test::png_builder::build(5, 1, 2, 0, {0, 1, 2, 3, 1});
    const auto two_bit = decode(png);
    REQUIRE(two_bit);
    CHECK(two_bit->frames.front().data == std::vector<std::uint8_t>{0, 85, 170, 255, 85});
  }
  SECTION("4-bit palette") {
    std::vector<std::uint8_t> plte;
    hg_test::png_builder::chunk(plte, "PLTE", {0, 0, 0, 10, 20, 30, 40, 50, 60});
    const auto png = hg_test::png_builder::build(3, 1, 4, 3, {2, 1, 0}, plte);
    const auto image = decode(png);
    REQUIRE(image);
    CHECK(image->frames.front().data == std::vector<std::uint8_t>{40, 50, 60, 10, 20, 30, 0, 0, 0});
  }
  SECTION("palette with tRNS keeps the palette colour of transparent entries") {
    std::vector<std::uint8_t> chunks;
    hg_test::png_builder::chunk(chunks, "PLTE", {255, 0, 0, 0, 255, 0});
    hg_test::png_builder::chunk(chunks, "tRNS", {0});  // entry 0 fully transparent
    const auto png = hg_test::png_builder::build(2, 1, 8, 3, {0, 1}, chunks);
    const auto image = decode(png);
    REQUIRE(image);
    CHECK(image->frames.front().channels == 3);
    CHECK(image->frames.front().data == std::vector<std::uint8_t>{255, 0, 0, 0, 255, 0});
  }
}

TEST_CASE("a top-down BMP (negative height) decodes like the bottom-up one") {
  auto bytes = data_file("rgb24.bmp");
  const auto bottom_up = decode(bytes);
  REQUIRE(bottom_up);
  put_u32le(bytes, 22, static_cast<std::uint32_t>(-48));
  flip_bmp_rows(bytes, 64, 48, 3);
  const auto top_down = decode(bytes);
  REQUIRE(top_down);
  CHECK(top_down->height == 48);
  CHECK(top_down->frames.front().data == bottom_up->frames.front().data);
}

TEST_CASE("1x1 and 4x4 images decode") {
  for (const char* name : {"one.png", "one.jpg", "four.png"}) {
    INFO(name);
    const auto image = decode(data_file(name));
    REQUIRE(image);
    CHECK(image->frames.front().width == image->frames.front().height);
  }
  const auto one = decode(data_file("one.png"));
  REQUIRE(one);
  CHECK(one->frames.front().data == std::vector<std::uint8_t>{0x33, 0x66, 0x99});
}

TEST_CASE("an animated GIF decodes every frame, composited as the disposal methods say") {
  // Palette: 0 black, 1 red, 2 green, 3 blue, 4 white (background), 5 magenta (transparent).
  const std::vector<GifColorType> palette{colour(0, 0, 0),       colour(255, 0, 0),
                                          colour(0, 255, 0),     colour(0, 0, 255),
                                          colour(255, 255, 255), colour(255, 0, 255)};
  constexpr int w = 8;
  constexpr int h = 6;
  std::vector<hg_test::gif_frame> frames;
  // 0: all red, left in place.
  frames.push_back(
      hg_test::make_frame(0, 0, w, h, std::vector<std::uint8_t>(w * h, 1), DISPOSE_DO_NOT));
  // 1: a green 4x2 block at (2,2) whose first pixel is transparent; then restore background.
  {
    auto f =
        hg_test::make_frame(2, 2, 4, 2, std::vector<std::uint8_t>(8, 2), DISPOSE_BACKGROUND, 5);
    f.indices[0] = 5;
    frames.push_back(f);
  }
  // 2: a blue 2x2 block at (0,0), then restore the previous canvas.
  frames.push_back(
      hg_test::make_frame(0, 0, 2, 2, std::vector<std::uint8_t>(4, 3), DISPOSE_PREVIOUS));
  // 3: one green pixel at (7,5).
  frames.push_back(hg_test::make_frame(7, 5, 1, 1, {2}, DISPOSE_DO_NOT));
  // 4: interlaced full frame, row y in local colour y % 4 (local table: black, red, green, blue).
  {
    auto f = hg_test::make_frame(0, 0, w, h, std::vector<std::uint8_t>(w * h), DISPOSE_DO_NOT);
    for (int y = 0; y < h; ++y) std::fill_n(f.indices.begin() + y * w, w, y % 4);
    f.interlace = true;
    f.local_colours = {colour(0, 0, 0), colour(255, 0, 0), colour(0, 255, 0), colour(0, 0, 255)};
    frames.push_back(f);
  }
  // 5: a blue 4x4 frame at (6,4), hanging over the canvas edge.
  frames.push_back(
      hg_test::make_frame(6, 4, 4, 4, std::vector<std::uint8_t>(16, 3), DISPOSE_DO_NOT));
  const auto bytes = hg_test::gif_builder::build(w, h, 4, palette, frames);

  using rgb = std::array<std::uint8_t, 3>;
  auto at = [&](const pixels& p, int x, int y) {
    const std::size_t i = (static_cast<std::size_t>(y) * w + static_cast<std::size_t>(x)) * 3;
    return rgb{p.data[i], p.data[i + 1], p.data[i + 2]};
  };
  const rgb red{255, 0, 0}, green{0, 255, 0}, blue{0, 0, 255}, white{255, 255, 255};

  const auto image = decode(bytes);
  REQUIRE(image);
  CHECK(image->format == image_format::gif);
  CHECK(image->frames_in_file == 6);
  REQUIRE(image->frames.size() == 6);
  CHECK_FALSE(image->damaged);
  for (const pixels& p : image->frames) {
    CHECK(p.width == w);
    CHECK(p.height == h);
    CHECK(p.channels == 3);
  }
  const auto& f = image->frames;
  CHECK(at(f[0], 0, 0) == red);
  CHECK(at(f[0], 7, 5) == red);
  CHECK(at(f[1], 2, 2) == red);  // transparent: the canvas shows through
  CHECK(at(f[1], 3, 2) == green);
  CHECK(at(f[1], 5, 3) == green);
  CHECK(at(f[1], 6, 3) == red);
  CHECK(at(f[2], 0, 0) == blue);
  CHECK(at(f[2], 1, 1) == blue);
  CHECK(at(f[2], 3, 2) == white);  // frame 1's block restored to the background
  CHECK(at(f[2], 2, 2) == white);
  CHECK(at(f[3], 0, 0) == red);  // frame 2 restored to the canvas before it
  CHECK(at(f[3], 3, 3) == white);
  CHECK(at(f[3], 7, 5) == green);
  for (int y = 0; y < h; ++y) {
    const std::array<rgb, 4> row_colour{rgb{0, 0, 0}, red, green, blue};
    CHECK(at(f[4], 3, y) == row_colour[static_cast<std::size_t>(y % 4)]);
  }
  CHECK(at(f[5], 6, 4) == blue);
  CHECK(at(f[5], 7, 5) == blue);
  CHECK(at(f[5], 5, 5) == at(f[4], 5, 5));

  SECTION("the frame cap ends the animation") {
    decode_limits limits;
    limits.max_frames = 3;
    const auto capped = decode(bytes, limits);
    REQUIRE(capped);
    CHECK(capped->frames.size() == 3);
    CHECK(capped->frames_in_file == 6);
    CHECK(capped->frames[2].data == f[2].data);
  }
  SECTION("the total pixel cap ends the animation") {
    decode_limits limits;
    limits.max_total_pixels = 2 * w * h + 1;
    const auto capped = decode(bytes, limits);
    REQUIRE(capped);
    CHECK(capped->frames.size() == 2);
  }
  SECTION("frames far larger than the screen count their own area against the total") {
    // Four 1000 x 1000 frames on a 4 x 4 screen: 16 canvas pixels each, a million decoded.
    std::vector<hg_test::gif_frame> huge;
    for (int i = 0; i < 4; ++i) {
      huge.push_back(hg_test::make_frame(0, 0, 1000, 1000, std::vector<std::uint8_t>(1'000'000, 1),
                                         DISPOSE_DO_NOT));
    }
    const auto file = hg_test::gif_builder::build(4, 4, 4, palette, huge);
    decode_limits limits;
    limits.max_total_pixels = 2'500'000;
    const auto capped = decode(file, limits);
    REQUIRE(capped);
    CHECK(capped->frames.size() == 2);
    CHECK(capped->frames_in_file == 4);
  }
  SECTION("the decode byte budget holds for all the frames' buffers together") {
    // Every frame is a kept RGB canvas; frame 2 ("restore to previous") also needs a saved
    // canvas from then on.
    const std::uint64_t canvas = std::uint64_t{w} * h * 3;
    decode_limits limits;
    limits.max_decode_bytes = 3 * canvas;  // frames 0, 1; frame 2 would hold 2 + 1 + saved
    auto capped = decode(bytes, limits);
    REQUIRE(capped);
    CHECK(capped->frames.size() == 2);
    CHECK(capped->frames_in_file == 6);
    limits.max_decode_bytes = 4 * canvas;  // frames 0, 1, 2 and the saved canvas
    capped = decode(bytes, limits);
    REQUIRE(capped);
    CHECK(capped->frames.size() == 3);
    CHECK(capped->frames[2].data == f[2].data);
  }
  SECTION("a GIF cut inside a frame keeps the frames before it and the rows read") {
    // The first five frames only, cut inside the last one's image data.
    auto first_five = hg_test::gif_builder::build(
        w, h, 4, palette, std::vector<hg_test::gif_frame>(frames.begin(), frames.begin() + 5));
    first_five.resize(first_five.size() - 12);
    const auto partial = decode(first_five);
    REQUIRE(partial);
    CHECK(partial->damaged);
    // The fifth frame's one data sub-block is incomplete, so giflib reads none of its rows
    // and the frame is left out.
    REQUIRE(partial->frames.size() == 4);
    CHECK(partial->frames[3].data == f[3].data);
  }
  SECTION("a decoder reused across images gives the same frames") {
    decoder d;
    decoded_image out;
    REQUIRE(d.decode(bytes, out));
    REQUIRE(d.decode(data_file("rgb.jpg"), out));
    CHECK(out.frames.size() == 1);
    REQUIRE(d.decode(bytes, out));
    REQUIRE(out.frames.size() == 6);
    CHECK(out.frames[5].data == f[5].data);
  }
}

TEST_CASE("a still GIF decodes to one frame of the logical screen") {
  const auto image = decode(data_file("still.gif"));
  REQUIRE(image);
  CHECK(image->frames.size() == 1);
  CHECK(image->frames_in_file == 1);
}

TEST_CASE("hostile and odd input gives a clear error") {
  SECTION("empty") {
    CHECK(decode({}).error() == errc::empty);
  }
  SECTION("one byte") {
    const std::vector<std::uint8_t> zero{0x00};
    CHECK(decode(zero).error() == errc::unsupported_format);
    const std::vector<std::uint8_t> ff{0xFF};  // the first byte of a JPEG's magic
    CHECK(decode(ff).error() == errc::truncated);
  }
  SECTION("wrong magic") {
    const std::string text = "<html><body>not an image</body></html>";
    const std::vector<std::uint8_t> bytes(text.begin(), text.end());
    CHECK(decode(bytes).error() == errc::unsupported_format);
  }
  SECTION("a JPEG cut inside its header") {
    auto bytes = data_file("rgb.jpg");
    bytes.resize(jpeg_sof_offset(bytes) + 4);
    CHECK(decode(bytes).error() == errc::truncated);
  }
  SECTION("a JPEG cut after its header decodes with the missing part filled, marked damaged") {
    const auto whole = decode(data_file("rgb.jpg"));
    auto bytes = data_file("rgb.jpg");
    bytes.resize(bytes.size() * 2 / 3);
    const auto cut = decode(bytes);
    REQUIRE(cut);
    CHECK(cut->damaged);
    CHECK(cut->width == 64);
    CHECK(cut->frames.front().data != whole->frames.front().data);
    // The top rows were read before the cut.
    CHECK(std::equal(cut->frames.front().data.begin(), cut->frames.front().data.begin() + 64 * 3,
                     whole->frames.front().data.begin()));
  }
  SECTION("stray bytes before a JPEG marker are skipped with a warning, as libjpeg does") {
    const auto whole = decode(data_file("rgb.jpg"));
    auto bytes = data_file("rgb.jpg");
    const std::array<std::uint8_t, 2> dqt_marker{0xFF, 0xDB};
    const auto dqt = static_cast<std::size_t>(
        std::search(bytes.begin(), bytes.end(), dqt_marker.begin(), dqt_marker.end()) -
        bytes.begin());
    REQUIRE(dqt < bytes.size());
    const std::vector<std::uint8_t> junk{0x00, 0x12, 0x34};
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(dqt), junk.begin(), junk.end());
    const auto r = decode(bytes);
    REQUIRE(r);
    CHECK(r->damaged);
    CHECK(r->frames.front().data == whole->frames.front().data);
  }
  SECTION("a JPEG whose entropy data is garbage") {
    auto bytes = data_file("rgb.jpg");
    for (std::size_t i = bytes.size() / 2; i < bytes.size() - 2; ++i) {
      bytes[i] = static_cast<std::uint8_t>(i * 37);
    }
    const auto r = decode(bytes);
    if (r) {
      CHECK(r->damaged);
    } else {
      CHECK(r.error() == errc::corrupt);
    }
  }
  SECTION("a PNG cut inside IHDR") {
    auto bytes = data_file("rgb.png");
    bytes.resize(20);
    CHECK(decode(bytes).error() == errc::truncated);
  }
  SECTION("a PNG cut inside its image data keeps the rows read, marked damaged") {
    // Noise does not compress, so the IDAT is far larger than libpng's 8 KiB read size.
    std::vector<unsigned> noise(64 * 256 * 3);
    std::uint32_t state = 12345;
    for (unsigned& v : noise) {
      state = state * 1103515245U + 12345U;
      v = (state >> 16) & 0xFF;
    }
    const auto bytes = hg_test::png_builder::build(64, 256, 8, 2, noise);
    const auto whole = decode(bytes);
    REQUIRE(whole);
    const auto cut = decode(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 30000));
    REQUIRE(cut);
    CHECK(cut->damaged);
    const auto& a = cut->frames.front().data;
    const auto& b = whole->frames.front().data;
    CHECK(std::equal(a.begin(), a.begin() + 64 * 3 * 64, b.begin()));  // the first 64 rows
    CHECK(a.back() == 0);                                              // unread rows: black
    CHECK(a != b);
  }
  SECTION("a PNG cut before its first row") {
    auto bytes = data_file("rgb.png");
    bytes.resize(60);
    CHECK(decode(bytes).error() == errc::truncated);
  }
  SECTION("a PNG without IEND decodes whole") {
    auto bytes = data_file("rgb.png");
    bytes.resize(bytes.size() - 12);
    const auto r = decode(bytes);
    REQUIRE(r);
    CHECK_FALSE(r->damaged);
  }
  SECTION("a PNG with a broken CRC") {
    auto bytes = data_file("rgb.png");
    bytes[29] ^= 0xFF;  // IHDR's CRC
    CHECK(decode(bytes).error() == errc::corrupt);
  }
  SECTION("a WebP, BMP and TIFF cut in half") {
    for (const char* name : {"lossless.webp", "lossy.webp", "rgb24.bmp", "rgb_le.tiff"}) {
      INFO(name);
      auto bytes = data_file(name);
      bytes.resize(bytes.size() / 2);
      const auto r = decode(bytes);
      // OpenCV decodes some truncated files partially; either way no crash and no lie about
      // the size.
      if (r) {
        CHECK(r->frames.front().width == 64);
      } else {
        CHECK((r.error() == errc::corrupt || r.error() == errc::truncated));
      }
    }
  }
  SECTION("an animated WebP is unsupported") {
    auto bytes = data_file("lossless.webp");
    // Replace the VP8L chunk header with a VP8X header whose flags announce an animation.
    std::vector<std::uint8_t> vp8x{'R',  'I', 'F', 'F', 0,   0,   0,  0,  'W', 'E',
                                   'B',  'P', 'V', 'P', '8', 'X', 10, 0,  0,   0,
                                   0x02, 0,   0,   0,   63,  0,   0,  47, 0,   0};
    vp8x.insert(vp8x.end(), bytes.begin() + 12, bytes.end());
    put_u32le(vp8x, 4, static_cast<std::uint32_t>(vp8x.size() - 8));
    CHECK(decode(vp8x).error() == errc::unsupported_format);
  }
}

TEST_CASE("65535x65535 headers are refused before any pixel memory is allocated") {
  // Each file is a real, small image whose header now claims 65535x65535 (4.3 GP): without the
  // cap the decoder would try to allocate 12 GiB, which fails the sanitizer run.
  constexpr std::uint32_t huge = 65535;
  SECTION("PNG (IHDR, CRC fixed so libpng would accept it)") {
    auto bytes = data_file("rgb.png");
    put_u32be(bytes, 16, huge);
    put_u32be(bytes, 20, huge);
    const auto crc = crc32(crc32(0, nullptr, 0), bytes.data() + 12, 17);
    put_u32be(bytes, 29, static_cast<std::uint32_t>(crc));
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("JPEG (SOF)") {
    auto bytes = data_file("rgb.jpg");
    const std::size_t sof = jpeg_sof_offset(bytes);
    put_u16be(bytes, sof + 3, huge);
    put_u16be(bytes, sof + 5, huge);
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("progressive JPEG (SOF2)") {
    auto bytes = data_file("progressive.jpg");
    const std::size_t sof = jpeg_sof_offset(bytes);
    REQUIRE(bytes[sof - 1] == 0xC2);
    put_u16be(bytes, sof + 3, huge);
    put_u16be(bytes, sof + 5, huge);
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("GIF (logical screen)") {
    auto bytes = data_file("still.gif");
    put_u16le(bytes, 6, huge);
    put_u16le(bytes, 8, huge);
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("GIF (a frame far larger than a small screen)") {
    const std::vector<GifColorType> palette{colour(0, 0, 0), colour(255, 255, 255)};
    auto bytes = hg_test::gif_builder::build(
        4, 4, 0, palette,
        {hg_test::make_frame(0, 0, 4, 4, std::vector<std::uint8_t>(16, 1), DISPOSE_DO_NOT)});
    // Image descriptor: 0x2C, left, top, width, height (after the 8-byte GCE at 13 + 3*2*2).
    const auto desc =
        static_cast<std::size_t>(std::find(bytes.begin() + 13, bytes.end(), 0x2C) - bytes.begin());
    put_u16le(bytes, desc + 5, huge);
    put_u16le(bytes, desc + 7, huge);
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("WebP (VP8X canvas)") {
    std::vector<std::uint8_t> bytes{'R', 'I', 'F', 'F', 22,   0,    0,  0,    'W',  'E',
                                    'B', 'P', 'V', 'P', '8',  'X',  10, 0,    0,    0,
                                    0,   0,   0,   0,   0xFE, 0xFF, 0,  0xFE, 0xFF, 0};
    const auto lossless = data_file("lossless.webp");
    bytes.insert(bytes.end(), lossless.begin() + 12, lossless.end());
    put_u32le(bytes, 4, static_cast<std::uint32_t>(bytes.size() - 8));
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("WebP (VP8L at its 16384x16384 maximum, over a smaller cap)") {
    auto bytes = data_file("lossless.webp");
    put_u32le(bytes, 21, 0x0FFFFFFF);  // 14 bits each of width-1 and height-1 all set
    decode_limits limits;
    limits.max_pixels = 16384U * 16384U - 1;
    CHECK(decode(bytes, limits).error() == errc::too_many_pixels);
  }
  SECTION("BMP (bottom-up and top-down)") {
    auto bytes = data_file("rgb24.bmp");
    put_u32le(bytes, 18, huge);
    put_u32le(bytes, 22, huge);
    CHECK(decode(bytes).error() == errc::too_many_pixels);
    put_u32le(bytes, 22, static_cast<std::uint32_t>(-static_cast<std::int32_t>(huge)));
    CHECK(decode(bytes).error() == errc::too_many_pixels);
  }
  SECTION("TIFF (little- and big-endian)") {
    auto bytes = data_file("rgb_le.tiff");
    patch_tiff_le(bytes, huge, huge);
    CHECK(decode(bytes).error() == errc::too_many_pixels);
    // Big-endian: a hand-made header with SHORT ImageWidth and ImageLength.
    const std::vector<std::uint8_t> be{'M', 'M', 0, 42, 0, 0, 0,    8,  // header, IFD at 8
                                       0,   2,                          // two entries
                                       1,   0,   0, 3,  0, 0, 0,    1,    0xFF, 0xFF, 0, 0, 1, 1,
                                       0,   3,   0, 0,  0, 1, 0xFF, 0xFF, 0,    0,    0, 0, 0, 0};
    CHECK(decode(be).error() == errc::too_many_pixels);
  }
}

TEST_CASE("the byte and pixel caps are configurable") {
  const auto bytes = data_file("rgb.jpg");
  decode_limits limits;
  limits.max_bytes = bytes.size() - 1;
  CHECK(decode(bytes, limits).error() == errc::too_large);
  limits.max_bytes = bytes.size();
  CHECK(decode(bytes, limits));
  limits.max_pixels = 64 * 48 - 1;
  CHECK(decode(bytes, limits).error() == errc::too_many_pixels);
  limits.max_pixels = 64 * 48;
  CHECK(decode(bytes, limits));

  decoder d(limits);
  const auto header = d.check(bytes);
  REQUIRE(header);
  CHECK(header->format == image_format::jpeg);
  CHECK(header->width == 64);
}

TEST_CASE("decoding damaged WebP BMP and TIFF files prints nothing") {
  // The decoders are a library: libtiff's warnings and errors go to per-handle handlers that
  // drop them (OpenCV, the decoder before, printed its exceptions to stderr). Everything
  // written to file descriptor 2 while decoding is caught in a temporary file.
  std::FILE* caught = std::tmpfile();
  REQUIRE(caught != nullptr);
  std::fflush(stderr);
  const int saved = dup(2);
  dup2(fileno(caught), 2);
  std::size_t decoded = 0;
  std::size_t refused = 0;
  for (const char* name : {"rgb_le.tiff", "rgb_be.tiff", "grey.tiff", "rgb16.tiff", "rgb24.bmp",
                           "palette4.bmp", "lossless.webp", "lossy.webp"}) {
    const auto original = data_file(name);
    for (std::size_t step = 0; step < 64; ++step) {
      auto bytes = original;
      const std::size_t at = 8 + (step * 7919) % (bytes.size() - 8);
      bytes[at] = static_cast<std::uint8_t>(bytes[at] ^ (0x55 + step));
      (decode(bytes) ? decoded : refused) += 1;
    }
  }
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  struct stat caught_stat {};
  REQUIRE(fstat(fileno(caught), &caught_stat) == 0);
  const auto written = caught_stat.st_size;
  std::fclose(caught);
  CHECK(written == 0);
  CHECK(decoded > 0);
  CHECK(refused > 0);
}

TEST_CASE("damaged files never crash the decoders") {
  // Deterministic byte damage at many offsets in every synthetic file: any result is fine as
  // long as it is a value (the sanitizer run checks memory safety).
  const auto rows = hg_test::read_csv(hg_test::scanner_data_dir() / "expected.csv");
  decoder d;
  decoded_image out;
  std::size_t decoded = 0;
  std::size_t refused = 0;
  for (const auto& row : rows) {
    const auto original = data_file(row.at("file"));
    for (std::size_t step = 0; step < 24; ++step) {
      auto bytes = original;
      const std::size_t at = (step * 7919 + 13) % bytes.size();
      bytes[at] = static_cast<std::uint8_t>(bytes[at] ^ (0x5A + step));
      if (step % 3 == 0) bytes.resize(std::max<std::size_t>(1, at));
      const auto r = d.decode(bytes, out);
      if (r) {
        ++decoded;
        REQUIRE_FALSE(out.frames.empty());
        for (const pixels& p : out.frames) {
          CHECK(p.data.size() == std::size_t{p.width} * p.height * p.channels);
        }
      } else {
        ++refused;
        CHECK(out.frames.empty());
        CHECK(hashguard::core::error_name(r.error()) != "unknown");
      }
    }
  }
  CHECK(decoded > 0);
  CHECK(refused > 0);
}

// Regressions found by the fuzzers (tests/fuzz): each input is also in the target's corpus.
// A decoder reused for the next image must give what a fresh one gives: pixels it does not
// write would otherwise carry the previous image into this one.
TEST_CASE("a JPEG lacking a table never borrows the previous image's") {
  // Its one DQT defines table 1, while its components use table 0. libjpeg keeps the tables
  // of the last image in a decompressor and would quietly use them here (abbreviated
  // datastreams); the decoder must refuse the file whatever it decoded before.
  const auto previous = data_file("fuzz/gradient-24x16.jpg");
  const auto missing = data_file("fuzz/jpeg-missing-table.jpg");
  decoder reused;
  decoded_image out;
  REQUIRE(reused.decode(previous, out));
  REQUIRE(out.width == 24);
  const auto r = reused.decode(missing, out);
  CHECK(r.error() == errc::corrupt);
  CHECK(out.frames.empty());
  decoder fresh;
  const auto expected = fresh.decode(missing);
  CHECK(expected.error() == errc::corrupt);
  // And the decoder still decodes the good file afterwards, to the same pixels.
  const auto again = reused.decode(previous);
  const auto first = fresh.decode(previous);
  REQUIRE(again);
  REQUIRE(first);
  CHECK(again->frames[0].data == first->frames[0].data);
}

TEST_CASE("a TIFF whose deflate strip is damaged is refused, never decoded from stale memory") {
  // rgb16.tiff with bytes of its deflate strip changed: libtiff takes the first 18432 inflated
  // bytes and ignores the broken checksum, and OpenCV 4.6 then filled the last pixels from
  // uninitialised memory (the hash depended on what the process had freed before).
  const auto damaged = data_file("fuzz/tiff-bad-deflate-checksum.tiff");
  const auto r = decode(damaged);
  CHECK(r.error() == errc::corrupt);
  // The undamaged original still decodes.
  CHECK(decode(data_file("rgb16.tiff")));
}

namespace {

// An 8-bit grey TIFF of width x height whose strips are the given (offset, byte count) pairs.
hg_test::tiff_builder grey_tiff(std::uint32_t width, std::uint32_t height,
                                std::uint32_t rows_per_strip, std::uint32_t compression) {
  hg_test::tiff_builder t;
  t.entry(256, 4, {width}).entry(257, 4, {height}).entry(258, 3, {8});
  t.entry(259, 3, {compression}).entry(262, 3, {1}).entry(277, 3, {1});
  t.entry(278, 4, {rows_per_strip});
  return t;
}

std::vector<std::uint8_t> with_strips(hg_test::tiff_builder t,
                                      const std::vector<std::uint32_t>& offsets,
                                      const std::vector<std::uint32_t>& counts) {
  t.entry(273, 4, offsets).entry(279, 4, counts);
  return t.build();
}

}  // namespace

TEST_CASE("a TIFF whose strips demand more work than its image needs is refused quickly") {
  using clock = std::chrono::steady_clock;
  // 16 MiB of zeros: one deflate stream of about 16 KiB.
  const auto zeros = hg_test::tiff_builder::deflate(std::vector<std::uint8_t>(16U << 20U, 0));
  const auto started = clock::now();
  SECTION("100,000 strips for a 1x1 image, all naming one stream") {
    auto t = grey_tiff(1, 1, 1, 8);
    const std::uint32_t at = t.append(zeros);
    const std::vector<std::uint32_t> offsets(100'000, at);
    const std::vector<std::uint32_t> counts(100'000, static_cast<std::uint32_t>(zeros.size()));
    CHECK(decode(with_strips(t, offsets, counts)).error() == errc::corrupt);
  }
  SECTION("a deflate strip that inflates past what its strip holds") {
    auto t = grey_tiff(1, 1, 1, 8);
    const std::uint32_t at = t.append(zeros);
    const auto bytes = with_strips(t, {at}, {static_cast<std::uint32_t>(zeros.size())});
    CHECK(decode(bytes).error() == errc::corrupt);
  }
  SECTION("as many strips as rows, all naming one (valid) stream") {
    const auto row = hg_test::tiff_builder::deflate({7, 7, 7, 7});
    auto t = grey_tiff(4, 64, 1, 8);
    const std::uint32_t at = t.append(row);
    const std::vector<std::uint32_t> offsets(64, at);
    const std::vector<std::uint32_t> counts(64, static_cast<std::uint32_t>(row.size()));
    CHECK(decode(with_strips(t, offsets, counts)).error() == errc::corrupt);
  }
  SECTION("two uncompressed strips sharing a byte") {
    auto t = grey_tiff(2, 2, 1, 1);
    const std::uint32_t at = t.append({1, 2, 3, 4});
    CHECK(decode(with_strips(t, {at, at + 1}, {2, 2})).error() == errc::corrupt);
    CHECK(decode(with_strips(t, {at + 2, at + 2}, {2, 2})).error() == errc::corrupt);
    // Side by side they decode.
    const auto fine = decode(with_strips(t, {at, at + 2}, {2, 2}));
    REQUIRE(fine);
    CHECK(fine->frames.front().data == std::vector<std::uint8_t>{1, 2, 3, 4});
  }
  SECTION("more tiles than the image needs") {
    const auto tile = hg_test::tiff_builder::deflate(std::vector<std::uint8_t>(16 * 16, 9));
    hg_test::tiff_builder t;
    t.entry(256, 4, {5}).entry(257, 4, {7}).entry(258, 3, {8}).entry(259, 3, {8});
    t.entry(262, 3, {1}).entry(322, 3, {16}).entry(323, 3, {16});
    const std::uint32_t a = t.append(tile);
    const std::uint32_t b = t.append(tile);
    const auto size = static_cast<std::uint32_t>(tile.size());
    t.entry(324, 4, {a, b}).entry(325, 4, {size, size});
    CHECK(decode(t.build()).error() == errc::corrupt);
  }
  SECTION("a tile far larger than the image") {
    const auto tile = hg_test::tiff_builder::deflate(std::vector<std::uint8_t>(8192 * 4096, 9));
    hg_test::tiff_builder t;
    t.entry(256, 4, {1}).entry(257, 4, {1}).entry(258, 3, {8}).entry(259, 3, {8});
    t.entry(262, 3, {1}).entry(322, 3, {8192}).entry(323, 3, {4096});  // 32 MiB for 1 pixel
    const std::uint32_t at = t.append(tile);
    t.entry(324, 4, {at}).entry(325, 4, {static_cast<std::uint32_t>(tile.size())});
    CHECK(decode(t.build()).error() == errc::corrupt);
  }
  CHECK(clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("multi-strip and tiled TIFFs still decode to their pixels") {
  // 5x7 grey, three strips of 3, 3 and 1 rows.
  std::vector<std::uint8_t> grey(5 * 7);
  for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<std::uint8_t>(i * 7);
  const auto rows = [&](std::size_t first, std::size_t count) {
    return std::vector<std::uint8_t>(
        grey.begin() + static_cast<std::ptrdiff_t>(first * 5),
        grey.begin() + static_cast<std::ptrdiff_t>((first + count) * 5));
  };
  const auto check_pixels = [&](const std::vector<std::uint8_t>& bytes) {
    const auto image = decode(bytes);
    REQUIRE(image);
    CHECK(image->width == 5);
    CHECK(image->height == 7);
    CHECK(image->frames.front().channels == 1);
    CHECK(image->frames.front().data == grey);
  };
  SECTION("deflate strips stored out of order") {
    auto t = grey_tiff(5, 7, 3, 8);
    std::vector<std::vector<std::uint8_t>> strips{hg_test::tiff_builder::deflate(rows(0, 3)),
                                                  hg_test::tiff_builder::deflate(rows(3, 3)),
                                                  hg_test::tiff_builder::deflate(rows(6, 1))};
    const std::uint32_t last = t.append(strips[2]);
    const std::uint32_t first = t.append(strips[0]);
    const std::uint32_t middle = t.append(strips[1]);
    std::vector<std::uint32_t> counts;
    for (const auto& s : strips) counts.push_back(static_cast<std::uint32_t>(s.size()));
    check_pixels(with_strips(t, {first, middle, last}, counts));
  }
  SECTION("uncompressed strips, the last padded to the full strip") {
    auto t = grey_tiff(5, 7, 3, 1);
    auto padded = rows(6, 1);
    padded.resize(15, 0);
    const std::uint32_t a = t.append(rows(0, 3));
    const std::uint32_t b = t.append(rows(3, 3));
    const std::uint32_t c = t.append(padded);
    check_pixels(with_strips(t, {a, b, c}, {15, 15, 15}));
  }
  SECTION("one deflate tile larger than the image") {
    std::vector<std::uint8_t> tile(16 * 16, 0);
    for (std::size_t y = 0; y < 7; ++y) {
      std::copy_n(grey.begin() + static_cast<std::ptrdiff_t>(y * 5), 5,
                  tile.begin() + static_cast<std::ptrdiff_t>(y * 16));
    }
    const auto packed = hg_test::tiff_builder::deflate(tile);
    hg_test::tiff_builder t;
    t.entry(256, 4, {5}).entry(257, 4, {7}).entry(258, 3, {8}).entry(259, 3, {8});
    t.entry(262, 3, {1}).entry(322, 3, {16}).entry(323, 3, {16});
    const std::uint32_t at = t.append(packed);
    t.entry(324, 4, {at}).entry(325, 4, {static_cast<std::uint32_t>(packed.size())});
    check_pixels(t.build());
  }
}

TEST_CASE("the decode byte budget counts each format's bytes per pixel, before decoding") {
  struct sample {
    const char* file;
    std::uint32_t bytes_per_pixel;
  };
  const std::vector<sample> samples{
      {"rgb.jpg", 3},    {"grey.jpg", 1},       {"cmyk.jpg", 7},    {"progressive.jpg", 3},
      {"rgb.png", 3},    {"grey.png", 1},       {"rgb16.png", 6},   {"grey16.png", 2},
      {"rgba16.png", 6}, {"grey_alpha.png", 1}, {"palette.png", 3}, {"grey1.png", 1},
      {"still.gif", 3},  {"anim.gif", 3},       {"lossy.webp", 3},  {"lossless.webp", 4},
      {"rgb24.bmp", 3},  {"palette8.bmp", 3},   {"rgb_le.tiff", 4}, {"rgb_be.tiff", 4},
      {"rgb16.tiff", 6}, {"grey.tiff", 2}};
  for (const auto& s : samples) {
    INFO(s.file);
    const auto bytes = data_file(s.file);
    const auto header = decoder().check(bytes);
    REQUIRE(header);
    CHECK(header->bytes_per_pixel == s.bytes_per_pixel);
    decode_limits limits;
    limits.max_decode_bytes = header->largest_frame_pixels * s.bytes_per_pixel;
    CHECK(decode(bytes, limits));
    limits.max_decode_bytes -= 1;
    CHECK(decode(bytes, limits).error() == errc::too_many_pixels);
    CHECK(decoder(limits).check(bytes).error() == errc::too_many_pixels);
  }
}

TEST_CASE("a 100 MP 16-bit RGBA TIFF is over the default budget and an 8-bit RGBA one is not") {
  const auto header_only = [](std::uint32_t bits) {
    hg_test::tiff_builder t;
    t.entry(256, 4, {10'000}).entry(257, 4, {10'000}).entry(258, 3, {bits, bits, bits, bits});
    t.entry(262, 3, {2}).entry(277, 3, {4});
    return t.build();
  };
  const decoder d;
  CHECK(d.check(header_only(16)).error() == errc::too_many_pixels);  // 800 MB
  const auto rgba8 = d.check(header_only(8));                        // 400 MB
  REQUIRE(rgba8);
  CHECK(rgba8->bytes_per_pixel == 4);
}

TEST_CASE("TIFF samples the decoders cannot reduce to 8 bits are refused before decoding") {
  for (const std::uint32_t format : {2U, 3U}) {  // signed, IEEE float
    INFO("SampleFormat " << format);
    hg_test::tiff_builder t;
    t.entry(256, 4, {2}).entry(257, 4, {2}).entry(258, 3, {32}).entry(262, 3, {1});
    t.entry(339, 3, {format});
    const std::uint32_t at = t.append(std::vector<std::uint8_t>(16, 0));
    t.entry(273, 4, {at}).entry(279, 4, {16}).entry(278, 4, {2});
    CHECK(decoder().check(t.build()).error() == errc::unsupported_format);
    CHECK(decode(t.build()).error() == errc::unsupported_format);
  }
}

// Property: whatever a generated TIFF or GIF declares, decoding it takes time in proportion to
// its image, never to what its structure can make a decoder repeat. Each input is built to
// tempt amplification (strips and tiles repeated, overlapping or oversized, deflate streams of
// 64 MiB of zeros, frames far outside a small screen) and must finish within the budget.
TEST_CASE("generated hostile TIFFs and GIFs each decode within a time budget") {
  using clock = std::chrono::steady_clock;
  constexpr auto budget = std::chrono::milliseconds(1000);
  std::mt19937 random(20261207);  // fixed seed: a failure reproduces
  const auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(random);
  };
  decode_limits limits;  // small caps, as the fuzz targets use, so a legitimate decode is fast
  limits.max_pixels = 1U << 20U;
  limits.max_total_pixels = 1U << 22U;
  limits.max_frames = 8;
  decoder d(limits);
  auto slowest = clock::duration::zero();
  const auto timed = [&](const std::vector<std::uint8_t>& bytes) {
    const auto started = clock::now();
    (void)d.decode(bytes);
    const auto took = clock::now() - started;
    slowest = std::max(slowest, took);
    return took;
  };

  SECTION("TIFF") {
    const auto zeros = hg_test::tiff_builder::deflate(std::vector<std::uint8_t>(64U << 20U, 0));
    for (int round = 0; round < 200; ++round) {
      const std::uint32_t width = pick(1, 64);
      const std::uint32_t height = pick(1, 64);
      const std::uint32_t samples = pick(0, 1) == 0 ? 1 : 3;
      const std::uint32_t bits = pick(0, 1) == 0 ? 8 : 16;
      const std::uint32_t compression = std::array<std::uint32_t, 3>{1, 8, 32773}[pick(0, 2)];
      hg_test::tiff_builder t;
      t.entry(256, 4, {width}).entry(257, 4, {height});
      t.entry(258, 3, std::vector<std::uint32_t>(samples, bits));
      t.entry(259, 3, {compression}).entry(262, 3, {samples == 1 ? 1U : 2U});
      t.entry(277, 3, {samples}).entry(284, 3, {pick(1, 2)});
      // Blocks to point strips at: the zeros, a stream of the image's size, random bytes.
      std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks;
      const auto add = [&](const std::vector<std::uint8_t>& b) {
        blocks.emplace_back(t.append(b), static_cast<std::uint32_t>(b.size()));
      };
      add(zeros);
      const std::size_t raw = std::size_t{width} * height * samples * (bits / 8);
      add(hg_test::tiff_builder::deflate(std::vector<std::uint8_t>(raw, 0x5A)));
      std::vector<std::uint8_t> noise(pick(1, 4096));
      for (auto& v : noise) v = static_cast<std::uint8_t>(pick(0, 255));
      add(noise);
      const bool tiled = pick(0, 3) == 0;
      if (tiled) {
        const std::array<std::uint32_t, 4> sizes{16, 32, 4096, 65535};
        t.entry(322, 3, {sizes[pick(0, 3)]}).entry(323, 3, {sizes[pick(0, 3)]});
      } else {
        t.entry(278, 4, {pick(0, 3) == 0 ? 0xFFFFFFFFU : pick(1, height + 4)});
      }
      const std::uint32_t count = std::array<std::uint32_t, 4>{
          1, height, pick(1, 3 * height), pick(0, 1) == 0 ? 100'000U : 4096U}[pick(0, 3)];
      std::vector<std::uint32_t> offsets;
      std::vector<std::uint32_t> counts;
      for (std::uint32_t i = 0; i < count; ++i) {
        const auto& [at, size] = blocks[pick(0, static_cast<std::uint32_t>(blocks.size() - 1))];
        const std::uint32_t skip = pick(0, 3) == 0 ? pick(0, size - 1) : 0;
        offsets.push_back(at + skip);
        counts.push_back(size - skip);
      }
      t.entry(tiled ? 324 : 273, 4, offsets).entry(tiled ? 325 : 279, 4, counts);
      const auto bytes = t.build();
      INFO("round " << round << ": " << width << "x" << height << " compression " << compression
                    << (tiled ? " tiled" : " strips") << ", " << count << " chunks");
      CHECK(timed(bytes) < budget);
    }
  }
  SECTION("GIF") {
    const std::vector<GifColorType> palette{colour(0, 0, 0), colour(255, 255, 255),
                                            colour(255, 0, 0), colour(0, 0, 255)};
    for (int round = 0; round < 60; ++round) {
      const int screen = static_cast<int>(pick(1, 64));
      std::vector<hg_test::gif_frame> frames;
      const std::uint32_t frame_count = pick(1, 20);
      for (std::uint32_t i = 0; i < frame_count; ++i) {
        const int w = static_cast<int>(pick(1, 256));
        const int h = static_cast<int>(pick(1, 256));
        std::vector<std::uint8_t> indices(static_cast<std::size_t>(w) *
                                          static_cast<std::size_t>(h));
        for (auto& v : indices) v = static_cast<std::uint8_t>(pick(0, 3));
        const std::array<int, 4> disposals{DISPOSAL_UNSPECIFIED, DISPOSE_DO_NOT, DISPOSE_BACKGROUND,
                                           DISPOSE_PREVIOUS};
        frames.push_back(hg_test::make_frame(static_cast<int>(pick(0, 1000)),
                                             static_cast<int>(pick(0, 1000)), w, h,
                                             std::move(indices), disposals[pick(0, 3)]));
      }
      const auto bytes = hg_test::gif_builder::build(screen, screen, 0, palette, frames);
      INFO("round " << round << ": " << frame_count << " frames on " << screen << "x" << screen);
      CHECK(timed(bytes) < budget);
    }
  }
  INFO("slowest decode: " << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
                          << " ms");
  CHECK(slowest < budget);
}
