// The vPDQ list-video index (video_index.hpp).
#include "hashguard/matcher/video_index.hpp"

#include "hashguard/core/vocabulary.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace hashguard::matcher {

video_index::video_index(std::vector<video_input> videos, const kernel& k, mih_options options) {
  std::vector<core::hash256> hashes;
  videos_.reserve(videos.size());
  for (auto& in : videos) {
    const auto kept = vpdq_kept_frames(in.frames, core::pdq_min_quality);
    video v;
    v.owner = in.owner;
    v.entry = in.entry;
    v.name = std::move(in.name);
    v.rule = in.rule;
    v.first = static_cast<std::uint32_t>(hashes.size());
    v.count = static_cast<std::uint32_t>(kept.size());
    const auto position = static_cast<std::uint32_t>(videos_.size());
    for (const auto& f : kept) {
      hashes.push_back(f.hash);
      frame_video_.push_back(position);
    }
    radius_ = std::max(radius_, v.rule.distance);
    videos_.push_back(std::move(v));
  }
  frames_.emplace(hashes, k, options);
}

std::size_t video_index::memory_bytes() const noexcept {
  return frames_->linear().storage_bytes() + frames_->table_bytes() +
         frame_video_.size() * sizeof(std::uint32_t) + videos_.size() * sizeof(video);
}

std::vector<video_hit> video_index::match(std::span<const video_frame_hash> query,
                                          search_stats* stats) const {
  std::vector<video_hit> out;
  const auto kept = vpdq_kept_frames(query, core::pdq_min_quality);
  if (kept.empty() || radius_ < 0 || frames_->size() == 0) return out;

  // (video, kept query frame, indexed frame, distance) for every pair within its list's radius.
  struct pair {
    std::uint32_t video, query, frame;
    int distance;
  };
  std::vector<pair> pairs;
  std::vector<core::hash256> hashes;
  std::vector<range_match> found;
  constexpr std::size_t batch = 65536;  // range_match::query is 16 bits
  for (std::size_t at = 0; at < kept.size(); at += batch) {
    const std::size_t n = std::min(batch, kept.size() - at);
    hashes.clear();
    for (std::size_t i = 0; i < n; ++i) hashes.push_back(kept[at + i].hash);
    found.clear();
    search_stats local;
    frames_->range(hashes, radius_, found, &local);
    if (stats != nullptr) {
      stats->path = local.path;
      stats->probes += local.probes;
      stats->candidates += local.candidates;
    }
    for (const auto& m : found) {
      const std::uint32_t v = frame_video_[m.index];
      if (m.distance > videos_[v].rule.distance) continue;
      pairs.push_back({v, static_cast<std::uint32_t>(at + m.query), m.index, m.distance});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const pair& a, const pair& b) {
    return std::tie(a.video, a.query, a.frame) < std::tie(b.video, b.query, b.frame);
  });
  std::vector<std::uint32_t> list_frames;
  for (std::size_t i = 0; i < pairs.size();) {
    const std::uint32_t v = pairs[i].video;
    std::size_t matched_query = 0;
    int best = 256;
    std::set<core::hash256> matched_hashes;
    list_frames.clear();
    std::size_t j = i;
    for (; j < pairs.size() && pairs[j].video == v; ++j) {
      if (j == i || pairs[j].query != pairs[j - 1].query) {
        ++matched_query;
        matched_hashes.insert(kept[pairs[j].query].hash);
      }
      list_frames.push_back(pairs[j].frame);
      best = std::min(best, pairs[j].distance);
    }
    i = j;
    std::sort(list_frames.begin(), list_frames.end());
    const auto matched_list = static_cast<std::size_t>(
        std::unique(list_frames.begin(), list_frames.end()) - list_frames.begin());
    const video& vid = videos_[v];
    video_hit h;
    h.video = v;
    h.distance = best;
    h.result.query_percent = vpdq_percent(matched_query, kept.size());
    h.result.compared_percent = vpdq_percent(matched_list, vid.count);
    h.result.matched = h.result.query_percent >= vid.rule.query_percent &&
                       h.result.compared_percent >= vid.rule.compared_percent;
    if (!h.result.matched) continue;
    h.result.segments = vpdq_segments(query, matched_hashes, core::pdq_min_quality);
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace hashguard::matcher
