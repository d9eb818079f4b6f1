// Border, letterbox and pillarbox detection (trim.hpp): padded copies of the vector photos are
// found to the pixel and their content hashes as the original; the vector photos themselves,
// and pictures whose real edges are dark or flat, are never trimmed.
#include "hashguard/scanner/trim.hpp"

#include "hashguard/core/hash.hpp"
#include "hashguard/scanner/pdq.hpp"
#include "hashguard/scanner/scan.hpp"

#include "hg_catch.hpp"
#include "png_builder.hpp"
#include "support/vector_images.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace hashguard;
using scanner::pixels;

namespace {

struct fill {
  enum kind { solid, blurred, gradient } how{solid};
  std::uint8_t r{}, g{}, b{};
};

// The picture (RGB) placed at (left, top) of a w x h frame filled as `f` says. The blurred
// fill is the picture stretched over the frame and box-blurred hard (a 41-pixel window, three
// passes each way), as video letterboxes often are.
pixels padded(const pixels& picture, std::uint32_t w, std::uint32_t h, std::uint32_t left,
              std::uint32_t top, const fill& f) {
  pixels out{w, h, 3, std::vector<std::uint8_t>(std::size_t{w} * h * 3)};
  for (std::uint32_t y = 0; y < h; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      std::uint8_t* p = &out.data[(std::size_t{y} * w + x) * 3];
      if (f.how == fill::solid) {
        p[0] = f.r, p[1] = f.g, p[2] = f.b;
      } else if (f.how == fill::gradient) {
        const auto v = static_cast<std::uint8_t>(40 + (y * 60) / h);
        p[0] = v, p[1] = v, p[2] = static_cast<std::uint8_t>(v + 20);
      } else {
        const std::uint32_t sx = x * picture.width / w;
        const std::uint32_t sy = y * picture.height / h;
        std::copy_n(&picture.data[(std::size_t{sy} * picture.width + sx) * 3], 3, p);
      }
    }
  }
  if (f.how == fill::blurred) {
    std::vector<int> line;
    for (int pass = 0; pass < 6; ++pass) {
      const bool rows = pass % 2 == 0;
      const std::uint32_t lines = rows ? h : w;
      const std::uint32_t length = rows ? w : h;
      for (std::uint32_t l = 0; l < lines; ++l) {
        for (std::uint32_t c = 0; c < 3; ++c) {
          auto at = [&](std::uint32_t i) -> std::uint8_t& {
            const std::size_t px = rows ? std::size_t{l} * w + i : std::size_t{i} * w + l;
            return out.data[px * 3 + c];
          };
          line.assign(length + 1, 0);
          for (std::uint32_t i = 0; i < length; ++i) line[i + 1] = line[i] + at(i);
          for (std::uint32_t i = 0; i < length; ++i) {
            const std::uint32_t lo = i >= 20 ? i - 20 : 0;
            const std::uint32_t hi = std::min(length, i + 21);
            at(i) = static_cast<std::uint8_t>((line[hi] - line[lo]) / static_cast<int>(hi - lo));
          }
        }
      }
    }
  }
  for (std::uint32_t y = 0; y < picture.height; ++y) {
    std::copy_n(&picture.data[std::size_t{y} * picture.width * 3], std::size_t{picture.width} * 3,
                &out.data[(std::size_t{top + y} * w + left) * 3]);
  }
  return out;
}

pixels rgb(pixels p) {
  if (p.channels == 3) return p;
  pixels out{p.width, p.height, 3, {}};
  for (const std::uint8_t v : p.data) out.data.insert(out.data.end(), {v, v, v});
  return out;
}

// The vector photographs of good quality, as RGB.
std::vector<std::pair<std::string, pixels>> photos() {
  std::vector<std::pair<std::string, pixels>> out;
  for (const auto& row : test::read_vector_csv("fullres-core.csv")) {
    // Photographs only: the generated vectors are smooth synthetic gradients.
    if (row.quality < core::pdq_min_quality || row.width < 64 || row.height < 64 ||
        row.file.rfind("images/", 0) != 0) {
      continue;
    }
    std::string error;
    auto image = test::decode_vector_image(test::vectors_dir() / row.file, error);
    REQUIRE(image.has_value());
    out.emplace_back(row.file, rgb(std::move(*image)));
  }
  return out;
}

}  // namespace

