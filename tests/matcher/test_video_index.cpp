// video_index.hpp and snapshot::match_video: the frame index gives exactly what the brute-force
// rule (vpdq_match of the query against every list video) gives, with each list's thresholds.
#include "hashguard/matcher/kernel.hpp"
#include "hashguard/matcher/snapshot.hpp"
#include "hashguard/matcher/video_index.hpp"
#include "hashguard/matcher/vpdq_match.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace matcher = hashguard::matcher;
namespace core = hashguard::core;
using core::hash256;

namespace {

hash256 random_hash(std::mt19937_64& rng) {
  hash256 out;
  for (auto& w : out.words) w = rng();
  return out;
}

hash256 flip_bits(hash256 x, int n, std::mt19937_64& rng) {
  for (int i = 0; i < n; ++i) {
    const auto bit = static_cast<unsigned>(rng() % 256);
    x.words[bit / 64] ^= 1ULL << (bit % 64);
  }
  return x;
}

std::vector<matcher::video_frame_hash> random_video(std::mt19937_64& rng, int frames) {
  std::vector<matcher::video_frame_hash> v;
  for (int i = 0; i < frames; ++i) {
    // Some low-quality frames (dropped on both sides) and some repeats (kept once).
    const int quality = rng() % 10 == 0 ? 30 : 100;
    const hash256 h = (i > 0 && rng() % 8 == 0) ? v.back().hash : random_hash(rng);
    v.push_back({h, quality, static_cast<float>(i) / 10.0F});
  }
  return v;
}

}  // namespace

TEST_CASE("video index: same answer as the brute-force rule, per-list thresholds",
          "[vpdq][video_index]") {
  std::mt19937_64 rng(17);
  const auto kernel = matcher::startup_kernel();
  REQUIRE(kernel);
  // Two lists with different rules; 60 list videos of 20..80 frames.
  const matcher::video_rule loose{31, 50.0, 0.0};
  const matcher::video_rule strict{20, 80.0, 30.0};
  std::vector<std::vector<matcher::video_frame_hash>> list_videos;
  std::vector<matcher::video_input> inputs;
  for (int i = 0; i < 60; ++i) {
    list_videos.push_back(random_video(rng, 20 + static_cast<int>(rng() % 61)));
    inputs.push_back({i < 30 ? 0U : 1U, 1000 + i, "video-" + std::to_string(i),
                      i < 30 ? loose : strict, list_videos.back()});
  }
  const matcher::video_index index(inputs, **kernel);
  REQUIRE(index.size() == 60);

  for (int round = 0; round < 40; ++round) {
    // A query mixing frames of up to 3 list videos (at 0..40 bits of noise) and fresh frames.
    std::vector<matcher::video_frame_hash> query;
    const int sources = 1 + static_cast<int>(rng() % 3);
    for (int s = 0; s < sources; ++s) {
      const auto& src = list_videos[rng() % list_videos.size()];
      const int noise = static_cast<int>(rng() % 41);
      for (const auto& f : src) {
        if (rng() % 3 == 0) continue;
        query.push_back(
            {flip_bits(f.hash, noise, rng), f.quality, static_cast<float>(query.size()) / 10.0F});
      }
    }
    for (int i = static_cast<int>(rng() % 20); i > 0; --i) {
      query.push_back({random_hash(rng), 100, static_cast<float>(query.size()) / 10.0F});
    }
    const auto found = index.match(query);
    std::size_t at = 0;
    for (std::uint32_t v = 0; v < list_videos.size(); ++v) {
      const auto& rule = v < 30 ? loose : strict;
      const auto brute = matcher::vpdq_match(
          query, list_videos[v], {50, rule.distance, rule.query_percent, rule.compared_percent});
      if (!brute.matched) {
        CHECK((at == found.size() || found[at].video != v));
        continue;
      }
      REQUIRE(at < found.size());
      CHECK(found[at].video == v);
      CHECK(found[at].result.query_percent == Approx(brute.query_percent));
      CHECK(found[at].result.compared_percent == Approx(brute.compared_percent));
      REQUIRE(found[at].result.segments.size() == brute.segments.size());
      for (std::size_t s = 0; s < brute.segments.size(); ++s) {
        CHECK(found[at].result.segments[s].start == brute.segments[s].start);
        CHECK(found[at].result.segments[s].end == brute.segments[s].end);
      }
      ++at;
    }
    CHECK(at == found.size());
  }
}

TEST_CASE("snapshot: vpdq lists give one hit per matched list video with its detail",
          "[vpdq][snapshot]") {
  std::mt19937_64 rng(5);
  const auto a = random_video(rng, 40);
  const auto b = random_video(rng, 40);
  matcher::snapshot_builder builder;
  matcher::list_info list;
  list.id = 7;
  list.name = "videos";
  list.sig = core::signal::vpdq;
  list.threshold = 31;
  list.act = core::action::report;
  REQUIRE(builder.add_list(list));
  REQUIRE(builder.add_video(7, 70, "clip-a", a));
  REQUIRE(builder.add_video(7, 71, "clip-b", b));
  // A vpdq list takes no hash entries, and a 0 % query share is refused.
  CHECK_FALSE(builder.add_hex(7, 72, std::string(64, 'a')));
  matcher::list_info zero = list;
  zero.id = 8;
  zero.name = "zero";
  zero.video_query_percent = 0;
  CHECK_FALSE(builder.add_list(zero));
  auto snap = builder.build();
  REQUIRE(snap);
  CHECK((*snap)->size(core::signal::vpdq) == 2);

  std::vector<core::hit> hits;
  (*snap)->match_video(a, hits);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].list_id == 7);
  CHECK(hits[0].entry_id == 70);
  CHECK(hits[0].sig == core::signal::vpdq);
  CHECK(hits[0].distance == 0);
  REQUIRE(hits[0].detail);
  REQUIRE(hits[0].detail->video);
  CHECK(hits[0].detail->video->list_video == "clip-a");
  CHECK(hits[0].detail->video->query_match_percent == Approx(100.0));
  CHECK(hits[0].detail->video->compared_match_percent == Approx(100.0));
  REQUIRE_FALSE(hits[0].detail->video->segments.empty());
  CHECK((*snap)->action_of(hits[0]) == core::action::report);

  // The first half of clip-b: 100 % of the query, about half of the list video.
  hits.clear();
  const std::vector<matcher::video_frame_hash> half(b.begin(), b.begin() + 20);
  (*snap)->match_video(half, hits);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry_id == 71);
  CHECK(hits[0].detail->video->query_match_percent == Approx(100.0));
  CHECK(hits[0].detail->video->compared_match_percent < 100.0);
  const auto& segs = hits[0].detail->video->segments;
  REQUIRE_FALSE(segs.empty());
  CHECK(segs.back().end_s <= 1.9 + 1e-6);
}
