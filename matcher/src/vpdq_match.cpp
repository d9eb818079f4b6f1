// The vPDQ matching rule (vpdq_match.hpp).
#include "hashguard/matcher/vpdq_match.hpp"

#include <algorithm>
#include <set>

namespace hashguard::matcher {

std::vector<video_frame_hash> vpdq_kept_frames(std::span<const video_frame_hash> frames,
                                               int min_quality) {
  std::vector<video_frame_hash> kept;
  std::set<core::hash256> seen;
  for (const auto& f : frames) {
    if (f.quality < min_quality) continue;
    if (!seen.insert(f.hash).second) continue;
    kept.push_back(f);
  }
  return kept;
}

namespace {

bool near_any(const core::hash256& h, std::span<const video_frame_hash> others, int distance) {
  return std::any_of(others.begin(), others.end(), [&](const video_frame_hash& o) {
    return core::distance(h, o.hash) <= distance;
  });
}

}  // namespace

double vpdq_percent(std::size_t part, std::size_t whole) noexcept {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::vector<video_segment> vpdq_segments(std::span<const video_frame_hash> query,
                                         const std::set<core::hash256>& matched, int min_quality) {
  // Over the quality-kept query frames in order (duplicates included, so a still scene that
  // repeats one hash stays one segment).
  std::vector<video_segment> segments;
  bool open = false;
  for (const auto& f : query) {
    if (f.quality < min_quality) continue;
    if (matched.count(f.hash) != 0) {
      if (!open) segments.push_back({f.timestamp, f.timestamp});
      segments.back().end = f.timestamp;
      open = true;
    } else {
      open = false;
    }
  }
  return segments;
}

vpdq_match_result vpdq_match(std::span<const video_frame_hash> query,
                             std::span<const video_frame_hash> compared, const vpdq_rule& rule) {
  const auto q = vpdq_kept_frames(query, rule.min_quality);
  const auto c = vpdq_kept_frames(compared, rule.min_quality);
  std::set<core::hash256> matched_query;
  for (const auto& f : q) {
    if (near_any(f.hash, c, rule.distance)) matched_query.insert(f.hash);
  }
  std::size_t matched_compared = 0;
  for (const auto& f : c) matched_compared += near_any(f.hash, q, rule.distance) ? 1U : 0U;

  vpdq_match_result out;
  out.query_percent = vpdq_percent(matched_query.size(), q.size());
  out.compared_percent = vpdq_percent(matched_compared, c.size());
  out.matched = !q.empty() && out.query_percent >= rule.query_threshold &&
                out.compared_percent >= rule.compared_threshold;

  out.segments = vpdq_segments(query, matched_query, rule.min_quality);
  return out;
}

}  // namespace hashguard::matcher