// The picture a vector photo shows (the bridge, the EXIF-rotation desk and their copies are
// one picture each).
static std::string picture_of(const std::string& file) {
  if (file.find("bridge") != std::string::npos || file.find("aaa-orig") != std::string::npos ||
      file.find("misc-images/modes/") != std::string::npos) {
    return "bridge";
  }
  if (file.find("exif-rotn") != std::string::npos) return "exif-rotn";
  return file;
}

TEST_CASE("trim: a vector photo's own flat edges never make it match another picture") {
  // Trimming a flat part of a picture (a wall, a path) adds a query hash: it must not come
  // within the match threshold of a different picture. Most photos are not trimmed at all.
  const auto all = photos();
  scanner::pdq_hasher hasher;
  std::vector<core::hash256> hashes;
  for (const auto& entry : all) hashes.push_back(hasher.hash(entry.second.view()).hash);
  int trimmed = 0;
  for (const auto& [name, photo] : all) {
    INFO(name);
    const auto candidates = scanner::find_candidates(photo.view());
    const auto found = scanner::find_content(photo.view());
    if (found) {
      REQUIRE_FALSE(candidates.empty());
      CHECK(candidates.front().sides == found->sides);
    }
    if (candidates.empty()) continue;
    ++trimmed;
    // Every candidate layout is a query hash: none may come near a different picture.
    for (const auto& candidate : candidates) {
      const auto content =
          hasher.hash(photo.view(), candidate.content, scanner::pdq_mode::fullres, nullptr);
      for (std::size_t j = 0; j < all.size(); ++j) {
        if (picture_of(all[j].first) == picture_of(name)) continue;
        INFO("against " << all[j].first);
        CHECK(core::distance(content.hash, hashes[j]) > 31);
      }
    }
  }
  WARN(trimmed << " of " << all.size() << " vector photos have a flat edge band or run");
  CHECK(trimmed * 3 < static_cast<int>(all.size()));
}

TEST_CASE(
    "trim: borders, letterboxes and pillarboxes are found and the content hashes as the "
    "original") {
  const auto all = photos();
  scanner::pdq_hasher hasher;
  int cases = 0;
  for (std::size_t n = 0; n < all.size(); n += 4) {  // a spread of the photos, kept quick
    const auto& [name, photo] = all[n];
    const std::uint32_t w = photo.width;
    const std::uint32_t h = photo.height;
    if (std::min(w, h) < 200) continue;  // thumbnails: a few rows of bar are a few pixels
    // A picture with a flat edge of its own (a drawing's background) is trimmed there too:
    // the test above covers those; here the bars are the only flat edges.
    if (scanner::find_content(photo.view())) continue;
    const auto original = hasher.hash(photo.view());
    struct layout {
      const char* what;
      std::uint32_t frame_w, frame_h, left, top;
      fill how;
    };
    const std::uint32_t b5 = std::max(2U, std::min(w, h) / 20);
    const std::uint32_t b10 = std::max(2U, std::min(w, h) / 10);
    std::vector<layout> layouts{
        {"black border 5%", w + 2 * b5, h + 2 * b5, b5, b5, {fill::solid, 0, 0, 0}},
        {"white border 10%", w + 2 * b10, h + 2 * b10, b10, b10, {fill::solid, 255, 255, 255}},
        {"colour border 5%", w + 2 * b5, h + 2 * b5, b5, b5, {fill::solid, 90, 120, 40}},
        {"gradient bars", w, h + 2 * b10, 0, b10, {fill::gradient}},
    };
    // Letterbox to 16:9 (bars above and below) or pillarbox to 4:3 (bars left and right),
    // whichever adds bars to this photo, black and blurred.
    if (w * 9 > h * 16) {
      const std::uint32_t fh = w * 9 / 16;
      layouts.push_back({"letterbox black", w, fh, 0, (fh - h) / 2, {fill::solid, 0, 0, 0}});
      layouts.push_back({"letterbox blurred", w, fh, 0, (fh - h) / 2, {fill::blurred}});
    }
    if (w * 3 < h * 4) {
      const std::uint32_t fw = h * 4 / 3;
      layouts.push_back({"pillarbox black", fw, h, (fw - w) / 2, 0, {fill::solid, 0, 0, 0}});
      layouts.push_back({"pillarbox blurred", fw, h, (fw - w) / 2, 0, {fill::blurred}});
    }
    for (const auto& l : layouts) {
      INFO(name << " " << l.what);
      const auto framed = padded(photo, l.frame_w, l.frame_h, l.left, l.top, l.how);
      const auto found = scanner::find_content(framed.view());
      REQUIRE(found);
      // Within two pixels of the truth on every side (JPEG-like edges blur one pixel).
      CHECK(found->sides.left <= l.left + 2);
      CHECK(found->sides.left + 2 >= l.left);
      CHECK(found->sides.top <= l.top + 2);
      CHECK(found->sides.top + 2 >= l.top);
      CHECK(found->content.width + 4 >= w);
      CHECK(found->content.height + 4 >= h);
      const auto content =
          hasher.hash(framed.view(), found->content, scanner::pdq_mode::fullres, nullptr);
      CHECK(core::distance(content.hash, original.hash) <= 31);
      ++cases;
    }
  }
  CHECK(cases >= 20);
}

