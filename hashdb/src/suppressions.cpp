#include "hashguard/hashdb/suppressions.hpp"

#include "hashguard/core/hex.hpp"

#include <algorithm>
#include <utility>

namespace hashguard::hashdb {
namespace {

std::optional<content_key> key_of(const content_decision& d) {
  if (d.sha256.size() != 64) return std::nullopt;
  auto bytes = core::parse_hex_bytes(d.sha256, 32);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  content_key k{};
  std::copy(bytes->begin(), bytes->end(), k.begin());
  return k;
}

}  // namespace

bool suppression_set::contains(const content_key& key) const noexcept {
  return std::binary_search(keys_.begin(), keys_.end(), key);
}

suppression_set suppression_set::apply(std::span<const content_decision> items,
                                       std::string next) const {
  // The final state of every key the items touch: the latest item wins. A stable sort by key
  // keeps the items' order within a key, so the last of each run is its latest.
  std::vector<std::pair<content_key, bool>> changes;
  changes.reserve(items.size());
  for (const auto& d : items) {
    auto k = key_of(d);
    if (!k) continue;
    if (d.decision == "dismissed") {
      changes.emplace_back(*k, true);
    } else if (d.decision == "confirmed" || d.decision == "reopened") {
      changes.emplace_back(*k, false);
    }
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<content_key, bool>> last;
  last.reserve(changes.size());
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (i + 1 < changes.size() && changes[i + 1].first == changes[i].first) continue;
    last.push_back(changes[i]);
  }

  // One merge of two sorted sequences: keys untouched by the items, plus touched keys whose
  // latest state is "suppressed".
  suppression_set out;
  out.cursor_ = std::move(next);
  out.keys_.reserve(keys_.size() + last.size());
  auto old = keys_.begin();
  for (const auto& [k, on] : last) {
    while (old != keys_.end() && *old < k) out.keys_.push_back(*old++);
    if (old != keys_.end() && *old == k) ++old;
    if (on) out.keys_.push_back(k);
  }
  out.keys_.insert(out.keys_.end(), old, keys_.end());
  out.keys_.shrink_to_fit();
  return out;
}

core::result<std::size_t> refresh_suppressions(connection& conn, suppression_holder& holder) {
  const auto current = holder.load();
  // Gather every page first and apply them in one merge: a node catching up on a long feed
  // (its first start) copies the set once, not once per page.
  std::vector<content_decision> items;
  std::string cursor = current->cursor();
  while (true) {
    auto page = decision_feed(conn).since(cursor, 1000);
    if (!page) return core::result<std::size_t>(boost::system::in_place_error, page.error());
    std::move(page->items.begin(), page->items.end(), std::back_inserter(items));
    cursor = std::move(page->next);
    if (!page->more) break;
  }
  if (items.empty()) return std::size_t{0};
  holder.publish(std::make_shared<const suppression_set>(current->apply(items, cursor)));
  return items.size();
}

core::result<std::size_t> refresh_suppressions(std::optional<connection>& conn,
                                               const std::string& database_url,
                                               suppression_holder& holder) {
  // A poller keeps one connection (a poll every few seconds; reopening would cost a server
  // backend each time). Only a database that was down at the last try needs opening again.
  if (!conn) {
    auto c = connection::open(database_url);
    if (!c) return core::result<std::size_t>(boost::system::in_place_error, c.error());
    conn.emplace(std::move(*c));
  }
  return refresh_suppressions(*conn, holder);
}

}  // namespace hashguard::hashdb
