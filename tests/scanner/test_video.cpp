// video.hpp: container sniffing, decoding in each container, sampling, and every limit on
// hostile inputs (truncated, corrupt moov, a header claiming 65535x65535 or 10 hours, a
// 100,000-stream file, a decompression bomb by total pixels, a spent CPU budget).
#include "hashguard/scanner/video.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace scanner = hashguard::scanner;
using scanner::errc;

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> clip(const std::string& name) {
  return read_file(std::filesystem::path(HG_TEST_DATA) / "video" / name);
}

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

struct decoded {
  hashguard::core::result<scanner::video_info> info;
  std::vector<std::uint64_t> numbers;
  std::uint32_t width{};
  std::uint32_t height{};
};

decoded decode(const std::vector<std::uint8_t>& bytes, scanner::video_sampling sampling = {0.0},
               const scanner::video_limits& limits = {}) {
  decoded out{scanner::errc::corrupt, {}, 0, 0};
  scanner::scan_budget budget;
  out.info =
      scanner::decode_video(bytes, sampling, limits, budget,
                            [&](const scanner::video_frame& f) -> hashguard::core::result<void> {
                              out.numbers.push_back(f.number);
                              out.width = f.rgb.width;
                              out.height = f.rgb.height;
                              REQUIRE(f.rgb.channels == 3);
                              REQUIRE(f.rgb.data.size() == f.rgb.size_bytes());
                              return {};
                            });
  return out;
}

// Finds a 4-byte box type in an MP4 (at or after `from`) and returns the offset of its size
// field.
std::size_t find_box(const std::vector<std::uint8_t>& bytes, std::string_view type,
                     std::size_t from = 0) {
  const auto it = std::search(bytes.begin() + static_cast<std::ptrdiff_t>(from), bytes.end(),
                              type.begin(), type.end());
  REQUIRE(it != bytes.end());
  return static_cast<std::size_t>(it - bytes.begin()) - 4;
}

void put_be32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

// EBML element: id bytes, an 8-byte size, the payload.
void ebml(std::vector<std::uint8_t>& out, std::initializer_list<std::uint8_t> id,
          const std::vector<std::uint8_t>& payload) {
  out.insert(out.end(), id);
  out.push_back(0x01);
  for (int i = 6; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(payload.size() >> (8 * i)));
  out.insert(out.end(), payload.begin(), payload.end());
}

// A Matroska file whose Tracks element lists `tracks` video tracks and nothing else.
std::vector<std::uint8_t> matroska_with_tracks(std::size_t tracks) {
  std::vector<std::uint8_t> header;
  ebml(header, {0x42, 0x82}, bytes_of("matroska"));  // DocType
  std::vector<std::uint8_t> entries;
  for (std::size_t i = 1; i <= tracks; ++i) {
    std::vector<std::uint8_t> entry;
    ebml(entry, {0xD7},
         {static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
          static_cast<std::uint8_t>(i)});              // TrackNumber
    ebml(entry, {0x83}, {0x01});                       // TrackType: video
    ebml(entry, {0x86}, bytes_of("V_MPEG4/ISO/AVC"));  // CodecID
    ebml(entries, {0xAE}, entry);                      // TrackEntry
  }
  std::vector<std::uint8_t> segment;
  std::vector<std::uint8_t> info;
  ebml(info, {0x2A, 0xD7, 0xB1}, {0x0F, 0x42, 0x40});  // TimecodeScale 1,000,000
  ebml(segment, {0x15, 0x49, 0xA9, 0x66}, info);       // Info
  ebml(segment, {0x16, 0x54, 0xAE, 0x6B}, entries);    // Tracks
  std::vector<std::uint8_t> cluster;
  ebml(cluster, {0xE7}, {0x00});                     // Timecode 0
  ebml(segment, {0x1F, 0x43, 0xB6, 0x75}, cluster);  // Cluster
  std::vector<std::uint8_t> file;
  ebml(file, {0x1A, 0x45, 0xDF, 0xA3}, header);
  ebml(file, {0x18, 0x53, 0x80, 0x67}, segment);
  return file;
}

}  // namespace

TEST_CASE("sniff_video names each container by its magic bytes", "[video]") {
  CHECK(scanner::sniff_video(clip("tiny-h264.mp4")).value() == scanner::video_container::mp4);
  CHECK(scanner::sniff_video(clip("tiny-vp9.webm")).value() == scanner::video_container::matroska);
  CHECK(scanner::sniff_video(clip("tiny-mpeg4.avi")).value() == scanner::video_container::avi);
  CHECK(scanner::sniff_video(clip("tiny-mpeg2.ts")).value() == scanner::video_container::mpeg_ts);
}

