#include "hashguard/scanner/scan.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/core/vocabulary.hpp"

#include "gif_builder.hpp"
#include "hg_catch.hpp"
#include "png_builder.hpp"
#include "scanner_test_support.hpp"

#include <atomic>
#include <chrono>

using namespace hashguard::scanner;
using hashguard::core::to_hex;

namespace {

// Every row of an expected CSV through the whole facade (our decoder, PDQ, digests): the
// hashes, qualities and all 8 dihedrals as the reference computed them. Rows with quality
// below 50 carry rounding noise in their bits (the vectors' README); their quality is still
// compared.
void check_vectors(const std::string& csv, pdq_mode mode) {
  const auto dir = hg_test::vectors_dir();
  const auto rows = hg_test::read_csv(dir / "expected" / csv);
  REQUIRE(rows.size() >= 50);
  scan_options options;
  options.mode = mode;
  image_scanner scanner(options);
  int compared = 0;
  for (const auto& row : rows) {
    INFO(csv << " " << row.at("file"));
    const auto bytes = hg_test::read_file(dir / row.at("file"));
    const auto r = scanner.scan(bytes);
    REQUIRE(r);
    CHECK(std::to_string(r->width) == row.at("width"));
    CHECK(std::to_string(r->height) == row.at("height"));
    CHECK(std::to_string(r->pdq.quality) == row.at("quality"));
    CHECK(r->frames.empty());
    const auto digests = digest(bytes);
    REQUIRE(digests);
    CHECK(r->digest == *digests);
    if (r->pdq.quality < hashguard::core::pdq_min_quality) continue;
    ++compared;
    CHECK(to_hex(r->pdq.hash) == row.at("pdq"));
    for (std::size_t d = 1; d < 8; ++d) {
      const std::string name(hashguard::core::dihedral_names[d]);
      INFO(name);
      CHECK(to_hex(r->pdq.dihedral[d]) == row.at(name));
    }
  }
  CHECK(compared >= 40);
}

}  // namespace

TEST_CASE("scanning the vector images reproduces expected/fullres-core.csv") {
  check_vectors("fullres-core.csv", pdq_mode::fullres);
}

TEST_CASE("scanning the vector images in reference-512 mode reproduces reference-cli-512.csv") {
  check_vectors("reference-cli-512.csv", pdq_mode::reference_512);
}

TEST_CASE("a scan reports format, digests, pHash and timings") {
  const auto bytes = hg_test::read_file(hg_test::scanner_data_dir() / "rgb.jpg");
  image_scanner scanner;
  const auto r = scanner.scan(bytes);
  REQUIRE(r);
  CHECK(r->format == image_format::jpeg);
  CHECK(r->width == 64);
  CHECK(r->height == 48);
  CHECK_FALSE(r->damaged);
  CHECK(r->pdq.hash == r->pdq.dihedral[0]);

  // The facade's hashes are the hashers' on the decoder's pixels.
  const auto image = decode(bytes);
  REQUIRE(image);
  pdq_hasher pdq;
  phash_hasher phash;
  CHECK(r->pdq.hash == pdq.hash(image->frames.front().view()).hash);
  CHECK(r->phash == phash.hash(image->frames.front().view()));
  CHECK(r->digest == *digest(bytes));

  CHECK(r->timings.decode.count() > 0);
  CHECK(r->timings.hash.count() > 0);
  CHECK(r->timings.digest.count() > 0);
  CHECK(scanner.last_timings().decode == r->timings.decode);
}

TEST_CASE("images below 5x5 hash to zero with quality 0") {
  image_scanner scanner;
  for (const char* name : {"four.png", "one.png", "one.jpg"}) {
    INFO(name);
    const auto r = scanner.scan(hg_test::read_file(hg_test::scanner_data_dir() / name));
    REQUIRE(r);
    CHECK(r->pdq.quality == 0);
    CHECK(r->pdq.hash.is_zero());
  }
}

TEST_CASE("every format scans") {
  const auto rows = hg_test::read_csv(hg_test::scanner_data_dir() / "expected.csv");
  image_scanner scanner;
  for (const auto& row : rows) {
    INFO(row.at("file"));
    const auto r = scanner.scan(hg_test::read_file(hg_test::scanner_data_dir() / row.at("file")));
    REQUIRE(r);
    CHECK(std::to_string(r->width) == row.at("width"));
  }
}

