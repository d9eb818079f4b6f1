// hashguard serve's background work for the review side:
//  - evidence_keeper: when evidence preservation is on (evidence.enabled), the scan handler
//    hands it the bytes of every scan whose match event was recorded; a thread of its own
//    (with its own connection) seals them into the event's case (hashdb::evidence_store::
//    preserve_event). The scan's answer never waits for this. An event that went to the
//    spool is not in the database yet: its bytes wait in memory (bounded by
//    evidence.pending_bytes) and are retried every evidence.retry_ms until the event appears,
//    for at most evidence.pending_s; a no_match scan is never handed over.
//  - purge_loop: every retention.purge_interval_s (0 = never), what `hashguard cases purge`
//    does: expired evidence (hashdb::purge_evidence) first, so each deleted file is audited,
//    then the case store's retention (hashdb::case_store::purge). Cases on legal hold are kept.
// Both log one line per action to stderr (app code logs; the libraries never print).
// Thread-safety: submit() may be called from any thread.
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/evidence.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace hashguard::app {

/// evidence.pending_bytes, evidence.pending_s, evidence.retry_ms, retention.purge_interval_s.
void declare_upkeep_config(core::config& cfg);

class evidence_keeper {
 public:
  struct options {
    std::string database_url;
    hashdb::evidence_key key;
    std::string actor{"hashguard-serve"};       ///< who preserved, in the audit log
    std::size_t max_pending_bytes{256u << 20};  ///< bytes waiting (queued + retrying)
    std::chrono::milliseconds retry{500};       ///< between attempts for a spooled event
    std::chrono::seconds give_up{600};          ///< a spooled event not replayed by then
  };
  struct counters {
    std::uint64_t stored{}, no_case{}, dropped{}, failed{};
  };

  explicit evidence_keeper(options o);
  ~evidence_keeper();
  evidence_keeper(const evidence_keeper&) = delete;
  evidence_keeper& operator=(const evidence_keeper&) = delete;

  /// Queues the bytes of a recorded match event. False (and counted as dropped) when the
  /// pending budget is full.
  bool submit(std::string event_id, std::string bytes, std::string media_type);
  [[nodiscard]] counters stats() const;
  [[nodiscard]] std::size_t pending_bytes() const;

 private:
  struct item {
    std::string event_id, bytes, media_type;
    std::chrono::steady_clock::time_point first, due;
  };
  void run();

  options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<item> queue_;
  std::size_t pending_bytes_{0};
  bool stopping_{false};
  std::atomic<std::uint64_t> stored_{0}, no_case_{0}, dropped_{0}, failed_{0};
  std::thread thread_;
};

class purge_loop {
 public:
  purge_loop(std::string database_url, hashdb::case_options cases, std::chrono::seconds interval,
             std::string actor = "hashguard-serve");
  ~purge_loop();
  purge_loop(const purge_loop&) = delete;
  purge_loop& operator=(const purge_loop&) = delete;

 private:
  void run();
  void once();

  std::string url_;
  hashdb::case_options cases_;
  std::chrono::seconds interval_;
  std::string actor_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_{false};
  std::thread thread_;
};

}  // namespace hashguard::app