// A night-sky picture: a sky 0 to 3 levels above black (sensor noise), sparse stars and a
// glow in the middle. Beside a black bar its rows are dark and all but flat: the old solid
// rule ran on into them; an exact band stops where the sky starts.
static pixels night_sky(std::uint32_t w, std::uint32_t h) {
  pixels p{w, h, 3, std::vector<std::uint8_t>(std::size_t{w} * h * 3, 0)};
  for (std::uint32_t y = 0; y < h; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      std::uint8_t* px = &p.data[(std::size_t{y} * w + x) * 3];
      const long dx = static_cast<long>(x) - w / 2;
      const long dy = static_cast<long>(y) - h / 2;
      const long r2 = dx * dx + dy * dy;
      const long glow = std::max(0L, 120 - r2 * 120 / (long{w} * w / 9));
      const bool star = (x * 7919U + y * 104729U) % 97U == 0;
      const long noise = static_cast<long>((x * 31U + y * 17U + (x * y) % 7U) % 4U);
      const auto v = static_cast<std::uint8_t>(star ? 255 : std::min(255L, glow + noise));
      px[0] = px[1] = px[2] = v;
    }
  }
  return p;
}

TEST_CASE("trim: a night-sky picture in black bars is trimmed at its true edge") {
  // The exact band ends where the sky starts; every candidate layout is hashed and the best
  // is the original's hash.
  const pixels sky = night_sky(256, 256);
  scanner::pdq_hasher hasher;
  const auto original = hasher.hash(sky.view());
  REQUIRE(original.quality >= core::pdq_min_quality);
  struct layout {
    const char* what;
    std::uint32_t frame_w, frame_h, left, top;
  };
  for (const layout& l :
       {layout{"pillarbox to 16:9", 455, 256, 99, 0}, layout{"letterbox", 256, 340, 0, 42},
        layout{"border 12 px", 280, 280, 12, 12}}) {
    INFO(l.what);
    const auto framed = padded(sky, l.frame_w, l.frame_h, l.left, l.top, {fill::solid, 0, 0, 0});
    const auto candidates = scanner::find_candidates(framed.view());
    REQUIRE_FALSE(candidates.empty());
    CHECK(candidates.size() <= scanner::trim_options{}.max_candidates);
    CHECK(candidates.front().sides.left == l.left);
    CHECK(candidates.front().sides.top == l.top);
    int best = 256;
    for (const auto& c : candidates) {
      const auto h = hasher.hash(framed.view(), c.content, scanner::pdq_mode::fullres, nullptr);
      best = std::min(best, core::distance(h.hash, original.hash));
    }
    CHECK(best <= 31);
  }
}

