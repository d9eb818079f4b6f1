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
    } else if (d.decision == "confirmed") {
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

suppression_refresher::suppression_refresher(std::string database_url, suppression_holder& holder,
                                             std::chrono::milliseconds interval)
    : url_(std::move(database_url)), holder_(holder), interval_(interval) {
  poll_once();
  thread_ = std::thread([this] { run(); });
}

suppression_refresher::~suppression_refresher() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

core::error_code suppression_refresher::last_error() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

void suppression_refresher::poke() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    poked_ = true;
  }
  wake_.notify_all();
}

void suppression_refresher::poll_once() {
  // One connection kept between polls (a poll every few seconds; reopening would cost a
  // server backend each time). Once opened, guarded() reconnects it after a break; only a
  // database that was down when we first tried needs opening here again.
  core::error_code error;
  if (!conn_) {
    auto c = connection::open(url_);
    if (c) {
      conn_.emplace(std::move(*c));
    } else {
      error = c.error();
    }
  }
  if (conn_) {
    auto r = refresh_suppressions(*conn_, holder_);
    if (!r) error = r.error();
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    last_error_ = error;
  }
  ++polls_;
}

void suppression_refresher::run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, interval_, [this] { return stopping_ || poked_; });
      poked_ = false;
      if (stopping_) return;
    }
    poll_once();
  }
}

}  // namespace hashguard::hashdb
