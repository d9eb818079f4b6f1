// The vPDQ matching rule for two videos (ThreatExchange vpdq README, python-threatexchange's
// vPDQ extension), with the segments of the query that matched.
//
// Rule, in order:
//   1. frames with quality < min_quality (default 50) are dropped, on both sides;
//   2. frames whose hash repeats one already kept are dropped (duplicates removed), per side;
//   3. a query frame matches when some compared frame is within `distance` (default 31)
//      inclusive: distance <= 31, as python-threatexchange (the reference C++ matcher
//      matchTwoHash uses < 31; the two differ only at exactly 31);
//      a compared frame matches when some query frame is within the same distance;
//   4. query_percent = matched query frames / kept query frames x 100, and compared_percent
//      likewise; the videos match when query_percent >= query_threshold (default 80) and
//      compared_percent >= compared_threshold (default 0). A side with no kept frames has 0 %.
// Frame order is ignored by the rule. Segments: the kept query frames (step 1, in frame order)
// that matched, grouped into runs of consecutive kept frames; each run is reported with the
// timestamps of its first and last frame.
//
// Cost: brute force, |query| x |compared| distance computations (the index in front of it
// finds the candidate videos). Pure functions; thread-safe.
#pragma once

#include "hashguard/core/hash.hpp"

#include <cstdint>
#include <set>
#include <span>
#include <vector>

namespace hashguard::matcher {

struct video_frame_hash {
  core::hash256 hash;
  int quality{};
  float timestamp{};  ///< seconds
};

struct vpdq_rule {
  int min_quality{50};
  int distance{31};                ///< inclusive
  double query_threshold{80.0};    ///< percent
  double compared_threshold{0.0};  ///< percent
};

struct video_segment {
  float start{};  ///< seconds, query timeline
  float end{};
};

struct vpdq_match_result {
  double query_percent{};
  double compared_percent{};
  bool matched{};
  std::vector<video_segment> segments;
};

/// Frames kept by steps 1 and 2, in order.
[[nodiscard]] std::vector<video_frame_hash> vpdq_kept_frames(
    std::span<const video_frame_hash> frames, int min_quality);

/// matched x 100 / whole, 0 for an empty whole (step 4's shares).
[[nodiscard]] double vpdq_percent(std::size_t matched, std::size_t whole) noexcept;

/// The segments of `query` (as hashed, in frame order): its frames of quality >= min_quality
/// whose hash is in `matched`, grouped into runs of consecutive such frames.
[[nodiscard]] std::vector<video_segment> vpdq_segments(std::span<const video_frame_hash> query,
                                                       const std::set<core::hash256>& matched,
                                                       int min_quality);

/// The rule above for `query` against `compared` (both as hashed, any order).
[[nodiscard]] vpdq_match_result vpdq_match(std::span<const video_frame_hash> query,
                                           std::span<const video_frame_hash> compared,
                                           const vpdq_rule& rule = {});

}  // namespace hashguard::matcher