TEST_CASE("trim: dark or flat true edges and flat images are not trimmed") {
  const auto all = photos();
  REQUIRE(!all.empty());
  const auto& photo = all.front().second;
  const std::uint32_t w = photo.width;
  const std::uint32_t h = photo.height;
  // A photo whose top tenth is a dark, noisy region (a night sky): part of the picture.
  pixels dark = photo;
  for (std::uint32_t y = 0; y < h / 10; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      for (std::uint32_t c = 0; c < 3; ++c) {
        dark.data[(std::size_t{y} * w + x) * 3 + c] =
            static_cast<std::uint8_t>(8 + ((x * 7919U + y * 104729U + c * 31U) % 23U));
      }
    }
  }
  CHECK_FALSE(scanner::find_content(dark.view()));
  // A photo whose top fifth is a smooth sky that runs into the picture without an edge.
  pixels sky = photo;
  const std::uint32_t sky_rows = h / 5;
  for (std::uint32_t y = 0; y < sky_rows; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      std::uint8_t* p = &sky.data[(std::size_t{y} * w + x) * 3];
      const std::uint8_t* below = &photo.data[(std::size_t{sky_rows} * w + x) * 3];
      // Blends from flat blue at the top to the picture's own row at the sky's foot.
      for (std::uint32_t c = 0; c < 3; ++c) {
        const unsigned flat = c == 2 ? 200U : 150U;
        p[c] =
            static_cast<std::uint8_t>((flat * (sky_rows - y) + unsigned{below[c]} * y) / sky_rows);
      }
    }
  }
  // A smooth blend is a gradient bar as far as the pixels tell: it may be trimmed, but never
  // past its foot into the picture.
  const auto sky_found = scanner::find_content(sky.view());
  CHECK((!sky_found || sky_found->sides.top <= sky_rows + 2));
  // A flat image, and one too small to look at.
  pixels grey{300, 200, 1, std::vector<std::uint8_t>(300 * 200, 128)};
  CHECK_FALSE(scanner::find_content(grey.view()));
  pixels tiny{10, 10, 1, std::vector<std::uint8_t>(100, 0)};
  CHECK_FALSE(scanner::find_content(tiny.view()));
}

TEST_CASE("trim: the scan hashes the content inside the bars, before any quality decision") {
  const auto all = photos();
  const auto& photo = std::min_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
                        return a.second.data.size() < b.second.data.size();
                      })->second;
  const std::uint32_t w = photo.width;
  const std::uint32_t h = photo.height;
  // A small picture in a wide black frame: the padded image as a whole is low quality.
  const auto framed = padded(photo, w * 2, h * 2, w / 2, h / 2, {fill::solid, 0, 0, 0});
  std::vector<unsigned> samples(framed.data.begin(), framed.data.end());
  const auto png = hg_test::png_builder::build(framed.width, framed.height, 8, 2, samples);
  scanner::scan_options options;
  options.trim = true;
  options.orientations = true;
  options.trimming.max_band_fraction = 0.3;
  scanner::image_scanner with(options);
  const auto r = with.scan(png);
  REQUIRE(r);
  // Each side's band is a quarter of the frame: within max_band_fraction 0.3.
  REQUIRE_FALSE(r->trimmed.empty());
  CHECK(r->trimmed.front().sides.top == h / 2);
  CHECK(r->trimmed.front().sides.left == w / 2);
  scanner::pdq_hasher hasher;
  const auto original = hasher.hash(photo.view());
  CHECK(core::distance(r->trimmed.front().pdq.hash, original.hash) <= 2);
  CHECK(r->trimmed.front().pdq.quality >= core::pdq_min_quality);
  for (const auto& t : r->trimmed) CHECK(t.orientations[0] == t.pdq.hash);
  // The reported hashes are those of the whole image, as before.
  CHECK(r->pdq.hash == hasher.hash(framed.view()).hash);
  scanner::image_scanner without;
  const auto plain = without.scan(png);
  REQUIRE(plain);
  CHECK(plain->trimmed.empty());
  CHECK(plain->pdq.dihedral == r->pdq.dihedral);
}
