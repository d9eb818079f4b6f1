#include "hashguard/matcher/snapshot.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/matcher/kernel.hpp"

#include <algorithm>
#include <cstring>

namespace hashguard::matcher {
namespace {

// Position of a digest signal in the per-digest arrays, and its length in bytes.
std::size_t digest_slot(core::signal s) noexcept {
  return s == core::signal::md5 ? 0 : s == core::signal::sha1 ? 1 : 2;
}
std::size_t digest_length(core::signal s) noexcept {
  return s == core::signal::md5 ? 16 : s == core::signal::sha1 ? 20 : 32;
}

struct pdq_candidate {
  std::uint32_t index;
  std::uint16_t distance;
  std::uint16_t variant;
};

}  // namespace

// ---- snapshot ------------------------------------------------------------------------------

snapshot::snapshot(mih_index pdq, linear_index64 phash, const kernel& k)
    : kernel_(&k), pdq_(std::move(pdq)), phash_(std::move(phash)) {}

const list_info* snapshot::find_list(std::int64_t id) const noexcept {
  const auto it = std::lower_bound(lists_.begin(), lists_.end(), id,
                                   [](const list_info& l, std::int64_t v) { return l.id < v; });
  return it != lists_.end() && it->id == id ? &*it : nullptr;
}

std::size_t snapshot::size(core::signal s) const noexcept {
  switch (s) {
    case core::signal::pdq: return pdq_.size();
    case core::signal::phash: return phash_.size();
    case core::signal::vpdq: return videos_ ? videos_->size() : 0;
    default: return digests_[digest_slot(s)].size();
  }
}

std::vector<core::hit> snapshot::match(const scan_query& q) const {
  std::vector<core::hit> out;
  match(q, out);
  return out;
}

void snapshot::match(const scan_query& q, std::vector<core::hit>& out, match_stats* stats) const {
  match_stats local;
  match_stats& st = stats != nullptr ? *stats : local;
  st = {};
  if (q.pdq && pdq_radius_ >= 0) {
    const pdq_query& p = *q.pdq;
    if (p.quality < core::pdq_min_quality) {
      st.pdq_low_quality = true;
    } else {
      const auto count = static_cast<std::size_t>(std::clamp(p.variant_count, 1, 8));
      std::vector<range_match> raw;
      pdq_.range(std::span<const core::hash256>(p.variants.data(), count), pdq_radius_, raw,
                 &st.pdq);
      st.pdq_raw_matches = raw.size();
      std::vector<pdq_candidate> kept;
      for (const range_match& m : raw) {
        const list_info& list = lists_[pdq_list_[m.index]];
        if (m.distance > list.search_radius()) continue;
        if (m.query != 0 && !list.dihedral) continue;
        kept.push_back({m.index, m.distance, m.query});
      }
      // One hit per entry: its smallest distance, ties to the lowest variant.
      std::sort(kept.begin(), kept.end(), [](const pdq_candidate& a, const pdq_candidate& b) {
        if (a.index != b.index) return a.index < b.index;
        if (a.distance != b.distance) return a.distance < b.distance;
        return a.variant < b.variant;
      });
      for (std::size_t i = 0; i < kept.size(); ++i) {
        if (i > 0 && kept[i].index == kept[i - 1].index) continue;
        const pdq_candidate& c = kept[i];
        out.push_back({lists_[pdq_list_[c.index]].id, pdq_entry_[c.index], core::signal::pdq,
                       c.distance, static_cast<core::dihedral>(c.variant), q.query});
      }
    }
  }
  if (q.phash && phash_radius_ >= 0) {
    std::vector<range_match> raw;
    phash_.range(std::span<const core::hash64>(&*q.phash, 1), phash_radius_, raw);
    for (const range_match& m : raw) {
      const list_info& list = lists_[phash_list_[m.index]];
      if (m.distance > list.search_radius()) continue;
      out.push_back({list.id, phash_entry_[m.index], core::signal::phash, m.distance,
                     core::dihedral::original, q.query});
    }
  }
  if (q.md5) match_digest(digests_[0], core::signal::md5, *q.md5, q.query, out);
  if (q.sha1) match_digest(digests_[1], core::signal::sha1, *q.sha1, q.query, out);
  if (q.sha256) match_digest(digests_[2], core::signal::sha256, *q.sha256, q.query, out);
}

bool snapshot::in_review_band(const core::hit& h) const noexcept {
  const list_info* l = find_list(h.list_id);
  return l != nullptr && h.distance > l->threshold;
}

bool snapshot::quarantined(std::int64_t entry_id) const noexcept {
  return std::binary_search(quarantined_.data(), quarantined_.data() + quarantined_.size(),
                            entry_id);
}

std::optional<core::hit_detail::source_ref> snapshot::source_of(std::int64_t entry_id) const {
  const source_row* first = sources_.data();
  const source_row* last = first + sources_.size();
  const source_row* it = std::lower_bound(
      first, last, entry_id, [](const source_row& r, std::int64_t id) { return r.entry < id; });
  if (it == last || it->entry != entry_id) return std::nullopt;
  const auto exchange = static_cast<std::size_t>(it->ref >> 48);
  if (exchange >= exchanges_.size()) return std::nullopt;
  core::hit_detail::source_ref out;
  out.exchange = exchanges_[exchange];
  const std::uint64_t value = it->ref & source_value_mask;
  if ((it->ref & source_inline_bit) != 0) {
    out.source_id = std::to_string(value);
    return out;
  }
  // A record read from a cache image is bounds-checked here rather than at load (a load then
  // costs no pass over the text); a malformed one gives the exchange alone.
  const std::uint8_t* text = source_text_.data();
  const std::size_t size = source_text_.size();
  std::size_t at = static_cast<std::size_t>(value);
  const auto take = [&](std::size_t n) {
    if (at > size || size - at < n) return false;
    at += n;
    return true;
  };
  if (!take(2)) return out;
  const std::size_t id_len =
      static_cast<std::size_t>(text[at - 2]) | (std::size_t{text[at - 1]} << 8);
  if (!take(id_len)) return out;
  std::string id(reinterpret_cast<const char*>(text + at - id_len), id_len);
  if (!take(1)) return out;
  const std::size_t tags = text[at - 1];
  std::vector<std::string> tag_list;
  for (std::size_t t = 0; t < tags; ++t) {
    if (!take(1)) return out;
    const std::size_t len = text[at - 1];
    if (!take(len)) return out;
    tag_list.emplace_back(reinterpret_cast<const char*>(text + at - len), len);
  }
  out.source_id = std::move(id);
  out.tags = std::move(tag_list);
  return out;
}

core::action snapshot::action_of(const core::hit& h) const noexcept {
  const list_info* l = find_list(h.list_id);
  if (l == nullptr) return core::action::none;
  // Capped, not replaced: review is the strongest a band hit or a quarantined entry may act,
  // and a list that only logs (none) keeps doing so.
  if (h.distance > l->threshold || quarantined(h.entry_id)) {
    return l->act < core::action::review ? core::action::review : l->act;
  }
  return l->act;
}

void snapshot::match_digest(const table_buffer<digest_entry>& table, core::signal sig,
                            std::span<const std::uint8_t> bytes, std::int32_t query,
                            std::vector<core::hit>& out) const {
  digest_entry key;
  std::memcpy(key.bytes.data(), bytes.data(), std::min(bytes.size(), key.bytes.size()));
  const auto range = std::equal_range(
      table.data(), table.data() + table.size(), key,
      [](const digest_entry& a, const digest_entry& b) { return a.bytes < b.bytes; });
  for (auto it = range.first; it != range.second; ++it) {
    out.push_back({lists_[it->list].id, it->entry, sig, 0, core::dihedral::original, query});
  }
}

void snapshot::match_video(std::span<const video_frame_hash> query, std::vector<core::hit>& out,
                           search_stats* stats) const {
  if (!videos_) return;
  for (auto& found : videos_->match(query, stats)) {
    const video_index::video& v = videos_->at(found.video);
    auto detail = std::make_shared<core::hit_detail>();
    core::hit_detail::video_match m;
    m.list_video = v.name;
    m.query_match_percent = found.result.query_percent;
    m.compared_match_percent = found.result.compared_percent;
    for (const auto& seg : found.result.segments) m.segments.push_back({seg.start, seg.end});
    detail->video = std::move(m);
    out.push_back({lists_[v.owner].id, v.entry, core::signal::vpdq, found.distance,
                   core::dihedral::original, -1, std::move(detail)});
  }
}

// ---- snapshot_builder ----------------------------------------------------------------------

core::result<void> snapshot_builder::add_list(list_info list) {
  if (lists_.count(list.id) != 0) return errc::duplicate_list;
  const int max = core::max_threshold(list.sig);
  if (list.threshold < 0 || list.threshold > max) return errc::bad_threshold;
  if (list.sig == core::signal::vpdq &&
      !(list.video_query_percent > 0 && list.video_query_percent <= 100 &&
        list.video_compared_percent >= 0 && list.video_compared_percent <= 100)) {
    return errc::bad_threshold;
  }
  if (list.review_threshold > max || (max == 0 && list.review_threshold > 0)) {
    return errc::bad_threshold;
  }
  if (list.review_threshold <= list.threshold) list.review_threshold = -1;  // one "no band"
  const std::int64_t id = list.id;
  lists_.emplace(id, std::move(list));
  return {};
}

core::result<const list_info*> snapshot_builder::list_for(std::int64_t list_id,
                                                          core::signal sig) const {
  const auto it = lists_.find(list_id);
  if (it == lists_.end()) return errc::unknown_list;
  if (it->second.sig != sig) return errc::wrong_signal;
  return &it->second;
}

core::result<void> snapshot_builder::add_pdq(std::int64_t list_id, std::int64_t entry_id,
                                             const core::hash256& h) {
  auto list = list_for(list_id, core::signal::pdq);
  if (!list) return list.error();
  pdq_list_.push_back(list_id);
  pdq_entry_.push_back(entry_id);
  pdq_.push_back(h);
  return {};
}

core::result<void> snapshot_builder::add_phash(std::int64_t list_id, std::int64_t entry_id,
                                               core::hash64 h) {
  auto list = list_for(list_id, core::signal::phash);
  if (!list) return list.error();
  phash_list_.push_back(list_id);
  phash_entry_.push_back(entry_id);
  phash_.push_back(h);
  return {};
}

core::result<void> snapshot_builder::add_digest(std::int64_t list_id, std::int64_t entry_id,
                                                std::span<const std::uint8_t> bytes) {
  const auto it = lists_.find(list_id);
  if (it == lists_.end()) return errc::unknown_list;
  const core::signal sig = it->second.sig;
  if (core::is_perceptual(sig) || sig == core::signal::vpdq || bytes.size() != digest_length(sig)) {
    return errc::wrong_signal;
  }
  pending_digest d;
  d.list_id = list_id;
  d.entry = entry_id;
  std::memcpy(d.bytes.data(), bytes.data(), bytes.size());
  digests_[digest_slot(sig)].push_back(d);
  return {};
}

core::result<void> snapshot_builder::add_video(std::int64_t list_id, std::int64_t entry_id,
                                               std::string name,
                                               std::vector<video_frame_hash> frames) {
  auto list = list_for(list_id, core::signal::vpdq);
  if (!list) return list.error();
  videos_.push_back({list_id, entry_id, std::move(name), std::move(frames)});
  return {};
}

void snapshot_builder::quarantine(std::int64_t entry_id) {
  quarantined_.push_back(entry_id);
}

void snapshot_builder::add_source(std::int64_t entry_id, std::string_view exchange,
                                  std::string_view source_id, std::span<const std::string> tags) {
  constexpr std::size_t max_exchanges = 1U << 16;
  constexpr std::size_t max_source_id = 4096;
  constexpr std::size_t max_tags = 32;
  constexpr std::size_t max_tag = 255;
  auto known = exchange_ids_.find(exchange);
  if (known == exchange_ids_.end()) {
    if (exchanges_.size() >= max_exchanges) return;  // more than the ref's 16 bits can name
    known =
        exchange_ids_.emplace(std::string(exchange), static_cast<std::uint32_t>(exchanges_.size()))
            .first;
    exchanges_.emplace_back(exchange);
  }
  const std::uint64_t ex = std::uint64_t{known->second} << 48;
  // A plain decimal id (no sign, no leading zero) below 2^47 with no tags needs no text.
  if (tags.empty() && !source_id.empty() && source_id.size() <= 15 &&
      (source_id.size() == 1 || source_id.front() != '0') &&
      std::all_of(source_id.begin(), source_id.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t v = 0;
    for (const char c : source_id) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v <= snapshot::source_value_mask) {
      sources_.push_back({entry_id, ex | snapshot::source_inline_bit | v, sources_.size()});
      return;
    }
  }
  const std::uint64_t offset = source_text_.size();
  if (offset > snapshot::source_value_mask) return;  // 128 TiB of text: never in practice
  if (source_id.size() > max_source_id) source_id = {};
  source_text_.push_back(static_cast<std::uint8_t>(source_id.size() & 0xFF));
  source_text_.push_back(static_cast<std::uint8_t>(source_id.size() >> 8));
  source_text_.insert(source_text_.end(), source_id.begin(), source_id.end());
  const std::size_t count_at = source_text_.size();
  source_text_.push_back(0);
  std::uint8_t kept = 0;
  for (const std::string& tag : tags) {
    if (kept == max_tags) break;
    if (tag.size() > max_tag) continue;
    source_text_.push_back(static_cast<std::uint8_t>(tag.size()));
    source_text_.insert(source_text_.end(), tag.begin(), tag.end());
    ++kept;
  }
  source_text_[count_at] = kept;
  sources_.push_back({entry_id, ex | offset, sources_.size()});
}

void snapshot_builder::reserve(core::signal s, std::size_t n) {
  switch (s) {
    case core::signal::pdq:
      pdq_list_.reserve(n);
      pdq_entry_.reserve(n);
      pdq_.reserve(n);
      break;
    case core::signal::phash:
      phash_list_.reserve(n);
      phash_entry_.reserve(n);
      phash_.reserve(n);
      break;
    case core::signal::vpdq: videos_.reserve(n); break;
    default: digests_[digest_slot(s)].reserve(n); break;
  }
}

core::result<void> snapshot_builder::add_hex(std::int64_t list_id, std::int64_t entry_id,
                                             std::string_view hex) {
  const auto it = lists_.find(list_id);
  if (it == lists_.end()) return errc::unknown_list;
  switch (it->second.sig) {
    case core::signal::pdq: {
      auto h = core::parse_hash256(hex);
      if (!h) return h.error();
      return add_pdq(list_id, entry_id, *h);
    }
    case core::signal::phash: {
      auto h = core::parse_hash64(hex);
      if (!h) return h.error();
      return add_phash(list_id, entry_id, *h);
    }
    default: {
      auto bytes = core::parse_hex_bytes(hex, digest_length(it->second.sig));
      if (!bytes) return bytes.error();
      return add_digest(list_id, entry_id, *bytes);
    }
  }
}

core::result<std::shared_ptr<const snapshot>> snapshot_builder::build(snapshot_options options) {
  const auto start = std::chrono::steady_clock::now();
  const kernel* k = options.k;
  if (k == nullptr) {
    auto chosen = startup_kernel();
    if (!chosen) return chosen.error();
    k = *chosen;
  }
  std::shared_ptr<snapshot> snap(
      new snapshot(mih_index(pdq_, *k, options.mih), linear_index64(phash_, *k), *k));
  snap->version_ = options.version;
  std::map<std::int64_t, std::uint32_t> position;
  for (auto& [id, list] : lists_) {
    position.emplace(id, static_cast<std::uint32_t>(snap->lists_.size()));
    if (list.sig == core::signal::pdq) {
      snap->pdq_radius_ = std::max(snap->pdq_radius_, list.search_radius());
    }
    if (list.sig == core::signal::phash) {
      snap->phash_radius_ = std::max(snap->phash_radius_, list.search_radius());
    }
    snap->lists_.push_back(std::move(list));
  }
  // Consecutive entries mostly belong to one list: remember the last lookup.
  const auto positions = [&position](const std::vector<std::int64_t>& ids) {
    table_buffer<std::uint32_t> out(ids.size());
    std::int64_t last_id = 0;
    std::uint32_t last_pos = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i == 0 || ids[i] != last_id) {
        last_id = ids[i];
        last_pos = position.at(last_id);
      }
      out[i] = last_pos;
    }
    return out;
  };
  const auto copy_ids = [](const std::vector<std::int64_t>& ids) {
    table_buffer<std::int64_t> out(ids.size());
    if (!ids.empty()) std::memcpy(out.data(), ids.data(), ids.size() * sizeof(std::int64_t));
    return out;
  };
  snap->pdq_list_ = positions(pdq_list_);
  snap->pdq_entry_ = copy_ids(pdq_entry_);
  snap->phash_list_ = positions(phash_list_);
  snap->phash_entry_ = copy_ids(phash_entry_);
  for (std::size_t s = 0; s < 3; ++s) {
    auto& table = snap->digests_[s];
    table = table_buffer<snapshot::digest_entry>(digests_[s].size());
    for (std::size_t i = 0; i < digests_[s].size(); ++i) {
      const pending_digest& d = digests_[s][i];
      table[i] = snapshot::digest_entry{d.bytes, position.at(d.list_id), 0, d.entry};
    }
    std::stable_sort(table.data(), table.data() + table.size(),
                     [](const snapshot::digest_entry& a, const snapshot::digest_entry& b) {
                       return a.bytes < b.bytes;
                     });
  }
  std::sort(quarantined_.begin(), quarantined_.end());
  quarantined_.erase(std::unique(quarantined_.begin(), quarantined_.end()), quarantined_.end());
  snap->quarantined_ = copy_ids(quarantined_);
  // Provenance by entry id; of several calls for one id the last wins.
  std::sort(sources_.begin(), sources_.end(), [](const pending_source& a, const pending_source& b) {
    return a.entry != b.entry ? a.entry < b.entry : a.order > b.order;
  });
  sources_.erase(std::unique(sources_.begin(), sources_.end(),
                             [](const pending_source& a, const pending_source& b) {
                               return a.entry == b.entry;
                             }),
                 sources_.end());
  snap->sources_ = table_buffer<snapshot::source_row>(sources_.size());
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    snap->sources_[i] = snapshot::source_row{sources_[i].entry, sources_[i].ref};
  }
  snap->source_text_ = table_buffer<std::uint8_t>(source_text_.size());
  if (!source_text_.empty()) {
    std::memcpy(snap->source_text_.data(), source_text_.data(), source_text_.size());
  }
  snap->exchanges_ = std::move(exchanges_);
  if (std::any_of(snap->lists_.begin(), snap->lists_.end(),
                  [](const list_info& l) { return l.sig == core::signal::vpdq; })) {
    // By list, then as added: the order hits of one query come out in.
    std::stable_sort(
        videos_.begin(), videos_.end(),
        [](const pending_video& a, const pending_video& b) { return a.list_id < b.list_id; });
    std::vector<video_input> inputs;
    inputs.reserve(videos_.size());
    for (auto& v : videos_) {
      const std::uint32_t owner = position.at(v.list_id);
      const list_info& l = snap->lists_[owner];
      inputs.push_back({owner, v.entry, std::move(v.name),
                        video_rule{l.threshold, l.video_query_percent, l.video_compared_percent},
                        std::move(v.frames)});
    }
    snap->videos_ = std::make_shared<const video_index>(std::move(inputs), *k, options.mih);
  }
  *this = snapshot_builder();
  snap->build_time_ = std::chrono::steady_clock::now() - start;
  return std::shared_ptr<const snapshot>(std::move(snap));
}

}  // namespace hashguard::matcher
