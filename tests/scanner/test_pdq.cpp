// PDQ against the reference's vectors (tests/data/pdq-vectors): every CSV row bit for bit on
// every kernel, the stage dumps exactly, and the edge cases of the contract.
#include "hashguard/core/hex.hpp"
#include "hashguard/scanner/pdq.hpp"

#include "hg_catch.hpp"
#include "support/allocation_counter.hpp"
#include "support/vector_images.hpp"

#include <boost/json.hpp>

#include <bit>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

using namespace hashguard;
using scanner::pdq_hasher;
using scanner::pdq_kernel;
using scanner::pdq_mode;

namespace {

std::vector<pdq_kernel> all_kernels() {
  std::vector<pdq_kernel> out;
  for (auto k : {pdq_kernel::reference, pdq_kernel::blocked, pdq_kernel::avx2}) {
    if (scanner::pdq_kernel_supported(k)) out.push_back(k);
  }
  return out;
}

struct csv_outcome {
  int rows = 0;
  int compared = 0;
  int equal = 0;
};

// Decodes each row's image once and hashes it with every kernel; one outcome per kernel.
std::map<pdq_kernel, csv_outcome> check_csv(const std::string& csv, pdq_mode mode) {
  const auto rows = test::read_vector_csv(csv);
  REQUIRE(rows.size() >= 50);
  std::map<pdq_kernel, csv_outcome> outcomes;
  std::map<pdq_kernel, pdq_hasher> hashers;
  for (const auto kernel : all_kernels()) {
    hashers.emplace(kernel, pdq_hasher(kernel));
    REQUIRE(hashers.at(kernel).kernel() == kernel);
    outcomes[kernel].rows = static_cast<int>(rows.size());
  }
  for (const auto& row : rows) {
    INFO(csv << " " << row.file);
    std::string error;
    const auto image = test::decode_vector_image(test::vectors_dir() / row.file, error);
    INFO(error);
    REQUIRE(image.has_value());
    CHECK(image->width == row.width);
    CHECK(image->height == row.height);
    // Same decoded pixels as the reference had, or the comparison would mean nothing.
    REQUIRE(test::rgb_md5(image->view()) == row.decoded_rgb_md5);

    for (auto& [kernel, hasher] : hashers) {
      INFO("kernel " << scanner::to_string(kernel));
      csv_outcome& outcome = outcomes[kernel];
      ++outcome.compared;
      const auto result = hasher.hash(image->view(), mode);
      bool same = result.quality == row.quality;
      CHECK(result.quality == row.quality);
      if (row.quality >= core::pdq_min_quality) {
        // Below quality 50 the bits are float rounding noise (the vectors' README); only the
        // quality is compared there.
        CHECK(core::to_hex(result.hash) == row.pdq);
        CHECK(result.dihedral[0] == result.hash);
        same = same && core::to_hex(result.hash) == row.pdq;
        for (std::size_t d = 1; d < 8; ++d) {
          INFO("dihedral " << core::to_string(static_cast<core::dihedral>(d)));
          CHECK(core::to_hex(result.dihedral[d]) == row.dihedral[d - 1]);
          same = same && core::to_hex(result.dihedral[d]) == row.dihedral[d - 1];
        }
      }
      if (same) ++outcome.equal;
    }
  }
  return outcomes;
}

float parse_hex_float(const boost::json::value& v) {
  return std::strtof(std::string(v.as_string()).c_str(), nullptr);
}

// Bitwise equality (distinguishes -0 from +0, which == would not).
void check_floats(const boost::json::array& expected, const float* actual, std::size_t count,
                  const char* what) {
  REQUIRE(expected.size() == count);
  std::size_t differing = 0;
  std::size_t first = count;
  for (std::size_t i = 0; i < count; ++i) {
    if (std::bit_cast<std::uint32_t>(parse_hex_float(expected[i])) !=
        std::bit_cast<std::uint32_t>(actual[i])) {
      if (differing++ == 0) first = i;
    }
  }
  INFO(what << ": " << differing << " of " << count << " differ, first at " << first);
  CHECK(differing == 0);
}

scanner::pixels synthetic(std::uint32_t width, std::uint32_t height, std::uint32_t channels,
                          std::uint32_t seed) {
  // Smooth gradients plus noise: structure for the DCT, noise for the rounding.
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-20, 20);
  scanner::pixels p{width, height, channels, {}};
  p.data.resize(std::size_t{width} * height * channels);
  std::size_t i = 0;
  for (std::uint32_t y = 0; y < height; ++y) {
    for (std::uint32_t x = 0; x < width; ++x) {
      for (std::uint32_t c = 0; c < channels; ++c) {
        const int base = static_cast<int>((x * (c + 3) * 255) / (width + 1) +
                                          (y * (5 - c) * 255) / (height + 1)) %
                         256;
        p.data[i++] = static_cast<std::uint8_t>(std::clamp(base + noise(rng), 0, 255));
      }
    }
  }
  return p;
}

