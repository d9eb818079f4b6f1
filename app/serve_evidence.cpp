#include "serve_evidence.hpp"

#include "hashguard/core/error.hpp"
#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/errc.hpp"

#include <algorithm>
#include <iostream>
#include <optional>

namespace hashguard::app {

void declare_upkeep_config(core::config& cfg) {
  using core::config_type;
  cfg.declare("evidence.pending_bytes", config_type::integer, "268435456",
              "matched content waiting to be preserved (its event still spooled), at most");
  cfg.declare("evidence.pending_s", config_type::integer, "600",
              "give up preserving content whose event is still not in the database after this");
  cfg.declare("evidence.retry_ms", config_type::integer, "500",
              "how often content whose event is spooled is retried");
  cfg.declare("retention.purge_interval_s", config_type::integer, "3600",
              "how often serve purges expired evidence and cases (0 = never; see cases purge)");
}

evidence_keeper::evidence_keeper(options o) : options_(std::move(o)) {
  thread_ = std::thread([this] { run(); });
}

evidence_keeper::~evidence_keeper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (!queue_.empty()) {
    std::cerr << "hashguard serve: evidence: " << queue_.size()
              << " files not preserved at shutdown (their events were not in the database)\n";
  }
}

bool evidence_keeper::submit(std::string event_id, std::string bytes, std::string media_type) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || pending_bytes_ + bytes.size() > options_.max_pending_bytes) {
      ++dropped_;
      return false;
    }
    pending_bytes_ += bytes.size();
    const auto now = std::chrono::steady_clock::now();
    queue_.push_back({std::move(event_id), std::move(bytes), std::move(media_type), now, now});
  }
  wake_.notify_all();
  return true;
}

evidence_keeper::counters evidence_keeper::stats() const {
  return {stored_.load(), no_case_.load(), dropped_.load(), failed_.load()};
}

std::size_t evidence_keeper::pending_bytes() const {
  std::lock_guard lock(mutex_);
  return pending_bytes_;
}

void evidence_keeper::run() {
  std::optional<hashdb::connection> conn;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // The next item that is due; items are retried in arrival order.
    const auto now = std::chrono::steady_clock::now();
    auto due =
        std::find_if(queue_.begin(), queue_.end(), [&](const item& i) { return i.due <= now; });
    if (due == queue_.end()) {
      auto next = now + std::chrono::seconds(1);
      for (const auto& i : queue_) next = std::min(next, i.due);
      wake_.wait_until(lock, next);
      continue;
    }
    item it = std::move(*due);
    queue_.erase(due);
    lock.unlock();

    bool retry = false;
    if (!conn) {
      std::string why;
      auto c = hashdb::connection::open(options_.database_url, &why);
      if (c) {
        conn.emplace(std::move(*c));
      } else {
        retry = true;
      }
    }
    if (conn) {
      hashdb::evidence_store store(*conn, options_.key);
      auto r = store.preserve_event(it.event_id, it.bytes, it.media_type, options_.actor);
      if (r) {
        (*r == hashdb::preserve_outcome::stored ? stored_ : no_case_)++;
      } else if (r.error() == hashdb::errc::not_found || r.error() == hashdb::errc::unavailable ||
                 r.error() == hashdb::errc::in_doubt || r.error() == hashdb::errc::deadline) {
        // Spooled and not replayed yet, or the database is away: later.
        retry = true;
        if (r.error() != hashdb::errc::not_found) conn.reset();
      } else {
        ++failed_;
        std::cerr << "hashguard serve: evidence for event " << it.event_id
                  << " not preserved: " << r.error().message() << "\n";
      }
    }
    const auto now2 = std::chrono::steady_clock::now();
    if (retry && now2 - it.first > options_.give_up) {
      retry = false;
      ++failed_;
      std::cerr << "hashguard serve: evidence for event " << it.event_id
                << " not preserved: the event did not reach the database in time\n";
    }
    lock.lock();
    if (retry) {
      it.due = now2 + options_.retry;
      queue_.push_back(std::move(it));
    } else {
      pending_bytes_ -= it.bytes.size();
    }
  }
}

purge_loop::purge_loop(std::string database_url, hashdb::case_options cases,
                       std::chrono::seconds interval, std::string actor)
    : url_(std::move(database_url)), cases_(cases), interval_(interval), actor_(std::move(actor)) {
  if (interval_.count() > 0) thread_ = std::thread([this] { run(); });
}

purge_loop::~purge_loop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void purge_loop::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    once();
    lock.lock();
  }
}

void purge_loop::once() {
  std::string why;
  auto conn = hashdb::connection::open(url_, &why);
  if (!conn) {
    std::cerr << "hashguard serve: purge skipped: " << why << "\n";
    return;
  }
  // Evidence first: deleting an expired case would take its evidence with it unaudited.
  auto ev = hashdb::purge_evidence(*conn, actor_);
  if (!ev) {
    std::cerr << "hashguard serve: evidence purge failed: " << ev.error().message() << "\n";
  } else if (!ev->purged.empty() || !ev->held.empty()) {
    std::cerr << "hashguard serve: evidence purge: " << ev->purged.size() << " files purged, "
              << ev->held.size() << " cases held\n";
  }
  hashdb::case_store store(*conn, cases_);
  auto cs = store.purge(std::nullopt, actor_);
  if (!cs) {
    std::cerr << "hashguard serve: case purge failed: " << cs.error().message() << "\n";
  } else if (!cs->deleted.empty() || !cs->reduced.empty()) {
    std::cerr << "hashguard serve: case purge: " << cs->deleted.size() << " deleted, "
              << cs->reduced.size() << " reduced to hashes, " << cs->held_skipped.size()
              << " held\n";
  }
}

}  // namespace hashguard::app
