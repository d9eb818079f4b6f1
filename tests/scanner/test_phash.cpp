// pHash against OpenCV 4.6 img_hash PHash itself (OpenCV in the test only): the vector images
// and synthetic images of many sizes, tiny, grey, and not multiples of 32.
#include "hashguard/core/hex.hpp"
#include "hashguard/scanner/phash.hpp"

#include "hg_catch.hpp"
#include "support/allocation_counter.hpp"
#include "support/vector_images.hpp"

#include <opencv2/core.hpp>
#include <opencv2/img_hash.hpp>

#include <random>
#include <thread>

using namespace hashguard;

namespace {

// OpenCV's answer for our pixels: RGB becomes the BGR Mat that cv::imread would give.
core::hash64 opencv_phash(const scanner::pixels_view& image) {
  const int rows = static_cast<int>(image.height);
  const int cols = static_cast<int>(image.width);
  cv::Mat mat(rows, cols, image.channels == 3 ? CV_8UC3 : CV_8UC1);
  for (int y = 0; y < rows; ++y) {
    auto* row = mat.ptr<unsigned char>(y);
    for (int x = 0; x < cols; ++x) {
      const std::size_t i =
          (static_cast<std::size_t>(y) * image.width + static_cast<std::size_t>(x)) *
          image.channels;
      if (image.channels == 3) {
        row[x * 3 + 0] = image.data[i + 2];
        row[x * 3 + 1] = image.data[i + 1];
        row[x * 3 + 2] = image.data[i + 0];
      } else {
        row[x] = image.data[i];
      }
    }
  }
  cv::Mat out;
  cv::img_hash::PHash::create()->compute(mat, out);
  REQUIRE(out.total() == 8);
  core::hash64 h;
  for (int j = 0; j < 8; ++j) {
    h.value |= std::uint64_t{out.at<unsigned char>(0, j)} << (56 - 8 * j);
  }
  return h;
}

scanner::pixels random_image(std::uint32_t width, std::uint32_t height, std::uint32_t channels,
                             std::mt19937& rng, bool smooth) {
  scanner::pixels p{width, height, channels, {}};
  p.data.resize(std::size_t{width} * height * channels);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> noise(-12, 12);
  const int fx = byte(rng) % 7 + 1;
  const int fy = byte(rng) % 5 + 1;
  std::size_t i = 0;
  for (std::uint32_t y = 0; y < height; ++y) {
    for (std::uint32_t x = 0; x < width; ++x) {
      for (std::uint32_t c = 0; c < channels; ++c) {
        int v = byte(rng);
        if (smooth) {
          v = static_cast<int>((x * static_cast<std::uint32_t>(fx) * 255) / (width + c + 1) +
                               (y * static_cast<std::uint32_t>(fy) * 255) / (height + 1)) %
                  256 +
              noise(rng);
        }
        p.data[i++] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
      }
    }
  }
  return p;
}

}  // namespace

TEST_CASE("pHash equals OpenCV's PHash on the vector images") {
  scanner::phash_hasher hasher;
  int compared = 0;
  for (const auto& row : test::read_vector_csv("fullres-core.csv")) {
    std::string error;
    const auto image = test::decode_vector_image(test::vectors_dir() / row.file, error);
    INFO(row.file << " " << error);
    REQUIRE(image);
    CHECK(core::to_hex(hasher.hash(image->view())) == core::to_hex(opencv_phash(image->view())));
    ++compared;
  }
  CHECK(compared == 51);
}