// The image transformed by one of the 8 dihedral transforms, at the pixel level, as the
// vocabulary names them (core/vocabulary.hpp): O is the output, A the input, W x H its size.
scanner::pixels transformed(const scanner::pixels_view& a, core::dihedral d) {
  const std::uint32_t w = a.width;
  const std::uint32_t h = a.height;
  const bool swaps = d == core::dihedral::rot90 || d == core::dihedral::rot270 ||
                     d == core::dihedral::flipplus1 || d == core::dihedral::flipminus1;
  scanner::pixels o{swaps ? h : w, swaps ? w : h, a.channels, {}};
  o.data.resize(a.size_bytes());
  for (std::uint32_t y = 0; y < o.height; ++y) {
    for (std::uint32_t x = 0; x < o.width; ++x) {
      std::uint32_t ay = y;
      std::uint32_t ax = x;
      switch (d) {
        case core::dihedral::original: break;
        case core::dihedral::rot90: ay = x, ax = w - 1 - y; break;  // counter-clockwise
        case core::dihedral::rot180: ay = h - 1 - y, ax = w - 1 - x; break;
        case core::dihedral::rot270: ay = h - 1 - x, ax = y; break;  // clockwise
        case core::dihedral::flipx: ay = h - 1 - y; break;           // top and bottom swap
        case core::dihedral::flipy: ax = w - 1 - x; break;           // left-right mirror
        case core::dihedral::flipplus1: ay = x, ax = y; break;
        case core::dihedral::flipminus1: ay = h - 1 - x, ax = w - 1 - y; break;
      }
      for (std::uint32_t c = 0; c < a.channels; ++c) {
        o.data[(std::size_t{y} * o.width + x) * a.channels + c] =
            a.data[(std::size_t{ay} * w + ax) * a.channels + c];
      }
    }
  }
  return o;
}

struct orientation_outcome {
  int images = 0;
  int worst = 0;
};

// For each image: the orientation hashes of every kernel against the reference kernel's hash
// of the actually transformed pixels; the plain hash must not change by asking for them.
orientation_outcome check_orientations(const std::vector<scanner::pixels>& images,
                                       const std::vector<std::string>& names, pdq_mode mode) {
  orientation_outcome outcome;
  pdq_hasher reference(pdq_kernel::reference);
  for (std::size_t n = 0; n < images.size(); ++n) {
    INFO(names[n]);
    const auto view = images[n].view();
    std::array<core::hash256, 8> expected{};
    std::array<int, 8> expected_quality{};
    for (std::size_t d = 0; d < 8; ++d) {
      const auto t = transformed(view, static_cast<core::dihedral>(d));
      const auto r = reference.hash(t.view(), mode);
      expected[d] = r.hash;
      expected_quality[d] = r.quality;
    }
    // Below quality 50 the bits are float rounding noise (the vectors' README): not compared.
    if (expected_quality[0] < core::pdq_min_quality) continue;
    ++outcome.images;
    for (const auto kernel : all_kernels()) {
      INFO("kernel " << scanner::to_string(kernel));
      pdq_hasher hasher(kernel);
      const auto plain = hasher.hash(view, mode);
      scanner::orientation_hashes orientations{};
      const auto with = hasher.hash(view, mode, orientations);
      CHECK(with.dihedral == plain.dihedral);
      CHECK(with.quality == plain.quality);
      CHECK(orientations[0] == plain.hash);
      for (std::size_t d = 0; d < 8; ++d) {
        INFO("orientation " << core::to_string(static_cast<core::dihedral>(d)));
        const int distance = core::distance(orientations[d], expected[d]);
        if (distance > 2 && kernel == pdq_kernel::reference) {
          WARN("far: " << names[n] << " " << view.width << "x" << view.height << " "
                       << core::to_string(static_cast<core::dihedral>(d)) << " " << distance);
        }
        CHECK(distance <= 2);
        outcome.worst = std::max(outcome.worst, distance);
      }
    }
  }
  return outcome;
}

}  // namespace

