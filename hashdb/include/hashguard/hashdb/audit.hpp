// The audit log (table audit_log): append-only, hash-chained, keyed.
//
// Each row holds prev_hash (the row_hash of the row before it; 32 zero bytes for the first),
// its key_id and row_hash:
//   keyed row   (key_id set)   row_hash = HMAC-SHA-256(key, "hg-audit-v2" || prev_hash || id,
//                              key_id, time in microseconds, actor, action, subject, detail),
//                              each field length-prefixed; the key is held outside PostgreSQL
//                              (audit_keyring, audit_config.hpp)
//   legacy row  (key_id NULL)  row_hash = SHA-256(prev_hash || time, actor, action, subject,
//                              detail): rows written before keying; the first keyed row chains
//                              from the last legacy row's hash. A legacy row after a keyed one
//                              is refused by verify ("downgraded").
// Appends are serialised by an advisory lock, so the chain is linear even with many writers.
// A trigger refuses UPDATE, DELETE and TRUNCATE; the chain catches what someone with the power
// to bypass the trigger does, and the key stops them from recomputing the chain after an edit:
//   edited        a row's fields (or id) no longer hash to its row_hash
//   deleted       a row's prev_hash names no row in the log (the row before it is gone)
//   reordered     a row's prev_hash names a row that is not the one before it
//   unknown_key   a keyed row names a key id the keyring does not hold
//   downgraded    a legacy (unkeyed) row after a keyed row
//   head_mismatch the row with a published head's id does not hold the published hash
//   truncated     the log ends before a published head's id (its newest rows were removed)
// Removing the newest rows leaves a shorter valid chain: only a head published outside
// PostgreSQL (publish_interval, audit_config.hpp) catches that, for rows up to that head.
//
// An audit_log borrows a connection (one per thread). Appending needs audit keys on the
// connection (connection::use_audit_keys): errc::audit_key_missing otherwise, so a
// misconfigured process can never write a row that verify would then refuse.
#pragma once

#include "hashguard/hashdb/database.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

/// One audit key: its id (stored in every row it keys) and its 32 bytes.
struct audit_key {
  std::string id;
  std::array<std::uint8_t, 32> bytes{};
};

/// The key new rows are keyed with, and the earlier keys verify still accepts (after a
/// rotation). Immutable once built; shared between connections (std::shared_ptr<const>).
struct audit_keyring {
  audit_key current;
  std::vector<audit_key> previous;
  /// The key named `id` (current first), or nullptr.
  [[nodiscard]] const audit_key* find(std::string_view id) const noexcept;
};

struct audit_entry {
  std::int64_t id{};
  std::string at;  ///< ISO 8601 UTC with microseconds
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
  std::string row_hash;  ///< hex
};

/// The newest row, as published outside PostgreSQL.
struct audit_head {
  std::int64_t id{};
  std::string hash;  ///< row_hash, 64 lowercase hex
  std::string at;    ///< the row's time, ISO 8601 UTC with microseconds
  friend bool operator==(const audit_head&, const audit_head&) = default;
};

struct audit_verify_report {
  bool ok{true};
  std::uint64_t rows{};                   ///< rows checked
  std::optional<std::int64_t> first_bad;  ///< id of the first row whose check failed
  std::string problem;                    ///< one of the words in the header comment
  std::optional<std::int64_t> head_id;    ///< the newest row
  std::string head_hash;                  ///< its row_hash (hex)
  std::uint64_t legacy_rows{};            ///< rows with the unkeyed SHA-256 chain
  /// The published head checked against the log (nullopt: none was given).
  std::optional<audit_head> published;
};

/// Which audit rows a query or export reads; every field is optional (unset: any).
struct audit_filter {
  std::optional<std::string> actor;     ///< exact key id
  std::optional<std::string> action;    ///< exact, or a prefix when it ends with '*' ("case.*")
  std::optional<std::int64_t> case_id;  ///< rows whose subject is "case:<id>"
  std::optional<std::int64_t> from_us, to_us;  ///< from <= at < to, microseconds since epoch
};

class audit_log {
 public:
  explicit audit_log(connection& c) noexcept : conn_(c) {}

  /// Appends one row in its own transaction, keyed with the connection's current audit key;
  /// returns its id. errc::audit_key_missing when the connection has no audit keys.
  [[nodiscard]] core::result<std::int64_t> append(std::string_view actor, std::string_view action,
                                                  std::string_view subject,
                                                  std::string_view detail);
  /// The newest rows first; `before_id` pages backwards.
  [[nodiscard]] core::result<std::vector<audit_entry>> recent(
      std::size_t limit, std::optional<std::int64_t> before_id = std::nullopt);
  /// recent() of the rows the filter selects.
  [[nodiscard]] core::result<std::vector<audit_entry>> query(
      const audit_filter& f, std::size_t limit,
      std::optional<std::int64_t> before_id = std::nullopt);
  /// The newest row (nullopt when the log is empty).
  [[nodiscard]] core::result<std::optional<audit_head>> head();
  /// Walks the whole chain in id order, a page of rows at a time (memory stays bounded), in
  /// one repeatable-read snapshot, checking keyed rows with the connection's keys (a keyed row
  /// whose key is not there is "unknown_key"). With `published`, also checks that the row
  /// with its id holds its hash and that the log reaches it. The report names the first
  /// failed row; later rows are still counted.
  [[nodiscard]] core::result<audit_verify_report> verify(
      const std::optional<audit_head>& published = std::nullopt);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
