#include "hashguard/scanner/sniff.hpp"

#include "hg_catch.hpp"
#include "scanner_test_support.hpp"
#include "tiff_builder.hpp"

#include <string>

using namespace std::string_literals;

using namespace hashguard::scanner;

namespace {

std::vector<std::uint8_t> bytes_of(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

std::vector<std::uint8_t> text(const std::string& s) {
  return {s.begin(), s.end()};
}

void append(std::vector<std::uint8_t>& to, const std::vector<std::uint8_t>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

}  // namespace

TEST_CASE("sniff names the format from the magic bytes") {
  CHECK(sniff(bytes_of({0xFF, 0xD8, 0xFF, 0xE0})).value() == image_format::jpeg);
  CHECK(sniff(bytes_of({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})).value() ==
        image_format::png);
  CHECK(sniff(text("GIF87a")).value() == image_format::gif);
  CHECK(sniff(text("GIF89a....")).value() == image_format::gif);
  CHECK(sniff(text("RIFF\x10\0\0\0WEBPVP8 "s)).value() == image_format::webp);
  CHECK(sniff(text("BM")).value() == image_format::bmp);
  CHECK(sniff(bytes_of({'I', 'I', 42, 0})).value() == image_format::tiff);
  CHECK(sniff(bytes_of({'M', 'M', 0, 42})).value() == image_format::tiff);

  CHECK(sniff({}).error() == errc::empty);
  CHECK(sniff(bytes_of({0xFF})).error() == errc::truncated);
  CHECK(sniff(text("GIF8")).error() == errc::truncated);
  CHECK(sniff(bytes_of({0x00})).error() == errc::unsupported_format);
  CHECK(sniff(text("GIF90a")).error() == errc::unsupported_format);
  CHECK(sniff(text("RIFF\x10\0\0\0WAVEfmt "s)).error() == errc::unsupported_format);
  CHECK(sniff(text("<svg xmlns=")).error() == errc::unsupported_format);
  CHECK(sniff(bytes_of({0x00, 0x00, 0x00, 0x0C, 'j', 'P'})).error() == errc::unsupported_format);
}

TEST_CASE("format names are stable") {
  CHECK(to_string(image_format::jpeg) == "jpeg");
  CHECK(to_string(image_format::png) == "png");
  CHECK(to_string(image_format::gif) == "gif");
  CHECK(to_string(image_format::webp) == "webp");
  CHECK(to_string(image_format::bmp) == "bmp");
  CHECK(to_string(image_format::tiff) == "tiff");
}

TEST_CASE("read_header gives the size of every synthetic image without decoding") {
  const auto rows = hg_test::read_csv(hg_test::scanner_data_dir() / "expected.csv");
  REQUIRE(rows.size() >= 25);
  for (const auto& row : rows) {
    INFO(row.at("file"));
    const auto h = read_header(hg_test::read_file(hg_test::scanner_data_dir() / row.at("file")));
    REQUIRE(h);
    CHECK(std::to_string(h->width) == row.at("width"));
    CHECK(std::to_string(h->height) == row.at("height"));
    CHECK(h->frames == 1);
    CHECK(h->largest_frame_pixels == h->pixel_count());
  }
}

TEST_CASE("read_header agrees with the vectors' sizes") {
  const auto dir = hg_test::vectors_dir();
  for (const auto& row : hg_test::read_csv(dir / "expected" / "fullres-core.csv")) {
    INFO(row.at("file"));
    const auto h = read_header(hg_test::read_file(dir / row.at("file")));
    REQUIRE(h);
    CHECK(std::to_string(h->width) == row.at("width"));
    CHECK(std::to_string(h->height) == row.at("height"));
  }
}

TEST_CASE("JPEG headers") {
  const auto soi = bytes_of({0xFF, 0xD8});
  const auto app0 = bytes_of({0xFF, 0xE0, 0x00, 0x06, 'J', 'F', 'I', 'F'});
  auto sof = [](int marker, int h, int w) {
    return bytes_of(
        {0xFF, marker, 0x00, 0x0B, 8, h >> 8, h & 0xFF, w >> 8, w & 0xFF, 1, 1, 0x11, 0});
  };
  SECTION("baseline, progressive, arithmetic and lossless SOFs all carry the size") {
    for (int marker : {0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}) {
      auto b = soi;
      append(b, app0);
      append(b, sof(marker, 300, 500));
      const auto h = read_header(b);
      REQUIRE(h);
      CHECK(h->format == image_format::jpeg);
      CHECK(h->width == 500);
      CHECK(h->height == 300);
    }
  }
  SECTION("DHT, JPG and DAC markers are not frame headers") {
    auto b = soi;
    append(b, bytes_of({0xFF, 0xC4, 0x00, 0x02, 0xFF, 0xC8, 0x00, 0x02, 0xFF, 0xCC, 0x00, 0x02}));
    append(b, sof(0xC0, 2, 3));
    CHECK(read_header(b)->width == 3);
  }
  SECTION("fill bytes and stray bytes before a marker are skipped, as libjpeg does") {
    auto b = soi;
    append(b, app0);
    append(b, bytes_of({0x00, 0x12, 0xFF, 0xFF, 0xFF}));
    append(b, sof(0xC0, 7, 9));
    const auto h = read_header(b);
    REQUIRE(h);
    CHECK(h->width == 9);
  }
  SECTION("height 0 (a DNL image) is corrupt") {
    auto b = soi;
    append(b, sof(0xC0, 0, 9));
    CHECK(read_header(b).error() == errc::corrupt);
  }
  SECTION("scan data or the end before any SOF") {
    auto sos = soi;
    append(sos, bytes_of({0xFF, 0xDA, 0x00, 0x02}));
    CHECK(read_header(sos).error() == errc::corrupt);
    auto eoi = soi;
    append(eoi, bytes_of({0xFF, 0xD9}));
    CHECK(read_header(eoi).error() == errc::corrupt);
  }
  SECTION("the data ends inside a segment") {
    auto b = soi;
    append(b, bytes_of({0xFF, 0xE0, 0x00}));
    CHECK(read_header(b).error() == errc::truncated);
    auto s = soi;
    append(s, bytes_of({0xFF, 0xC0, 0x00, 0x0B, 8, 1}));
    CHECK(read_header(s).error() == errc::truncated);
    CHECK(read_header(bytes_of({0xFF, 0xD8, 0xFF})).error() == errc::truncated);
  }
  SECTION("a segment length below 2 is corrupt") {
    auto b = soi;
    append(b, bytes_of({0xFF, 0xE0, 0x00, 0x01}));
    CHECK(read_header(b).error() == errc::corrupt);
  }
}

TEST_CASE("PNG headers") {
  auto png = [](std::uint32_t w, std::uint32_t h) {
    auto b =
        bytes_of({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'});
    for (std::uint32_t v : {w, h}) {
      for (int shift = 24; shift >= 0; shift -= 8)
        b.push_back(static_cast<std::uint8_t>(v >> shift));
    }
    append(b, bytes_of({8, 2, 0, 0, 0}));
    return b;
  };
  const auto h = read_header(png(65535, 40000));
  REQUIRE(h);
  CHECK(h->width == 65535);
  CHECK(h->height == 40000);
  CHECK(h->pixel_count() == 65535ULL * 40000ULL);
  CHECK(read_header(png(0, 5)).error() == errc::corrupt);
  CHECK(read_header(png(0x80000000U, 5)).error() == errc::corrupt);
  auto wrong_chunk = png(5, 5);
  wrong_chunk[12] = 'X';
  CHECK(read_header(wrong_chunk).error() == errc::corrupt);
  auto cut = png(5, 5);
  cut.resize(22);
  CHECK(read_header(cut).error() == errc::truncated);
}

TEST_CASE("GIF headers walk every frame") {
  // Screen 10x8 with a 2-entry global table, then two frames: 4x4, then 300x200 (larger than
  // the screen), with an extension between them.
  auto b = text("GIF89a");
  append(b, bytes_of({10, 0, 8, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255}));
  auto frame = [](int w, int h) {
    return bytes_of({0x2C, 0, 0, 0, 0, w & 0xFF, w >> 8, h & 0xFF, h >> 8, 0, 2, 2, 0x4C, 0x01, 0});
  };
  append(b, frame(4, 4));
  append(b, bytes_of({0x21, 0xF9, 4, 0, 0, 0, 0, 0}));
  append(b, frame(300, 200));
  append(b, bytes_of({0x3B}));
  const auto h = read_header(b);
  REQUIRE(h);
  CHECK(h->width == 10);
  CHECK(h->height == 8);
  CHECK(h->frames == 2);
  CHECK(h->largest_frame_pixels == 300U * 200U);

  SECTION("a file without a trailer still counts its frames") {
    auto cut = b;
    cut.pop_back();
    CHECK(read_header(cut)->frames == 2);
  }
  SECTION("a file that ends before any frame is truncated") {
    auto cut = b;
    cut.resize(13 + 6 + 3);
    CHECK(read_header(cut).error() == errc::truncated);
  }
  SECTION("a zero-size screen or frame is corrupt") {
    auto zero = b;
    zero[6] = 0;
    CHECK(read_header(zero).error() == errc::corrupt);
    auto zero_frame = text("GIF89a");
    append(zero_frame, bytes_of({10, 0, 8, 0, 0, 0, 0}));
    append(zero_frame, frame(0, 4));
    CHECK(read_header(zero_frame).error() == errc::corrupt);
  }
  SECTION("an unknown block before any frame is corrupt") {
    auto junk = text("GIF89a");
    append(junk, bytes_of({10, 0, 8, 0, 0, 0, 0, 0x99}));
    CHECK(read_header(junk).error() == errc::corrupt);
  }
}

TEST_CASE("WebP headers: VP8, VP8L and VP8X") {
  auto riff = [](const std::string& fourcc, const std::vector<std::uint8_t>& payload) {
    auto b = text("RIFF");
    append(b, bytes_of({0, 0, 0, 0}));
    append(b, text("WEBP" + fourcc));
    append(b, bytes_of({static_cast<int>(payload.size()), 0, 0, 0}));
    append(b, payload);
    return b;
  };
  // VP8: key frame tag, start code, 14-bit sizes (top two bits are the scale).
  const auto vp8 =
      read_header(riff("VP8 ", bytes_of({0x10, 0, 0, 0x9D, 0x01, 0x2A, 0x40, 0xC1, 0x2C, 0x01})));
  REQUIRE(vp8);
  CHECK(vp8->width == 320);
  CHECK(vp8->height == 300);
  CHECK(read_header(riff("VP8 ", bytes_of({0x11, 0, 0, 0x9D, 0x01, 0x2A, 1, 0, 1, 0}))).error() ==
        errc::corrupt);  // not a key frame
  CHECK(read_header(riff("VP8 ", bytes_of({0x10, 0, 0, 0x9D, 0x01, 0x2B, 1, 0, 1, 0}))).error() ==
        errc::corrupt);  // bad start code
  // VP8L: signature 0x2F, then width-1 and height-1 in 14 bits each.
  const std::uint32_t bits = (99U) | (49U << 14);
  const auto vp8l = read_header(riff(
      "VP8L", bytes_of({0x2F, static_cast<int>(bits & 0xFF), static_cast<int>((bits >> 8) & 0xFF),
                        static_cast<int>((bits >> 16) & 0xFF), static_cast<int>(bits >> 24)})));
  REQUIRE(vp8l);
  CHECK(vp8l->width == 100);
  CHECK(vp8l->height == 50);
  // VP8X: 24-bit canvas sizes minus one; flag 0x02 = animation.
  const auto vp8x =
      read_header(riff("VP8X", bytes_of({0x02, 0, 0, 0, 0xFF, 0xFF, 0x00, 0x0F, 0x27, 0x00})));
  REQUIRE(vp8x);
  CHECK(vp8x->width == 65536);
  CHECK(vp8x->height == 10000);
  CHECK(vp8x->animated);
  CHECK(read_header(riff("VP8Z", bytes_of({0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))).error() ==
        errc::corrupt);
  CHECK(read_header(riff("VP8X", bytes_of({0, 0, 0}))).error() == errc::truncated);
}

TEST_CASE("BMP headers") {
  auto bmp = [](std::uint32_t info_size, std::int32_t w, std::int32_t h) {
    auto b = text("BM");
    append(b, bytes_of({0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0}));
    for (std::uint32_t v :
         {info_size, static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)}) {
      for (int shift = 0; shift < 32; shift += 8)
        b.push_back(static_cast<std::uint8_t>(v >> shift));
    }
    return b;
  };
  const auto bottom_up = read_header(bmp(40, 640, 480));
  REQUIRE(bottom_up);
  CHECK(bottom_up->width == 640);
  CHECK(bottom_up->height == 480);
  const auto top_down = read_header(bmp(124, 640, -480));
  REQUIRE(top_down);
  CHECK(top_down->height == 480);
  CHECK(read_header(bmp(40, 0, 5)).error() == errc::corrupt);
  CHECK(read_header(bmp(40, -5, 5)).error() == errc::corrupt);
  CHECK(read_header(bmp(40, 5, 0)).error() == errc::corrupt);
  CHECK(read_header(bmp(40, 5, INT32_MIN)).error() == errc::corrupt);
  CHECK(read_header(bmp(7, 5, 5)).error() == errc::corrupt);
  // BITMAPCOREHEADER: 16-bit unsigned sizes right after the header size.
  auto core = text("BM");
  append(core, bytes_of({0,  0, 0, 0, 0,    0,    0,    0,    26, 0, 0,  0,
                         12, 0, 0, 0, 0x34, 0x12, 0xFF, 0xFF, 1,  0, 24, 0}));
  const auto c = read_header(core);
  REQUIRE(c);
  CHECK(c->width == 0x1234);
  CHECK(c->height == 0xFFFF);
  auto cut = bmp(40, 5, 5);
  cut.resize(20);
  CHECK(read_header(cut).error() == errc::truncated);
}

TEST_CASE("TIFF headers: either byte order, SHORT or LONG sizes") {
  const auto le = bytes_of({'I',  'I', 42, 0, 8, 0, 0, 0, 3,    0,    0xFE, 0,
                            4,    0,   1,  0, 0, 0, 0, 0, 0,    0,              // NewSubfileType
                            0x00, 1,   4,  0, 1, 0, 0, 0, 0x10, 0x27, 1,    0,  // ImageWidth LONG
                            0x01, 1,   3,  0, 1, 0, 0, 0, 0xE8, 0x03, 0,    0,  // ImageLength SHORT
                            0,    0,   0,  0});
  const auto l = read_header(le);
  REQUIRE(l);
  CHECK(l->format == image_format::tiff);
  CHECK(l->width == 75536);
  CHECK(l->height == 1000);
  const auto be =
      bytes_of({'M', 'M', 0, 42, 0, 0, 0,    8,    0, 2, 1,    0,
                0,   3,   0, 0,  0, 1, 0x03, 0xE8, 0, 0,              // ImageWidth SHORT
                1,   1,   0, 4,  0, 0, 0,    1,    0, 1, 0x11, 0x70,  // ImageLength LONG
                0,   0,   0, 0});
  const auto b = read_header(be);
  REQUIRE(b);
  CHECK(b->width == 1000);
  CHECK(b->height == 70000);

  auto missing = le;
  missing[8] = 2;  // drop the ImageLength entry from the count
  CHECK(read_header(missing).error() == errc::corrupt);
  auto bad_type = le;
  bad_type[24] = 5;  // RATIONAL width
  CHECK(read_header(bad_type).error() == errc::corrupt);
  auto far_ifd = le;
  far_ifd[6] = 0x10;  // IFD offset beyond the data
  CHECK(read_header(far_ifd).error() == errc::truncated);
  CHECK(read_header(bytes_of({'I', 'I', 43, 0, 8, 0, 0, 0, 0, 0, 0, 0})).error() ==
        errc::unsupported_format);  // BigTIFF
  CHECK(read_header(bytes_of({'M', 'M', 0, 43, 0, 8, 0, 0})).error() == errc::unsupported_format);
}

TEST_CASE("TIFF headers: the sample layout, and samples the decoders cannot reduce") {
  // A 3x2 image: BitsPerSample 16,16,16,16 (stored after the IFD), SamplesPerPixel 4, RGB.
  hg_test::tiff_builder rgba16;
  rgba16.entry(256, 3, {3}).entry(257, 3, {2}).entry(258, 3, {16, 16, 16, 16});
  rgba16.entry(262, 3, {2}).entry(277, 3, {4});
  const auto h = read_header(rgba16.build());
  REQUIRE(h);
  CHECK(h->bits_per_sample == 16);
  CHECK(h->samples_per_pixel == 4);
  CHECK(h->bytes_per_pixel == 8);
  CHECK_FALSE(h->unsupported_samples);

  for (const std::uint32_t format : {2U, 3U}) {  // SampleFormat: signed, IEEE float
    INFO("SampleFormat " << format);
    auto odd = rgba16;
    odd.entry(339, 3, {format, format, format, format});
    const auto f = read_header(odd.build());
    REQUIRE(f);
    CHECK(f->unsupported_samples);
  }
  hg_test::tiff_builder wide;
  wide.entry(256, 3, {3}).entry(257, 3, {2}).entry(258, 3, {32});
  const auto w = read_header(wide.build());
  REQUIRE(w);
  CHECK(w->unsupported_samples);
  CHECK(w->bits_per_sample == 32);

  hg_test::tiff_builder palette;  // read through libtiff's RGBA reader: 4 bytes per pixel
  palette.entry(256, 3, {3}).entry(257, 3, {2}).entry(258, 3, {4}).entry(262, 3, {3});
  const auto p = read_header(palette.build());
  REQUIRE(p);
  CHECK(p->bytes_per_pixel == 4);
  CHECK(p->samples_per_pixel == 1);

  hg_test::tiff_builder far;  // BitsPerSample values outside the data
  far.entry(256, 3, {3}).entry(257, 3, {2});
  auto bytes = far.entry(258, 3, {8, 8, 8}).build();
  bytes.resize(bytes.size() - 6);
  CHECK(read_header(bytes).error() == errc::corrupt);
}