TEST_CASE("sniff_video leaves images, HEIF and animated WebP alone", "[video]") {
  CHECK(scanner::sniff_video({}).error() == errc::empty);
  auto webp = bytes_of("RIFF\x10\0\0\0WEBPVP8X");
  CHECK(scanner::sniff_video(webp).error() == errc::unsupported_format);
  auto heic =
      bytes_of(std::string("\0\0\0\x18"
                           "ftypheic\0\0\0\0",
                           16));
  CHECK(scanner::sniff_video(heic).error() == errc::unsupported_format);
  auto png = bytes_of("\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
  CHECK(scanner::sniff_video(png).error() == errc::unsupported_format);
  std::vector<std::uint8_t> one_ts_packet(188, 0);
  one_ts_packet[0] = 0x47;
  CHECK(scanner::sniff_video(one_ts_packet).error() == errc::unsupported_format);
}

TEST_CASE("decode_video reads every container and codec, every frame in order", "[video]") {
  for (const char* name : {"tiny-h264.mp4", "tiny-vp9.webm", "tiny-mpeg4.avi", "tiny-mpeg2.ts"}) {
    INFO(name);
    const auto d = decode(clip(name));
    REQUIRE(d.info.has_value());
    CHECK(d.info->frames_decoded == 12);
    CHECK(d.info->frame_rate == Approx(10.0));
    CHECK(d.numbers.size() == 12);
    CHECK(std::is_sorted(d.numbers.begin(), d.numbers.end()));
    CHECK(d.numbers.front() == 0);
    CHECK(d.width == 64);
    CHECK(d.height == 48);
  }
}

TEST_CASE("decode_video samples every int(seconds x rate)-th frame and scales on request",
          "[video]") {
  const auto d = decode(clip("tiny-h264.mp4"), {0.5, 16, 16});
  REQUIRE(d.info.has_value());
  CHECK(d.info->frame_step == 5);
  CHECK(d.info->frames_decoded == 12);
  CHECK(d.numbers == std::vector<std::uint64_t>{0, 5, 10});
  CHECK(d.width == 16);
  CHECK(d.height == 16);
}

TEST_CASE("decode_video flushes the decoder when the video is not stream 0", "[video]") {
  // The reference loses the delayed B-frames here (its flush packet goes to stream 0).
  const auto d = decode(clip("tiny-audio-first.mp4"));
  REQUIRE(d.info.has_value());
  CHECK(d.info->frames_decoded == 12);
}

TEST_CASE("decode_video refuses each limit before the work it bounds", "[video]") {
  const auto bytes = clip("tiny-h264.mp4");
  scanner::video_limits limits;
  SECTION("bytes") {
    limits.max_bytes = bytes.size() - 1;
    CHECK(decode(bytes, {0.0}, limits).info.error() == errc::too_large);
  }
  SECTION("pixels per frame") {
    limits.max_pixels = 64 * 48 - 1;
    CHECK(decode(bytes, {0.0}, limits).info.error() == errc::too_many_pixels);
  }
  SECTION("duration") {
    limits.max_duration_s = 1.0;  // the clip is 1.2 s
    const auto d = decode(bytes, {0.0}, limits);
    CHECK(d.info.error() == errc::too_long);
    CHECK(d.numbers.empty());  // refused from the header, before any frame
  }
  SECTION("frame count") {
    limits.max_frames = 11;
    const auto d = decode(bytes, {0.0}, limits);
    CHECK(d.info.error() == errc::too_many_frames);
    CHECK(d.numbers.empty());
  }
  SECTION("total decoded pixels") {
    limits.max_total_pixels = 64 * 48 * 12 - 1;
    CHECK(decode(bytes, {0.0}, limits).info.error() == errc::too_many_pixels);
  }
  SECTION("CPU budget") {
    scanner::scan_budget spent(std::chrono::nanoseconds(0));
    const auto r = scanner::decode_video(
        bytes, {0.0}, limits, spent,
        [](const scanner::video_frame&) { return hashguard::core::result<void>{}; });
    CHECK(r.error() == errc::scan_budget_exceeded);
  }
}

TEST_CASE("decode_video ends hostile videos with a clear error", "[video]") {
  const auto good = clip("tiny-h264.mp4");
  SECTION("truncated inside the moov") {
    const std::size_t moov = find_box(good, "moov");
    const std::vector<std::uint8_t> cut(good.begin(),
                                        good.begin() + static_cast<std::ptrdiff_t>(moov + 64));
    CHECK(decode(cut).info.error() == errc::truncated);
  }
  SECTION("corrupt moov") {
    auto bad = good;
    const std::size_t moov = find_box(bad, "moov");
    std::fill(bad.begin() + static_cast<std::ptrdiff_t>(moov + 8),
              bad.begin() + static_cast<std::ptrdiff_t>(moov + 200), std::uint8_t{0xFF});
    const auto d = decode(bad);
    CHECK_FALSE(d.info.has_value());
    CHECK(d.numbers.empty());
  }
  SECTION("a header claiming 65535x65535") {
    auto bad = good;
    const std::size_t avc1 = find_box(bad, "avc1", find_box(bad, "stsd"));  // not ftyp's brand
    // VisualSampleEntry: width and height are 16-bit at offsets 32 and 34 of the box.
    bad[avc1 + 32] = bad[avc1 + 33] = bad[avc1 + 34] = bad[avc1 + 35] = 0xFF;
    CHECK(decode(bad).info.error() == errc::too_many_pixels);
  }
  SECTION("a header claiming 10 hours") {
    auto bad = good;
    const std::size_t mvhd = find_box(bad, "mvhd");
    // mvhd version 0: timescale at +20, duration at +24.
    put_be32(bad, mvhd + 20, 1000);
    put_be32(bad, mvhd + 24, 10U * 3600U * 1000U);
    const auto d = decode(bad);
    CHECK(d.info.error() == errc::too_long);
    CHECK(d.numbers.empty());
  }
  SECTION("100,000 streams") {
    CHECK(decode(matroska_with_tracks(100'000)).info.error() == errc::too_many_streams);
  }
  SECTION("random bytes behind a valid magic") {
    std::vector<std::uint8_t> noise(4096);
    std::uint32_t x = 12345;
    for (auto& b : noise) b = static_cast<std::uint8_t>((x = x * 1103515245U + 12345U) >> 24);
    std::copy_n(good.begin(), 32, noise.begin());  // the ftyp box
    CHECK_FALSE(decode(noise).info.has_value());
  }
}
