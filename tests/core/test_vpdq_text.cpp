// vpdq_text.hpp: the frame line and the multi-video file.
#include "hashguard/core/vpdq_text.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace core = hashguard::core;

namespace {
std::string frame(int n, char digit) {
  return std::to_string(n) + ",100," + std::string(64, digit) + "," + std::to_string(n) + ".000\n";
}
}  // namespace

TEST_CASE("vpdq videos: a reference file is one video named by the caller", "[vpdq]") {
  const auto videos = core::parse_vpdq_videos(frame(0, 'a') + frame(1, 'b'), "chair");
  REQUIRE(videos.size() == 1);
  CHECK(videos[0].name == "chair");
  CHECK_FALSE(videos[0].error_line);
  REQUIRE(videos[0].frames.size() == 2);
  CHECK(videos[0].frames[1].frame_number == 1);
  CHECK(videos[0].frames[1].timestamp == 1.0F);
}

TEST_CASE("vpdq videos: headers name videos, a bad line rejects only its video", "[vpdq]") {
  const std::string text =
      "\xEF\xBB\xBF# vpdq-videos v1\r\n"
      "# a comment\n"
      "# video:  first clip \n" +
      frame(0, 'a') + "\n" + frame(1, 'b') + "# video: broken\n" + frame(0, 'c') +
      "0,101,zz,0.0\n" + frame(2, 'c') +
      "# video: empty\n"
      "# video: \x01"
      "bad\n" +
      frame(0, 'd') + "# video: last\n" + frame(5, 'e');
  const auto videos = core::parse_vpdq_videos(text, "unused");
  REQUIRE(videos.size() == 5);
  CHECK(videos[0].name == "first clip");
  CHECK(videos[0].frames.size() == 2);
  CHECK_FALSE(videos[0].error_line);
  CHECK(videos[1].name == "broken");
  REQUIRE(videos[1].error_line);
  CHECK(*videos[1].error_line == 9);
  CHECK(videos[1].error.rfind("bad_frame:", 0) == 0);
  CHECK(videos[2].name == "empty");
  CHECK(videos[2].error.rfind("no_frames", 0) == 0);
  CHECK(videos[3].error.rfind("bad_name", 0) == 0);
  CHECK(videos[4].name == "last");
  REQUIRE(videos[4].frames.size() == 1);
  CHECK(videos[4].frames[0].frame_number == 5);

  // Round trip through the writer.
  std::vector<core::vpdq_video> good{videos[0], videos[4]};
  const auto again = core::parse_vpdq_videos(core::format_vpdq_videos(good), "unused");
  REQUIRE(again.size() == 2);
  CHECK(again[0].name == "first clip");
  CHECK(again[0].frames == videos[0].frames);
  CHECK(again[1].frames == videos[4].frames);
}

TEST_CASE("vpdq videos: nothing to read is no video", "[vpdq]") {
  CHECK(core::parse_vpdq_videos("", "x").empty());
  CHECK(core::parse_vpdq_videos("# only a comment\n\n", "x").empty());
}