TEST_CASE("PDQ reproduces expected/fullres-core.csv on every kernel") {
  for (const auto& [kernel, outcome] : check_csv("fullres-core.csv", pdq_mode::fullres)) {
    WARN("fullres-core.csv, kernel " << scanner::to_string(kernel) << ": " << outcome.rows
                                     << " rows, " << outcome.compared << " compared, "
                                     << outcome.equal << " equal");
    CHECK(outcome.compared == outcome.rows);
    CHECK(outcome.equal == outcome.compared);
  }
}

TEST_CASE("PDQ reproduces expected/reference-cli-512.csv on every kernel") {
  for (const auto& [kernel, outcome] :
       check_csv("reference-cli-512.csv", pdq_mode::reference_512)) {
    WARN("reference-cli-512.csv, kernel " << scanner::to_string(kernel) << ": " << outcome.rows
                                          << " rows, " << outcome.compared << " compared, "
                                          << outcome.equal << " equal");
    CHECK(outcome.compared == outcome.rows);
    CHECK(outcome.equal == outcome.compared);
  }
}

TEST_CASE("PDQ stages equal the reference's stage dumps exactly") {
  for (const char* name : {"g05-100x75.json", "g07-129x257.json", "g10-513x385.json"}) {
    INFO(name);
    const auto text = test::read_file(test::vectors_dir() / "expected" / "stages" / name);
    const auto doc = boost::json::parse(
                         std::string_view(reinterpret_cast<const char*>(text.data()), text.size()))
                         .as_object();
    std::string error;
    const auto image = test::decode_vector_image(
        test::vectors_dir() / std::string(doc.at("file").as_string()), error);
    REQUIRE(image.has_value());
    const pdq_mode mode =
        doc.at("pre_resized_to_512").as_bool() ? pdq_mode::reference_512 : pdq_mode::fullres;

    pdq_hasher hasher;
    scanner::pdq_stages stages;
    const auto result = hasher.hash_with_stages(image->view(), mode, stages);
    CHECK(stages.rows == doc.at("luma_rows").as_int64());
    CHECK(stages.cols == doc.at("luma_cols").as_int64());
    CHECK(stages.window_along_rows == doc.at("window_along_rows").as_int64());
    CHECK(stages.window_along_cols == doc.at("window_along_cols").as_int64());
    REQUIRE(stages.luma_row0.size() == 32);
    REQUIRE(stages.blurred_row0.size() == 32);
    check_floats(doc.at("luma_row0_first32").as_array(), stages.luma_row0.data(), 32, "luma");
    check_floats(doc.at("blurred_row0_first32").as_array(), stages.blurred_row0.data(), 32,
                 "blurred");
    check_floats(doc.at("downsampled_64x64_rowmajor").as_array(), stages.downsampled.data(), 4096,
                 "downsampled");
    check_floats(doc.at("dct_16x16_rowmajor").as_array(), stages.dct.data(), 256, "dct");
    CHECK(std::bit_cast<std::uint32_t>(stages.median) ==
          std::bit_cast<std::uint32_t>(parse_hex_float(doc.at("median"))));
    CHECK(result.quality == doc.at("quality").as_int64());
    CHECK(core::to_hex(result.hash) == std::string(doc.at("pdq").as_string()));

    // The fast kernels give the same hash as the staged (reference-kernel) run.
    for (const auto kernel : all_kernels()) {
      pdq_hasher fast(kernel);
      const auto again = fast.hash(image->view(), mode);
      CHECK(again.hash == result.hash);
      CHECK(again.quality == result.quality);
    }
  }
}

