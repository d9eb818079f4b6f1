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
  cfg.declare("evidence.preserve_ncii", config_type::boolean, "false",
              "also preserve the matched content of ncii cases (StopNCII); csam is always kept");
  cfg.declare("evidence.preserve_tvec", config_type::boolean, "false",
              "also preserve the matched content of tvec cases (GIFCT); csam is always kept");
  cfg.declare("retention.purge_interval_s", config_type::integer, "3600",
              "how often serve purges expired evidence and cases (0 = never; see cases purge)");
}

evidence_keeper::evidence_keeper(options o)
    : options_(std::move(o)),
      task_({"evidence", options_.retry, core::periodic_task::first_run::after_interval,
             options_.on_failure},
            [this] { return run_due(); }) {
  (void)task_.start();  // no synchronous run: cannot fail
}

evidence_keeper::~evidence_keeper() {
  task_.stop();
  if (!queue_.empty()) {
    std::cerr << "hashguard serve: evidence: " << queue_.size()
              << " files not preserved at shutdown (their events were not in the database)\n";
  }
}

bool evidence_keeper::submit(std::string event_id, std::string bytes, std::string media_type) {
  {
    std::lock_guard lock(mutex_);
    if (task_.stop_requested() || pending_bytes_ + bytes.size() > options_.max_pending_bytes) {
      ++dropped_;
      return false;
    }
    pending_bytes_ += bytes.size();
    const auto now = std::chrono::steady_clock::now();
    queue_.push_back({std::move(event_id), std::move(bytes), std::move(media_type), now, now});
  }
  task_.poke();
  return true;
}

evidence_keeper::counters evidence_keeper::stats() const {
  return {stored_.load(), no_case_.load(), dropped_.load(), failed_.load(), harm_type_off_.load()};
}

std::size_t evidence_keeper::pending_bytes() const {
  std::lock_guard lock(mutex_);
  return pending_bytes_;
}

// One run: every item due when it began, once each, in arrival order (an item retried in this
// run is due again one retry interval later, in a later run).
core::result<void> evidence_keeper::run_due() {
  const auto began = std::chrono::steady_clock::now();
  core::error_code first_error;
  std::unique_lock lock(mutex_);
  while (!task_.stop_requested()) {
    auto due =
        std::find_if(queue_.begin(), queue_.end(), [&](const item& i) { return i.due <= began; });
    if (due == queue_.end()) break;
    item it = std::move(*due);
    queue_.erase(due);
    lock.unlock();

    core::error_code error;
    bool retry = !attempt(it, error);
    const auto now = std::chrono::steady_clock::now();
    if (retry && now - it.first > options_.give_up) {
      retry = false;
      ++failed_;
      error = hashdb::errc::not_found;
      std::cerr << "hashguard serve: evidence for event " << it.event_id
                << " not preserved: the event did not reach the database in time\n";
    }
    if (error && !first_error) first_error = error;
    lock.lock();
    if (retry) {
      it.due = now + options_.retry;
      queue_.push_back(std::move(it));
    } else {
      pending_bytes_ -= it.bytes.size();
    }
  }
  if (first_error) return first_error;
  return {};
}

// One attempt at one item: true when it is done with (preserved, no case, or failed for good),
// false to retry it later. `error` is set when the attempt failed (an event still in the spool
// is not a failure).
bool evidence_keeper::attempt(const item& it, core::error_code& error) {
  if (!conn_) {
    auto c = hashdb::connection::open(options_.database_url);
    if (!c) {
      error = c.error();
      return false;
    }
    conn_.emplace(std::move(*c));
    conn_->use_audit_keys(options_.audit_keys);
  }
  hashdb::evidence_store store(*conn_, options_.key);
  auto r =
      store.preserve_event(it.event_id, it.bytes, it.media_type, options_.actor, options_.policy);
  if (r) {
    (*r == hashdb::preserve_outcome::stored    ? stored_
     : *r == hashdb::preserve_outcome::no_case ? no_case_
                                               : harm_type_off_)++;
    return true;
  }
  if (r.error() == hashdb::errc::not_found) return false;  // spooled, not replayed yet
  if (r.error() == hashdb::errc::unavailable || r.error() == hashdb::errc::in_doubt ||
      r.error() == hashdb::errc::deadline) {
    // The database is away: reconnect next time.
    error = r.error();
    conn_.reset();
    return false;
  }
  error = r.error();
  ++failed_;
  std::cerr << "hashguard serve: evidence for event " << it.event_id
            << " not preserved: " << r.error().message() << "\n";
  return true;
}

core::result<void> purge_expired(const std::string& database_url, const hashdb::case_options& cases,
                                 std::shared_ptr<const hashdb::audit_keyring> audit_keys,
                                 const std::string& actor) {
  auto conn = hashdb::connection::open(database_url);
  if (!conn) return conn.error();
  conn->use_audit_keys(std::move(audit_keys));
  core::error_code first_error;
  // Evidence first: deleting an expired case would take its evidence with it unaudited.
  auto ev = hashdb::purge_evidence(*conn, actor, cases.false_positive_days);
  if (!ev) {
    first_error = ev.error();
  } else if (!ev->purged.empty() || !ev->held.empty()) {
    std::cerr << "hashguard serve: evidence purge: " << ev->purged.size() << " files purged, "
              << ev->held.size() << " cases held\n";
  }
  hashdb::case_store store(*conn, cases);
  auto cs = store.purge(std::nullopt, actor);
  if (!cs) {
    if (!first_error) first_error = cs.error();
  } else if (!cs->deleted.empty() || !cs->reduced.empty()) {
    std::cerr << "hashguard serve: case purge: " << cs->deleted.size() << " deleted, "
              << cs->reduced.size() << " reduced to hashes, " << cs->held_skipped.size()
              << " held\n";
  }
  if (first_error) return first_error;
  return {};
}

}  // namespace hashguard::app