TEST_CASE("an animated GIF gives the PDQ of every frame") {
  // Three 64x64 frames: a horizontal ramp, a vertical ramp, and the first again.
  std::vector<GifColorType> palette;
  for (int i = 0; i < 256; ++i) {
    const auto v = static_cast<GifByteType>(i);
    palette.push_back({v, v, v});
  }
  std::vector<std::uint8_t> across(64 * 64);
  std::vector<std::uint8_t> down(64 * 64);
  for (std::size_t y = 0; y < 64; ++y) {
    for (std::size_t x = 0; x < 64; ++x) {
      across[y * 64 + x] = static_cast<std::uint8_t>(x * 4 + (y % 8));
      down[y * 64 + x] = static_cast<std::uint8_t>(y * 4 + (x % 8));
    }
  }
  const auto bytes =
      hg_test::gif_builder::build(64, 64, 0, palette,
                                  {hg_test::make_frame(0, 0, 64, 64, across, DISPOSE_DO_NOT),
                                   hg_test::make_frame(0, 0, 64, 64, down, DISPOSE_DO_NOT),
                                   hg_test::make_frame(0, 0, 64, 64, across, DISPOSE_DO_NOT)});
  image_scanner scanner;
  const auto r = scanner.scan(bytes);
  REQUIRE(r);
  CHECK(r->format == image_format::gif);
  CHECK(r->animated());
  REQUIRE(r->frames.size() == 3);
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(r->frames[i].index == i);
  CHECK(r->frames[0].pdq.hash == r->pdq.hash);
  CHECK(r->frames[2].pdq.hash == r->pdq.hash);
  CHECK(hashguard::core::distance(r->frames[1].pdq.hash, r->pdq.hash) > 64);
  const auto image = decode(bytes);
  REQUIRE(image);
  pdq_hasher pdq;
  CHECK(r->frames[1].pdq.hash == pdq.hash(image->frames[1].view()).hash);

  const auto still = scanner.scan(hg_test::read_file(hg_test::scanner_data_dir() / "still.gif"));
  REQUIRE(still);
  CHECK_FALSE(still->animated());
  CHECK(still->frames.empty());
}

TEST_CASE("scan errors are decode errors, and the scanner recovers after them") {
  image_scanner scanner;
  CHECK(scanner.scan({}).error() == errc::empty);
  const std::vector<std::uint8_t> junk{'n', 'o', 'p', 'e'};
  CHECK(scanner.scan(junk).error() == errc::unsupported_format);

  scan_options tight;
  tight.limits.max_pixels = 100;
  tight.keep_pixel_bytes = 0;
  image_scanner small(tight);
  const auto bytes = hg_test::read_file(hg_test::scanner_data_dir() / "rgb.png");
  CHECK(small.scan(bytes).error() == errc::too_many_pixels);
  CHECK(small.last_timings().decode.count() == 0);
  CHECK(small.scan(hg_test::read_file(hg_test::scanner_data_dir() / "four.png")));

  const auto good = scanner.scan(bytes);
  REQUIRE(good);
  const auto again = scanner.scan(bytes);
  REQUIRE(again);
  CHECK(again->pdq.hash == good->pdq.hash);
  CHECK(again->phash == good->phash);
}

TEST_CASE("a scan of a cut-off JPEG hashes what was read and reports it damaged") {
  auto bytes = hg_test::read_file(hg_test::scanner_data_dir() / "rgb.jpg");
  image_scanner scanner;
  const auto whole = scanner.scan(bytes);
  REQUIRE(whole);
  CHECK_FALSE(whole->damaged);
  bytes.resize(bytes.size() * 2 / 3);
  const auto cut = scanner.scan(bytes);
  REQUIRE(cut);
  CHECK(cut->damaged);
  CHECK(cut->width == 64);
  // The next whole image is not marked: the flag belongs to one scan.
  const auto again = scanner.scan(hg_test::read_file(hg_test::scanner_data_dir() / "rgb.png"));
  REQUIRE(again);
  CHECK_FALSE(again->damaged);
}