TEST_CASE("PDQ kernels agree bit for bit on awkward sizes") {
  // Widths and heights around the AVX2 kernel's 8-pixel blocks and 16-row strips, small and
  // large windows, both modes; grey, RGB, and RGB whose pixels are all grey.
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> sizes{
      {5, 5},     {6, 7},      {5, 300},     {300, 5},   {8, 15},  {9, 16},
      {10, 17},   {11, 31},    {16, 33},     {17, 8},    {18, 9},  {63, 65},
      {64, 64},   {65, 64},    {127, 129},   {128, 128}, {129, 1}, {255, 257},
      {513, 385}, {1000, 999}, {2049, 1537}, {4032, 40}};
  for (const auto& [w, h] : sizes) {
    for (const int variant : {0, 1, 2}) {
      auto image =
          synthetic(w, h, variant == 0 ? 1 : 3, w * 7919 + h + static_cast<unsigned>(variant));
      if (variant == 2) {
        for (std::size_t i = 0; i + 2 < image.data.size(); i += 3) {
          image.data[i + 1] = image.data[i];
          image.data[i + 2] = image.data[i];
        }
      }
      for (const auto mode : {pdq_mode::fullres, pdq_mode::reference_512}) {
        INFO(w << "x" << h << " variant " << variant << " mode " << static_cast<int>(mode));
        pdq_hasher reference(pdq_kernel::reference);
        const auto expected = reference.hash(image.view(), mode);
        for (const auto kernel : all_kernels()) {
          INFO("kernel " << scanner::to_string(kernel));
          pdq_hasher hasher(kernel);
          const auto got = hasher.hash(image.view(), mode);
          CHECK(got.quality == expected.quality);
          CHECK(got.dihedral == expected.dihedral);
        }
      }
    }
  }
}

TEST_CASE("PDQ: images below 5x5 give the all-zero hash with quality 0") {
  pdq_hasher hasher;
  for (const auto& [w, h] : std::vector<std::pair<std::uint32_t, std::uint32_t>>{
           {0, 0}, {1, 1}, {4, 4}, {4, 100}, {100, 4}}) {
    const auto image = synthetic(w, h, 3, 1);
    const auto r = hasher.hash(image.view());
    CHECK(r.quality == 0);
    CHECK(r.hash.is_zero());
    for (const auto& d : r.dihedral) CHECK(d.is_zero());
  }
  const auto five = synthetic(5, 5, 3, 2);
  const auto r5 = hasher.hash(five.view());
  CHECK_FALSE(r5.hash.is_zero());
}

TEST_CASE("PDQ: a view that is not valid gives the all-zero hash, quality 0") {
  pdq_hasher hasher;
  const auto image = synthetic(40, 40, 3, 3);
  scanner::pixels_view short_data = image.view();
  short_data.data = short_data.data.first(100);
  CHECK(hasher.hash(short_data).hash.is_zero());
  scanner::pixels_view two_channels = image.view();
  two_channels.channels = 2;
  CHECK(hasher.hash(two_channels).quality == 0);
  scanner::pixels_view four_channels = image.view();
  four_channels.channels = 4;
  four_channels.height = 30;
  CHECK(hasher.hash(four_channels).hash.is_zero());
}