TEST_CASE("pHash equals OpenCV's PHash on synthetic images of many sizes") {
  std::mt19937 rng(20261128);
  scanner::phash_hasher hasher;
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> sizes{
      {1, 1},     {1, 2},     {2, 1},   {2, 2},   {3, 3},     {1, 40},     {40, 1},
      {5, 7},     {16, 16},   {31, 31}, {32, 32}, {33, 33},   {31, 33},    {32, 64},
      {64, 32},   {64, 64},   {63, 65}, {65, 63}, {96, 96},   {100, 75},   {127, 1},
      {128, 128}, {129, 257}, {200, 3}, {3, 200}, {640, 480}, {1001, 999}, {1600, 1004}};
  int compared = 0;
  for (const auto& [w, h] : sizes) {
    for (const std::uint32_t channels : {1U, 3U}) {
      for (const bool smooth : {false, true}) {
        const auto image = random_image(w, h, channels, rng, smooth);
        INFO(w << "x" << h << "x" << channels << (smooth ? " smooth" : " noise"));
        CHECK(hasher.hash(image.view()) == opencv_phash(image.view()));
        ++compared;
      }
    }
  }
  CHECK(compared == static_cast<int>(sizes.size()) * 4);
}

TEST_CASE("pHash equals OpenCV's PHash on many random sizes") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> dim(1, 300);
  scanner::phash_hasher hasher;
  for (int i = 0; i < 300; ++i) {
    const std::uint32_t w = dim(rng);
    const std::uint32_t h = dim(rng);
    const std::uint32_t channels = (i % 3 == 0) ? 1 : 3;
    const auto image = random_image(w, h, channels, rng, i % 2 == 0);
    INFO(w << "x" << h << "x" << channels);
    REQUIRE(hasher.hash(image.view()) == opencv_phash(image.view()));
  }
}

TEST_CASE("pHash: flat images and views that are not valid") {
  scanner::phash_hasher hasher;
  scanner::pixels flat{50, 40, 3, std::vector<std::uint8_t>(50 * 40 * 3, 128)};
  CHECK(hasher.hash(flat.view()) == opencv_phash(flat.view()));
  scanner::pixels empty{0, 0, 3, {}};
  CHECK(hasher.hash(empty.view()).value == 0);
  scanner::pixels_view short_view = flat.view();
  short_view.data = short_view.data.first(10);
  CHECK(hasher.hash(short_view).value == 0);
  scanner::pixels_view two = flat.view();
  two.channels = 2;
  CHECK(hasher.hash(two).value == 0);
}

TEST_CASE("pHash text form puts OpenCV's first byte first") {
  scanner::pixels img{64, 64, 1, {}};
  img.data.resize(64 * 64);
  for (std::size_t y = 0; y < 64; ++y) {
    for (std::size_t x = 0; x < 64; ++x)
      img.data[y * 64 + x] = static_cast<std::uint8_t>(x < 32 ? 0 : 255);
  }
  scanner::phash_hasher hasher;
  const auto ours = hasher.hash(img.view());
  cv::Mat mat(64, 64, CV_8UC1, img.data.data());
  cv::Mat out;
  cv::img_hash::PHash::create()->compute(mat, out);
  char first[3];
  std::snprintf(first, sizeof first, "%02x", out.at<unsigned char>(0, 0));
  CHECK(core::to_hex(ours).substr(0, 2) == first);
}

TEST_CASE("pHash allocates nothing") {
  std::mt19937 rng(11);
  const auto image = random_image(640, 480, 3, rng, true);
  scanner::phash_hasher hasher;
  const std::size_t before = test::allocation_count();
  const auto h = hasher.hash(image.view());
  CHECK(test::allocation_count() == before);
  CHECK(h.value != 0);
}

TEST_CASE("pHash: one hasher per thread gives the single-thread answers") {
  std::mt19937 rng(12);
  std::vector<scanner::pixels> images;
  for (std::uint32_t i = 0; i < 8; ++i) {
    images.push_back(random_image(40 + 13 * i, 30 + 7 * i, i % 2 == 0 ? 3 : 1, rng, true));
  }
  std::vector<core::hash64> expected;
  scanner::phash_hasher single;
  for (const auto& im : images) expected.push_back(single.hash(im.view()));
  std::vector<std::vector<core::hash64>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      scanner::phash_hasher mine;
      for (int round = 0; round < 20; ++round) {
        for (const auto& im : images) got[t].push_back(mine.hash(im.view()));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& results : got) {
    REQUIRE(results.size() == 20 * images.size());
    for (std::size_t i = 0; i < results.size(); ++i)
      CHECK(results[i] == expected[i % images.size()]);
  }
}
