// The frame-hash index of vPDQ list videos: every list video's kept frames (quality >= 50,
// duplicate hashes removed: vpdq_match.hpp steps 1 and 2) in one MIH index keyed by video.
//
// match() finds the candidate videos by frame (each kept query frame searched once at the
// largest frame distance of any video's list, each pair then held to its own list's distance)
// and decides each candidate by the reference rule with that list's thresholds: the share of
// kept query frames that matched some frame of the video, and the share of the video's kept
// frames that some query frame matched. Exact: the same answer as vpdq_match() of the query
// against every list video in turn (the brute force), because MIH range search is exact and a
// video no query frame reaches has a 0 % query share, which never reaches a query threshold
// (the list store and the snapshot builder keep it above 0).
//
// Thread-safety: immutable after construction; match() may run on any number of threads.
#pragma once

#include "hashguard/matcher/mih.hpp"
#include "hashguard/matcher/vpdq_match.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hashguard::matcher {

/// A list's vPDQ thresholds (its list_info): frame distance (inclusive) and the two shares.
struct video_rule {
  int distance{31};
  double query_percent{80.0};    ///< > 0
  double compared_percent{0.0};  ///< >= 0
};

/// One list video as the builder gives it: its frames as stored (all of them, any order).
struct video_input {
  std::uint32_t owner{};  ///< the caller's id for its list (snapshot: position in lists_)
  std::int64_t entry{};
  std::string name;
  video_rule rule;
  std::vector<video_frame_hash> frames;
};

/// One list video that matched.
struct video_hit {
  std::uint32_t video{};  ///< position in the index
  int distance{};         ///< the smallest frame distance among its matched pairs
  vpdq_match_result result;
};

class video_index {
 public:
  struct video {
    std::uint32_t owner{};
    std::int64_t entry{};
    std::string name;
    video_rule rule;
    std::uint32_t first{};  ///< its kept frames: [first, first + count) of the index
    std::uint32_t count{};
  };

  video_index(std::vector<video_input> videos, const kernel& k, mih_options options = {});

  [[nodiscard]] std::size_t size() const noexcept { return videos_.size(); }
  [[nodiscard]] std::size_t frame_count() const noexcept { return frame_video_.size(); }
  [[nodiscard]] const video& at(std::uint32_t i) const noexcept { return videos_[i]; }
  /// Bytes of the index: hashes, MIH tables, frame owners, the video table (names excluded).
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  /// The largest frame distance searched (-1: no video).
  [[nodiscard]] int radius() const noexcept { return radius_; }

  /// The list videos `query` matches (vpdq_match.hpp's rule, each with its list's thresholds),
  /// by video position. Query frames below quality 50 are dropped and duplicates removed first.
  [[nodiscard]] std::vector<video_hit> match(std::span<const video_frame_hash> query,
                                             search_stats* stats = nullptr) const;

 private:
  std::vector<video> videos_;
  std::vector<std::uint32_t> frame_video_;  ///< per indexed frame: its video's position
  std::optional<mih_index> frames_;
  int radius_{-1};
};

}  // namespace hashguard::matcher