TEST_CASE("PDQ: an RGB image whose pixels are all grey hashes as the grey image") {
  const auto grey = synthetic(200, 150, 1, 4);
  scanner::pixels rgb{grey.width, grey.height, 3, {}};
  for (auto v : grey.data) rgb.data.insert(rgb.data.end(), {v, v, v});
  pdq_hasher hasher;
  const auto a = hasher.hash(grey.view());
  const auto b = hasher.hash(rgb.view());
  CHECK(a.hash == b.hash);
  CHECK(a.quality == b.quality);
  // One coloured pixel switches to the RGB luma, which differs in float rounding.
  rgb.data[0] = static_cast<std::uint8_t>(rgb.data[0] ^ 1U);
  {
    scanner::pdq_stages sg;
    scanner::pdq_stages sc;
    (void)hasher.hash_with_stages(grey.view(), pdq_mode::fullres, sg);
    (void)hasher.hash_with_stages(rgb.view(), pdq_mode::fullres, sc);
    int rounded_differently = 0;
    for (std::size_t x = 1; x < 32; ++x) {
      CHECK(sg.luma_row0[x] == static_cast<float>(grey.data[x]));
      if (sc.luma_row0[x] != sg.luma_row0[x]) ++rounded_differently;
    }
    CHECK(rounded_differently > 0);
  }
}

TEST_CASE("PDQ: a single non-grey pixel anywhere makes the image RGB") {
  // A grey level whose float RGB luma is not the level itself shows which path ran.
  int level = -1;
  for (int v = 1; v < 256 && level < 0; ++v) {
    const auto f = static_cast<float>(v);
    const float rgb = static_cast<float>(0.299) * f + static_cast<float>(0.587) * f +
                      static_cast<float>(0.114) * f;
    if (rgb != f) level = v;
  }
  REQUIRE(level > 0);
  const std::uint32_t w = 100;
  const std::uint32_t h = 90;  // 9000 pixels: more than one 4096-pixel block of the scan
  const std::size_t n = std::size_t{w} * h;
  scanner::pixels image{w, h, 3,
                        std::vector<std::uint8_t>(n * 3, static_cast<std::uint8_t>(level))};
  pdq_hasher hasher(pdq_kernel::reference);
  scanner::pdq_stages stages;
  (void)hasher.hash_with_stages(image.view(), pdq_mode::fullres, stages);
  CHECK(stages.luma_row0[0] == static_cast<float>(level));  // all grey: the grey path
  // Every position within the scan's 8-pixel groups, around its 4096-pixel block boundary, and
  // at the end (the scalar tail).
  std::vector<std::size_t> positions;
  for (std::size_t at = 0; at < 24; ++at) positions.push_back(at);
  for (std::size_t at = 4088; at < 4112; ++at) positions.push_back(at);
  for (std::size_t at = n - 24; at < n; ++at) positions.push_back(at);
  for (const std::size_t at : positions) {
    for (const std::size_t channel : {std::size_t{1}, std::size_t{2}}) {
      INFO("pixel " << at << " channel " << channel);
      auto odd = image;
      odd.data[at * 3 + channel] = static_cast<std::uint8_t>(level ^ 1);
      (void)hasher.hash_with_stages(odd.view(), pdq_mode::fullres, stages);
      CHECK(stages.luma_row0[at == 0 ? 1 : 0] != static_cast<float>(level));
    }
  }
}

TEST_CASE("PDQ reference_512: nearest-neighbour pre-resize only above 512") {
  pdq_hasher hasher;
  const auto small = synthetic(512, 300, 3, 5);
  CHECK(hasher.hash(small.view(), pdq_mode::reference_512).dihedral ==
        hasher.hash(small.view(), pdq_mode::fullres).dihedral);

  // Above 512: same as hashing a 512x512 image made by CImg's rule, input floor(i * n / 512).
  const auto big = synthetic(1100, 260, 3, 6);
  scanner::pixels resized{512, 512, 3, {}};
  resized.data.resize(512 * 512 * 3);
  for (std::size_t y = 0; y < 512; ++y) {
    for (std::size_t x = 0; x < 512; ++x) {
      const std::size_t sy = y * 260 / 512;
      const std::size_t sx = x * 1100 / 512;
      for (std::size_t c = 0; c < 3; ++c) {
        resized.data[(y * 512 + x) * 3 + c] = big.data[(sy * 1100 + sx) * 3 + c];
      }
    }
  }
  const auto via_mode = hasher.hash(big.view(), pdq_mode::reference_512);
  CHECK(via_mode.dihedral == hasher.hash(resized.view(), pdq_mode::fullres).dihedral);
  CHECK(via_mode.hash != hasher.hash(big.view(), pdq_mode::fullres).hash);
}

