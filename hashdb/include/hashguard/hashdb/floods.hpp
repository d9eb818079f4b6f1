// Flood detection and entry quarantine (issue 16, HMA's "flood" signal).
//
// A list entry whose matches spike is suspect: a perceptual hash that matches too much
// (a near-blank image, a common template) or an entry someone floods with re-encoded copies.
// evaluate() counts, per entry, the distinct contents (SHA-256, else the PDQ or pHash sent)
// that matched it in the last `window`, and flags an entry with more than `max_distinct`, or
// with at least `min_distinct` and more than `baseline_factor` times its own baseline (its mean
// distinct contents per window over the `baseline_windows` windows before). A flag is a row of
// entry_floods (one open flag per entry) and an audit row ("list.entry_flood").
//
// Why in PostgreSQL, from the events: every node already records every match there (events and
// event_hits), so the count covers the whole cluster and every node sees the same flags; a
// per-node count in memory would see 1/N of the traffic, disagree between nodes and start from
// zero at each restart. Spooled events count once they are drained (their occurred_at is when
// they matched). The sightings come from one view, hg_flood_sightings: retroactive events (issue
// 21) are to be excluded there. evaluate() takes a transaction-level advisory lock, so when
// every node runs it on its timer only one evaluates at a time and no flag is written twice.
//
// Quarantine: a quarantined entry still matches and opens cases, but acts as `review` at most
// (matcher::snapshot::action_of). A flag quarantines its entry by itself only when the entry is
// perceptual (pdq/phash), its list is marked auto_quarantine, and no case that matched it was
// ever confirmed (else anyone holding a listed image could unblock a real entry by sending
// re-encoded copies of it); exact digests never drop. An admin may quarantine or restore any
// entry by hand (set_quarantine). Every change bumps the list's version, so every node's next
// snapshot has it, and is audited in its own transaction ("list.entry_quarantine",
// "list.entry_restore"); restoring also clears the entry's open flag.
//
// A flood_store borrows a connection (one per thread) that carries audit keys.
#pragma once

#include "hashguard/hashdb/database.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct flood_options {
  std::chrono::seconds window{3600};  ///< the sliding window distinct contents are counted in
  std::int64_t max_distinct{100};     ///< more distinct contents than this in a window: flagged
  double baseline_factor{10.0};       ///< or more than this times the entry's own baseline...
  std::int64_t min_distinct{10};      ///< ...when at least this many (small counts are noise)
  int baseline_windows{24};           ///< windows before the current one the baseline spans
};

struct flood_flag {
  std::int64_t id{};
  std::int64_t list_id{};
  std::string list_name;
  std::int64_t entry_id{};
  std::string signal;
  std::string flagged_at;  ///< ISO 8601 UTC
  std::int64_t window_s{};
  std::int64_t distinct_contents{};
  double baseline{};        ///< mean distinct contents per window before the flag
  std::string reason;       ///< over_limit | over_baseline
  bool auto_quarantined{};  ///< the flag quarantined the entry
  bool quarantined{};       ///< the entry is quarantined now (by the flag or an admin)
  std::optional<std::string> cleared_at;
};

struct quarantine_change {
  std::int64_t list_id{};
  std::int64_t entry_id{};
  bool quarantined{};      ///< the entry's state afterwards
  bool changed{};          ///< false: it was so already (nothing written, no audit row)
  std::int64_t version{};  ///< the list's version afterwards
};

class flood_store {
 public:
  explicit flood_store(connection& c) noexcept : conn_(c) {}

  /// Flags the entries whose matches spike now (see the file comment) and quarantines those
  /// that qualify; returns the new flags. Entries with an open flag are not flagged again.
  /// errc::invalid_argument for options out of range (window < 1 s, max_distinct < 1,
  /// baseline_factor < 1, min_distinct < 1, baseline_windows < 1).
  [[nodiscard]] core::result<std::vector<flood_flag>> evaluate(const flood_options& options);

  /// Flags, newest first: open ones only unless `include_cleared`; at most `limit` (1..1000).
  [[nodiscard]] core::result<std::vector<flood_flag>> list(bool include_cleared,
                                                           std::size_t limit = 100);
  /// Open flags, for the gauge.
  [[nodiscard]] core::result<std::int64_t> open_count();

  /// Quarantines (`on`) or restores one entry by hand, audited with `reason` under `actor`.
  /// errc::not_found (no such entry in the list, or a retired one), errc::invalid_argument
  /// (an empty reason or one over 10000 bytes).
  [[nodiscard]] core::result<quarantine_change> set_quarantine(std::int64_t list_id,
                                                               std::int64_t entry_id, bool on,
                                                               std::string_view reason,
                                                               std::string_view actor);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
