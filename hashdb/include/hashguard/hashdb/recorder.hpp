// The durable event recorder: what the scan path calls for every match (DESIGN.md section 3
// step 4 and the "no match event is lost" contract of section 4).
//
// record() returns only once the event is committed in PostgreSQL or written and synced to the
// local spool:
//   - the event joins the queue of its zone's lane; each lane's worker thread (with its own
//     connection) commits its queue in batches (group commit: one transaction, one round trip
//     per batch), and the caller waits up to the commit deadline;
//   - past the deadline, or while the database is known to be down, the caller appends it to
//     the spool itself (fsync) and returns; the worker may still commit it, which is harmless:
//     events are idempotent by UUID;
//   - lane 0's worker replays the spool, oldest first, whenever the database is reachable (also at
//     start, for what a previous process left), and empties it when it has caught up.
// The same (zone, request id, SHA-256) within the dedupe window is one event: record() returns
// the first event's id (checked in memory here, and in the database across nodes); the same
// request id with other content is an event of its own. A repeat that arrives while the first
// is still being recorded waits for it (at most the commit deadline plus one spool append) and
// is answered with the id the first was answered with, or, when the first could not be
// recorded, records itself: an id record() returns always exists, committed or spooled. A
// spooled event is stored under its own id when replayed, even if the database has meanwhile
// recorded the same request (from another node): its caller holds that id.
//
// What the caller's thread waits for (in `serve`, a scan-pool thread): record() blocks on a
// future until its event's group commit finishes, holding no lock meanwhile, and only its own
// lane is involved: at worst the batch that lane is committing plus the one its event joins
// (max_batch bounds both), and never longer than commit_deadline, after which it appends the
// event to the spool (one write and fsync) and returns. The commit's work runs on the lane's
// worker thread, not on the caller's. While the database is known to be down, record() does
// not wait at all: it spools at once. A pool thread is therefore held for the commit latency
// (a few milliseconds when the database keeps up) and at most commit_deadline + one fsync.
//
// Thread-safe: record() may be called from any number of threads.
#pragma once

#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/event.hpp"
#include "hashguard/hashdb/spool.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace hashguard::hashdb {

struct recorder_options {
  std::string database_url;
  std::filesystem::path spool_path;
  std::chrono::milliseconds commit_deadline{200};
  std::chrono::milliseconds retry_interval{500};  ///< between reconnection attempts
  std::size_t max_batch{512};                     ///< events per group commit
  std::size_t lanes{8};  ///< worker connections; a zone always uses the same one
  case_options cases;
  spool_options spool;  ///< the spool's file layer (tests inject faults through it)
};

enum class durability : std::uint8_t { committed, spooled };

struct recorded {
  std::string event_id;
  std::optional<std::int64_t> case_id;  ///< set when committed and attached to a case
  record_outcome outcome{record_outcome::recorded};
  durability where{durability::committed};
};

struct recorder_stats {
  std::uint64_t committed{};    ///< events committed from the queue
  std::uint64_t batches{};      ///< group commits (committed / batches = mean batch size)
  std::uint64_t spooled{};      ///< events written to the spool
  std::uint64_t replayed{};     ///< spool records committed
  std::uint64_t dead_letter{};  ///< spool records the database refused (kept in *.rejected)
  std::uint64_t spool_bytes{};  ///< current spool size past its header
  /// False once a failed append could not be cut off again: every later spooled record() fails
  /// until restart, so /readyz must answer unready (spool.hpp, append()).
  bool spool_writable{true};
  std::uint64_t spool_quarantined_bytes{};  ///< corrupt bytes moved to <spool>.corrupt
  bool database_up{false};
};

class event_recorder {
 public:
  /// Opens the spool and starts the worker. The database may be down: events then go to the
  /// spool until it is back. errc::io_error / spool_corrupt when the spool cannot be opened.
  [[nodiscard]] static core::result<std::unique_ptr<event_recorder>> start(
      recorder_options options);
  /// Stops the worker; what is still spooled stays on disk for the next start.
  ~event_recorder();
  event_recorder(const event_recorder&) = delete;
  event_recorder& operator=(const event_recorder&) = delete;

  /// Records one event (assigning its id and time when empty). errc::invalid_argument for an
  /// event the database would refuse; errc::io_error when neither the database nor the spool
  /// could take it (the caller must not report success).
  /// A repeat of a request is answered with outcome duplicate_request, the first's id, case and
  /// durability.
  [[nodiscard]] core::result<recorded> record(match_event e);

  [[nodiscard]] recorder_stats stats() const;
  /// Blocks until the spool is empty and the database reachable, or the timeout passes.
  [[nodiscard]] bool wait_drained(std::chrono::milliseconds timeout) const;

  struct impl;

 private:
  explicit event_recorder(std::unique_ptr<impl> p);
  // record() past the dedupe check: queue, wait up to the deadline, else spool.
  [[nodiscard]] core::result<recorded> record_new(const match_event& e);
  std::unique_ptr<impl> impl_;
};

}  // namespace hashguard::hashdb
