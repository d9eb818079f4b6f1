// The record of one match between a query and a list entry. Produced by matcher, stored by
// hashdb, returned by api; defined here so all three share it.
#pragma once

#include "hashguard/core/vocabulary.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hashguard::core {

/// Where in the query a hit was found and where its entry came from, beyond list, entry and
/// distance: filled by the query-side detection (orientation, trimmed borders), video matching
/// and list exchanges; every part is optional and absent parts are left out of the JSON hit.
/// Who may see it is the API's capability rule, not the matcher's.
struct hit_detail {
  /// The pixel-level orientation of the query that matched (a rotation or a mirror).
  std::optional<dihedral> orientation;
  /// Pixels trimmed from each side of the query before it matched (borders, letterboxes).
  struct trim_box {
    int top{}, bottom{}, left{}, right{};
    friend constexpr bool operator==(const trim_box&, const trim_box&) = default;
  };
  std::optional<trim_box> trim;
  /// Video (a vpdq hit): the list video, the share of the query's kept frames that matched it
  /// and of its kept frames that the query matched (0..100), and the query's time spans that
  /// matched (seconds).
  struct video_segment {
    double start_s{}, end_s{};
    friend constexpr bool operator==(const video_segment&, const video_segment&) = default;
  };
  struct video_match {
    std::string list_video;  ///< vpdq hits: the list video's name (its external id)
    double query_match_percent{};
    double compared_match_percent{};
    std::vector<video_segment> segments;
    friend bool operator==(const video_match&, const video_match&) = default;
  };
  std::optional<video_match> video;
  /// A scanned video matched an image entry: the timestamp (seconds) of its first frame that
  /// matched.
  std::optional<double> frame_timestamp_s;
  /// Provenance of the matched entry: the exchange it came from, its id there and the tags the
  /// source gave it (JSON: "source": {"exchange", "source_id", "tags"}).
  struct source_ref {
    std::string exchange;
    std::string source_id;  ///< "" when the source gave none the snapshot could keep
    std::vector<std::string> tags;
    friend bool operator==(const source_ref&, const source_ref&) = default;
  };
  std::optional<source_ref> source;

  friend bool operator==(const hit_detail&, const hit_detail&) = default;
};

struct hit {
  std::int64_t list_id{};                ///< the hash list's id (hashdb's hash_lists.id)
  std::int64_t entry_id{};               ///< the entry's id within the store (hashdb's hashes.id)
  signal sig{signal::pdq};               ///< which signal matched
  int distance{};                        ///< Hamming distance; 0 for exact digests
  dihedral variant{dihedral::original};  ///< which dihedral variant of the query matched
  std::int32_t query{};  ///< index of the query in the caller's batch (or GIF frame)
  /// Null for a plain hit (the matcher's hot path allocates nothing); shared and immutable.
  /// The `{}` lets a hit be written {list, entry, ...} without it: GCC's
  /// -Wmissing-field-initializers (an error under HG_WERROR) skips members that have one.
  std::shared_ptr<const hit_detail> detail{};

  friend bool operator==(const hit&, const hit&) = default;
};

}  // namespace hashguard::core
