// vpdq_match.hpp: the reference rule (quality filter, duplicates, distance <= 31, both shares
// against their thresholds) and the matched segments.
#include "hashguard/matcher/vpdq_match.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

namespace matcher = hashguard::matcher;
using hashguard::core::hash256;

namespace {

// A pseudo-random hash per seed (splitmix64): two different seeds are about 128 bits apart.
hash256 h(unsigned seed, unsigned salt) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + salt * 0xBF58476D1CE4E5B9ULL + 1;
  hash256 out;
  for (auto& w : out.words) {
    x += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    w = z ^ (z >> 31U);
  }
  return out;
}

hash256 flipped(hash256 x, int n) {
  for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) x.words[3 - (i / 64)] ^= 1ULL << (i % 64);
  return x;
}

}  // namespace

TEST_CASE("vPDQ rule: distance 31 matches, 32 does not (<=, as python-threatexchange)", "[vpdq]") {
  const hash256 a = h(0, 10);
  const std::vector<matcher::video_frame_hash> query{{a, 100, 0.0F}};
  CHECK(matcher::vpdq_match(query,
                            std::vector<matcher::video_frame_hash>{{flipped(a, 31), 100, 0.0F}})
            .matched);
  CHECK_FALSE(matcher::vpdq_match(
                  query, std::vector<matcher::video_frame_hash>{{flipped(a, 32), 100, 0.0F}})
                  .matched);
  matcher::vpdq_rule strict;
  strict.distance = 30;  // the reference C++'s "< 31"
  CHECK_FALSE(
      matcher::vpdq_match(
          query, std::vector<matcher::video_frame_hash>{{flipped(a, 31), 100, 0.0F}}, strict)
          .matched);
}

TEST_CASE("vPDQ rule: low quality dropped, duplicates removed, shares against thresholds",
          "[vpdq]") {
  // Query: 5 distinct good frames (one repeated), 1 low-quality frame that would match.
  std::vector<matcher::video_frame_hash> query;
  for (unsigned i = 0; i < 5; ++i) query.push_back({h(i % 4, 10 + 7 * i), 90, float(i)});
  query.push_back(query[0]);  // duplicate
  const hash256 dark = h(2, 63);
  query.push_back({dark, 49, 9.0F});
  // List video: 4 of the 5 query frames, plus the dark frame (quality 0), plus 4 unrelated.
  std::vector<matcher::video_frame_hash> list;
  for (unsigned i = 0; i < 4; ++i) list.push_back({flipped(query[i].hash, 3), 80, float(i)});
  list.push_back({dark, 0, 5.0F});
  for (unsigned i = 0; i < 4; ++i) list.push_back({flipped(h(1, 40 + i), 128), 80, 0.0F});

  CHECK(matcher::vpdq_kept_frames(query, 50).size() == 5);
  const auto r = matcher::vpdq_match(query, list);
  CHECK(r.query_percent == Approx(80.0));     // 4 of 5 kept query frames
  CHECK(r.compared_percent == Approx(50.0));  // 4 of 8 kept list frames
  CHECK(r.matched);
  matcher::vpdq_rule both;
  both.compared_threshold = 51.0;
  CHECK_FALSE(matcher::vpdq_match(query, list, both).matched);
  matcher::vpdq_rule most;
  most.query_threshold = 81.0;
  CHECK_FALSE(matcher::vpdq_match(query, list, most).matched);
  CHECK_FALSE(matcher::vpdq_match({}, list).matched);
}

TEST_CASE("vPDQ rule: segments are the runs of matched query frames", "[vpdq]") {
  std::vector<matcher::video_frame_hash> query;
  std::vector<matcher::video_frame_hash> list;
  for (unsigned i = 0; i < 10; ++i) {
    const hash256 x = flipped(h(i % 4, 3 + 6 * i), int(i));
    query.push_back({x, 100, float(i)});
    if (i <= 2 || (i >= 6 && i <= 7)) list.push_back({x, 100, 0.0F});
  }
  query[4].quality = 10;  // dropped: neither breaks nor extends a run
  const auto r = matcher::vpdq_match(query, list);
  REQUIRE(r.segments.size() == 2);
  CHECK(r.segments[0].start == 0.0F);
  CHECK(r.segments[0].end == 2.0F);
  CHECK(r.segments[1].start == 6.0F);
  CHECK(r.segments[1].end == 7.0F);
}