TEST_CASE("PDQ hasher: moves, reuse across sizes, kernel names") {
  pdq_hasher a(pdq_kernel::blocked);
  const auto big = synthetic(700, 500, 3, 7);
  const auto little = synthetic(90, 60, 3, 8);
  const auto first = a.hash(big.view());
  (void)a.hash(little.view());
  CHECK(a.hash(big.view()).dihedral == first.dihedral);  // scratch reuse leaves no trace
  pdq_hasher b(std::move(a));
  CHECK(b.hash(big.view()).hash == first.hash);
  pdq_hasher c;
  c = std::move(b);
  CHECK(c.hash(big.view()).hash == first.hash);
  CHECK(c.kernel() == pdq_kernel::blocked);

  CHECK(scanner::to_string(pdq_kernel::reference) == "reference");
  CHECK(scanner::to_string(pdq_kernel::blocked) == "blocked");
  CHECK(scanner::to_string(pdq_kernel::avx2) == "avx2");
  CHECK(scanner::to_string(pdq_kernel::automatic) == "automatic");
  CHECK(pdq_hasher().kernel() == scanner::pdq_best_kernel());
  CHECK(scanner::pdq_best_kernel() != pdq_kernel::automatic);
}

TEST_CASE("PDQ hasher: no allocation once it has seen the size, on every kernel and mode") {
  const auto rgb = synthetic(1000, 700, 3, 9);
  const auto grey = synthetic(700, 1000, 1, 10);
  for (const auto kernel : all_kernels()) {
    for (const auto mode : {pdq_mode::fullres, pdq_mode::reference_512}) {
      INFO("kernel " << scanner::to_string(kernel) << " mode " << static_cast<int>(mode));
      const std::size_t at_start = test::allocation_count();
      pdq_hasher hasher(kernel);
      (void)hasher.hash(rgb.view(), mode);
      CHECK(test::allocation_count() > at_start);  // the counter sees the scratch being made
      (void)hasher.hash(grey.view(), mode);
      const std::size_t before = test::allocation_count();
      const auto a = hasher.hash(rgb.view(), mode);
      const auto b = hasher.hash(grey.view(), mode);
      CHECK(test::allocation_count() == before);
      CHECK(a.quality > 0);
      CHECK(b.quality > 0);
    }
  }
}

TEST_CASE("PDQ: one hasher per thread gives the single-thread answers") {
  std::vector<scanner::pixels> images;
  for (std::uint32_t i = 0; i < 6; ++i)
    images.push_back(synthetic(300 + 37 * i, 200 + 11 * i, 3, i));
  std::vector<scanner::pdq_result> expected;
  pdq_hasher single;
  for (const auto& im : images) expected.push_back(single.hash(im.view()));
  std::vector<std::vector<scanner::pdq_result>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      pdq_hasher mine;
      for (int round = 0; round < 3; ++round) {
        for (const auto& im : images) got[t].push_back(mine.hash(im.view()));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& results : got) {
    REQUIRE(results.size() == 3 * images.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      CHECK(results[i].dihedral == expected[i % images.size()].dihedral);
      CHECK(results[i].quality == expected[i % images.size()].quality);
    }
  }
}

