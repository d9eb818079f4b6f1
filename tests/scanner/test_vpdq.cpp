// vpdq.hpp: vPDQ on ThreatExchange's sample videos (tests/data/vpdq-vectors) against the
// reference vpdq-hash-video built against Debian 12's FFmpeg 5.1 (reference-ffmpeg51/: every
// line identical), the distance to upstream's shipped hashes (expected/), the sampling and
// downsample modes, and the text format.
#include "hashguard/scanner/vpdq.hpp"

#include "hashguard/core/hex.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace scanner = hashguard::scanner;

namespace {

const std::filesystem::path vectors = std::filesystem::path(HG_TEST_DATA) / "vpdq-vectors";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  return {text.begin(), text.end()};
}

scanner::vpdq_result hash(const std::string& name, scanner::vpdq_options options) {
  scanner::scan_budget budget;
  auto r =
      scanner::hash_video(read_bytes(vectors / "videos" / (name + ".mp4")), options, {}, budget);
  REQUIRE(r.has_value());
  return std::move(*r);
}

}  // namespace

TEST_CASE("vPDQ every frame equals the reference built against FFmpeg 5.1, line for line",
          "[vpdq]") {
  for (const char* name : {"test-padded-dimensions", "doorknob-hd-no-bar"}) {
    INFO(name);
    const auto r = hash(name, {0.0, 0});
    const std::string ours = scanner::format_vpdq(r.frames);
    const std::string reference =
        read_text(vectors / "reference-ffmpeg51" / (std::string(name) + ".txt"));
    CHECK(ours == reference);
    CHECK(r.info.frames_decoded == r.frames.size());
  }
}

TEST_CASE("vPDQ sampling and downsampling equal the reference's", "[vpdq]") {
  SECTION("one hash per second: every int(1 x 30)-th frame") {
    const auto r = hash("test-padded-dimensions", {1.0, 0});
    CHECK(scanner::format_vpdq(r.frames) ==
          read_text(vectors / "reference-ffmpeg51" / "test-padded-dimensions-1s.txt"));
  }
  SECTION("frames downsampled to 128x128") {
    const auto r = hash("pattern-sd-grey-bar", {0.0, 128});
    CHECK(scanner::format_vpdq(r.frames) ==
          read_text(vectors / "reference-ffmpeg51" / "pattern-sd-grey-bar-128x128.txt"));
  }
}

TEST_CASE("vPDQ frame counts and timestamps equal upstream's shipped hashes exactly", "[vpdq]") {
  // Upstream hashed with another FFmpeg build: frame hashes differ by a few bits (and by many
  // on doorknob's fade to black, where quality is 0 and the bits carry no signal), the frame
  // numbers and timestamps not at all.
  const auto r = hash("test-padded-dimensions", {0.0, 0});
  auto shipped =
      scanner::parse_vpdq(read_text(vectors / "expected" / "test-padded-dimensions.txt"));
  REQUIRE(shipped.has_value());
  REQUIRE(shipped->size() == r.frames.size());
  std::vector<int> distances;
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    CHECK(r.frames[i].frame_number == (*shipped)[i].frame_number);
    CHECK(scanner::format_vpdq_line(r.frames[i]).substr(70) ==
          scanner::format_vpdq_line((*shipped)[i]).substr(70));
    distances.push_back(hashguard::core::distance(r.frames[i].hash, (*shipped)[i].hash));
  }
  CHECK(*std::max_element(distances.begin(), distances.end()) <= 4);
}

TEST_CASE("vPDQ text format round-trips and rejects malformed lines", "[vpdq]") {
  const std::string text = read_text(vectors / "expected" / "doorknob-hd-no-bar.txt");
  auto parsed = scanner::parse_vpdq(text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->size() == 120);
  CHECK(scanner::format_vpdq(*parsed) == text);

  auto crlf = scanner::parse_vpdq("0,100," + std::string(64, 'A') + ",0.000\r\n\r\n");
  REQUIRE(crlf.has_value());
  CHECK(crlf->size() == 1);
  CHECK(hashguard::core::to_hex(crlf->front().hash) == std::string(64, 'a'));
  CHECK(scanner::parse_vpdq("")->empty());

  const std::string h(64, '0');
  for (const std::string& bad :
       {"0,100," + h, "0,100," + h + ",0.0,extra", "-1,100," + h + ",0.0", "0,101," + h + ",0.0",
        "0,100," + h.substr(1) + ",0.0", "0,100," + h + ",-1", "0,100," + h + ",nan",
        "x,100," + h + ",0.0"}) {
    INFO(bad);
    scanner::vpdq_parse_error error;
    auto r = scanner::parse_vpdq("0,50," + h + ",0.000\n" + bad + "\n", &error);
    CHECK_FALSE(r.has_value());
    CHECK(error.line == 2);
    CHECK(!error.reason.empty());
  }
}