TEST_CASE("scanner configuration keys have scan_options' defaults and are validated") {
  hashguard::core::config cfg;
  declare_config(cfg);
  const auto defaults = scan_options_from(cfg);
  REQUIRE(defaults);
  const scan_options d;
  CHECK(defaults->limits.max_bytes == d.limits.max_bytes);
  CHECK(defaults->limits.max_pixels == d.limits.max_pixels);
  CHECK(defaults->limits.max_decode_bytes == d.limits.max_decode_bytes);
  CHECK(defaults->limits.max_decode_bytes == 400'000'000);
  CHECK(defaults->limits.max_frames == d.limits.max_frames);
  CHECK(defaults->limits.max_total_pixels == d.limits.max_total_pixels);
  CHECK(defaults->mode == pdq_mode::fullres);

  using hashguard::core::config_source;
  REQUIRE(cfg.set("scanner.max_pixels", "1000", config_source::flag));
  REQUIRE(cfg.set("scanner.pdq_mode", "reference-512", config_source::flag));
  const auto set = scan_options_from(cfg);
  REQUIRE(set);
  CHECK(set->limits.max_pixels == 1000);
  CHECK(set->mode == pdq_mode::reference_512);

  REQUIRE(cfg.set("scanner.pdq_mode", "fast", config_source::flag));
  CHECK(scan_options_from(cfg).error() == hashguard::core::errc::config_bad_value);
  REQUIRE(cfg.set("scanner.pdq_mode", "fullres", config_source::flag));
  REQUIRE(cfg.set("scanner.max_decode_bytes", "12345", config_source::flag));
  const auto budget = scan_options_from(cfg);
  REQUIRE(budget);
  CHECK(budget->limits.max_decode_bytes == 12345);
  REQUIRE(cfg.set("scanner.max_decode_bytes", "0", config_source::flag));
  CHECK(scan_options_from(cfg).error() == hashguard::core::errc::config_bad_value);
  REQUIRE(cfg.set("scanner.max_decode_bytes", "12345", config_source::flag));
  REQUIRE(cfg.set("scanner.max_frames", "0", config_source::flag));
  CHECK(scan_options_from(cfg).error() == hashguard::core::errc::config_bad_value);
  REQUIRE(cfg.set("scanner.max_frames", "32", config_source::flag));
  CHECK(defaults->max_scan == std::chrono::milliseconds(10'000));
  REQUIRE(cfg.set("scanner.max_scan_ms", "250", config_source::flag));
  const auto scan_ms = scan_options_from(cfg);
  REQUIRE(scan_ms);
  CHECK(scan_ms->max_scan == std::chrono::milliseconds(250));
  REQUIRE(cfg.set("scanner.max_scan_ms", "0", config_source::flag));
  CHECK(scan_options_from(cfg).error() == hashguard::core::errc::config_bad_value);
}

TEST_CASE("a scan that spends its CPU budget answers scan_budget_exceeded, at any stage") {
  const auto bytes = hg_test::png_builder::ramp(2048, 2048);
  image_scanner unlimited;
  REQUIRE(unlimited.scan(bytes));

  SECTION("options.max_scan applies to every scan") {
    scan_options none;
    none.max_scan = std::chrono::milliseconds(0);
    image_scanner scanner(none);
    CHECK(scanner.scan(bytes).error() == errc::scan_budget_exceeded);
  }
  SECTION("spent during the decode, the hash stages never run") {
    scan_budget tiny(std::chrono::microseconds(200));
    CHECK(unlimited.scan(bytes, tiny).error() == errc::scan_budget_exceeded);
    CHECK(unlimited.last_timings().hash.count() == 0);
  }
  SECTION("a raised stop flag cancels it") {
    std::atomic<bool> stop{true};
    CHECK(unlimited.scan(bytes, &stop).error() == errc::scan_cancelled);
  }
  SECTION("every stage checks it: budgets from 0 to half the scan end at some stage") {
    scan_budget whole(std::chrono::hours(1));
    REQUIRE(unlimited.scan(bytes, whole));
    const auto needed = whole.used();
    for (int tenth = 0; tenth < 5; ++tenth) {
      scan_budget part(needed * tenth / 10);
      const auto r = unlimited.scan(bytes, part);
      INFO("budget " << tenth << "/10");
      CHECK((!r && r.error() == errc::scan_budget_exceeded));
    }
  }
  // The scanner recovers: the next scan with budget to spare is whole.
  CHECK(unlimited.scan(bytes));
}