static void check_vector_orientations(const char* csv, pdq_mode mode) {
  std::vector<scanner::pixels> images;
  std::vector<std::string> names;
  for (const auto& row : test::read_vector_csv(csv)) {
    std::string error;
    auto image = test::decode_vector_image(test::vectors_dir() / row.file, error);
    REQUIRE(image.has_value());
    images.push_back(std::move(*image));
    names.push_back(row.file);
  }
  const auto outcome = check_orientations(images, names, mode);
  WARN(csv << ": " << outcome.images << " images of quality >= 50 of " << images.size()
           << ", worst orientation distance " << outcome.worst);
  CHECK(outcome.images >= 40);
}

TEST_CASE("PDQ orientation hashes are within 2 bits of the transformed vector images' hashes") {
  check_vector_orientations("fullres-core.csv", pdq_mode::fullres);
}

TEST_CASE("PDQ orientation hashes in reference_512 mode, on the vector images") {
  check_vector_orientations("reference-cli-512.csv", pdq_mode::reference_512);
}

TEST_CASE(
    "PDQ orientation hashes on awkward sizes: odd, even and 2-pixel windows and the 64x64 path") {
  std::vector<scanner::pixels> images;
  std::vector<std::string> names;
  for (const auto& [w, h] : std::vector<std::pair<std::uint32_t, std::uint32_t>>{{64, 64},
                                                                                 {5, 9},
                                                                                 {100, 75},
                                                                                 {129, 257},
                                                                                 {200, 130},
                                                                                 {256, 384},
                                                                                 {513, 385},
                                                                                 {1000, 999}}) {
    for (const std::uint32_t channels : {1U, 3U}) {
      images.push_back(synthetic(w, h, channels, w * 31 + h));
      names.push_back(std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(channels));
    }
  }
  const auto outcome = check_orientations(images, names, pdq_mode::fullres);
  CHECK(outcome.images == static_cast<int>(images.size()));
}

TEST_CASE("PDQ region: the hash of a rectangle is the hash of the cropped image") {
  const auto image = synthetic(300, 200, 3, 11);
  const scanner::pixel_rect region{17, 9, 250, 160};
  scanner::pixels crop{region.width, region.height, 3, {}};
  for (std::uint32_t y = 0; y < region.height; ++y) {
    const auto* row = image.data.data() + (std::size_t{region.top + y} * 300 + region.left) * 3;
    crop.data.insert(crop.data.end(), row, row + std::size_t{region.width} * 3);
  }
  for (const auto kernel : all_kernels()) {
    for (const auto mode : {pdq_mode::fullres, pdq_mode::reference_512}) {
      INFO("kernel " << scanner::to_string(kernel));
      pdq_hasher hasher(kernel);
      scanner::orientation_hashes from_region{};
      scanner::orientation_hashes from_crop{};
      const auto a = hasher.hash(image.view(), region, mode, &from_region);
      const auto b = hasher.hash(crop.view(), mode, from_crop);
      CHECK(a.dihedral == b.dihedral);
      CHECK(a.quality == b.quality);
      CHECK(from_region == from_crop);
    }
  }
  // A crop of a colour image whose remaining pixels are all grey takes the grey path, as the
  // cropped image would.
  auto framed = synthetic(120, 90, 3, 12);
  for (std::size_t i = 0; i + 2 < framed.data.size(); i += 3) {
    framed.data[i + 1] = framed.data[i];
    framed.data[i + 2] = framed.data[i];
  }
  for (std::uint32_t y = 0; y < 90; ++y) framed.data[(std::size_t{y} * 120) * 3 + 1] = 255;
  scanner::pixels grey_crop{119, 90, 3, {}};
  for (std::uint32_t y = 0; y < 90; ++y) {
    const auto* row = framed.data.data() + (std::size_t{y} * 120 + 1) * 3;
    grey_crop.data.insert(grey_crop.data.end(), row, row + 119 * 3);
  }
  pdq_hasher hasher;
  CHECK(hasher.hash(framed.view(), {1, 0, 119, 90}, pdq_mode::fullres, nullptr).hash ==
        hasher.hash(grey_crop.view()).hash);
  // Outside the image: all zero.
  CHECK(hasher.hash(framed.view(), {100, 0, 21, 90}, pdq_mode::fullres, nullptr).hash.is_zero());
}
